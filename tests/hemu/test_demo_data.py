"""Demo data for the sandbox: a few days seeded through the real desk into a fresh store, marked as demo,
and never written into a station's database or next to real cases."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from hemu import demo_data
from hemu.admin import main
from hemu.cases import Priority
from hemu.desk import Desk, Report
from hemu.settings import load_settings
from hemu.store import ERASED_PREFIX, Store
from hemu.store.purpose import Purpose, WrongDatabase, claim, recorded
from hemu.store.tables import case_events, cases, store_meta
from tests.conftest import REPO_ROOT, Clock

DAYS = 4


def _desk(path: Path, clock: Clock) -> Desk:
    store = Store.from_url(f"sqlite:///{path}")
    store.migrate()
    return Desk(load_settings(REPO_ROOT / "config"), store, clock=clock)


def _snapshot(desk: Desk) -> list[tuple[object, ...]]:
    return [
        (c.number, c.resident_id, c.category, c.priority, c.state, c.officer_id, c.opened_at, c.rating)
        for c in desk.store.cases()
    ]


def _rows(desk: Desk) -> int:
    with desk.store.engine.connect() as conn:
        return sum(
            int(conn.execute(select(func.count()).select_from(table)).scalar() or 0)
            for table in (cases, case_events, store_meta)
        )


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Desk, demo_data.Seeded]:
    """One seeded store shared by the read-only tests: seeding is the slow part."""
    from tests.conftest import WEDNESDAY_10

    desk = _desk(tmp_path_factory.mktemp("demo") / "sandbox.sqlite3", Clock(WEDNESDAY_10))
    return desk, demo_data.seed(desk, DAYS, seed=7)


def test_cases_span_the_days_before_now(seeded: tuple[Desk, demo_data.Seeded]) -> None:
    desk, result = seeded
    found = desk.store.cases()
    assert result.cases == len(found) >= 4 * DAYS
    assert result.end == desk.now()
    assert all(desk.now() - timedelta(days=DAYS) <= case.opened_at < desk.now() for case in found)
    assert {case.category for case in found} <= set(demo_data.CATEGORIES) | {"danger"}
    assert len({case.area_id for case in found}) >= 3
    assert result.open == sum(case.is_active for case in found) > 0


def test_every_resident_is_a_demo_one(seeded: tuple[Desk, demo_data.Seeded]) -> None:
    desk, _ = seeded
    ids = {case.resident_id for case in desk.store.cases()}
    assert all(rid.startswith(demo_data.PREFIX) or rid.startswith(ERASED_PREFIX) for rid in ids)
    assert any(rid.startswith(demo_data.PREFIX) for rid in ids)


def test_the_store_says_it_holds_demo_data(seeded: tuple[Desk, demo_data.Seeded]) -> None:
    desk, result = seeded
    mark = demo_data.is_demo(desk.store.engine)
    assert (
        mark is not None and mark.startswith("seeded ") and f"{result.cases} cases over {DAYS} days" in mark
    )
    assert recorded(desk.store.engine) is Purpose.SANDBOX


def test_the_month_went_through_the_desk_and_the_watcher(seeded: tuple[Desk, demo_data.Seeded]) -> None:
    desk, _ = seeded
    found = desk.store.cases()
    kinds = {event.kind for case in found for event in desk.store.events(case.number)}
    assert {"opened", "assigned", "state_changed", "reminded"} <= kinds
    assert any(case.rating is not None for case in found)
    assert any(case.first_response_at is not None for case in found)
    assert desk.store.outbox.pending(desk.now()) == []  # settled as the notifier would have


def test_a_seed_gives_the_same_cases(tmp_path: Path, clock: Clock) -> None:
    first, second = _desk(tmp_path / "a.sqlite3", clock), _desk(tmp_path / "b.sqlite3", clock)
    demo_data.seed(first, 2, seed=11)
    demo_data.seed(second, 2, seed=11)
    assert _snapshot(first) == _snapshot(second) != []


def test_a_station_database_is_refused_and_left_alone(tmp_path: Path, clock: Clock) -> None:
    desk = _desk(tmp_path / "station.sqlite3", clock)
    claim(desk.store.engine, Purpose.STATION, "the case store")
    before = _rows(desk)
    with pytest.raises(WrongDatabase):
        demo_data.seed(desk, 2)
    assert _rows(desk) == before and demo_data.is_demo(desk.store.engine) is None


def test_a_store_with_real_cases_is_refused(tmp_path: Path, clock: Clock) -> None:
    desk = _desk(tmp_path / "real.sqlite3", clock)
    desk.open_case(Report(resident_id="42", language="zh", category="report_noise", summary="吵"))
    before = _rows(desk)
    with pytest.raises(demo_data.DemoRefused, match="real residents"):
        demo_data.seed(desk, 2)
    assert _rows(desk) == before and recorded(desk.store.engine) is None


def test_the_cli_refuses_real_cases_saying_why(
    tmp_path: Path, clock: Clock, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "played.sqlite3"
    desk = _desk(path, clock)
    desk.open_case(Report(resident_id="42", language="en", category="report_pet_dispute", summary="dog"))
    monkeypatch.setenv("HEMU_SANDBOX_DATABASE_URL", f"sqlite:///{path}")
    assert main(["demo-data", "--days", "1"], out=io.StringIO(), desk=lambda: desk) == 1
    assert "1 case(s) of real residents" in capsys.readouterr().err and len(desk.store.cases()) == 1


def test_the_cli_seeds_once_and_appends_only_when_asked(
    tmp_path: Path, clock: Clock, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "sandbox.sqlite3"
    desk = _desk(path, clock)
    monkeypatch.setenv("HEMU_SANDBOX_DATABASE_URL", f"sqlite:///{path}")
    out = io.StringIO()
    assert main(["demo-data", "--days", "2"], out=out, desk=lambda: desk) == 0
    assert out.getvalue().startswith("demo data: ") and "over 2 days" in out.getvalue()
    first = {case.number: case.resident_id for case in desk.store.cases()}
    count = len(first)

    assert main(["demo-data", "--days", "2"], out=io.StringIO(), desk=lambda: desk) == 1
    assert "already holds demo data" in capsys.readouterr().err and len(desk.store.cases()) == count

    assert main(["demo-data", "--days", "1", "--append"], out=io.StringIO(), desk=lambda: desk) == 0
    added = [case for case in desk.store.cases() if case.number not in first]
    assert added and not {case.resident_id for case in added} & set(first.values())  # new residents
    assert f"{count + len(added)} cases" in (demo_data.is_demo(desk.store.engine) or "")


def test_the_cli_refuses_a_station_database(
    tmp_path: Path, clock: Clock, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "station.sqlite3"
    desk = _desk(path, clock)
    claim(desk.store.engine, Purpose.STATION, "the case store")
    monkeypatch.setenv("HEMU_SANDBOX_DATABASE_URL", f"sqlite:///{path}")
    assert main(["demo-data", "--days", "1"], out=io.StringIO(), desk=lambda: desk) == 1
    assert "station's database" in capsys.readouterr().err
    assert desk.store.cases() == [] and demo_data.is_demo(desk.store.engine) is None


def test_the_cli_defaults_to_the_sandbox_store_not_the_desks(
    tmp_path: Path, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    desk = _desk(tmp_path / "hemu.sqlite3", clock)
    monkeypatch.delenv("HEMU_SANDBOX_DATABASE_URL", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("HEMU_VAR_DIR", str(tmp_path / "var"))
    assert main(["demo-data", "--days", "1"], out=io.StringIO(), desk=lambda: desk) == 0
    assert desk.store.cases() == []
    with Store.from_url(f"sqlite:///{tmp_path / 'var' / 'sandbox.sqlite3'}") as sandbox:
        assert demo_data.is_demo(sandbox.engine) is not None and sandbox.cases()


def test_urgent_cases_appear_in_a_month(tmp_path: Path, clock: Clock) -> None:
    desk = _desk(tmp_path / "month.sqlite3", clock)
    result = demo_data.seed(desk, 12, seed=3)
    found = desk.store.cases()
    assert any(case.priority is Priority.URGENT for case in found)
    assert any(case.promise_kept is False for case in found) and any(case.promise_kept for case in found)
    assert result.ratings > 0 and result.cancelled >= 0
