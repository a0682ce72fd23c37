"""End to end: the real Rasa server and action server, talked to over HTTP on 127.0.0.1.

What a resident would see through any channel: Chinese and English conversations up to first
guidance, danger interrupting a form, and `/model/parse` showing `risk` entities.
"""

from __future__ import annotations

import json
import urllib.request
import uuid
from collections.abc import Iterator

import pytest

from hemu.processes import Stack, start_stack
from scripts.train import model_path

pytestmark = pytest.mark.rasa


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    model = model_path()
    if not model.is_file():
        pytest.fail(f"no trained model at {model}: run `make train`")
    with start_stack(model, tmp_path_factory.mktemp("logs")) as running:
        yield running


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

    def say(self, text: str) -> str:
        metadata = {"language": self.language} if self.language else {}
        replies = post(self.url, {"sender": self.sender, "message": text, "metadata": metadata})
        assert isinstance(replies, list)
        return "\n".join(reply.get("text", "") for reply in replies)


def test_parse_shows_risk_entities_in_both_languages(stack: Stack) -> None:
    for text in ("他拿着菜刀站在门口说要砍死我们", "he grabbed me by the throat and said he'd kill me"):
        result = post(f"{stack.rasa_url}/model/parse", {"text": text})
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
    assert "噪声污染防治法" in guidance and "调解" in guidance
    assert "民警来跟进" in guidance
    assert "没有好转" in resident.say("不用了")


def test_english_report_with_an_answer_unknown(stack: Stack) -> None:
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


def test_danger_mid_form_interrupts_with_emergency_numbers(stack: Stack) -> None:
    resident = Resident(stack)
    resident.say("老公天天打游戏，家务一点不干")
    reply = resident.say("他刚才拿着菜刀说要砍死我")
    assert "110" in reply and "调解" not in reply
    assert "不能从这里直接呼叫值班民警" in reply


def test_english_resident_gets_english_and_can_switch(stack: Stack) -> None:
    resident = Resident(stack, language="en")
    assert "Hemu" in resident.say("hello")
    assert "中文" in resident.say("can you speak Chinese")
    assert "不是紧急求助热线" in resident.say("what are you")
