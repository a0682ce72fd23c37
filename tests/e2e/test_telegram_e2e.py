"""End to end over Telegram: every process real, on 127.0.0.1, exactly as `make run` starts them.

Rasa, the action server, the gateway (``python -m bot``) and the local Bot API server (``python -m
sandbox``) run as separate processes sharing one temporary SQLite store and one clock file. Residents and
officers are played only through the Bot API server's control API — typing, pressing the buttons the bot
sent — so what is checked is what a person on Telegram would see; the case store confirms the facts behind
it (officer, promise, state, rating). Time moves forward through the shared clock file, for all processes
at once, as it would if the test waited hours.
"""

from __future__ import annotations

import json
import urllib.request
from datetime import timedelta
from typing import Any

import pytest

from bot import texts
from hemu import clock
from hemu.cases import CaseState, Priority
from hemu.desk import Desk, Report
from hemu.duty import on_duty
from hemu.roster import Officer
from hemu.store import CaseRecord
from tests.e2e.conftest import E2E, Chat, eventually

pytestmark = pytest.mark.rasa


# ---------------------------------------------------------------- helpers


def only_case(e2e: E2E, resident: Chat) -> CaseRecord:
    cases = eventually(lambda: e2e.store.cases_for_resident(str(resident.user_id)), what="the case")
    assert len(cases) == 1, cases
    return cases[0]


def officer_of(e2e: E2E, case: CaseRecord) -> Officer:
    return e2e.settings.roster.get(case.officer_id)


def local_due(e2e: E2E, case: CaseRecord) -> str:
    return f"{case.promise_due_at.astimezone(e2e.settings.station.station.tz):%H:%M}"


def desk(e2e: E2E) -> Desk:
    """The desk in this process, on the same store and (through HEMU_CLOCK_FILE) the same clock."""
    return Desk(e2e.settings, e2e.store)


def sent_ok(e2e: E2E, number: str) -> bool:
    """Every notification about the case has left the outbox: sent, or dropped on purpose with a reason
    — none pending or failed."""
    notes = e2e.store.outbox.notifications(number)
    return bool(notes) and all(
        note.status.value == "sent" or (note.status.value == "dropped" and note.last_error) for note in notes
    )


def wait_all_sent(e2e: E2E, number: str) -> None:
    try:
        eventually(lambda: sent_ok(e2e, number), what=f"every notification of {number} sent")
    except AssertionError as error:
        rows = [
            (n.recipient, n.kind, dict(n.payload), n.status.value, n.attempts, n.last_error)
            for n in e2e.store.outbox.notifications(number)
        ]
        raise AssertionError(f"{error}; the outbox: {rows}") from None


def report_inlaw_conflict_zh(resident: Chat) -> str:
    """The Chinese report of the REST end-to-end test, typed and tapped through Telegram up to an officer."""
    resident.send("婆婆天天挑我毛病，今天又当着孩子的面骂我，我实在受不了了")
    resident.expect("发生在哪里")
    resident.send("柳岸花园7栋")
    resident.expect("涉及哪些人")
    resident.send("我和我婆婆")
    resident.expect("持续多久")
    resident.send("两年多了")
    resident.expect("受伤")
    resident.press_payload('/inform{"harm":"none"}')
    resident.expect("直接联系您")
    resident.press_payload("/affirm")
    resident.expect("怎么联系您")
    resident.send("139 1234 5678，晚上七点后")
    resident.expect("这样对吗")
    resident.press_payload("/affirm")
    resident.expect("调解", "民警来跟进")
    resident.press_payload("/request_officer")
    return resident.expect("案件编号")


def report_pet_dispute_en(resident: Chat) -> str:
    resident.send("someone lets their dog poop in the lift and never cleans it")
    resident.expect("Where is this happening")
    resident.send("Donghu Court 5-702")
    resident.expect("Who is involved")
    resident.send("no idea")
    resident.expect("How long")
    resident.send("about three weeks")
    resident.expect("Is anyone hurt")
    resident.press_payload('/inform{"harm":"none"}')
    resident.expect("may they contact you")
    resident.press_payload("/deny")
    resident.expect("Is this correct")
    resident.press_payload("/affirm")
    resident.expect("mediation", "officer to follow it up")
    resident.press_payload("/request_officer")
    return resident.expect("I've opened case")


