"""The station tab's report route: the report of the sandbox's own store for a period, and a clear page (not
a crash) whenever it cannot be made."""

from __future__ import annotations

import asyncio
import threading
from html import escape
from pathlib import Path

import httpx
import pytest
from telegram import Bot

from hemu.demo_data import MARK
from hemu.report.words import Words
from hemu.settings import load_settings
from sandbox.server import LocalBotApi
from sandbox.station import StationReports
from tests.sandbox import station_store
from tests.sandbox.conftest import TOKEN
from tests.sandbox.station_store import FRIDAY_NOON, OPENED, RESIDENT_WORDS, clock_at, mark_store


async def get(api: LocalBotApi, **query: str) -> httpx.Response:
    async with httpx.AsyncClient(trust_env=False, timeout=60) as client:
        return await client.get(f"{api.url}/station/report.html", params=query)


def opened_cell(language: str, count: int) -> str:
    """The summary's first row as the report writes it: the label, then this period's count."""
    return f"<td>{escape(Words(language, load_settings())('opened'))}</td><td>{count}</td>"


@pytest.fixture
def store_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = station_store.seeded_store(tmp_path)
    clock_at(FRIDAY_NOON, tmp_path, monkeypatch)
    return url


async def test_without_a_store_the_tab_says_the_report_is_unavailable() -> None:
    async with LocalBotApi() as api:
        response = await get(api, period="week")
    assert response.status_code == 503
    assert "without a case store" in response.text and "--database" in response.text


async def test_the_report_of_the_sandbox_store_counts_its_cases_and_shows_no_resident_words(
    store_url: str,
) -> None:
    async with LocalBotApi(database_url=store_url) as api:
        this_week = await get(api, period="week", language="zh")
        last_week = await get(api, period="last-week", language="en")
    assert this_week.status_code == 200 and this_week.headers["Content-Type"].startswith("text/html")
    assert "default-src 'none'" in this_week.headers["Content-Security-Policy"]
    assert "和睦 派出所工作报告" in this_week.text and "2026-11-30 – 2026-12-06" in this_week.text
    assert opened_cell("zh", OPENED) in this_week.text
    assert this_week.text.count('src="data:image/png;base64,') == 3
    assert RESIDENT_WORDS not in this_week.text and 'id="demo-banner"' not in this_week.text
    assert last_week.status_code == 200 and "Hemu station report" in last_week.text
    assert opened_cell("en", 0) in last_week.text and "2026-11-23 – 2026-11-29" in last_week.text


async def test_demo_data_gets_the_banner(store_url: str) -> None:
    mark_store(store_url, MARK, "seeded 30 days")
    async with LocalBotApi(database_url=store_url) as api:
        response = await get(api, period="month", language="en")
    assert response.status_code == 200 and 'id="demo-banner"' in response.text


@pytest.mark.parametrize(
    ("query", "said"),
    [
        ({"period": "<script>alert(1)</script>"}, "&lt;script&gt;alert(1)&lt;/script&gt;"),
        ({"period": "2026-13"}, "a month is 1–12"),
        ({"period": "week", "language": "fr"}, "language must be one of zh, en"),
        ({"period": "x" * 65}, "too long"),
    ],
)
async def test_a_bad_choice_is_400_with_the_reason_escaped(
    store_url: str, query: dict[str, str], said: str
) -> None:
    async with LocalBotApi(database_url=store_url) as api:
        response = await get(api, **query)
    assert response.status_code == 400
    assert said in response.text and "<script>" not in response.text


async def test_a_station_database_or_a_missing_file_is_refused_and_never_created(
    store_url: str, tmp_path: Path
) -> None:
    mark_store(store_url, "purpose", "station")
    missing = tmp_path / "nowhere" / "sandbox.sqlite3"
    async with (
        LocalBotApi(database_url=store_url) as station,
        LocalBotApi(database_url=f"sqlite:///{missing}") as nothing,
    ):
        refused, absent = await get(station, period="week"), await get(nothing, period="week")
    assert refused.status_code == 503 and "is a station&#x27;s database" in refused.text
    assert absent.status_code == 503 and "no case store" in absent.text
    assert not missing.exists()


async def test_the_bot_api_answers_while_a_report_is_being_made(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    started, release = threading.Event(), threading.Event()
    real_page = StationReports._page

    def slow_page(self: StationReports, period: str, language: str) -> str:
        started.set()
        assert release.wait(30), "the test never released the report"
        return real_page(self, period, language)

    monkeypatch.setattr(StationReports, "_page", slow_page)
    async with LocalBotApi(database_url=store_url) as api, Bot(TOKEN, base_url=f"{api.url}/bot") as bot:
        making = asyncio.create_task(get(api, period="week"))
        assert await asyncio.to_thread(started.wait, 30)
        me = await bot.get_me()  # answered while the report thread is still held
        assert me.is_bot and not making.done()
        release.set()
        response = await making
    assert response.status_code == 200 and opened_cell("zh", OPENED) in response.text
