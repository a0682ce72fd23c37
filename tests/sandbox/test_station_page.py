"""The sandbox page's station tab in a real (headless) Chromium: a person picks a period and reads the
station's report of the sandbox's store, charts drawn, and no resident's words anywhere in it.

Selenium blocks, and the server lives in this test's event loop, so every browser step runs in a thread
(as in test_page.py); each wait is for something on the page, never for time to pass.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from telegram import Bot
from telegram.constants import ParseMode

from hemu.report.words import Words
from hemu.settings import load_settings
from sandbox.server import LocalBotApi
from tests.auxil.browser import headless_chromium
from tests.sandbox.conftest import TOKEN
from tests.sandbox.station_store import FRIDAY_NOON, OPENED, RESIDENT_WORDS, clock_at, seeded_store
from tests.sandbox.test_photos import png

T = TypeVar("T")
RESIDENT = 42424


@pytest.fixture
def driver(tmp_path: Path) -> Iterator[Any]:
    with headless_chromium(tmp_path / "chromium-profile", window="1400,1000") as browser:
        yield browser


async def step(function: Callable[[], T]) -> T:
    return await asyncio.to_thread(function)


async def test_the_station_tab_shows_the_report_of_the_chosen_period(
    driver: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    url = seeded_store(tmp_path)
    clock_at(FRIDAY_NOON, tmp_path, monkeypatch)
    opened = Words("en", load_settings())("opened")
    async with LocalBotApi(database_url=url) as api:
        wait = WebDriverWait(driver, 30)

        def report_of(period: str, label: str) -> dict[str, Any]:
            """Chooses ``period`` and waits for the frame to hold that period's report, then reads it."""
            Select(driver.find_element(By.ID, "station-period")).select_by_value(period)
            frame = driver.find_element(By.ID, "station-report")
            wait.until(lambda d: period in (frame.get_attribute("src") or ""))

            def loaded(d: Any) -> dict[str, Any] | None:
                d.switch_to.frame(frame)
                try:
                    shown = d.find_elements(By.ID, "period")
                    if not shown or label not in shown[0].text:
                        return None
                    images = d.find_elements(By.TAG_NAME, "img")
                    widths = [image.get_property("naturalWidth") for image in images]
                    if not widths or not all(widths):
                        return None  # the charts are still decoding
                    first_row = d.find_element(By.CSS_SELECTOR, "table.summary tbody tr")
                    return {
                        "title": d.find_element(By.TAG_NAME, "h1").text,
                        "row": [cell.text for cell in first_row.find_elements(By.TAG_NAME, "td")],
                        "widths": widths,
                        "text": d.find_element(By.TAG_NAME, "body").text,
                        "banner": len(d.find_elements(By.ID, "demo-banner")),
                    }
                finally:
                    d.switch_to.default_content()

            return wait.until(loaded)

        def open_station_tab() -> tuple[bool, dict[str, Any]]:
            driver.get(api.url + "/")
            driver.find_element(By.ID, "tab-station").click()
            chats_hidden = not driver.find_element(By.ID, "chats-view").is_displayed()
            Select(driver.find_element(By.ID, "station-language")).select_by_value("en")
            return chats_hidden, report_of("last-week", "2026-11-23 – 2026-11-29")

        chats_hidden, last_week = await step(open_station_tab)
        assert chats_hidden
        assert last_week["title"] == "Hemu station report" and last_week["row"][:2] == [opened, "0"]

        this_week = await step(lambda: report_of("week", "2026-11-30 – 2026-12-06"))
        assert this_week["title"] == "Hemu station report"
        assert this_week["row"][:2] == [opened, str(OPENED)]
        assert len(this_week["widths"]) == 3 and all(width > 0 for width in this_week["widths"])
        assert RESIDENT_WORDS not in this_week["text"] and this_week["banner"] == 0


async def test_a_photo_the_bot_sends_shows_in_the_chat_with_its_caption(driver: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    async with LocalBotApi() as api, Bot(TOKEN, base_url=f"{api.url}/bot") as bot:
        api.inject_message(RESIDENT, {"text": "报表"})
        sent = await bot.send_photo(
            RESIDENT, png(120, 80), caption="<b>趋势</b> trend", parse_mode=ParseMode.HTML
        )

        def photo_bubble() -> tuple[int, str, str]:
            driver.get(api.url + "/")
            user = driver.find_element(By.ID, "resident-user")
            user.clear()
            user.send_keys(str(RESIDENT))
            driver.find_element(By.ID, "resident-name").click()  # the change event: the pane follows the id
            selector = f'#resident-history .msg.bot[data-message-id="{sent.message_id}"]'

            def drawn(d: Any) -> tuple[int, str, str] | None:
                found = d.find_elements(By.CSS_SELECTOR, f"{selector} img.photo")
                width = found[0].get_property("naturalWidth") if found else 0
                if not width:
                    return None
                bubble = d.find_element(By.CSS_SELECTOR, selector)
                caption = bubble.find_element(By.CSS_SELECTOR, ".caption")
                return width, caption.text, caption.find_element(By.TAG_NAME, "b").text

            return WebDriverWait(driver, 20).until(drawn)

        width, caption, bold = await step(photo_bubble)
    assert (width, caption, bold) == (120, "趋势 trend", "趋势")