def work_the_case(e2e: E2E, resident: Chat, case: CaseRecord, note: str, rating: int) -> CaseRecord:
    """Officer: card → acknowledge → resolve with a note; resident: told each time, rates by button."""
    officer = officer_of(e2e, case)
    name = officer.name.get(case.language)
    desk_officer = e2e.officers[case.officer_id]
    card_id, ack = desk_officer.wait_button(f"o:ack:{case.number}:")
    card = next(m for m in desk_officer.bot_messages() if m["message_id"] == card_id)
    assert case.number in card["text"]

    resident.set_mark()
    desk_officer.press(card_id, ack)
    acknowledged = e2e.wait_case(case.number, lambda c: c.state is CaseState.ACKNOWLEDGED, "acknowledged")
    resident.expect(case.number, name)

    # The card is refreshed in place with the new version; its buttons carry it (an old one is refused).
    resident.set_mark()
    desk_officer.press_button(f"o:resolve:{case.number}:{acknowledged.version}")
    language = e2e.officer_language(case.officer_id)
    desk_officer.expect(texts.text("resolve_ask_note", language, number=case.number))
    desk_officer.send(note)
    resolved = e2e.wait_case(case.number, lambda c: c.state is CaseState.RESOLVED, "resolved")
    assert resolved.resolution_note == note
    resident.expect(case.number, name)

    resident.press_button(f"rate:{case.number}:{rating}")
    closed = e2e.wait_case(case.number, lambda c: c.state is CaseState.CLOSED, "closed with a rating")
    assert closed.rating == rating
    resident.expect(case.number, f"{rating}/5")
    # The optional comment: skipped with its button when the gateway offers one.
    skip = resident.find_button(lambda b: b["callback_data"] == f"rate:skip:{case.number}")
    if skip:
        assert resident.answer(resident.press(*skip)).get("text")
    return closed


# ---------------------------------------------------------------- scenarios


def test_a_full_case_in_chinese(e2e: E2E) -> None:
    resident = e2e.resident("zh-hans")
    reply = report_inlaw_conflict_zh(resident)
    case = only_case(e2e, resident)
    officer = officer_of(e2e, case)
    station = e2e.settings.station.station.name.zh
    assert f"案件编号 {case.number}" in reply
    assert f"{station}{officer.title.zh}{officer.name.zh}将于" in reply
    assert f"{local_due(e2e, case)}前" in reply
    assert (case.category, case.area_id, case.language) == ("report_inlaw_conflict", "liuan", "zh")
    assert case.contact_consent and "139 1234 5678" in (case.contact or "")

    closed = work_the_case(e2e, resident, case, note="已上门调解，婆媳双方同意每周一起吃饭沟通", rating=5)
    assert closed.closed_at is not None and closed.rating == 5
    events = [event.kind for event in e2e.store.events(case.number)]
    assert events[0] == "opened"
    wait_all_sent(e2e, case.number)


def test_a_full_case_in_english(e2e: E2E) -> None:
    resident = e2e.resident("en")
    reply = report_pet_dispute_en(resident)
    case = only_case(e2e, resident)
    officer = officer_of(e2e, case)
    assert f"I've opened case {case.number} for you" in reply
    assert (
        f"{officer.title.en} {officer.name.en} of the Riverside Police Station will contact you by" in reply
    )
    assert local_due(e2e, case) in reply
    assert (case.category, case.area_id, case.language, case.parties) == (
        "report_pet_dispute",
        "donghu",
        "en",
        None,
    )
    work_the_case(
        e2e, resident, case, note="Spoke to the dog owner; they will clean up & use a bag <always>.", rating=4
    )
    # The officer's note is shown back on the card escaped, not as HTML.
    officer_chat = e2e.officers[case.officer_id]
    assert any("<always>" in (m.get("text") or "") for m in officer_chat.bot_messages())


def test_danger_mid_form_gets_110_and_an_urgent_case(e2e: E2E) -> None:
    resident = e2e.resident("zh-hans")
    resident.send("老公天天打游戏，家务一点不干")
    resident.expect("发生在哪里")
    resident.send("他刚才拿着菜刀说要砍死我")
    reply = resident.expect("110", "紧急案件编号")
    assert "调解" not in reply
    case = only_case(e2e, resident)
    assert case.priority is Priority.URGENT and case.risk_flags
    officer = officer_of(e2e, case)
    assert f"紧急案件编号 {case.number}" in reply and officer.name.zh in reply
    assert case.promise_due_at - case.opened_at == timedelta(minutes=15)
    # The on-duty officer's card arrives, risk shown.
    card_id, _ = e2e.officers[case.officer_id].wait_button(f"o:ack:{case.number}:")
    card = next(m for m in e2e.officers[case.officer_id].bot_messages() if m["message_id"] == card_id)
    assert case.number in card["text"]


