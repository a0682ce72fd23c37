"""A week at the sample station, played through the real desk and watcher: six cases opened on
Wednesday 2 December 2026 at 10:00, each ending differently. Shared by the report's tests, which check its
figures by hand."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from hemu.desk import Desk, Report
from tests.conftest import Clock

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=SHANGHAI)


def report(resident: str, **values: Any) -> Report:
    defaults: dict[str, Any] = {
        "resident_id": resident,
        "language": "zh",
        "category": "report_noise",
        "summary": f"{resident} 楼上半夜拖椅子",
        "area_id": "binhe",
        "area_text": "滨河小区3栋",
        "parties": "楼上邻居",
        "duration": "两个月",
        "harm": "none",
        "contact_consent": True,
        "contact": "138 0000 0000",
    }
    return Report(**{**defaults, **values})


def station_week(desk: Desk, clock: Clock) -> dict[str, str]:
    """Six cases opened Wednesday 10:00 (due within 24 hours), each ending differently."""
    opened = {
        name: desk.open_case(report(name, **extra)).case.number
        for name, extra in {
            "happy": {},
            "unhappy": {"category": "report_pet_dispute", "area_id": None},
            "ignored": {"category": "report_shared_space"},
            "waiting": {"category": "report_shared_space", "area_id": "liuan"},
            "withdrawn": {},
            "late": {"category": "report_property_damage"},
        }.items()
    }
    assert all(at(2, 10) < desk.store.get(n).promise_due_at <= at(3, 10) for n in opened.values())
    clock.advance(minutes=30)
    desk.officer_act(opened["happy"], desk.store.get(opened["happy"]).officer_id, "acknowledge")
    desk.officer_act(opened["happy"], desk.store.get(opened["happy"]).officer_id, "resolve", note="好了")
    desk.rate("happy", opened["happy"], 5, comment="谢谢王警官")
    clock.advance(minutes=90)
    unhappy = desk.store.get(opened["unhappy"])
    desk.officer_act(opened["unhappy"], unhappy.officer_id, "resolve", note="劝了")
    desk.rate("unhappy", opened["unhappy"], 2)  # reopened to the supervisor: still open
    desk.cancel("withdrawn", opened["withdrawn"])
    clock.moment = at(4, 21)  # every first promise has fallen due
    desk.officer_act(opened["late"], desk.store.get(opened["late"]).officer_id, "contacted")
    desk.watch()  # breaks "ignored" and "waiting"
    clock.moment = at(5, 10)
    return opened
