"""Forgetting a resident and reading what the station report reads, on both backends."""

from __future__ import annotations

from datetime import timedelta

from hemu.cases import CaseState
from hemu.kinds import NoticeKind
from hemu.store import ERASED_PREFIX, ERASED_TEXT, InboundStatus, Notification, OutboxStatus, Store
from hemu.store.handled import record_handled
from hemu.store.privacy import held
from hemu.store.records import RESET_MARK, RETENTION_SOURCE
from tests.hemu.store.support import DUE, NOW, open_case


def test_forget_erases_personal_data_everywhere(store: Store) -> None:
    mine = open_case(store, resident_id="42")
    store.add_details(mine.number, "他又来敲门了", NOW, "resident:42")
    store.transition(mine.number, "resolved", NOW, "officer:wang_li", resolution_note="和张先生谈过")
    store.transition(
        mine.number,
        "closed",
        NOW,
        "resident:42",
        notify=[Notification("resident:42", "case_update", {"number": mine.number, "event": "closed"})],
        rating=4,
        rating_comment="王警官很好",
    )
    theirs = open_case(store, resident_id="7")
    answered = store.inbound.add("42", 42, "还有一件事", {"language": "zh"}, NOW, source="m:42:9")
    # Rasa's answer read the details back (the recap): journalled before it was sent.
    store.inbound.answer(answered, [{"recipient_id": "42", "text": "地点：柳岸花园7栋 电话：13912345678"}])
    store.inbound.add("7", 7, "hello", {}, NOW)

    assert store.privacy.forget_resident("42", NOW + timedelta(minutes=1)) == 1
    case = store.get(mine.number)
    assert case.resident_id.startswith(ERASED_PREFIX)
    assert (case.summary, case.area_text, case.parties, case.duration, case.contact) == (
        ERASED_TEXT,
        None,
        None,
        None,
        None,
    )
    assert (case.rating_comment, case.resolution_note) == (ERASED_TEXT, ERASED_TEXT)
    assert (case.rating, case.state, case.category, case.area_id) == (
        4,
        CaseState.CLOSED,
        "report_noise",
        "liuan",
    )
    assert case.version == mine.version + 4  # details, resolved, closed, forgotten
    log = repr(store.events(mine.number)) + repr(store.outbox.notifications(mine.number))
    for personal in ("他又来敲门了", "和张先生谈过", "王警官很好", "resident:42"):
        assert personal not in log
    resident_notes = [
        n for n in store.outbox.notifications(mine.number) if n.recipient.startswith("resident:")
    ]
    assert [n.status for n in resident_notes] == [OutboxStatus.DROPPED]
    assert store.cases_for_resident("42") == [] and store.cases_for_resident(case.resident_id) == [case]
    assert not store.inbound.has_pending("42") and store.inbound.has_pending("7")
    (erased,) = store.inbound.messages(case.resident_id)
    assert (erased.status, erased.text, erased.metadata) == (InboundStatus.DROPPED, ERASED_TEXT, {})
    assert (erased.answers, erased.source, erased.chat_id) == (None, None, 0)
    assert store.get(theirs.number).summary == theirs.summary
    # Forgetting twice: nothing left to forget; a new hash each time so ids cannot be linked back.
    assert store.privacy.forget_resident("42", NOW) == 0