def open_urgent_case(e2e: E2E, resident: Chat) -> CaseRecord:
    """An urgent case straight through the desk (as the actions would open it): 15 minutes, wall clock."""
    resident.send("你好")  # the resident's chat exists before the bot writes to it, as on Telegram
    resident.expect("和睦")
    outcome = desk(e2e).open_case(
        Report(
            resident_id=str(resident.user_id),
            language="zh",
            category="report_noise",
            summary="楼上邻居喊着要砍人，一直在砸门",
            area_id="binhe",
            harm="afraid",
            risk_flags=("threat",),
        ),
        priority=Priority.URGENT,
    )
    return outcome.case


def test_a_broken_promise_reminds_then_escalates(e2e: E2E) -> None:
    resident = e2e.resident("zh-hans")
    case = open_urgent_case(e2e, resident)
    roster = e2e.settings.roster
    assigned = e2e.officers[case.officer_id]
    assigned.wait_button(f"o:ack:{case.number}:")
    window = case.promise_due_at - case.promise_set_at
    remind_after = window * e2e.settings.policy.remind_at

    # Past the reminder point, before the promise: only the assigned officer hears about it.
    assigned.set_mark()
    clock.advance(remind_after - (clock.now() - case.promise_set_at) + timedelta(seconds=30), e2e.clock_file)
    assigned.expect(case.number)
    reminded = e2e.wait_case(case.number, lambda c: c.reminded_at, "reminded_at")
    assert reminded.breaches == 0

    # Past the promise (the clock moved): escalation level 1 tells the officer and their backup; the
    # case stays urgent — a new 15-minute promise, kept by an officer on duty now, who gets it within
    # one sweep (the card if the case moved to them, else the breach message).
    backup = roster.get(case.officer_id).backup
    told = {case.officer_id, *([backup] if backup else [])}
    for officer_id in {*told, *(o.id for o in roster.active_officers() if o.id in e2e.officers)}:
        e2e.officers[officer_id].set_mark()
    resident.set_mark()
    clock.advance(case.promise_due_at - clock.now() + timedelta(seconds=30), e2e.clock_file)
    broken = e2e.wait_case(case.number, lambda c: c.breaches == 1, "the breach")
    assert broken.promise_due_at - broken.promise_set_at == timedelta(minutes=15)
    keeper = roster.get(broken.officer_id)
    calendar = desk(e2e).calendar
    assert on_duty(keeper, broken.promise_set_at, calendar, e2e.settings.station.station.tz)
    if keeper.id != case.officer_id:
        e2e.officers[keeper.id].wait_button(f"o:ack:{case.number}:")
    for officer_id in told:
        e2e.officers[officer_id].expect(case.number)
    new_promise_by = keeper.name.zh
    text = resident.expect(case.number, new_promise_by, local_due(e2e, broken))
    assert "很抱歉" in text or "sorry" in text.lower()
    # The watcher keeps sweeping; nothing is announced twice. The positive signal that it swept after
    # the breach: the renewed promise's own reminder reaches its keeper once its moment comes.
    keeper_chat = e2e.officers[keeper.id]
    keeper_chat.set_mark()
    remind_at = broken.promise_set_at + (broken.promise_due_at - broken.promise_set_at) * 0.8
    clock.advance(remind_at - clock.now() + timedelta(seconds=5), e2e.clock_file)
    e2e.wait_case(case.number, lambda c: c.reminded_at, "the renewed promise's reminder")
    keeper_chat.expect(case.number)
    wait_all_sent(e2e, case.number)
    assert resident.count(case.number) == 1
    assert e2e.store.get(case.number).breaches == 1


def test_an_officer_button_pressed_by_someone_else_is_refused(e2e: E2E) -> None:
    stranger = e2e.resident("zh-hans")
    case = open_urgent_case(e2e, stranger)
    e2e.officers[case.officer_id].wait_button(f"o:ack:{case.number}:")
    before = e2e.store.get(case.number)
    events_before = len(e2e.store.events(case.number))
    # The stranger forges the officer's button data on a message in their own chat.
    message_id = stranger.bot_messages()[-1]["message_id"]
    pressed = stranger.press(message_id, f"o:ack:{case.number}:{before.version}")
    answer = stranger.answer(pressed)
    assert answer.get("text") and answer.get("show_alert")  # the refusal: the handler has finished
    after = e2e.store.get(case.number)
    assert (after.state, after.version) == (before.state, before.version) == (CaseState.OPEN, before.version)
    assert len(e2e.store.events(case.number)) == events_before


