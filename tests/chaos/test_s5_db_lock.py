"""Scenario 5: the case store locked by another process (SQLite ``BEGIN EXCLUSIVE``, as a backup tool or a
forgotten ``sqlite3`` shell would) for CHAOS_DB_LOCK_SECONDS — longer than the store's busy timeout —
while a resident reports danger.

Goals: the urgent case opens late, not never (and its card reaches an officer); the emergency number
comes within EMERGENCY_WITHIN seconds, while the lock still holds — the safety reply needs no database.
"""

from __future__ import annotations

import time

import pytest

from hemu.cases import Priority
from tests.chaos import audit, figures, scenes
from tests.chaos.config import Sizes
from tests.chaos.people import emergency_number
from tests.chaos.stack import Chaos, sqlite_locked

DANGER = "他刚才拿着菜刀说要砍死我"  # the clear tier: an urgent case (tests/e2e)
EMERGENCY = emergency_number()
# The update may wait up to 2 s for its fetch journal and 1 s for its message journal (bot/received.py,
# bot/relay.py) before it is screened; the rest is room for a loaded machine.
EMERGENCY_WITHIN = 10.0
GOALS = {
    "urgent case never opened": "0",
    "card never shown": "0",
    "duplicates shown": "0",
    f"{EMERGENCY} shown after (s)": f"<= {EMERGENCY_WITHIN:.0f}",
}


def run(chaos: Chaos, sizes: Sizes) -> None:
    began = time.monotonic()
    resident = scenes.greeted(chaos)
    marks = scenes.officer_marks(chaos)
    sender = str(resident.user_id)

    def urgent() -> list:
        return [c for c in chaos.store.cases_for_resident(sender) if c.priority is Priority.URGENT]

    emergency_at = case_at = told_at = None
    with sqlite_locked(chaos.db_path, sizes.db_lock_seconds) as holder:
        locked_at = time.monotonic()
        resident.send(DANGER)
        while holder.poll() is None:
            if emergency_at is None and EMERGENCY in resident.new_text():
                emergency_at = time.monotonic() - locked_at
            if case_at is None and urgent():
                case_at = time.monotonic() - locked_at
            time.sleep(0.2)
        released_at = time.monotonic() - locked_at
    deadline = time.monotonic() + sizes.after_lock_seconds
    while time.monotonic() < deadline and (case_at is None or emergency_at is None or told_at is None):
        text = resident.new_text()
        if emergency_at is None and EMERGENCY in text:
            emergency_at = time.monotonic() - locked_at
        if case_at is None and urgent():
            case_at = time.monotonic() - locked_at
        if told_at is None and (cases := urgent()) and cases[0].number in text:
            told_at = time.monotonic() - locked_at
        time.sleep(0.2)
    cases = urgent()
    numbers = [c.number for c in cases]
    outcome = scenes.audit_cases(chaos, numbers, [resident], marks, settle_seconds=60)
    after = sizes.after_lock_seconds
    never = [f"chat {resident.chat_id}: no urgent case {after:.0f} s after the lock was gone"]
    if cases:
        never = []
    no_card = [line for line in outcome.lost if "no card" in line]
    if cases and not any(
        audit.is_card(m.get("text") or "", cases[0].number)
        for chat in chaos.officers.values()
        for m in chat.bot_messages()
    ):
        no_card.append(f"{cases[0].number}: no officer chat shows its card")

    late = []
    if emergency_at is None or emergency_at > EMERGENCY_WITHIN:
        late = [f"chat {resident.chat_id}: {EMERGENCY} after {emergency_at} s, lock held {released_at:.1f} s"]

    def shown(value: float | None) -> str:
        return f"{value:.1f}" if value is not None else "never"

    figures.record(
        figures.Result(
            scenario="5 store locked during danger",
            size=sizes.size,
            seconds=time.monotonic() - began,
            goals_met=not (never or no_card or late or outcome.duplicates),
            figures={
                "urgent case never opened": len(never),
                "card never shown": len(no_card),
                "duplicates shown": len(outcome.duplicates),
                "lock held (s)": round(released_at, 1),
                f"{EMERGENCY} shown after (s)": shown(emergency_at),
                "urgent case opened after (s)": shown(case_at),
                "resident told its number after (s)": shown(told_at),
                "notifications lost": len(outcome.lost),
                "urgent cases": len(cases),
            },
            goals=GOALS,
            evidence=[
                *never,
                *no_card,
                *late,
                *(f"lost: {line}" for line in outcome.lost),
                *(f"duplicate: {line}" for line in outcome.duplicates),
                f"chat {resident.chat_id}: {[audit.short(m.get('text'), 60) for m in resident.messages()]}",
            ],
        )
    )
    assert not never, "\n".join(never)
    assert not no_card, "\n".join(no_card)
    assert not late, "\n".join(late)
    assert not outcome.duplicates, "duplicates shown:\n" + "\n".join(outcome.duplicates)


@pytest.mark.rasa
def test_store_locked_during_a_danger_report_smoke(chaos: Chaos, chaos_sizes: Sizes) -> None:
    run(chaos, chaos_sizes)


@pytest.mark.rasa
@pytest.mark.chaos
def test_store_locked_during_a_danger_report(chaos: Chaos, chaos_sizes: Sizes) -> None:
    run(chaos, chaos_sizes)
