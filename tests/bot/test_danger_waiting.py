"""Explored, not sampled: one resident's messages sent while a busy Rasa still holds the first of them —
any mix of calm words, danger in either language and a command with danger after it (hypothesis).

Whatever the mix and order: every danger message gets exactly one safety reply while Rasa still holds the
first turn (the one in flight from the relay's slow path, the waiting ones from the update processor's,
:mod:`bot.resident.waiting`), the resident has one urgent case, and once Rasa is free it gets every
message once and in order, each answered once — nothing said twice. Each example runs on its own gateway,
local Bot API server and stand-in Rasa; the danger rules are the real ones.
"""

from __future__ import annotations

import asyncio
import html
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot import danger, relay, screening
from hemu.cases import Priority
from tests.auxil.fakerasa import FakeRasa
from tests.auxil.gateway import RunningGateway, running_gateway
from tests.bot.conftest import (
    DANGER_EN,
    DANGER_ZH,
    HARMLESS_EN,
    HARMLESS_ZH,
    RESIDENT,
    bot_messages,
    wait_until,
)

# What the resident writes → what Rasa must receive, and the danger words with their reply language.
KINDS: dict[str, tuple[str, str, tuple[str, str] | None]] = {
    "calm_zh": (HARMLESS_ZH, HARMLESS_ZH, None),
    "calm_en": (HARMLESS_EN, HARMLESS_EN, None),
    "danger_zh": (DANGER_ZH, DANGER_ZH, (DANGER_ZH, "zh")),
    "danger_en": (DANGER_EN, DANGER_EN, (DANGER_EN, "en")),
    "command_with_danger": (f"/help {DANGER_ZH}", "/help", (DANGER_ZH, "zh")),
}


def safety(running: RunningGateway, words: str, language: str) -> str:
    """The safety reply as the resident reads it (the sandbox shows HTML as plain text)."""
    risks = screening.dangers(words)
    assert risks, f"the rules no longer find danger in {words!r}: pick another test sentence"
    return html.unescape(danger.safety_reply(running.gateway.settings.station, risks, language, words))


async def play(kinds: list[str]) -> None:
    rasa = FakeRasa()
    await rasa.start()
    try:
        with tempfile.TemporaryDirectory() as work:
            async with running_gateway(Path(work), rasa_url=rasa.url) as running:
                await converse(running, rasa, kinds)
    finally:
        await rasa.stop()


async def converse(running: RunningGateway, rasa: FakeRasa, kinds: list[str]) -> None:
    written = [KINDS[kind][0] for kind in kinds]
    relayed = [KINDS[kind][1] for kind in kinds]
    dangers = [KINDS[kind][2] for kind in kinds if KINDS[kind][2] is not None]
    safety_texts = {safety(running, words, language) for words, language in dangers}
    echoes = [f"echo: {text}" for text in relayed]

    async def said() -> list[str]:
        return [m.get("text") or "" for m in await bot_messages(running, RESIDENT)]

    async def safety_replies() -> int:
        return sum(1 for text in await said() if text in safety_texts)

    async def answered_all_dangers() -> bool:
        return await safety_replies() >= len(dangers)

    async def echoed_all() -> bool:
        return [t for t in await said() if t.startswith("echo: ")] == echoes

    rasa.hold = asyncio.Event()  # Rasa is busy: the first turn is held until every danger was answered
    await running.control.send_text(RESIDENT, written[0])
    await wait_until(lambda: rasa.texts() == relayed[:1], timeout=20)
    for text in written[1:]:
        await running.control.send_text(RESIDENT, text)
    await wait_until(answered_all_dangers, timeout=30)
    assert rasa.texts() == relayed[:1], "danger waited for Rasa"
    rasa.hold.set()
    await wait_until(echoed_all, timeout=30)
    assert rasa.texts() == relayed  # every message once, in order
    assert await safety_replies() == len(dangers)  # each danger answered once: not again by its own turn
    urgent = [c for c in running.store.cases_for_resident(str(RESIDENT)) if c.priority is Priority.URGENT]
    assert len(urgent) == (1 if dangers else 0)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(kinds=st.lists(st.sampled_from(sorted(KINDS)), min_size=2, max_size=5))
def test_danger_behind_a_busy_rasa_is_answered_once_whatever_the_mix(
    kinds: list[str], clock_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(relay, "SLOW_AFTER", 0.5)  # the first turn's own slow path, quickly
    asyncio.run(play(kinds))