def rasa_user_events(e2e: E2E, sender: str) -> list[dict[str, Any]]:
    """What Rasa's tracker holds of the resident's turns: text as Rasa read it, and its parse."""
    url = e2e.hemu.rasa_api(f"/conversations/{sender}/tracker")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback, never a proxy
    with opener.open(url, timeout=30) as response:
        tracker = json.loads(response.read())
    return [event for event in tracker["events"] if event.get("event") == "user"]


def rasa_tracker_texts(e2e: E2E, sender: str) -> list[str]:
    return [event.get("text") for event in rasa_user_events(e2e, sender)]


def test_rasa_restarting_mid_conversation_loses_nothing_and_answers_once(e2e: E2E) -> None:
    resident = e2e.resident("zh-hans")
    resident.send("楼上装修天天电钻，早上七点就开始")
    resident.expect("发生在哪里")

    e2e.hemu.stop("rasa")
    resident.send("滨河社区3栋2单元")
    resident.expect("已经保存")
    assert e2e.store.inbound.has_pending(str(resident.user_id))

    resident.set_mark()
    e2e.hemu.start("rasa")  # waits until Rasa answers /status
    eventually(
        lambda: not e2e.store.inbound.has_pending(str(resident.user_id)),
        timeout=60,
        what="the kept message replayed",
    )
    answer = resident.expect("恢复")
    eventually(lambda: len(resident.new()) >= 2, what="the answer after 'back online'")
    # Delivered is final: a row is replayed only while pending, so there can be no second replay.
    kept = [m for m in e2e.store.inbound.messages(str(resident.user_id)) if m.text == "滨河社区3栋2单元"]
    assert [m.status.value for m in kept] == ["delivered"]
    # Rasa saw the kept message exactly once (its new tracker: it forgot the old one when it stopped).
    assert rasa_tracker_texts(e2e, str(resident.user_id)).count("滨河社区3栋2单元") == 1
    assert answer.count("恢复") == 1


def test_notifications_written_while_the_gateway_is_down_are_delivered_once(e2e: E2E) -> None:
    first, second = e2e.resident("zh-hans"), e2e.resident("zh-hans")
    for resident in (first, second):
        resident.send("你好")
        resident.expect("和睦")
    e2e.hemu.stop("gateway")
    the_desk = desk(e2e)
    cases = []
    for resident, area in ((first, "binhe"), (second, "donghu")):
        outcome = the_desk.open_case(
            Report(
                resident_id=str(resident.user_id),
                language="zh",
                category="report_noise",
                summary="楼下KTV每天唱到凌晨两点",
                area_id=area,
                harm="none",
            )
        )
        cases.append(outcome.case)
    # One case also moves on while the gateway is down: its resident must hear about it.
    acted = the_desk.officer_act(cases[0].number, cases[0].officer_id, "acknowledge")
    assert acted.changed
    pending = [
        n
        for case in cases
        for n in e2e.store.outbox.notifications(case.number)
        if n.status.value == "pending"
    ]
    assert len(pending) >= 3  # two cards, one resident update

    e2e.hemu.start("gateway")
    for case in cases:
        wait_all_sent(e2e, case.number)  # a row is sent before it is marked sent: the chats are final
    for case in cases:
        officer_chat = e2e.officers[case.officer_id]
        cards = [m for m in officer_chat.bot_messages() if case.number in (m.get("text") or "")]
        assert len(cards) == 1, [m.get("text") for m in cards]
    assert first.count(cases[0].number) == 1
    assert second.count(cases[1].number) == 0  # nothing happened on it that the resident is told about


# ---------------------------------------------------------------- no way around the screening (SPEC §6)

DANGER_ZH = "他刚才拿着菜刀说要砍死我"


def urgent_cases(e2e: E2E, resident: Chat) -> list[CaseRecord]:
    cases = e2e.store.cases_for_resident(str(resident.user_id))
    return [case for case in cases if case.priority is Priority.URGENT]


def assert_one_urgent_case(e2e: E2E, resident: Chat, reply: str) -> CaseRecord:
    """Exactly one case for the resident, urgent, named in the reply with the emergency number."""
    case = only_case(e2e, resident)
    assert case.priority is Priority.URGENT and case.risk_flags
    assert case.number in reply and "110" in reply
    return case


def test_danger_in_a_photo_caption_gets_110_and_one_urgent_case(e2e: E2E) -> None:
    resident = e2e.resident("zh-hans")
    resident.send_media("photo", caption=DANGER_ZH)
    reply = resident.expect("110", "紧急案件编号")
    assert_one_urgent_case(e2e, resident, reply)


