"""The shared clock: shifting it moves "now" for every process that reads the same file."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from hemu import clock


def test_without_a_clock_file_now_is_system_utc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(clock.ENV, raising=False)
    before = datetime.now(timezone.utc)
    moment = clock.now()
    assert moment.tzinfo is not None and moment.utcoffset() == timedelta(0)
    assert before <= moment <= datetime.now(timezone.utc)


def test_advance_moves_now_forward_and_accumulates(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = tmp_path / "clock"
    monkeypatch.setenv(clock.ENV, str(path))
    assert clock.shift_seconds() == 0  # the file does not exist yet
    assert clock.advance(timedelta(hours=2)) == 7200
    assert clock.advance(timedelta(minutes=30), path) == 9000
    moment = clock.now()
    expected = datetime.now(timezone.utc) + timedelta(seconds=9000)
    assert abs((moment - expected).total_seconds()) < 5


def test_another_process_writing_the_file_is_seen(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = tmp_path / "clock"
    monkeypatch.setenv(clock.ENV, str(path))
    path.write_text("60\n")
    assert clock.shift_seconds() == 60
    path.write_text("120\n")
    import os

    os.utime(path, ns=(1, 10**18))  # a different mtime, as a write from another process gives
    assert clock.shift_seconds() == 120


def test_a_garbled_clock_file_means_no_shift(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = tmp_path / "clock"
    path.write_text("two hours")
    monkeypatch.setenv(clock.ENV, str(path))
    assert clock.shift_seconds() == 0