def test_report_facts(store: Store) -> None:
    """What the station report reads, on both backends: figures and history, never anyone's words."""
    kept = open_case(store, resident_id="1")
    store.transition(kept.number, "acknowledged", NOW + timedelta(minutes=30), "officer:wang_li")
    store.transition(kept.number, "contacted", NOW + timedelta(hours=1), "officer:wang_li")
    store.transition(
        kept.number, "resolved", NOW + timedelta(hours=2), "officer:wang_li", resolution_note="说好了"
    )
    store.transition(
        kept.number, "closed", NOW + timedelta(hours=3), "resident:1", rating=5, rating_comment="好"
    )
    waiting = open_case(store, resident_id="3", category="report_pet_dispute")
    late = open_case(store, resident_id="2", area_id=None)
    store.transition(late.number, "contacted", DUE + timedelta(hours=1), "officer:wang_li")
    withdrawn = open_case(store, resident_id="4")
    store.transition(withdrawn.number, "cancelled", NOW, "resident:4")

    facts = {case.number: case for case in store.report_facts.cases(DUE + timedelta(hours=5))}
    assert set(facts) == {kept.number, waiting.number, late.number, withdrawn.number}
    assert facts[kept.number].first_response_at == NOW + timedelta(hours=1)
    assert (facts[kept.number].rating, facts[kept.number].promise_kept) == (5, True)
    assert [(e.kind, e.to_state) for e in facts[kept.number].events][-4:] == [
        ("state_changed", "acknowledged"),
        ("state_changed", "contacted"),
        ("state_changed", "resolved"),
        ("state_changed", "closed"),
    ]
    assert facts[kept.number].events[-1].rating == 5
    assert facts[kept.number].events[-2].actor_officer == "wang_li"
    assert (facts[late.number].area_id, facts[late.number].promise_kept) == (None, False)
    assert facts[waiting.number].promise_kept is None and facts[waiting.number].state == "open"
    assert store.report_facts.cases(NOW) == []  # opened at NOW: not before it
    for personal in ("说好了", "好'", "resident:"):
        assert personal not in repr(list(facts.values()))


def test_forget_reaches_the_officers_copies_the_journal_and_the_handled_ids(store: Store) -> None:
    """/forget left the resident's words in officers' chats (cards, notices), in updates still journalled
    and their Telegram id in the handled-message ids."""
    mine = open_case(store, resident_id="42")
    theirs = open_case(store, resident_id="7")
    store.officer_messages.keep(mine.number, "wang_li", 7001, 10, NOW)
    store.officer_messages.keep(mine.number, "wang_li", 7001, 10, NOW)  # the same message again: one row
    store.officer_messages.keep(mine.number, "zhou_jian", 7004, 11, NOW)
    store.officer_messages.keep(theirs.number, "wang_li", 7001, 12, NOW)
    store.officer_messages.keep("HM-2026-999999", "wang_li", 7001, 13, NOW)  # no such case: not kept
    with store.engine.begin() as conn:
        record_handled(conn, "42", "update:5", mine.number, True, NOW)
    store.received.keep(77, 42, {"update_id": 77, "message": {"text": "他又来了"}}, NOW)
    store.received.keep(78, 7, {"update_id": 78, "message": {"text": "hello"}}, NOW)

    store.privacy.forget_resident("42", NOW + timedelta(minutes=1))
    erasures = [n for n in store.outbox.notifications(mine.number) if n.kind == NoticeKind.DETAILS_ERASED]
    assert sorted((n.recipient, n.payload["chat_id"], n.payload["message_id"]) for n in erasures) == [
        ("officer:wang_li", 7001, 10),
        ("officer:zhou_jian", 7004, 11),
    ]
    assert all(n.payload["number"] == mine.number and n.status is OutboxStatus.PENDING for n in erasures)
    assert store.officer_messages.count(mine.number) == 0 and store.officer_messages.count(theirs.number) == 1
    assert store.handled.get("42", "update:5") is None
    assert store.handled.get(store.get(mine.number).resident_id, "update:5") is not None
    assert [r.update_id for r in store.received.left_over()] == [78]


