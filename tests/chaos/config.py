"""The suite's knobs: sizes for the smoke run (part of ``make test``) and the full run (``make chaos``),
each overridable from the environment so a failure can be replayed or a figure measured longer.

=========================  =========  =======  ===================================================
variable                   full       smoke    what
=========================  =========  =======  ===================================================
CHAOS_SEED                 random     random   the kill trials' plans (printed; set it to replay)
CHAOS_TRIALS               100        3        kill trials (smoke: one per service)
CHAOS_TRIAL_DEADLINE       240        240      seconds a trial's flow may take (plus the restart)
CHAOS_RECOVER_SECONDS      240        20       after the flow, for its notices to go out (else: late)
CHAOS_REAL_TIME            0          0        1: the Telegram outage lasts in real time
CHAOS_OUTAGE_SECONDS       900        900      the Telegram outage, on Hemu's clock (or real)
CHAOS_OUTAGE_STEP          20         60       Hemu-clock seconds per step while stepping the outage
CHAOS_DOWN_SECONDS         60         8        Rasa / the action server down
CHAOS_SLOW_SECONDS         10         10       Rasa / the action server slow: seconds per request
CHAOS_DB_LOCK_SECONDS      40         32       the store locked by another process (busy timeout: 30)
CHAOS_AFTER_LOCK_SECONDS   180        20       how late the urgent case may open after the lock
CHAOS_FLOOD_MESSAGES       300        60       messages from the flooding chat
CHAOS_SAMPLES              20         12       answers measured per person beside the flood
CHAOS_DANGER_SECONDS       5          5        goal: the emergency number this soon after danger
CHAOS_ANSWER_P95           2.0        2.0      goal: p95 answer time beside a flood, seconds
=========================  =========  =======  ===================================================
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass


def _number(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    return float(raw) if raw else default


@dataclass(frozen=True)
class Sizes:
    size: str  # "smoke" | "full"
    seed: int
    trials: int
    trial_deadline: float
    recover_seconds: float
    real_time: bool
    outage_seconds: float
    outage_step: float
    down_seconds: float
    slow_seconds: float
    db_lock_seconds: float
    after_lock_seconds: float
    flood_messages: int
    samples: int
    danger_seconds: float
    answer_p95: float


def sizes(full: bool) -> Sizes:
    seed_raw = os.environ.get("CHAOS_SEED", "").strip()
    seed = int(seed_raw) if seed_raw else random.SystemRandom().randrange(1, 1_000_000)
    return Sizes(
        size="full" if full else "smoke",
        seed=seed,
        trials=int(_number("CHAOS_TRIALS", 100 if full else 3)),
        trial_deadline=_number("CHAOS_TRIAL_DEADLINE", 240),
        recover_seconds=_number("CHAOS_RECOVER_SECONDS", 240 if full else 20),
        real_time=os.environ.get("CHAOS_REAL_TIME", "").strip() in ("1", "true", "yes"),
        outage_seconds=_number("CHAOS_OUTAGE_SECONDS", 900),
        outage_step=_number("CHAOS_OUTAGE_STEP", 20 if full else 60),
        down_seconds=_number("CHAOS_DOWN_SECONDS", 60 if full else 8),
        slow_seconds=_number("CHAOS_SLOW_SECONDS", 10),
        db_lock_seconds=_number("CHAOS_DB_LOCK_SECONDS", 40 if full else 32),
        after_lock_seconds=_number("CHAOS_AFTER_LOCK_SECONDS", 180 if full else 20),
        flood_messages=int(_number("CHAOS_FLOOD_MESSAGES", 300 if full else 60)),
        samples=int(_number("CHAOS_SAMPLES", 20 if full else 12)),
        danger_seconds=_number("CHAOS_DANGER_SECONDS", 5),
        answer_p95=_number("CHAOS_ANSWER_P95", 2.0),
    )
