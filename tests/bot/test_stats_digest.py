"""/stats with a period answers with the report's chart and figures; the supervisor gets last week's digest
on Monday morning (station time); a chart Telegram refuses still leaves the figures. Real gateway, local
Bot API server, the shared clock at Wednesday 2 December 2026 10:00 in Shanghai."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from hemu import parties
from hemu.kinds import NoticeKind
from hemu.store import Notification
from hemu.store.tables import outbox
from tests.auxil.gateway import RunningGateway
from tests.bot.conftest import (
    OFFICER_CHATS,
    advance,
    bot_messages,
    latest,
    open_case_now,
    register,
    wait_until,
)

WANG = OFFICER_CHATS["wang_li"]
ZHOU = OFFICER_CHATS["zhou_jian"]  # the supervisor


def caption(message: dict[str, Any]) -> str:
    """The page's view of a message shows a photo's caption as its text."""
    return str(message.get("text") or "")


async def test_stats_answers_with_a_chart_for_the_period_asked(gateway: RunningGateway) -> None:
    await register(gateway, "wang_li")
    await open_case_now(gateway)
    await open_case_now(gateway, category="report_pet_dispute", resident_id="9002")
    await gateway.control.wait_for(WANG, 3)

    await gateway.control.send_text(WANG, "/stats")
    this_week = await latest(gateway, WANG, 4)
    kind, image = await gateway.control.photo(this_week["photo"])
    assert kind == "image/png" and int.from_bytes(image[16:20], "big") > 900  # the PNG's width
    assert "统计" in caption(this_week) and "2026-11-30 – 2026-12-06" in caption(this_week)
    assert "新受理 2 件" in caption(this_week) and "期末未结 2 件" in caption(this_week)

    await gateway.control.send_text(WANG, "/stats 上月")
    november = await latest(gateway, WANG, 5)
    assert "2026-11-01 – 2026-11-30" in caption(november) and "新受理 0 件" in caption(november)

    await gateway.control.send_text(WANG, "/stats 2026-13")
    refused = await latest(gateway, WANG, 6)
    assert "看不懂" in refused["text"] and "/stats 2026-11" in refused["text"]


async def test_the_supervisor_gets_last_weeks_digest_on_monday_morning(
    gateway: RunningGateway, clock_file: Path
) -> None:
    await register(gateway, "zhou_jian")
    before = len(await bot_messages(gateway, ZHOU))
    await open_case_now(gateway, category="report_noise")
    advance(clock_file, days=4, hours=23)  # Monday 7 December, 09:00 at the station

    async def digest() -> dict[str, Any] | None:
        for message in await bot_messages(gateway, ZHOU):
            if message.get("photo") and "上周工作简报" in caption(message):
                return message
        return None

    sent = await wait_until(digest)
    assert "2026-11-30 – 2026-12-06" in caption(sent) and "新受理 1 件" in caption(sent)
    assert len(await bot_messages(gateway, ZHOU)) > before
    assert await asyncio.to_thread(queued_digests, gateway) == 1


def queued_digests(gateway: RunningGateway) -> int:
    with gateway.store.engine.connect() as conn:
        return conn.execute(
            select(func.count()).select_from(outbox).where(outbox.c.kind == NoticeKind.WEEKLY_DIGEST.value)
        ).scalar_one()


async def test_a_chart_telegram_refuses_leaves_the_figures(gateway: RunningGateway) -> None:
    await register(gateway, "zhou_jian")
    before = len(await bot_messages(gateway, ZHOU))
    await gateway.control.fail("sendPhoto", 400, "Bad Request: IMAGE_PROCESS_FAILED", chat_id=ZHOU, times=1)
    notice = Notification(
        parties.officer("zhou_jian"), NoticeKind.WEEKLY_DIGEST, {"first": "2026-11-23", "last": "2026-11-29"}
    )
    now = gateway.gateway.desk.now()
    assert await asyncio.to_thread(gateway.store.outbox.add_once, notice, now, now)
    text_only = await latest(gateway, ZHOU, before + 1)
    assert not text_only.get("photo")
    assert "上周工作简报" in text_only["text"] and "2026-11-23 – 2026-11-29" in text_only["text"]
