"""The services' log files: private, rotated like logrotate's copytruncate (scripts.logfiles)."""

from __future__ import annotations

import stat
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from scripts import logfiles


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_folder_and_the_files_are_private_whatever_was_there(tmp_path: Path) -> None:
    folder = tmp_path / "logs"
    folder.mkdir(mode=0o755)
    (folder / "rasa.log").write_bytes(b"old run\n")
    (folder / "rasa.log").chmod(0o644)
    with logfiles.open_log(folder / "rasa.log", fresh=True) as log:
        log.write(b"new run\n")
    assert (
        mode(folder) == 0o700 and mode(folder / "rasa.log") == 0o600 and mode(folder / "rasa.log.1") == 0o600
    )
    assert (folder / "rasa.log").read_bytes() == b"new run\n"
    assert (folder / "rasa.log.1").read_bytes() == b"old run\n"
    with logfiles.open_log(folder / "rasa.log", fresh=False) as log:  # a restart appends
        log.write(b"restarted\n")
    assert (folder / "rasa.log").read_bytes() == b"new run\nrestarted\n"


def test_rotation_keeps_so_many_copies_and_drops_the_oldest(tmp_path: Path) -> None:
    log = tmp_path / "gateway.log"
    for run in range(4):
        log.write_text(f"run {run}\n")
        logfiles.rotate(log, keep=2)
    assert log.read_text() == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gateway.log", "gateway.log.1", "gateway.log.2"]
    assert (tmp_path / "gateway.log.1").read_text() == "run 3\n"
    assert (tmp_path / "gateway.log.2").read_text() == "run 2\n"


def test_a_service_writing_meanwhile_goes_on_at_the_new_end(tmp_path: Path) -> None:
    """The child holds its own descriptor: after the cut its next line starts the file, no hole of
    zeros where the old content was (the file is opened for appending)."""
    log_path = tmp_path / "actions.log"
    log = logfiles.open_log(log_path, fresh=True)
    child = subprocess.Popen(
        [sys.executable, "-u", "-c", "import sys\nfor line in sys.stdin: print(line.strip(), flush=True)"],
        stdin=subprocess.PIPE,
        stdout=log,
        text=True,
    )
    log.close()
    assert child.stdin is not None
    try:
        child.stdin.write("x" * 2000 + "\n")
        child.stdin.flush()
        _wait_for(log_path, lambda data: data.endswith(b"x\n"))
        assert logfiles.rotate_large([log_path, tmp_path / "missing.log"], max_bytes=1000, keep=3) == [
            log_path
        ]
        child.stdin.write("after the cut\n")
        child.stdin.flush()
        _wait_for(log_path, lambda data: data.endswith(b"after the cut\n"))
        assert log_path.read_bytes() == b"after the cut\n"
        assert (tmp_path / "actions.log.1").read_bytes() == b"x" * 2000 + b"\n"
        assert logfiles.rotate_large([log_path], max_bytes=1000, keep=3) == []
    finally:
        child.stdin.close()
        child.wait(timeout=30)


def _wait_for(path: Path, done: Callable[[bytes], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not done(path.read_bytes()):
        assert time.monotonic() < deadline, f"{path} never got there: {path.read_bytes()[-80:]!r}"
        time.sleep(0.02)


@pytest.mark.parametrize(
    ("name", "value"), [("HEMU_LOG_MAX_MB", "lots"), ("HEMU_LOG_MAX_MB", "0"), ("HEMU_LOG_KEEP", "-1")]
)
def test_bad_settings_are_refused_with_the_setting_named(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=name):
        logfiles.max_bytes_from_env() if name.endswith("MB") else logfiles.keep_from_env()
