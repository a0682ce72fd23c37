"""End to end: the real Rasa server and action server, talked to over HTTP on 127.0.0.1.

What a resident would see through any channel: Chinese and English conversations up to first
guidance, danger interrupting a form, and `/model/parse` showing `risk` entities.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest

from hemu.roster import Officer
from hemu.settings import load_settings
from hemu.store import CaseRecord, Store
from scripts.stack import Stack, start_stack
from scripts.train import model_path

pytestmark = pytest.mark.rasa


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The action server's case store for this module: a fresh SQLite file, never the real one."""
    return f"sqlite:///{tmp_path_factory.mktemp('store') / 'hemu.sqlite3'}"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, database: str) -> Iterator[Stack]:
    model = model_path()
    if not model.is_file():
        pytest.fail(f"no trained model at {model}: run `make train`")
    with start_stack(model, tmp_path_factory.mktemp("logs"), env={"DATABASE_URL": database}) as running:
        yield running


@pytest.fixture(scope="module")
def store(database: str, stack: Stack) -> Store:
    return Store.from_url(database)


def post(url: str, payload: dict) -> object:
    request = urllib.request.Request(url, json.dumps(payload).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


class Resident:
    """One resident talking to Rasa's REST channel, as the Telegram gateway will."""

    def __init__(self, stack: Stack, language: str | None = None) -> None:
        self.url = f"{stack.rasa_url}/webhooks/rest/webhook"
        self.sender = f"resident-{uuid.uuid4().hex[:8]}"
        self.language = language
        self.last_buttons: list[dict] = []

    def say(self, text: str) -> str:
        metadata = {"language": self.language} if self.language else {}
        replies = post(self.url, {"sender": self.sender, "message": text, "metadata": metadata})
        assert isinstance(replies, list)
        self.last_buttons = [button for reply in replies for button in reply.get("buttons") or []]
        return "\n".join(reply.get("text", "") for reply in replies)


def only_case(store: Store, resident: Resident) -> CaseRecord:
    cases = store.cases_for_resident(resident.sender)
    assert len(cases) == 1, cases
    return cases[0]


def officer_of(case: CaseRecord) -> Officer:
    return load_settings().roster.get(case.officer_id)


def english_promise_by(officer: Officer) -> str:
    return f"{officer.title.en} {officer.name.en} of the Riverside Police Station will contact you by"


def test_parse_shows_risk_entities_in_both_languages(stack: Stack) -> None:
    for text in ("他拿着菜刀站在门口说要砍死我们", "he grabbed me by the throat and said he'd kill me"):
        result = post(stack.rasa_api("/model/parse"), {"text": text})
        assert {e["value"] for e in result["entities"] if e["entity"] == "risk"}


def test_chinese_report_to_guidance(stack: Stack) -> None:
    resident = Resident(stack)
    assert "和睦" in resident.say("你好")
    assert "发生在哪里" in resident.say("楼上那家天天半夜拖椅子，咚咚咚的根本睡不着")
    assert "涉及哪些人" in resident.say("滨河社区3栋2单元")
    assert "持续多久" in resident.say("楼上602的住户")
    assert "受伤" in resident.say("半年多了")
    assert "直接联系您" in resident.say('/inform{"harm":"none"}')
    summary = resident.say("不用了")
    assert "滨河社区3栋2单元" in summary and "没有人受伤" in summary
    guidance = resident.say("是的")
    assert "调解" in guidance and "民警来跟进" in guidance and "噪声污染防治法" not in guidance
    # The law is a tap away; the officer question comes again after it.
    rules = resident.say('/inform{"guidance_section":"rules"}')
    assert "噪声污染防治法" in rules and "民警来跟进" in rules
    assert "没有好转" in resident.say("不用了")


def test_english_report_guidance_then_an_officer(stack: Stack, store: Store) -> None:
    resident = Resident(stack, language="en")
    assert "Where is this happening" in resident.say(
        "someone lets their dog poop in the lift and never cleans it"
    )
    resident.say("Donghu Court 5-702")
    assert "How long" in resident.say("no idea")
    resident.say("about three weeks")
    resident.say('/inform{"harm":"none"}')
    summary = resident.say("/deny")
    assert "Who is involved: Not known" in summary
    guidance = resident.say("yes that's right")
    assert "mediation" in guidance.lower()
    reply = resident.say("yes, I'd like an officer to follow it up")
    case = only_case(store, resident)
    officer = officer_of(case)
    assert f"I've opened case {case.number} for you" in reply
    assert english_promise_by(officer) in reply
    assert (case.category, case.area_id, case.parties) == ("report_pet_dispute", "donghu", None)


def test_danger_mid_form_interrupts_with_emergency_numbers(stack: Stack, store: Store) -> None:
    resident = Resident(stack)
    resident.say("老公天天打游戏，家务一点不干")
    reply = resident.say("他刚才拿着菜刀说要砍死我")
    assert "110" in reply and "调解" not in reply
    case = only_case(store, resident)
    assert case.priority == "urgent" and case.risk_flags
    officer = officer_of(case)
    assert f"紧急案件编号 {case.number}" in reply and officer.name.zh in reply
    # Urgent: fifteen minutes on the wall clock, whoever is on duty.
    assert case.promise_due_at - case.opened_at == timedelta(minutes=15)
    assert "15分钟内" in reply


def test_english_resident_gets_english_and_can_switch(stack: Stack) -> None:
    resident = Resident(stack, language="en")
    assert "Hemu" in resident.say("hello")
    assert "中文" in resident.say("can you speak Chinese")
    assert "不是紧急求助热线" in resident.say("what are you")


def test_chinese_report_guidance_then_a_named_officer_and_a_promise(stack: Stack, store: Store) -> None:
    resident = Resident(stack)
    resident.say("婆婆天天挑我毛病，今天又当着孩子的面骂我，我实在受不了了")
    resident.say("柳岸花园7栋")
    resident.say("我和我婆婆")
    resident.say("两年多了")
    resident.say('/inform{"harm":"none"}')
    resident.say("/affirm")
    resident.say("139 1234 5678，晚上七点后")
    resident.say("/affirm")
    reply = resident.say("/affirm")
    case = only_case(store, resident)
    officer = officer_of(case)
    assert f"案件编号 {case.number}" in reply
    assert f"滨河派出所{officer.title.zh}{officer.name.zh}将于" in reply
    due = case.promise_due_at.astimezone(load_settings().station.station.tz)
    assert f"{due:%H:%M}前" in reply
    assert case.category == "report_inlaw_conflict" and case.area_id == "liuan"
    assert case.contact_consent and "139 1234 5678" in (case.contact or "")
    # Asking again does not open a second case: the resident is told about the one they have.
    again = resident.say("我要找民警")
    assert case.number in again and len(store.cases_for_resident(resident.sender)) == 1
    status = resident.say("我的案子现在怎么样了")
    assert case.number in status and officer.name.zh in status


def test_english_officer_first_then_report_then_cancel(stack: Stack, store: Store) -> None:
    resident = Resident(stack, language="en")
    assert "what is happening" in resident.say("I want to talk to a police officer")
    resident.say("my neighbour built his new fence a metre onto my land")
    resident.say("Old Street, number 14")
    resident.say("me and the man next door")
    resident.say("since last spring")
    resident.say('/inform{"harm":"none"}')
    resident.say("/deny")
    reply = resident.say("/affirm")
    case = only_case(store, resident)
    officer = officer_of(case)
    assert f"I've opened case {case.number}" in reply
    assert english_promise_by(officer) in reply
    assert case.priority == "low" and case.area_id == "laojie"
    offer = resident.say("cancel")
    assert f"Cancel {case.number}" in json.dumps(resident.last_buttons)
    assert "Which case" in offer
    done = resident.say(f'/cancel{{"case_number":"{case.number}"}}')
    assert f"Case {case.number} is cancelled" in done
    assert store.get(case.number).state == "cancelled"
    events = [event.kind for event in store.events(case.number)]
    assert events[0] == "opened" and "state_changed" in events


# -- the lock (issue 10): typed answers to button questions, stale buttons ------------------------


def reach_contact_question(resident: Resident, language: str) -> None:
    if language == "zh":
        resident.say("楼上那家天天半夜拖椅子，吵得睡不着")
        resident.say("柳岸花园7栋")
        resident.say("楼上602的住户")
        resident.say("三个月")
        assert "直接联系您" in resident.say('/inform{"harm":"none"}')
    else:
        resident.say("the people upstairs drag furniture around at 2am every night")
        resident.say("Donghu Court 5-702")
        resident.say("the family in flat 602")
        resident.say("about three weeks")
        assert "contact you directly" in resident.say('/inform{"harm":"none"}')


@pytest.mark.parametrize(
    ("language", "typed", "number", "summary"),
    [
        ("zh", "可以，打我电话 135 0000 1111", "135 0000 1111", "这样对吗"),
        ("en", "yes, call me on 138 0000 2222", "138 0000 2222", "Is this correct"),
    ],
)
def test_a_typed_answer_to_the_contact_question_is_understood(
    stack: Stack, language: str, typed: str, number: str, summary: str
) -> None:
    resident = Resident(stack, language=None if language == "zh" else "en")
    reach_contact_question(resident, language)
    reply = resident.say(typed)
    assert number in reply and summary in reply, reply
    assert "不太确定" not in reply and "not sure" not in reply


def test_a_stale_button_is_answered_once_then_danger_still_works(stack: Stack, store: Store) -> None:
    """The reproduction: type the answer to "is anyone hurt?", then press that question's button."""
    resident = Resident(stack)
    resident.say("楼上那家天天半夜拖椅子，吵得睡不着")
    resident.say("柳岸花园7栋")
    resident.say("楼上602的住户")
    assert "受伤" in resident.say("三个月")
    assert "直接联系您" in resident.say("没有人受伤")
    passed = resident.say('/inform{"harm":"none"}')
    assert "已经过去" in passed and "直接联系您" in passed and passed.count("不太确定") == 0
    again = resident.say("随便吧")
    assert "可以联系我" in again and again.count("没看明白") == 1
    reply = resident.say("他拿着菜刀说要砍死我")
    assert "110" in reply and "紧急案件编号" in reply
    assert any(case.priority == "urgent" for case in store.cases_for_resident(resident.sender))


# -- repeat reports and cancelling after danger (issue 10) -----------------------------------------


def open_case_through_the_form(resident: Resident, language: str) -> None:
    reach_contact_question(resident, language)
    resident.say("/deny")
    resident.say("/affirm")
    resident.say("/affirm")


@pytest.mark.parametrize("language", ["zh", "en"])
def test_a_repeat_report_is_recognised_at_once(stack: Stack, store: Store, language: str) -> None:
    resident = Resident(stack, language=None if language == "zh" else "en")
    open_case_through_the_form(resident, language)
    [case] = store.cases_for_resident(resident.sender)
    again = (
        "楼上那家又开始半夜拖椅子了，咚咚咚的"
        if language == "zh"
        else "the people upstairs are dragging furniture around at night again"
    )
    question = resident.say(again)
    assert case.number in question and ("同一件事" in question or "same matter" in question)
    added = resident.say("/affirm")
    assert case.number in added and len(store.cases_for_resident(resident.sender)) == 1
    assert any(event.kind == "details_added" for event in store.events(case.number))
    # Another time, a new matter of the same kind: the questions, then a second case.
    resident.say(again)
    follow = resident.say("/deny")
    assert "发生在哪里" in follow or "Where is this happening" in follow


@pytest.mark.parametrize(
    ("language", "danger", "cancel", "safe"),
    [
        ("zh", "他拿着菜刀说要砍死我", "算了", "您现在安全了"),
        ("en", "he grabbed a knife and said he would kill me", "cancel", "you are safe now"),
    ],
)
def test_an_urgent_case_is_not_withdrawn_by_one_tap(
    stack: Stack, store: Store, language: str, danger: str, cancel: str, safe: str
) -> None:
    resident = Resident(stack, language=None if language == "zh" else "en")
    resident.say(danger)
    [case] = store.cases_for_resident(resident.sender)
    assert case.priority == "urgent"
    resident.say(cancel)
    [button] = [b for b in resident.last_buttons if case.number in b["payload"]]
    reply = resident.say(button["payload"])
    assert safe in reply and "110" in reply
    assert store.get(case.number).is_active
    assert any(event.kind == "resident_says_safe" for event in store.events(case.number))


def test_a_stale_cancel_button_inside_the_form_cancels_that_case_and_the_report_goes_on(
    stack: Stack, store: Store
) -> None:
    """Shrunk by the explorer (against the model before the turn guard): ten clarifications."""
    resident = Resident(stack)
    open_case_through_the_form(resident, "zh")
    [case] = store.cases_for_resident(resident.sender)
    resident.say("邻居的狗天天在楼道里拉屎")
    reply = resident.say(f'/cancel{{"case_number":"{case.number}"}}')
    assert f"案件 {case.number} 已撤销" in reply and "发生在哪里" in reply
    assert "不太确定" not in reply
    assert "涉及哪些人" in resident.say("柳岸花园7栋")


# Last in the module: it stops and restarts the action server the other tests share.
def test_commands_and_danger_work_after_an_action_failed(stack: Stack, store: Store) -> None:
    resident = Resident(stack)
    resident.say("楼上那家天天半夜拖椅子，吵得睡不着")
    stack.stop("actions")
    try:
        resident.say("柳岸花园7栋")  # the form's validation cannot run: the turn must still end
    finally:
        stack.start("actions")
    assert "命令：/start" in resident.say("/help")
    reply = resident.say("他拿着菜刀说要砍死我")
    assert "110" in reply and "紧急案件编号" in reply
    assert any(case.priority == "urgent" for case in store.cases_for_resident(resident.sender))


def test_rasas_api_answers_only_with_the_token_and_the_action_server_only_rasa(stack: Stack) -> None:
    """Any local process could read every conversation (and post as anyone through the API) before."""
    loopback = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def status(url: str, body: dict | None = None) -> int:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(url, data, {"Content-Type": "application/json"})
        try:
            with loopback.open(request, timeout=30) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    resident = Resident(stack)
    resident.say("hello")
    tracker = f"/conversations/{resident.sender}/tracker"
    assert status(f"{stack.rasa_url}{tracker}") == 401
    assert status(f"{stack.rasa_url}{tracker}?token=guess") == 401
    assert status(f"{stack.rasa_url}/model/parse", {"text": "hi"}) == 401
    assert status(stack.rasa_api(tracker)) == 200
    actions = f"http://127.0.0.1:{stack.action_port}"
    assert status(f"{actions}/webhook", {"next_action": "action_request_officer", "sender_id": "x"}) == 403
    assert status(f"{actions}/health") == 200