def test_the_retention_rule_erases_cases_long_over_and_old_message_texts(store: Store) -> None:
    keep = timedelta(days=180)
    old = open_case(store, resident_id="42", summary="楼上602天天吵")
    store.transition(old.number, "resolved", NOW, "officer:wang_li", resolution_note="上门调解")
    store.transition(old.number, "closed", NOW, "resident:42", rating=5, rating_comment="谢谢王警官")
    recent = open_case(store, resident_id="42", summary="又吵了")
    store.transition(recent.number, "resolved", NOW + keep, "officer:wang_li")
    store.transition(recent.number, "closed", NOW + keep, "resident:42", rating=4)
    working = open_case(store, resident_id="7", summary="狗叫")
    store.officer_messages.keep(old.number, "wang_li", 7001, 20, NOW)
    kept = store.inbound.add("42", 42, "楼上602天天吵", {}, NOW)
    store.inbound.answer(kept, [{"recipient_id": "42", "text": "地点：楼上602"}])
    store.inbound.mark_delivered(kept, NOW)
    waiting = store.inbound.add("7", 7, "还没人来", {}, NOW)

    later = NOW + keep + timedelta(days=1)
    before = held(store.engine)
    assert (before.cases_with_details, before.over_with_details, before.erased) == (3, 2, 0)
    assert store.privacy.expire(later, keep) == [old.number]
    assert store.privacy.expire(later, keep) == []  # done once
    gone = store.get(old.number)
    assert (gone.summary, gone.rating_comment, gone.resolution_note, gone.resident_id) == (
        ERASED_TEXT,
        ERASED_TEXT,
        ERASED_TEXT,
        "42",  # the resident keeps their id: a later /forget still finds the case
    )
    assert (gone.rating, gone.state, gone.category) == (5, CaseState.CLOSED, "report_noise")
    assert store.events(old.number)[-1].kind == "details_expired"
    assert "上门调解" not in repr(store.events(old.number)) + repr(store.outbox.notifications(old.number))
    assert [n.kind for n in store.outbox.notifications(old.number)][-1] == NoticeKind.DETAILS_ERASED
    assert store.get(recent.number).summary == "又吵了" and store.get(working.number).summary == "狗叫"
    texts = {m.id: m.text for m in store.inbound.messages("42") + store.inbound.messages("7")}
    assert texts == {kept: ERASED_TEXT, waiting: "还没人来"}  # a message still waiting is never erased
    assert store.inbound.messages("42")[0].answers is None  # Rasa's answer read the words back
    after = held(store.engine)
    assert (after.cases_with_details, after.over_with_details, after.erased, after.officer_copies) == (
        2,
        1,
        1,
        0,
    )
    assert after.oldest_over == NOW + keep


def resets(store: Store, sender: str) -> list[int]:
    """The retention rule's resets queued for ``sender`` (a delivered one loses its mark with its text)."""
    return [m.id for m in store.inbound.messages(sender) if (m.source or "").startswith(RETENTION_SOURCE)]


def test_a_conversation_quiet_past_the_rule_is_queued_for_erasing_in_rasa_once(store: Store) -> None:
    """Rasa's tracker holds the resident's words too: when their last message and their last case's
    details pass the rule, the replay loop is asked (a kept reset) to erase it — once, not every sweep,
    and not while anything of theirs is newer or still kept."""
    keep = timedelta(days=180)
    for sender, chat in (("42", 42), ("7", 7), ("9", 9)):
        store.inbound.mark_delivered(store.inbound.add(sender, chat, "楼上又吵", {}, NOW), NOW)
    store.inbound.mark_delivered(store.inbound.add("7", 7, "还在吵", {}, NOW + keep), NOW + keep)
    working = open_case(store, resident_id="9", summary="狗叫")
    later = NOW + keep + timedelta(days=1)
    store.privacy.expire(later, keep)
    assert resets(store, "42") != [] and resets(store, "7") == [] and resets(store, "9") == []
    queued = store.inbound.messages("42")[-1]
    assert (queued.status, queued.chat_id, queued.metadata) == (InboundStatus.PENDING, 42, {RESET_MARK: True})
    store.inbound.mark_delivered(queued.id, later)
    store.privacy.expire(later + keep * 2, keep)  # its own reset passing the rule is no reason for another
    assert len(resets(store, "42")) == 1
    assert resets(store, "7") != []  # its newer message passed the rule in the meantime
    assert resets(store, "9") == []  # a case still being worked keeps the conversation

    store.transition(working.number, "cancelled", later, "resident:9")
    assert store.privacy.expire(later + keep * 2, keep) == [working.number]
    assert resets(store, "9") != []  # the conversation goes with the last case's details
