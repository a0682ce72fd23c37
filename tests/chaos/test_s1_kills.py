"""Scenario 1: kill -9 one service at a random moment of a whole case; goal 0 cases lost, 0
notifications lost, 0 duplicates shown (see :mod:`tests.chaos.kills`)."""

from __future__ import annotations

import time

import pytest

from tests.chaos import figures, kills
from tests.chaos.config import Sizes
from tests.chaos.stack import Chaos

GOALS = {"cases lost": "0", "notifications lost": "0", "duplicates shown": "0"}


def show(trial: kills.Trial) -> None:
    print(f"  {trial.line()} [{trial.seconds:.0f} s]", flush=True)
    print("    " + " | ".join(trial.timeline), flush=True)


def run(chaos: Chaos, sizes: Sizes, one_of_each: bool) -> None:
    began = time.monotonic()
    plans = kills.draw_plans(sizes.seed, sizes.trials, one_of_each)
    if one_of_each:
        # The smoke run: one trial per service, side by side (each kills its own service), so the run
        # lasts as long as the slowest recovery rather than the sum of all three.
        trials = kills.run_side_by_side(chaos, plans, sizes.seed, sizes.trial_deadline, sizes.recover_seconds)
    else:
        trials = []
        for index, plan in enumerate(plans, 1):
            chaos.ensure_all_running()
            script = kills.pick_script(sizes.seed, index)
            deadline, recover = sizes.trial_deadline, sizes.recover_seconds
            trials.append(kills.run_trial(chaos, index, plan, script, deadline, recover))
            show(trials[-1])
    if one_of_each:
        for trial in trials:
            show(trial)
    result = kills.final_audit(chaos, trials)
    evidence = [
        *(f"case lost: {line}" for line in result.cases_lost),
        *(f"notification lost: {line}" for line in result.notifications_lost),
        *(f"duplicate: {line}" for line in result.duplicates),
        *(f"incomplete: {t.line()}; {' | '.join(t.timeline)}" for t in trials if t.outcome != "complete"),
        *(f"late case: {line}" for line in result.cases_late),
        *(f"late notification: {line}" for line in result.notifications_late),
        *(f"dropped: {line}" for line in result.dropped),
        *(line for t in trials for line in t.evidence),
    ]
    ok = not (result.cases_lost or result.notifications_lost or result.duplicates)
    figures.record(
        figures.Result(
            scenario="1 kill -9 during a case",
            size=sizes.size,
            seconds=time.monotonic() - began,
            goals_met=ok,
            figures=kills.summary(trials, result, sizes.seed),
            goals=GOALS,
            evidence=evidence,
        )
    )
    assert not result.cases_lost, "cases lost:\n" + "\n".join(result.cases_lost)
    assert not result.notifications_lost, "notifications lost:\n" + "\n".join(result.notifications_lost)
    assert not result.duplicates, "duplicates shown:\n" + "\n".join(result.duplicates)


@pytest.mark.rasa
def test_kill_one_service_per_trial_smoke(chaos: Chaos, chaos_sizes: Sizes) -> None:
    """Three trials side by side, one per service (Rasa, the action server, the gateway)."""
    run(chaos, chaos_sizes, one_of_each=True)


@pytest.mark.rasa
@pytest.mark.chaos
def test_kill_one_service_per_trial(chaos: Chaos, chaos_sizes: Sizes) -> None:
    """CHAOS_TRIALS trials (100), the service and the moment drawn from CHAOS_SEED."""
    run(chaos, chaos_sizes, one_of_each=False)
