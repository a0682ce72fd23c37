"""Opening, changing and finding cases, on both backends (see conftest)."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone
from typing import Mapping
from zoneinfo import ZoneInfo

import pytest

from hemu.case import Change
from hemu.cases import CaseState, Priority
from hemu.store import (
    Assignment,
    CaseNotFound,
    CaseRecord,
    ConcurrentUpdate,
    InvalidTransition,
    Notification,
    Store,
)
from tests.hemu.store.support import (
    DUE,
    NOW,
    assign_to,
    count_rows,
    least_loaded,
    new_case,
    open_case,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
TABLES = ("cases", "case_events", "outbox", "case_counters")


def row_counts(store: Store) -> dict[str, int]:
    return {table: count_rows(store, table) for table in TABLES}


# ---------------------------------------------------------------- opening


def test_numbers_count_up_per_year(store: Store) -> None:
    numbers = [open_case(store).number for _ in range(3)]
    assert numbers == ["HM-2026-000001", "HM-2026-000002", "HM-2026-000003"]
    next_year = datetime(2027, 1, 5, tzinfo=timezone.utc)
    assert open_case(store, now=next_year).number == "HM-2027-000001"
    assert open_case(store).number == "HM-2026-000004"
    assert open_case(store, now=next_year).number == "HM-2027-000002"


def test_the_year_is_the_stations_local_year(store: Store) -> None:
    # 20:00 UTC on New Year's Eve is already 04:00 on 1 January in Shanghai.
    late = datetime(2026, 12, 31, 20, 0, tzinfo=timezone.utc)
    shanghai = store.open_case(new_case(), assign_to("wang_li"), late, "resident:42", year_tz=SHANGHAI)
    utc = store.open_case(new_case(), assign_to("wang_li"), late, "resident:42")
    assert (shanghai.number, shanghai.year, shanghai.seq) == ("HM-2027-000001", 2027, 1)
    assert utc.number == "HM-2026-000001"


def test_open_case_stores_the_report(store: Store) -> None:
    new = new_case(priority=Priority.HIGH, risk_flags=("threat",), summary="他说要砸我家的门")
    record = store.open_case(new, assign_to("wang_li", reason="area liuan, on duty"), NOW, "resident:42")
    assert record == store.get(record.number)
    assert isinstance(record, CaseRecord)
    for name in (f.name for f in dataclasses.fields(new)):
        assert getattr(record, name) == getattr(new, name), name
    assert record.state is CaseState.OPEN and record.priority is Priority.HIGH
    assert (record.officer_id, record.promise_due_at) == ("wang_li", DUE)
    assert record.opened_at == record.updated_at == NOW
    assert record.first_response_at is record.resolved_at is record.closed_at is None
    assert record.version == 1
    assert record.is_active and not record.is_overdue(DUE) and record.is_overdue(DUE + timedelta(seconds=1))
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.state = CaseState.CLOSED  # type: ignore[misc]

    opened, assigned = store.events(record.number)
    assert (opened.kind, opened.actor, opened.from_state, opened.to_state) == (
        "opened",
        "resident:42",
        None,
        CaseState.OPEN,
    )
    assert opened.detail == {"number": record.number, "category": "report_noise", "priority": "high"}
    assert (assigned.kind, assigned.actor, assigned.reason) == ("assigned", "system", "area liuan, on duty")
    assert assigned.detail == {"officer_id": "wang_li", "due_at": DUE.isoformat()}
    assert opened.at == assigned.at == NOW and opened.case_id == record.id


def test_open_case_queues_the_officers_card_and_the_callers_notifications(store: Store) -> None:
    told = Notification("resident:42", "case_update", {"number": "HM-2026-000001", "officer": "wang_li"})
    record = store.open_case(new_case(), assign_to("wang_li"), NOW, "resident:42", notify=[told])
    queued = store.outbox.notifications(record.number)
    assert [(n.recipient, n.kind, n.payload) for n in queued] == [
        ("officer:wang_li", "case_assigned", {"number": record.number}),
        ("resident:42", "case_update", {"number": record.number, "officer": "wang_li"}),
    ]
    assert all(n.case_id == record.id and n.status == "pending" and n.attempts == 0 for n in queued)
    assert all(n.created_at == n.next_attempt_at == NOW for n in queued)

    fixed = store.open_case(
        new_case(),
        assign_to("zhang_wei"),
        NOW,
        "resident:42",
        notify=[Notification("officer:zhou_jian", "case_update", {"event": "fyi"})],
    )
    assert [n.recipient for n in store.outbox.notifications(fixed.number)] == [
        "officer:zhang_wei",
        "officer:zhou_jian",
    ]


def test_assign_sees_current_loads_and_balances(store: Store) -> None:
    seen: list[Mapping[str, int]] = []

    def roster(loads: Mapping[str, int]) -> Assignment:
        seen.append(dict(loads))
        return least_loaded("wang_li", "zhang_wei")(loads)

    officers = [store.open_case(new_case(), roster, NOW, "resident:42").officer_id for _ in range(4)]
    assert officers == ["wang_li", "zhang_wei", "wang_li", "zhang_wei"]
    assert seen == [{}, {"wang_li": 1}, {"wang_li": 1, "zhang_wei": 1}, {"wang_li": 2, "zhang_wei": 1}]
    assert store.loads() == {"wang_li": 2, "zhang_wei": 2}


def test_a_failing_assignment_leaves_nothing_behind(store: Store) -> None:
    open_case(store)
    before = row_counts(store)

    def broken_roster(_loads: Mapping[str, int]) -> Assignment:
        raise LookupError("no officer serves this area")

    with pytest.raises(LookupError, match="no officer serves"):
        store.open_case(new_case(), broken_roster, NOW, "resident:42")
    with pytest.raises(ValueError, match="naive"):
        store.open_case(
            new_case(), lambda _: Assignment("wang_li", datetime(2026, 3, 2, 12), ""), NOW, "resident:42"
        )
    assert row_counts(store) == before
    # The rollback returned the number too: none is burnt.
    assert open_case(store).number == "HM-2026-000002"


def test_a_bad_notification_rolls_back_the_whole_case(store: Store) -> None:
    before = row_counts(store)
    with pytest.raises(ValueError, match="JSON"):
        store.open_case(
            new_case(),
            assign_to("wang_li"),
            NOW,
            "resident:42",
            notify=[Notification("resident:42", "case_update", {"at": NOW})],
        )
    assert row_counts(store) == before
    assert store.cases() == []


def test_new_case_checks_itself() -> None:
    with pytest.raises(ValueError, match="consent"):
        new_case(contact_consent=False, contact="138 0000 0000")
    with pytest.raises(ValueError, match="summary"):
        new_case(summary="  ")
    with pytest.raises(ValueError):
        new_case(priority="asap")
    assert new_case(priority="urgent", risk_flags=["weapon"]).risk_flags == ("weapon",)


# ---------------------------------------------------------------- state changes


def test_resolving_without_acknowledging_counts_as_the_first_response(store: Store) -> None:
    number = open_case(store).number
    later = NOW + timedelta(hours=1)
    resolved = store.transition(number, CaseState.RESOLVED, later, "officer:wang_li", resolution_note="done")
    assert resolved.first_response_at == later == resolved.resolved_at


def test_a_case_from_open_to_closed_and_reopened(store: Store) -> None:
    number = open_case(store).number
    t = [NOW + timedelta(minutes=10 * i) for i in range(1, 7)]
    ack = store.transition(number, CaseState.ACKNOWLEDGED, t[0], "officer:wang_li")
    # Acknowledging says the officer has the case; the resident has not heard from anyone yet.
    assert (ack.state, ack.first_response_at, ack.updated_at, ack.version) == (
        CaseState.ACKNOWLEDGED,
        None,
        t[0],
        2,
    )
    assert ack.awaits_response
    contacted = store.transition(number, "contacted", t[1], "officer:wang_li", reason="phoned her")
    assert contacted.first_response_at == t[1] and not contacted.awaits_response
    resolved = store.transition(
        number, CaseState.RESOLVED, t[2], "officer:wang_li", resolution_note="mediated"
    )
    assert (resolved.resolved_at, resolved.resolution_note, resolved.is_active) == (t[2], "mediated", False)
    closed = store.transition(number, CaseState.CLOSED, t[3], "resident:42", rating=5, rating_comment="谢谢")
    assert (closed.closed_at, closed.rating, closed.rating_comment, closed.version) == (t[3], 5, "谢谢", 5)
    reopened = store.transition(
        number, CaseState.REOPENED, t[4], "resident:42", reason="noise is back", rating=2
    )
    assert (reopened.state, reopened.resolved_at, reopened.closed_at, reopened.rating) == (
        CaseState.REOPENED,
        None,
        None,
        2,
    )
    assert reopened.first_response_at == t[1] and reopened.is_active  # the first contact stays the first

    changes = [e for e in store.events(number) if e.kind == "state_changed"]
    assert [(e.from_state, e.to_state, e.actor, e.at) for e in changes] == [
        (CaseState.OPEN, CaseState.ACKNOWLEDGED, "officer:wang_li", t[0]),
        (CaseState.ACKNOWLEDGED, CaseState.CONTACTED, "officer:wang_li", t[1]),
        (CaseState.CONTACTED, CaseState.RESOLVED, "officer:wang_li", t[2]),
        (CaseState.RESOLVED, CaseState.CLOSED, "resident:42", t[3]),
        (CaseState.CLOSED, CaseState.REOPENED, "resident:42", t[4]),
    ]
    assert changes[1].reason == "phoned her" and changes[4].reason == "noise is back"
    assert changes[2].detail == {"resolution_note": "mediated"}
    assert changes[3].detail == {"rating": 5, "rating_comment": "谢谢"}


def test_a_refused_change_changes_nothing(store: Store) -> None:
    number = open_case(store).number
    store.transition(number, CaseState.RESOLVED, NOW, "officer:wang_li")
    before = (store.get(number), row_counts(store))
    with pytest.raises(InvalidTransition, match=f"case {number} is resolved; it cannot be acknowledged"):
        store.transition(
            number, CaseState.ACKNOWLEDGED, NOW, "officer:wang_li", notify=[Notification("x", "y")]
        )
    with pytest.raises(InvalidTransition, match="is resolved; it cannot be resolved"):
        store.transition(number, CaseState.RESOLVED, NOW, "officer:wang_li")
    assert (store.get(number), row_counts(store)) == before


def test_cancelled_is_final(store: Store) -> None:
    number = open_case(store).number
    store.transition(number, CaseState.CANCELLED, NOW, "resident:42", reason="we made up")
    for target in CaseState:
        if target is not CaseState.HANDED_OVER:
            with pytest.raises(InvalidTransition, match="is cancelled"):
                store.transition(number, target, NOW, "officer:wang_li")
    with pytest.raises(InvalidTransition, match="is cancelled"):
        store.hand_over(number, Assignment("zhang_wei", DUE), NOW, "admin", "x")


def test_transition_refuses_bad_requests(store: Store) -> None:
    number = open_case(store).number
    with pytest.raises(ValueError, match="hand_over"):
        store.transition(number, CaseState.HANDED_OVER, NOW, "officer:wang_li")
    with pytest.raises(TypeError, match="cannot change officer_id"):
        store.transition(number, CaseState.RESOLVED, NOW, "officer:wang_li", officer_id="zhang_wei")
    for rating in (0, 6, 4.5, True):
        with pytest.raises(ValueError, match="rating"):
            store.transition(number, CaseState.RESOLVED, NOW, "officer:wang_li", rating=rating)
    with pytest.raises(CaseNotFound, match="there is no case HM-2026-000099"):
        store.transition("HM-2026-000099", CaseState.RESOLVED, NOW, "officer:wang_li")
    with pytest.raises(ValueError, match="not a case number"):
        store.transition("case 7", CaseState.RESOLVED, NOW, "officer:wang_li")
    assert store.get(number).version == 1


def test_a_change_writes_the_notices_its_case_rule_decides(store: Store) -> None:
    number = open_case(store).number
    record = store.change(
        number,
        NOW,
        lambda case: case.officer_moves(CaseState.ACKNOWLEDGED, "wang_li", "acknowledge pressed", None, NOW),
    )
    assert record.state is CaseState.ACKNOWLEDGED
    last = store.outbox.notifications(number)[-1]
    assert (last.recipient, last.payload) == (
        "resident:42",
        {"number": number, "event": "acknowledged", "officer_id": "wang_li"},
    )


def test_numbers_are_read_as_people_type_them(store: Store) -> None:
    number = open_case(store).number
    assert store.get(" hm-2026-1 ") == store.get(number)
    assert store.transition("HM-2026-000001", "acknowledged", NOW, "officer:wang_li").number == number
    assert store.get("HM-2026-000002") is None
    with pytest.raises(ValueError):
        store.get("nonsense")
    with pytest.raises(CaseNotFound):
        store.events("HM-2026-000002")


# ---------------------------------------------------------------- optimistic locking


def test_a_stale_writer_is_refused(store: Store) -> None:
    number = open_case(store).number
    officer_view = store.get(number)
    resident_view = store.get(number)
    store.transition(number, "acknowledged", NOW, "officer:wang_li", expected_version=officer_view.version)
    with pytest.raises(ConcurrentUpdate, match="was changed by someone else") as caught:
        store.transition(number, "cancelled", NOW, "resident:42", expected_version=resident_view.version)
    assert (caught.value.expected, caught.value.actual) == (1, 2)
    record = store.get(number)
    assert (record.state, record.version) == (CaseState.ACKNOWLEDGED, 2)


def test_without_expected_version_the_change_applies_to_the_current_state(store: Store) -> None:
    number = open_case(store).number
    a, b = store.get(number), store.get(number)  # both writers read version 1
    store.transition(number, "resolved", NOW, "officer:wang_li", expected_version=None)
    assert a.version == b.version == 1
    # The second resolve is judged against "resolved", not the stale "open": nothing is overwritten.
    with pytest.raises(InvalidTransition):
        store.transition(number, "resolved", NOW, "officer:zhang_wei", resolution_note="overwrite?")
    assert store.get(number).resolution_note is None
    store.add_details(number, "one more thing", NOW, "resident:42")
    assert store.get(number).version == 3


# ---------------------------------------------------------------- hand over, details


def test_hand_over(store: Store) -> None:
    number = open_case(store).number
    store.transition(number, "acknowledged", NOW, "officer:wang_li")
    new_due = NOW + timedelta(hours=2)
    record = store.hand_over(
        number,
        Assignment("zhang_wei", new_due, "backup on duty"),
        NOW,
        "officer:wang_li",
        "going off duty",
        notify=[Notification("resident:42", "case_update", {"number": number})],
    )
    assert (record.state, record.officer_id, record.promise_due_at, record.version) == (
        CaseState.HANDED_OVER,
        "zhang_wei",
        new_due,
        3,
    )
    event = store.events(number)[-1]
    assert (event.kind, event.from_state, event.to_state, event.reason, event.actor) == (
        "handed_over",
        CaseState.ACKNOWLEDGED,
        CaseState.HANDED_OVER,
        "going off duty",
        "officer:wang_li",
    )
    assert event.detail == {
        "from_officer": "wang_li",
        "to_officer": "zhang_wei",
        "due_at": new_due.isoformat(),
        "assignment_reason": "backup on duty",
    }
    queued = [(n.recipient, n.kind, n.payload) for n in store.outbox.notifications(number)][-2:]
    assert queued == [
        ("officer:zhang_wei", "case_assigned", {"number": number, "from_officer": "wang_li"}),
        ("resident:42", "case_update", {"number": number}),
    ]
    assert store.loads() == {"zhang_wei": 1}
    # Handed over again (the promise broke, the supervisor takes it).
    again = store.hand_over(number, Assignment("li_ming", new_due, "supervisor"), NOW, "system", "")
    assert (again.officer_id, store.events(number)[-1].reason) == ("li_ming", "supervisor")
    store.transition(number, "resolved", NOW, "officer:li_ming")
    with pytest.raises(InvalidTransition, match="is resolved; it cannot be handed_over"):
        store.hand_over(number, Assignment("wang_li", new_due), NOW, "admin", "")


def test_add_details(store: Store) -> None:
    record = open_case(store)
    updated = store.add_details(
        record.number, "他今天又开始了，早上七点", NOW + timedelta(hours=1), "resident:42"
    )
    assert (updated.summary, updated.version, updated.updated_at) == (
        record.summary,
        2,
        NOW + timedelta(hours=1),
    )
    event = store.events(record.number)[-1]
    assert (event.kind, event.actor, event.detail) == (
        "details_added",
        "resident:42",
        {"text": "他今天又开始了，早上七点"},
    )
    card = store.outbox.notifications(record.number)[-1]
    assert (card.recipient, card.kind, card.payload) == (
        "officer:wang_li",
        "case_update",
        {"number": record.number, "event": "details_added", "text": "他今天又开始了，早上七点"},
    )
    with pytest.raises(ValueError):
        store.add_details(record.number, "  ", NOW, "resident:42")
    store.transition(record.number, "resolved", NOW, "officer:wang_li")
    store.add_details(record.number, "it is quiet now", NOW, "resident:42")  # still allowed before rating
    store.transition(record.number, "closed", NOW, "resident:42", rating=4)
    before = row_counts(store)
    with pytest.raises(InvalidTransition, match="is closed; details can no longer be added"):
        store.add_details(record.number, "late", NOW, "resident:42")
    assert row_counts(store) == before


# ---------------------------------------------------------------- queries


def test_queries(store: Store) -> None:
    a = open_case(store, resident_id="42", category="report_noise", officer="wang_li")
    b = open_case(store, resident_id="42", category="report_pet_dispute", officer="zhang_wei")
    c = open_case(store, resident_id="7", category="report_noise", officer="wang_li")
    d = open_case(store, resident_id="42", category="report_noise", officer="wang_li")
    store.transition(a.number, "resolved", NOW, "officer:wang_li")
    store.transition(b.number, "acknowledged", NOW, "officer:zhang_wei")

    def numbers(records: list[CaseRecord]) -> list[str]:
        return [r.number for r in records]

    assert numbers(store.cases_for_resident("42")) == [d.number, b.number, a.number]
    assert numbers(store.cases_for_resident("42", active_only=True)) == [d.number, b.number]
    assert store.cases_for_resident("nobody") == []
    assert store.active_case_in_category("42", "report_noise").number == d.number
    assert store.active_case_in_category("42", "report_money_dispute") is None
    store.transition(d.number, "cancelled", NOW, "resident:42")
    assert store.active_case_in_category("42", "report_noise") is None
    assert store.active_case_in_category("7", "report_noise").number == c.number

    assert numbers(store.cases()) == [d.number, c.number, b.number, a.number]
    assert numbers(store.cases(limit=2)) == [d.number, c.number]
    assert numbers(store.cases(state=CaseState.RESOLVED)) == [a.number]
    assert numbers(store.cases(state="open")) == [c.number]
    assert numbers(store.cases(officer_id="wang_li")) == [d.number, c.number, a.number]
    assert numbers(store.cases(officer_id="wang_li", active_only=True)) == [c.number]
    assert store.loads() == {"wang_li": 1, "zhang_wei": 1}


# ---------------------------------------------------------------- time


def test_naive_times_are_refused_and_nothing_is_written(store: Store) -> None:
    number = open_case(store).number
    naive = datetime(2026, 3, 2, 9, 30)
    before = (store.get(number), row_counts(store))
    with pytest.raises(ValueError, match="now must be timezone-aware"):
        store.open_case(new_case(), assign_to("wang_li"), naive, "resident:42")
    with pytest.raises(ValueError, match="timezone-aware"):
        store.transition(number, "acknowledged", naive, "officer:wang_li")
    with pytest.raises(ValueError, match="timezone-aware"):
        store.hand_over(number, Assignment("zhang_wei", naive), NOW, "admin", "")
    with pytest.raises(ValueError, match="timezone-aware"):
        store.add_details(number, "more", naive, "resident:42")
    with pytest.raises(ValueError, match="timezone-aware"):
        store.outbox.pending(naive)
    assert (store.get(number), row_counts(store)) == before


def test_times_come_back_in_utc(store: Store) -> None:
    local_now = datetime(2026, 3, 2, 17, 30, tzinfo=SHANGHAI)  # = 09:30 UTC
    local_due = datetime(2026, 3, 2, 21, 30, tzinfo=SHANGHAI)
    record = store.open_case(new_case(), assign_to("wang_li", due=local_due), local_now, "resident:42")
    for value in (record.opened_at, record.promise_due_at, store.events(record.number)[0].at):
        assert value.utcoffset() == timedelta(0) and value.tzinfo is timezone.utc
    assert record.opened_at == NOW and record.promise_due_at == local_due
    assert record.opened_at.hour == 9
    # Microseconds survive the round trip (SQLite keeps them in its text format).
    precise = NOW + timedelta(microseconds=123456)
    assert store.transition(record.number, "contacted", precise, "officer:x").first_response_at == precise
    # Comparisons in SQL work across offsets: due "now" in Shanghai time is due now in UTC.
    assert [n.id for n in store.outbox.pending(local_now)] == [n.id for n in store.outbox.notifications()]
    assert store.outbox.pending(local_now - timedelta(microseconds=1)) == []


def test_an_opening_that_adds_no_case_leaves_no_number_behind(store: Store) -> None:
    """The desk chooses the officer inside the unit of work: if choosing fails, or nothing is added,
    the allocated number is rolled back with everything else, so numbers never skip."""
    with pytest.raises(LookupError, match="nobody on duty"), store.opening(NOW):
        raise LookupError("nobody on duty")
    with pytest.raises(RuntimeError, match="no case was added"), store.opening(NOW) as opening:
        assert opening.number.endswith("000001")
    with store.opening(NOW) as opening:
        assert opening.loads == {}
        first = opening.add(new_case(), Assignment("wang_li", DUE, "area duty"), "resident:42")
        with pytest.raises(RuntimeError, match="already added"):
            opening.add(new_case(), Assignment("wang_li", DUE, "area duty"), "resident:42")
    assert first.number.endswith("000001") and store.cases() == [first]
    with store.opening(NOW + timedelta(minutes=1)) as opening:
        assert opening.loads == {"wang_li": 1}  # read inside the transaction, for the roster to choose from
        opening.add(new_case(), Assignment("zhang_wei", DUE, "area duty"), "resident:43")


def test_a_misspelt_event_kind_is_refused_and_nothing_of_its_change_is_written(store: Store) -> None:
    case = open_case(store)
    typo = Change({"state": "acknowledged"}, [{"actor": "system", "kind": "acknowleged", "detail": {}}])
    with pytest.raises(ValueError, match="acknowleged"):
        store.change(case.number, NOW, lambda _case: typo)
    assert store.get(case.number) == case
    assert [event.kind for event in store.events(case.number)] == ["opened", "assigned"]
