"""`make run`'s helpers and the two README commands' wiring (Makefile, CI script).

The full `make run` is exercised by the end-to-end tests through the same ``start_all``; here the parts
that decide what a person sees before any server starts: invite codes for the sandbox page, busy ports,
and that `make test` can never pass without running tests.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import stat
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from hemu import clock
from hemu.settings import load_settings
from hemu.store import Store, purpose
from hemu.store.purpose import Purpose
from scripts import run

REPO = Path(__file__).resolve().parents[2]


def test_every_active_officer_gets_a_working_invite_for_the_sandbox(tmp_path: Path) -> None:
    store = Store.from_url(f"sqlite:///{tmp_path / 'hemu.sqlite3'}")
    settings = load_settings()
    invites = run.officer_invites(settings, store)
    assert [invite["officer_id"] for invite in invites] == [o.id for o in settings.roster.active_officers()]
    wang = next(invite for invite in invites if invite["officer_id"] == "wang_li")
    assert wang["name"] == "王丽 Wang Li"
    assert store.officers.redeem_invite(wang["code"], 900001, clock.now()) == "wang_li"


def test_a_deactivated_officer_gets_no_invite(tmp_path: Path) -> None:
    store = Store.from_url(f"sqlite:///{tmp_path / 'hemu.sqlite3'}")
    store.migrate()
    store.officers.deactivate("chen_hao", clock.now())
    assert "chen_hao" not in {invite["officer_id"] for invite in run.officer_invites(load_settings(), store)}


def test_the_invite_file_is_private_json(tmp_path: Path) -> None:
    path = run.write_officers_file(
        tmp_path / "logs" / run.OFFICERS_FILE, [{"officer_id": "a", "name": "A", "code": "C"}]
    )
    assert json.loads(path.read_text(encoding="utf-8")) == [{"officer_id": "a", "name": "A", "code": "C"}]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_busy_port_is_named_before_anything_starts() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert run.busy_ports({"HEMU_RASA_PORT": port}) == [f"HEMU_RASA_PORT={port}"]


def test_ports_and_log_dir_come_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HEMU_SANDBOX_PORT", "9099")
    assert run.port_from_env("HEMU_SANDBOX_PORT", 8081) == 9099
    monkeypatch.setenv("HEMU_SANDBOX_PORT", "lots")
    with pytest.raises(SystemExit, match="HEMU_SANDBOX_PORT"):
        run.port_from_env("HEMU_SANDBOX_PORT", 8081)
    monkeypatch.delenv("HEMU_LOG_DIR", raising=False)
    assert run.log_dir_from_env() == REPO / "logs"
    monkeypatch.setenv("HEMU_LOG_DIR", str(tmp_path))
    assert run.log_dir_from_env() == tmp_path


def test_run_refuses_a_busy_port_with_its_variable(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        env = {
            **os.environ,
            "HEMU_RASA_PORT": str(taken.getsockname()[1]),
            "HEMU_LOG_DIR": str(tmp_path),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'hemu.sqlite3'}",
        }
        env.pop("TELEGRAM_BOT_TOKEN", None)
        result = subprocess.run(
            [sys.executable, "scripts/run.py"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
        )
    if "no trained model" in result.stderr:
        pytest.skip("no trained model")
    assert result.returncode == 1
    assert "HEMU_RASA_PORT" in result.stderr and "in use" in result.stderr


def make_dry_run(target: str) -> str:
    return subprocess.run(
        ["make", "-n", "--no-print-directory", target], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout


def test_make_test_is_plain_pytest_so_an_empty_run_fails() -> None:
    """pytest exits 5 when it collects nothing; nothing in the recipe may turn that into success."""
    recipe = [line for line in make_dry_run("test").splitlines() if "pytest" in line]
    assert recipe and recipe[-1].endswith("-m pytest tests")
    assert "||" not in recipe[-1] and ";" not in recipe[-1]
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert ci.rstrip().endswith("make test") and "set -euo pipefail" in ci


def test_bench_includes_the_gateway_benchmark() -> None:
    assert "bench/gateway_bench.py" in make_dry_run("bench-gateway")
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    bench = next(line for line in makefile.splitlines() if line.startswith("bench:"))
    assert "bench-gateway" in bench


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_script(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    full = {
        **os.environ,
        "HEMU_RASA_PORT": str(free_port()),
        "HEMU_ACTIONS_PORT": str(free_port()),
        "HEMU_SANDBOX_PORT": str(free_port()),
        "HEMU_LOG_DIR": str(tmp_path / "logs"),
        "HEMU_VAR_DIR": str(tmp_path / "var"),
        **env,
    }
    for name in ("TELEGRAM_BOT_TOKEN", "DATABASE_URL", "HEMU_SANDBOX_DATABASE_URL"):
        if name not in env:
            full.pop(name, None)
    result = subprocess.run(
        [sys.executable, "scripts/run.py"], cwd=REPO, env=full, capture_output=True, text=True, timeout=120
    )
    if "no trained model" in result.stderr:
        pytest.skip("no trained model")
    return result


def test_the_sandbox_has_its_own_database(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """`make run` offline used the station's default database and put fresh invites for all officers there."""
    monkeypatch.setenv("HEMU_VAR_DIR", str(tmp_path))
    for name in ("DATABASE_URL", "HEMU_SANDBOX_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    assert run.sandbox_database_url(os.environ) == f"sqlite:///{tmp_path / 'sandbox.sqlite3'}"
    monkeypatch.setenv("DATABASE_URL", "postgresql://hemu@db/hemu")
    assert run.sandbox_database_url(os.environ) == "postgresql://hemu@db/hemu"  # refused later if a station's
    monkeypatch.setenv("HEMU_SANDBOX_DATABASE_URL", "sqlite:////tmp/play.sqlite3")
    assert run.sandbox_database_url(os.environ) == "sqlite:////tmp/play.sqlite3"
    assert run.shown_url("postgresql://hemu:secret@db/hemu") == "postgresql://hemu:***@db/hemu"


def test_the_sandbox_refuses_a_stations_database_before_anything_starts(tmp_path: Path) -> None:
    station = f"sqlite:///{tmp_path / 'station.sqlite3'}"
    with Store.from_url(station) as store:
        store.migrate()
        code = store.officers.create_invite("wang_li", clock.now(), timedelta(days=1))
        store.officers.redeem_invite(code, 4242, clock.now())  # a real officer's chat
    result = run_script(tmp_path, DATABASE_URL=station)
    assert result.returncode == 2, result.stderr
    assert "station's database" in result.stderr and "HEMU_SANDBOX_DATABASE_URL" in result.stderr
    with Store.from_url(station) as store:
        assert [i.status(clock.now()) for i in store.officers.invites("wang_li")] == ["used"]  # no new codes
    assert not (tmp_path / "logs" / run.OFFICERS_FILE).exists()


def test_real_telegram_refuses_the_sandboxs_database(tmp_path: Path) -> None:
    play = f"sqlite:///{tmp_path / 'play.sqlite3'}"
    with Store.from_url(play) as store:
        store.migrate()
        purpose.claim(store.engine, Purpose.SANDBOX, "the case store")
    result = run_script(tmp_path, DATABASE_URL=play, TELEGRAM_BOT_TOKEN="123456:NOT-A-REAL-TOKEN")
    assert result.returncode == 2, result.stderr
    assert "sandbox's play cases" in result.stderr


def test_several_workers_refuse_a_sqlite_database_and_memory_trackers(tmp_path: Path) -> None:
    """WORKERS=2 share conversations: a named SQLite case store or HEMU_TRACKER_STORE=memory is refused
    before anything starts, with the variable named."""
    named = run_script(tmp_path, HEMU_WORKERS="2", DATABASE_URL=f"sqlite:///{tmp_path / 'station.sqlite3'}")
    assert named.returncode != 0 and "WORKERS=2 needs PostgreSQL" in named.stderr, named.stderr
    bad = run_script(tmp_path, HEMU_WORKERS="zwei")
    assert bad.returncode != 0 and "HEMU_WORKERS='zwei'" in bad.stderr, bad.stderr
    assert not (tmp_path / "var" / "postgres").exists()  # nothing was started for them


def test_workers_count_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEMU_WORKERS", "3")
    assert run.count_from_env("HEMU_WORKERS", 1) == 3
    monkeypatch.setenv("HEMU_WORKERS", "0")
    with pytest.raises(SystemExit, match="1 to 16"):
        run.count_from_env("HEMU_WORKERS", 1)


def test_a_bad_station_configuration_is_named_before_anything_starts(tmp_path: Path) -> None:
    """`make run` no longer waits for `make check-config` first: the station's files are checked in
    run.py itself, and a bad one still stops everything before a process is launched."""
    config = tmp_path / "config"
    shutil.copytree(REPO / "config", config)
    station = config / "station.yml"
    station.write_text(station.read_text(encoding="utf-8").replace("areas:", "arias:", 1), encoding="utf-8")
    result = run_script(tmp_path, HEMU_CONFIG_DIR=str(config))
    if "no trained model" in result.stderr:
        pytest.skip("no trained model")
    assert result.returncode == 2, result.stderr
    assert "station.yml" in result.stderr and "nothing started" in result.stderr
    assert not (tmp_path / "logs").exists()