def test_danger_after_a_slash_gets_110_and_one_urgent_case(e2e: E2E) -> None:
    resident = e2e.resident("zh-hans")
    resident.send(f"/{DANGER_ZH}")
    reply = resident.expect("110", "紧急案件编号")
    assert "调解" not in reply
    assert_one_urgent_case(e2e, resident, reply)


def test_typed_payloads_are_read_as_words_never_run_as_intents(e2e: E2E) -> None:
    resident = e2e.resident("en")
    sender = str(resident.user_id)
    for typed, words in (('/report_noise{"a":1}', 'report_noise{"a":1}'), ('/inform{"harm":"none"}', None)):
        resident.send(typed)
        eventually(resident.new, what=f"an answer to {typed!r}")
        last = eventually(lambda: rasa_user_events(e2e, sender), what="the turn in Rasa")[-1]
        # Rasa executes only text that starts with "/": what it got are the resident's words.
        assert not last["text"].strip().startswith("/"), last["text"]
        if words is not None:
            assert last["text"] == words
        assert not any(entity.get("entity") == "harm" for entity in last["parse_data"].get("entities", []))
    assert urgent_cases(e2e, resident) == []


def test_danger_while_rasa_is_down_is_answered_at_once_and_paged_once(e2e: E2E) -> None:
    resident = e2e.resident("zh-hans")
    resident.send("你好")
    resident.expect("和睦")
    e2e.hemu.stop("rasa")
    try:
        resident.send(DANGER_ZH)
        # From the gateway alone: the safety reply, the urgent case, and "your message is saved".
        reply = resident.expect("110", "紧急案件编号", "已经保存")
        case = assert_one_urgent_case(e2e, resident, reply)
        resident.set_mark()
    finally:
        if not e2e.hemu.services["rasa"].alive:
            e2e.hemu.start("rasa")
    eventually(
        lambda: not e2e.store.inbound.has_pending(str(resident.user_id)),
        timeout=60,
        what="the kept message replayed",
    )
    # Rasa's own safety flow on the replay adds to the case the gateway opened: no second urgent case.
    resident.expect("恢复", "110", case.number)  # its answer comes after its urgent-case action ran
    assert [c.number for c in e2e.store.cases_for_resident(str(resident.user_id))] == [case.number]
    assert rasa_tracker_texts(e2e, str(resident.user_id)).count(DANGER_ZH) == 1


# ---------------------------------------------------------------- two tiers (SPEC §6)

# A threat nobody is quoted saying: the rules' uncertain tier ("threatened_harm_unsaid"), and the
# classifier stays below the clear threshold (tests/components/test_risk.py pins both).
UNCERTAIN_ZH = "我老婆要杀了我"
UNCERTAIN_EN = "my brother is going to kill me"


def ask_the_danger_question(e2e: E2E, resident: Chat, text: str, question: str) -> str:
    resident.send(text)
    reply = resident.expect("110", question)
    assert urgent_cases(e2e, resident) == [] and e2e.store.cases_for_resident(str(resident.user_id)) == []
    return reply


def test_uncertain_danger_yes_now_pages_an_urgent_case(e2e: E2E) -> None:
    resident = e2e.resident("zh-hans")
    ask_the_danger_question(e2e, resident, UNCERTAIN_ZH, "现在有人正处在危险中吗")
    resident.press_payload('/inform{"danger_answer":"now"}')
    reply = resident.expect("紧急案件编号")
    assert_one_urgent_case(e2e, resident, reply)


def test_uncertain_danger_that_happened_opens_a_high_case_with_evidence_advice(e2e: E2E) -> None:
    resident = e2e.resident("en")
    ask_the_danger_question(e2e, resident, UNCERTAIN_EN, "Is anyone in danger right now?")
    resident.press_payload('/inform{"danger_answer":"past"}')
    reply = resident.expect("medical records", "protection order")
    case = only_case(e2e, resident)
    assert case.priority is Priority.HIGH and case.number in resident.expect(case.number)
    assert "110" in reply


def test_uncertain_danger_answered_no_carries_on_and_pages_nobody(e2e: E2E) -> None:
    resident = e2e.resident("zh-hans")
    resident.send("楼上天天半夜装修，吵得睡不着")
    resident.expect("发生在哪里")
    ask_the_danger_question(e2e, resident, UNCERTAIN_ZH, "现在有人正处在危险中吗")
    resident.press_payload('/inform{"danger_answer":"none"}')
    # The report goes on where it was: the form asks its question again, and no case exists.
    resident.expect("接着说", "发生在哪里")
    assert e2e.store.cases_for_resident(str(resident.user_id)) == []
