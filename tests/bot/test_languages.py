"""The officer's language, one rule for every officer-facing message: the roster's ``language``, else the
Telegram app's language kept at /register, else the station's default (zh in the sample)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from bot import languages, notices
from hemu.desk import Desk
from hemu.settings import load_settings
from hemu.store import CaseRecord
from tests.auxil.gateway import RunningGateway
from tests.bot.conftest import OFFICER_CHATS, latest, open_case_now, press, register, resident_says_hello
from tests.bot.offline import notice, offline_gateway
from tests.conftest import REPO_ROOT

WANG = OFFICER_CHATS["wang_li"]  # no language in the roster
ZHOU = OFFICER_CHATS["zhou_jian"]  # the roster says zh


def test_the_roster_wins_then_the_app_then_the_station() -> None:
    settings = load_settings(REPO_ROOT / "config")
    assert languages.officer(settings, "wang_li", "zh", app="en") == "en"
    assert languages.officer(settings, "wang_li", "zh", app=None) == "zh"
    assert languages.officer(settings, "wang_li", "zh", app="fr") == "zh"
    assert languages.officer(settings, "zhou_jian", "en", app="en") == "zh"
    assert languages.officer(settings, None, "en", app="zh") == "zh"


def test_cards_reminders_and_breaches_follow_the_app_language_kept_at_register(
    desk: Desk, open_case: Callable[..., CaseRecord]
) -> None:
    case = open_case()  # Wang Li's
    gateway = offline_gateway(desk, {"wang_li": WANG}, "en")
    number = {"number": case.number}
    card = notices.render(gateway, notice(desk, "officer:wang_li", "case_assigned", number))
    assert card.chat_id == WANG
    assert "A new case for you" in card.text and f"Case {case.number}" in card.text
    reminder = notices.render(gateway, notice(desk, "officer:wang_li", "promise_reminder", number))
    assert reminder.text.startswith("⏰ Reminder")
    later = (desk.now() + timedelta(hours=2)).isoformat()
    broken = {**number, "old_due": desk.now().isoformat(), "new_due": later, "role": "assigned"}
    breach = notices.render(gateway, notice(desk, "officer:wang_li", "promise_broken", broken))
    assert "missed its promise" in breach.text

    # The roster's language outranks the app's: the supervisor reads Chinese from an English phone.
    offline_gateway(desk, {"zhou_jian": ZHOU}, "en")
    told = notices.render(gateway, notice(desk, "officer:zhou_jian", "promise_broken", broken))
    assert "未能按承诺" in told.text
    assert languages.with_app(gateway, "chen_hao", None) == "zh"  # never registered: the station's


async def test_an_officer_on_an_english_app_reads_english_until_they_register_from_a_chinese_one(
    gateway: RunningGateway,
) -> None:
    welcome = await register(gateway, "wang_li", language_code="en-GB")
    assert "Welcome, Wang Li" in welcome["text"]
    await resident_says_hello(gateway)
    case = await open_case_now(gateway)
    card = await latest(gateway, WANG, 2)
    assert "A new case for you" in card["text"] and "new, not yet acknowledged" in card["text"]

    answer = await press(gateway, WANG, card["message_id"], f"o:ack:{case.number}:1")
    assert answer["text"].startswith("Acknowledged")
    await gateway.control.send_text(WANG, "/cases", language_code="zh-hans")  # only /register counts
    assert "Your open cases (1)" in (await latest(gateway, WANG, 3))["text"]
    await gateway.control.send_text(WANG, f"/case {case.number}")
    shown = await latest(gateway, WANG, 4)
    assert f"Case {case.number}" in shown["text"] and "acknowledged" in shown["text"]
    await gateway.control.send_text(WANG, "/stats")
    assert "1 open at the end" in (await latest(gateway, WANG, 5))["text"]

    assert "欢迎，周建" in (await register(gateway, "zhou_jian", language_code="en"))["text"]
    await gateway.control.send_text(ZHOU, "/stats", language_code="en")
    assert "期末未结 1 件" in (await latest(gateway, ZHOU, 2))["text"]

    assert "欢迎，王丽" in (await register(gateway, "wang_li", language_code="zh-hans"))["text"]
    await gateway.control.send_text(WANG, "/stats")
    assert "期末未结 1 件" in (await latest(gateway, WANG, 7))["text"]
