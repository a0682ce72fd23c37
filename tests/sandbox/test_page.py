"""The sandbox page in a real (headless) Chromium: a person can play resident and officer with it.

Selenium is blocking and the server lives in this test's event loop, so every browser step runs in a worker
thread. Selenium never downloads anything: the Debian chromium and chromedriver paths are given explicitly.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode

from sandbox.server import LocalBotApi
from tests.auxil.browser import headless_chromium
from tests.sandbox.conftest import TOKEN

RESIDENT = 31337
T = TypeVar("T")


@pytest.fixture
def driver(tmp_path: Path) -> Iterator[Any]:
    with headless_chromium(tmp_path / "chromium-profile", window="1400,900") as browser:
        yield browser


async def step(function: Callable[[], T]) -> T:
    return await asyncio.to_thread(function)


async def updates_after(bot: Bot, offset: int, count: int = 1) -> list[Update]:
    """Long-polls until ``count`` updates newer than ``offset`` arrived (the page acts asynchronously)."""
    collected: list[Update] = []
    for _ in range(20):
        collected = list(await bot.get_updates(offset=offset, timeout=1))
        if len(collected) >= count:
            return collected
    raise AssertionError(f"expected {count} updates, got {collected}")


async def test_resident_and_officer_play_through_the_page(driver: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    officers = [{"officer_id": "wang.li", "name": "王力", "code": "INVITE-42"}]
    async with LocalBotApi(officers=officers) as api, Bot(TOKEN, base_url=f"{api.url}/bot") as bot:
        wait = WebDriverWait(driver, 10)

        def open_page_and_write() -> None:
            driver.get(api.url + "/")
            user = driver.find_element(By.ID, "resident-user")
            user.clear()
            user.send_keys(str(RESIDENT))
            driver.find_element(By.ID, "resident-language").send_keys("English")
            box = driver.find_element(By.ID, "resident-text")
            box.send_keys("隔壁太吵 <b>&amp;")
            driver.find_element(By.ID, "resident-send").click()

        await step(open_page_and_write)
        [update] = await updates_after(bot, 0)
        message = update.message
        assert message is not None and message.text == "隔壁太吵 <b>&amp;"
        assert message.from_user is not None and message.from_user.id == RESIDENT
        assert message.from_user.language_code == "en"

        keyboard = InlineKeyboardMarkup(
            [[InlineKeyboardButton("需要民警 Officer", callback_data="r:/officer")]]
        )
        sent = await bot.send_message(
            RESIDENT, "<b>建议</b> &lt;先沟通&gt;", parse_mode=ParseMode.HTML, reply_markup=keyboard
        )

        def read_and_press() -> tuple[str, str, int, int]:
            bubble = wait.until(
                ec.visibility_of_element_located(
                    (By.CSS_SELECTOR, f'#resident-history .msg.bot[data-message-id="{sent.message_id}"]')
                )
            )
            bold = bubble.find_element(By.TAG_NAME, "b").text
            own = driver.find_element(By.CSS_SELECTOR, "#resident-history .msg.user")
            injected = len(own.find_elements(By.TAG_NAME, "b"))
            bubble.find_element(By.CSS_SELECTOR, 'button.cb[data-data="r:/officer"]').click()
            text = bubble.find_element(By.CSS_SELECTOR, ".text").text
            return text, bold, injected, len(driver.find_elements(By.CSS_SELECTOR, "#resident-history .msg"))

        text, bold, injected, shown = await step(read_and_press)
        assert text == "建议 <先沟通>" and bold == "建议"
        assert injected == 0  # the resident's "<b>" is shown as text, never as markup
        assert shown == 2
        [pressed] = await updates_after(bot, update.update_id + 1)
        query = pressed.callback_query
        assert query is not None and query.data == "r:/officer"
        assert query.message is not None and query.message.message_id == sent.message_id
        await query.answer("收到 got it")

        await bot.edit_message_text("已转交 handed over", RESIDENT, sent.message_id)

        def edited_and_registered() -> tuple[str, str, str]:
            # The page re-renders a chat when it changes, so elements are looked up afresh each time.
            selector = f'#resident-history .msg.bot[data-message-id="{sent.message_id}"]'

            def edited_text(d: Any) -> str | None:
                current = d.find_element(By.CSS_SELECTOR, selector).text
                return current if "已转交" in current else None

            text = wait.until(edited_text)
            notice = wait.until(lambda d: d.find_element(By.ID, "resident-notice").text)
            driver.find_element(By.ID, "officer-register").click()
            return text, notice, driver.find_element(By.ID, "officer-user").get_attribute("value") or ""

        bubble_text, notice, officer_user = await step(edited_and_registered)
        assert "edited" in bubble_text and "需要民警" not in bubble_text  # the keyboard went with the edit
        assert notice == "收到 got it"
        [registered] = await updates_after(bot, pressed.update_id + 1)
        assert registered.message is not None and registered.message.text == "/register INVITE-42"
        assert registered.message.from_user is not None
        assert registered.message.from_user.id == int(officer_user)
        assert registered.message.from_user.first_name == "王力"
        assert registered.message.entities[0].type == "bot_command"

        await bot.send_message(int(officer_user), "<i>欢迎</i> 王力", parse_mode=ParseMode.HTML)

        def officer_sees_reply() -> str:
            return wait.until(
                lambda d: d.find_element(By.CSS_SELECTOR, "#officer-history .msg.bot i").text or None
            )

        assert await step(officer_sees_reply) == "欢迎"
