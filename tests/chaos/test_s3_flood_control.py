"""Scenario 3: Telegram answers 429 (with retry_after) and storms of 5xx while case cards, residents'
updates and live answers are on their way.

Goals: retry_after honoured (no call of the refused method to that chat before it has passed, read from
the Bot API server's call log), everything delivered (every outbox row sent, every card in its officer's
chat, the live resident's answer in their chat), nothing twice.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import pytest

from tests.chaos import audit, figures, scenes
from tests.chaos.config import Sizes
from tests.chaos.people import ZH_NOISE
from tests.chaos.stack import Chaos

GOALS = {
    "retry_after not honoured": "0",
    "notifications lost": "0",
    "answers lost": "0",
    "duplicates shown": "0",
}
# The call log's clock and the bot's are the same machine's; a send that arrives this much early was
# still made before retry_after had passed on the bot's side (the 429 reached it a little after it left).
EARLY_TOLERANCE = 0.02


@dataclass(frozen=True)
class Storm:
    cases: int
    retry_after: int
    chat_429s: int  # 429s for one officer's chat and one resident's chat
    bot_429s: int  # 429s for any chat
    server_errors: int  # 5xx, any chat, back to back
    settle: float


SMOKE = Storm(cases=3, retry_after=3, chat_429s=2, bot_429s=2, server_errors=12, settle=120)
FULL = Storm(cases=10, retry_after=7, chat_429s=3, bot_429s=4, server_errors=40, settle=300)


def early_retries(calls: list[dict[str, Any]]) -> tuple[int, list[str]]:
    """429s in the log, and every call of the same method to the same chat made before the 429's
    retry_after had passed."""
    refusals = [c for c in calls if c.get("error_code") == 429 and c.get("retry_after")]
    early = []
    for refusal in refusals:
        chat = str(refusal["params"].get("chat_id"))
        allowed = refusal["at"] + float(refusal["retry_after"]) - EARLY_TOLERANCE
        for call in calls:
            if call is refusal or call["method"] != refusal["method"]:
                continue
            if str(call["params"].get("chat_id")) != chat or not refusal["at"] < call["at"] < allowed:
                continue
            early.append(
                f"{call['method']} to chat {chat} {call['at'] - refusal['at']:.2f} s after a 429 with "
                f"retry_after {refusal['retry_after']} (answered {call.get('error_code') or 'ok'}): "
                f"{audit.short(str(call['params'].get('text')), 50)!r}, refused one: "
                f"{audit.short(str(refusal['params'].get('text')), 50)!r}"
            )
    return len(refusals), early


def run(chaos: Chaos, sizes: Sizes, storm: Storm) -> None:
    began = time.monotonic()
    residents = [scenes.greeted(chaos) for _ in range(storm.cases)]
    talker = scenes.greeted(chaos)
    marks = scenes.officer_marks(chaos)
    since = time.time()
    control = chaos.control
    # The first resident's chat and the officer who will get the first card are flood-limited by chat,
    # then the bot as a whole, then a storm of server errors; all queued before anything is sent.
    first = scenes.open_case(chaos, residents[0], 0)
    officer_chat = chaos.officer_chat(first.officer_id).chat_id
    wait = storm.retry_after
    for chat_id in (officer_chat, residents[0].chat_id):
        control.fail("sendMessage", 429, "", retry_after=wait, chat_id=chat_id, times=storm.chat_429s)
    control.fail("sendMessage", 429, "", retry_after=wait, times=storm.bot_429s)
    for code, text in ((502, "Bad Gateway"), (500, "Internal Server Error"), (503, "Service Unavailable")):
        control.fail("sendMessage", code, text, times=max(1, storm.server_errors // 3))
    cases = [first] + [scenes.open_case(chaos, r, i) for i, r in enumerate(residents[1:], 1)]
    desk = scenes.desk(chaos)
    for case in cases:  # each resident is told an officer answered: a second notice per case
        desk.officer_act(case.number, case.officer_id, "acknowledge")
    talker.send(ZH_NOISE.opening)  # a live turn whose answer ("where is it?") meets the storm
    numbers = [case.number for case in cases]
    outcome = scenes.audit_cases(chaos, numbers, [*residents, talker], marks, storm.settle)
    try:
        scenes.until(lambda: "发生在哪里" in talker.new_text(), storm.settle, "the live answer", every=0.2)
        answer_lost = []
    except scenes.Timeout:
        shown = [audit.short(m.get("text"), 50) for m in talker.new()]
        answer_lost = [
            f"chat {talker.chat_id}: the report's answer never came in {storm.settle:.0f} s: {shown}"
        ]
    calls = scenes.sends(chaos, since)
    refusals, early = early_retries(calls)
    results = figures.Result(
        scenario="3 Telegram 429 and 5xx storms",
        size=sizes.size,
        seconds=time.monotonic() - began,
        goals_met=not (early or outcome.lost or answer_lost or outcome.duplicates),
        figures={
            "retry_after not honoured": len(early),
            "notifications lost": len(outcome.lost),
            "answers lost": len(answer_lost),
            "duplicates shown": len(outcome.duplicates),
            "429s answered": refusals,
            "5xx answered": sum(1 for c in calls if str(c.get("error_code", "")).startswith("5")),
            "sendMessage calls": len(calls),
            "notices": len([r for n in numbers for r in chaos.store.outbox.notifications(n)]),
            "notifications dropped": len(outcome.dropped),
        },
        goals=GOALS,
        evidence=[
            *(f"early: {line}" for line in early),
            *(f"lost: {line}" for line in outcome.lost + answer_lost),
            *(f"duplicate: {line}" for line in outcome.duplicates),
            *(f"dropped: {line}" for line in outcome.dropped),
        ],
    )
    figures.record(results)
    assert not early, "sent before retry_after had passed:\n" + "\n".join(early)
    assert not outcome.lost and not answer_lost, "lost:\n" + "\n".join(outcome.lost + answer_lost)
    assert not outcome.duplicates, "duplicates shown:\n" + "\n".join(outcome.duplicates)


@pytest.mark.rasa
def test_flood_control_and_server_errors_smoke(chaos: Chaos, chaos_sizes: Sizes) -> None:
    run(chaos, chaos_sizes, SMOKE)


@pytest.mark.rasa
@pytest.mark.chaos
def test_flood_control_and_server_errors(chaos: Chaos, chaos_sizes: Sizes) -> None:
    run(chaos, chaos_sizes, FULL)
