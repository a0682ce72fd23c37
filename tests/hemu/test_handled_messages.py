"""The same resident message reaching the desk twice (a replay after a Rasa timeout, Telegram delivering
an update again) changes nothing the second time: one case, one card, the details once."""

from __future__ import annotations

from hemu.desk import Desk
from hemu.kinds import EventKind, NoticeKind
from tests.hemu.desk_support import report


def _cards(desk: Desk) -> list[str]:
    return [
        n.recipient for n in desk.store.outbox.notifications() if n.kind == NoticeKind.CASE_ASSIGNED.value
    ]


def test_a_message_opens_one_case_however_often_it_arrives(case_desk: Desk) -> None:
    first = case_desk.open_case(report(source="m:42:7"))
    again = case_desk.open_case(report(source="m:42:7"))
    assert first.opened and again.opened  # the resident hears the same answer
    assert again.case.number == first.case.number
    assert len(case_desk.store.cases()) == 1 and len(_cards(case_desk)) == 1


def test_details_from_one_message_are_added_once(case_desk: Desk) -> None:
    case = case_desk.open_case(report(source="m:42:1")).case
    for _ in range(3):
        outcome = case_desk.open_case(report(summary="又拖了一晚上", source="m:42:2"))
        assert not outcome.opened and outcome.case.number == case.number
    added = [e for e in case_desk.store.events(case.number) if e.kind == EventKind.DETAILS_ADDED.value]
    assert len(added) == 1


def test_an_urgent_message_pages_once(case_desk: Desk) -> None:
    for _ in range(2):
        case_desk.open_urgent_case("42", "zh", "他拿着刀说要杀了我", ["weapon", "threat"])
    # Without a source the desk cannot tell a repeat from a new message: one urgent case, details added.
    urgent = case_desk.store.cases()
    assert len(urgent) == 1
    report_twice = report(category="danger", summary="他又来了", risk_flags=("threat",), source="m:42:9")
    case_desk.open_case(report_twice)
    case_desk.open_case(report_twice)
    added = [e for e in case_desk.store.events(urgent[0].number) if e.kind == EventKind.DETAILS_ADDED.value]
    assert len(added) == 2  # the unsourced repeat, and the sourced message once


def test_different_messages_and_residents_are_not_confused(case_desk: Desk) -> None:
    case_desk.open_case(report(source="m:42:7"))
    case_desk.open_case(report(resident_id="43", source="m:42:7"))  # another resident, same ids
    case_desk.open_case(report(category="report_pet_dispute", summary="狗叫", source="m:42:8"))
    assert len(case_desk.store.cases()) == 3
