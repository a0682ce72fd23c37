"""Scenario 2: Telegram unreachable for CHAOS_OUTAGE_SECONDS (15 minutes) — every Bot API call, getUpdates
included, has its connection closed unanswered (the local Bot API server's ``/control/outage``).

Cases are opened and acknowledged at the desk before and during the outage (cards for officers,
updates for residents, one urgent case whose 15-minute promise breaks during it, so the watcher's
escalation notices join them). So the suite need not take 15 real minutes, Hemu's shared clock moves
forward in steps of CHAOS_OUTAGE_STEP seconds (the notifier schedules its retries on that clock); after
each step the suite waits until the notifier has tried every row that became due, so each step is
really lived through. ``CHAOS_REAL_TIME=1`` waits the outage out in real time instead.

After the outage the clock goes on (in steps again, up to the notifier's longest back-off and a minute)
until everything is delivered. Goals: every notice of these cases delivered (none pending, none given
up), every card visible, nothing twice.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from hemu import clock
from tests.chaos import audit, figures, scenes
from tests.chaos.config import Sizes
from tests.chaos.stack import Chaos

GOALS = {"notifications lost": "0", "cards missing": "0", "duplicates shown": "0"}
# The notifier's longest back-off (bot/notifier.py BACKOFF_CAP) plus a minute: after the outage, nothing
# should need longer than this to go out.
AFTER = timedelta(minutes=6)
STEP_ATTEMPTS_SECONDS = 10.0  # for the notifier to try what a clock step made due


def tried_all_due(chaos: Chaos, numbers: list[str]) -> bool:
    """No pending row of these cases is due now: the notifier has tried each one that was."""
    now = clock.now()
    rows = audit.outbox_of(chaos.store, numbers)
    return not any(r.status.value == "pending" and r.next_attempt_at <= now for r in rows)


def step_clock(chaos: Chaos, numbers: list[str], seconds: float, step: float) -> None:
    """Moves Hemu's clock ``seconds`` forward in ``step``s, letting the notifier try after each."""
    moved = 0.0
    while moved < seconds:
        by = min(step, seconds - moved)
        chaos.advance_clock(timedelta(seconds=by))
        moved += by
        deadline = time.monotonic() + STEP_ATTEMPTS_SECONDS
        while not tried_all_due(chaos, numbers) and time.monotonic() < deadline:
            time.sleep(0.1)


def run(chaos: Chaos, sizes: Sizes, cases_before: int, cases_during: int) -> None:
    began = time.monotonic()
    residents = [scenes.greeted(chaos) for _ in range(cases_before + cases_during + 1)]
    marks = scenes.officer_marks(chaos)
    control = chaos.control
    outage_began = clock.now()
    real_began = time.monotonic()
    if sizes.real_time:
        control.outage(sizes.outage_seconds)
    else:
        control.outage()
    since = time.time()
    scenes.until(
        lambda: any(c.get("error_code") == "unreachable" for c in scenes.sends(chaos, since, "getUpdates")),
        60,
        "the gateway to find Telegram unreachable",
    )
    desk = scenes.desk(chaos)
    cases = [scenes.open_case(chaos, r, i) for i, r in enumerate(residents[:cases_before])]
    urgent = scenes.open_case(chaos, residents[cases_before], 99, urgent=True)
    cases.append(urgent)
    numbers = [c.number for c in cases]
    half = sizes.outage_seconds / 2
    if sizes.real_time:
        # Real time: half the outage has to pass, as it would.
        scenes.until(lambda: time.monotonic() - real_began >= half, half + 60, "half the outage", every=1)
    else:
        step_clock(chaos, numbers, half, sizes.outage_step)
    for case in cases[:cases_before]:
        desk.officer_act(case.number, case.officer_id, "acknowledge")
    later = [scenes.open_case(chaos, r, 50 + i) for i, r in enumerate(residents[cases_before + 1 :])]
    cases += later
    numbers = [c.number for c in cases]
    if sizes.real_time:
        over = sizes.outage_seconds
        scenes.until(lambda: not control.outage_status().get("active"), over, "the outage's end", every=1)
    else:
        step_clock(chaos, numbers, sizes.outage_seconds - half, sizes.outage_step)
        control.end_outage()
    outage_ended = clock.now()
    queued = [r for r in audit.outbox_of(chaos.store, numbers) if r.created_at <= outage_ended]
    # After the outage: time goes on until every row is settled, or the longest back-off has passed.
    deadline = time.monotonic() + AFTER.total_seconds() + 120
    while time.monotonic() < deadline:
        rows = audit.outbox_of(chaos.store, numbers)
        if all(r.status.value in audit.SETTLED or r.status.value == "failed" for r in rows):
            break
        if not sizes.real_time and clock.now() - outage_ended < AFTER:
            step_clock(chaos, numbers, min(sizes.outage_step, 10.0), sizes.outage_step)
        else:
            time.sleep(0.5)
    outcome = scenes.audit_cases(chaos, numbers, residents, marks, settle_seconds=30)
    rows = audit.outbox_of(chaos.store, numbers)
    sent_after = [r.sent_at for r in rows if r.sent_at is not None and r.sent_at > outage_ended]
    refused = [c for c in scenes.sends(chaos, since) if c.get("error_code") == "unreachable"]
    polls_refused = [
        c for c in scenes.sends(chaos, since, "getUpdates") if c.get("error_code") == "unreachable"
    ]
    cards_missing = [line for line in outcome.lost if "no card" in line]
    lost = [line for line in outcome.lost if "no card" not in line]
    figures.record(
        figures.Result(
            scenario="2 Telegram unreachable",
            size=sizes.size,
            seconds=time.monotonic() - began,
            goals_met=not (outcome.lost or outcome.duplicates),
            figures={
                "notifications lost": len(lost),
                "cards missing": len(cards_missing),
                "duplicates shown": len(outcome.duplicates),
                "outage (Hemu min)": round((outage_ended - outage_began).total_seconds() / 60, 1),
                "mode": "real time" if sizes.real_time else f"clock steps of {sizes.outage_step:g} s",
                "notices queued before its end": len(queued),
                "notices in all": len(rows),
                "sends refused by the outage": len(refused),
                "polls refused by the outage": len(polls_refused),
                "given up (failed)": sum(r.status.value == "failed" for r in rows),
                "last sent after its end (Hemu s)": round(
                    max(((t - outage_ended).total_seconds() for t in sent_after), default=0.0), 1
                ),
                "notifications dropped": len(outcome.dropped),
            },
            goals=GOALS,
            evidence=[
                *(f"lost: {line}" for line in lost),
                *(f"card missing: {line}" for line in cards_missing),
                *(f"duplicate: {line}" for line in outcome.duplicates),
                *(f"dropped: {line}" for line in outcome.dropped),
            ],
        )
    )
    assert not outcome.lost, "notifications lost:\n" + "\n".join(outcome.lost)
    assert not outcome.duplicates, "duplicates shown:\n" + "\n".join(outcome.duplicates)


@pytest.mark.rasa
def test_telegram_unreachable_smoke(chaos: Chaos, chaos_sizes: Sizes) -> None:
    run(chaos, chaos_sizes, cases_before=2, cases_during=1)


@pytest.mark.rasa
@pytest.mark.chaos
def test_telegram_unreachable(chaos: Chaos, chaos_sizes: Sizes) -> None:
    run(chaos, chaos_sizes, cases_before=5, cases_during=3)
