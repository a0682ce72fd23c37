"""Scenario 1: a whole case, resident to officer to rating, while one service is killed (SIGKILL) at a
random moment and started again on its port with the same database.

Each trial has a fresh resident and a plan drawn from the run's seed: which service dies (Rasa, the
action server or the gateway) and when — right after the k-th thing a person does in the flow, plus a
random fraction of a second. The people carry on as people would (:mod:`tests.chaos.people`): nobody
resends. When the flow has ended (or stalled) and the killed service is back, the trial waits for what
is still moving to settle (kept messages replayed, the outbox sent) and is audited. After the last trial
the whole run is audited once more, after moving Hemu's clock past the notifier's lease, so a
notification that was only late (claimed by a gateway that died) is told apart from one that is lost.
"""

from __future__ import annotations

import random
import statistics
import threading
import time
import traceback
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from hemu import clock
from hemu.cases import CaseState
from hemu.store import CaseRecord
from tests.chaos import audit
from tests.chaos.people import SCRIPTS, Deadline, Officer, Resident, Script, Stalled
from tests.chaos.stack import SERVICES, Chaos


def past_the_lease() -> timedelta:
    """How far to move Hemu's clock so every row a dead gateway had claimed is due again: the notifier's
    lease (bot/notifier.py, read as it is now), its margin and a minute."""
    from bot import notifier

    lease = getattr(notifier, "LEASE", timedelta(minutes=10))
    return lease + getattr(notifier, "LEASE_MARGIN", timedelta(0)) + timedelta(minutes=1)


MAX_ACTION = 14  # a full flow is about 14 actions of the three people


@dataclass(frozen=True)
class KillPlan:
    service: str
    after_action: int  # killed once this many person actions were taken (or the flow ended)
    delay: float  # … plus this many seconds

    def __str__(self) -> str:
        return f"kill -9 {self.service} {self.delay:.2f} s after action {self.after_action}"


def draw_plans(seed: int, trials: int, one_of_each: bool) -> list[KillPlan]:
    """The run's plans, all from ``seed``: the same seed plays the same trials again."""
    rng = random.Random(seed)
    services = list(SERVICES)
    if one_of_each:
        rng.shuffle(services)
    plans = []
    for index in range(trials):
        service = services[index % len(services)] if one_of_each else rng.choice(SERVICES)
        plans.append(KillPlan(service, rng.randint(1, MAX_ACTION), round(rng.uniform(0.0, 1.5), 2)))
    return plans


class Killer(threading.Thread):
    """Counts the people's actions; at the planned one (plus the delay) kills the service and starts it
    again. The flow goes on meanwhile, as it would in production while a service restarts."""

    def __init__(self, chaos: Chaos, plan: KillPlan, deadline: Deadline) -> None:
        super().__init__(name=f"killer-{plan.service}", daemon=True)
        self.chaos = chaos
        self.plan = plan
        self.deadline = deadline
        self.actions = 0
        self.last_action = "(none yet)"
        self.flow_over = False
        self.killed_at: float | None = None
        self.killed_after = ""
        self.restart_seconds: float | None = None
        self.error: str | None = None
        self._changed = threading.Condition()

    def action(self, what: str) -> None:
        with self._changed:
            self.actions += 1
            self.last_action = what
            self._changed.notify_all()

    def flow_ended(self) -> None:
        with self._changed:
            self.flow_over = True
            self._changed.notify_all()

    def run(self) -> None:
        with self._changed:
            self._changed.wait_for(lambda: self.actions >= self.plan.after_action or self.flow_over)
        time.sleep(self.plan.delay)  # the plan's random moment, not a wait for a result
        with self._changed:  # what the people had last done when the service died
            ended = " (the flow had ended)" if self.flow_over else ""
            self.killed_after = f"action {self.actions}: {self.last_action}{ended}"
        try:
            self.killed_at = self.chaos.kill(self.plan.service)
            self.restart_seconds = self.chaos.restart(self.plan.service)
            self.deadline.extend(self.restart_seconds)
        except Exception:  # noqa: BLE001 - reported with the trial
            self.error = traceback.format_exc(limit=3)


@dataclass
class Trial:
    index: int
    plan: KillPlan
    script: str
    resident_id: int
    officer_marks: dict[int, int]
    seconds: float = 0.0
    outcome: str = "complete"
    killed_after: str = ""
    restart_seconds: float | None = None
    case_numbers: list[str] = field(default_factory=list)
    restated: int = 0
    resent: int = 0
    unsettled_at_end: list[int] = field(default_factory=list)  # outbox ids not yet sent when it ended
    evidence: list[str] = field(default_factory=list)
    ended: float = 0.0  # time.monotonic() at the trial's end
    timeline: list[str] = field(default_factory=list)  # "+12.3s what" for every action and the kill
    longest_wait: float = 0.0  # the longest a person waited for the bot between two of their actions
    killed_wall: float | None = None  # time.time() of the kill
    alongside: list[str] = field(default_factory=list)  # the other trials' kills, when run side by side

    def label(self) -> str:
        """Which trial, which kill and when (and the others' kills when trials ran side by side)."""
        at = time.strftime("%H:%M:%S", time.localtime(self.killed_wall)) if self.killed_wall else "never"
        beside = f"; side by side with {', '.join(self.alongside)}" if self.alongside else ""
        return f"trial {self.index} ({self.script}, {self.plan}, killed at {at}{beside})"

    def line(self) -> str:
        return f"{self.label()} after {self.killed_after}: {self.outcome}; cases {self.case_numbers}"


def officer_marks(chaos: Chaos) -> dict[int, int]:
    """Each officer chat's newest message id, so a trial's audit looks only at what came after."""
    marks = {}
    for chat in chaos.officers.values():
        messages = chat.messages()
        marks[chat.chat_id] = max((m["message_id"] for m in messages), default=0)
    return marks


def run_trial(
    chaos: Chaos, index: int, plan: KillPlan, script: Script, deadline_s: float, recover_s: float
) -> Trial:
    resident_chat = chaos.resident(script.language_code)
    trial = Trial(index, plan, script.name, resident_chat.user_id, officer_marks(chaos))
    began = time.monotonic()
    deadline = Deadline(began + deadline_s)
    killer = Killer(chaos, plan, deadline)
    killer.start()
    resident = Resident(resident_chat, deadline, killer.action)
    officer: Officer | None = None
    try:
        resident.report(script)
        case = resident.until(
            "the case in the store", lambda: _first_case(chaos, resident_chat.user_id), "no case"
        )
        officer_chat = chaos.officer_chat(case.officer_id)
        officer = Officer(officer_chat, deadline, killer.action, officer_id=case.officer_id)
        # An officer works one case at a time (trials may run side by side in the smoke run).
        desk_free = chaos.officer_lock(case.officer_id)
        if not desk_free.acquire(timeout=max(0.0, deadline.at - time.monotonic())):
            raise officer.stalled("the officer's desk", "busy with another trial's case until the deadline")
        try:
            officer.work(case.number, f"已上门调解（第{index}次试验）", chaos.settings)
        finally:
            desk_free.release()
        resident.rate(case.number, 4)
        resident.until(
            "the case closed",
            lambda: (c := chaos.store.get(case.number)) is not None and c.state is CaseState.CLOSED,
            f"{case.number} never closed",
        )
    except Stalled as stalled:
        trial.outcome = str(stalled)
    except Exception:  # noqa: BLE001 - one trial's harness error must not hide the others' results
        trial.outcome = "harness error"
        trial.evidence.append(f"trial {index}: {traceback.format_exc(limit=4)}")
    finally:
        killer.flow_ended()
        killer.join()
    trial.restated = resident.restated
    trial.resent = resident.resent
    actions = sorted(resident.actions + (officer.actions if officer else []))
    trial.timeline = timeline(began, killer, actions)
    trial.longest_wait = max((b[0] - a[0] for a, b in zip(actions, actions[1:], strict=False)), default=0.0)
    trial.killed_after = killer.killed_after
    trial.killed_wall = killer.killed_at
    trial.restart_seconds = killer.restart_seconds
    if killer.error:
        trial.evidence.append(f"trial {index}: restarting {plan.service} failed: {killer.error}")
    # What is still moving gets recover_s more (within the deadline); what needs longer is "late" — the
    # final audit, past the lease, tells late from lost.
    _recover(chaos, trial, Deadline(min(deadline.at, time.monotonic() + recover_s)))
    trial.seconds = time.monotonic() - began
    trial.ended = time.monotonic()
    return trial


def timeline(began: float, killer: Killer, actions: list[tuple[float, str]]) -> list[str]:
    """Every action and the kill, in seconds from the trial's start: the first thing to read when a
    trial went wrong."""
    wall = time.time() - (time.monotonic() - began)
    moments = list(actions)
    if killer.killed_at is not None:
        moments.append((killer.killed_at, f"KILLED {killer.plan.service}"))
        if killer.restart_seconds is not None:
            moments.append((killer.killed_at + killer.restart_seconds, f"{killer.plan.service} ready again"))
    return [f"+{at - wall:.1f}s {what}" for at, what in sorted(moments)]


def _first_case(chaos: Chaos, user_id: int) -> CaseRecord | None:
    cases = chaos.store.cases_for_resident(str(user_id))
    return cases[0] if cases else None


def _recover(chaos: Chaos, trial: Trial, deadline: Deadline) -> None:
    """Lets what is still moving settle before the audit: kept messages replayed, the outbox sent."""
    sender = str(trial.resident_id)
    while chaos.store.inbound.has_pending(sender) and not deadline.passed():
        time.sleep(0.2)
    trial.case_numbers = [c.number for c in chaos.store.cases_for_resident(sender)]
    rows = audit.settle(chaos.store, trial.case_numbers, deadline.at, clock.now)
    trial.unsettled_at_end = [row.id for row in rows if row.status.value not in audit.SETTLED]


@dataclass
class Audit:
    cases_lost: list[str] = field(default_factory=list)
    cases_late: list[str] = field(default_factory=list)
    notifications_lost: list[str] = field(default_factory=list)
    notifications_late: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)


def final_audit(chaos: Chaos, trials: list[Trial], settle_s: float = 120.0) -> Audit:
    """The whole run, once everything had the time to recover — Hemu's clock moved past the lease."""
    chaos.advance_clock(past_the_lease())
    deadline = time.monotonic() + settle_s
    senders = [str(t.resident_id) for t in trials]
    while any(chaos.store.inbound.has_pending(s) for s in senders) and time.monotonic() < deadline:
        time.sleep(0.5)
    result = Audit()
    for trial in trials:
        cases = chaos.store.cases_for_resident(str(trial.resident_id))
        numbers = [c.number for c in cases]
        if not cases:
            pending = audit.resident_pending(chaos.store, str(trial.resident_id))
            result.cases_lost.append(f"{trial.line()}; still kept for Rasa: {pending}")
        elif not trial.case_numbers:
            result.cases_late.append(f"{trial.line()}: opened only after the trial ended: {numbers}")
        trial.case_numbers = numbers
        if len(cases) > 1:
            result.duplicates.append(f"{trial.line()}: one report opened {len(cases)} cases {numbers}")
    numbers = [n for t in trials for n in t.case_numbers]
    audit.settle(chaos.store, numbers, deadline, clock.now)
    officer_chats = {officer_id: chat.chat_id for officer_id, chat in chaos.officers.items()}
    for trial in trials:
        delivery = audit.check_delivery(chaos.store, chaos.control, trial.case_numbers, officer_chats)
        head = trial.label()
        result.notifications_lost += [f"{head}: {line}" for line in delivery.lost]
        result.dropped += [f"{head}: {line}" for line in delivery.dropped]
        late = [r for r in delivery.rows if r.id in trial.unsettled_at_end and r.status.value == "sent"]
        result.notifications_late += [
            f"{head}: not sent by the trial's end, sent after: {audit.describe(row)}" for row in late
        ]
        result.duplicates += [f"{head}: {line}" for line in duplicates_of(chaos, trial)]
    return result


def duplicates_of(chaos: Chaos, trial: Trial) -> list[str]:
    found = audit.duplicates_in_chat(chaos.control.messages(trial.resident_id), trial.resident_id)
    for number in trial.case_numbers:
        for chat in chaos.officers.values():
            after = trial.officer_marks.get(chat.chat_id, 0)
            found += audit.duplicates_in_chat(chat.messages(), chat.chat_id, after=after, number=number)
    return found


def summary(trials: list[Trial], result: Audit, seed: int) -> dict[str, Any]:
    """The scenario's figures: the three goals first, then what explains them."""
    restarts: dict[str, list[float]] = {}
    for trial in trials:
        if trial.restart_seconds is not None:
            restarts.setdefault(trial.plan.service, []).append(trial.restart_seconds)
    kills = {service: sum(t.plan.service == service for t in trials) for service in SERVICES}
    return {
        "cases lost": len(result.cases_lost),
        "notifications lost": len(result.notifications_lost),
        "duplicates shown": len(result.duplicates),
        "trials": len(trials),
        "seed": seed,
        "kills": kills,
        "flows incomplete": sum(t.outcome != "complete" for t in trials),
        "cases opened late": len(result.cases_late),
        "notifications late": len(result.notifications_late),
        "notifications dropped": len(result.dropped),
        "stories told twice": sum(t.restated for t in trials),
        "resent when the bot asked": sum(t.resent for t in trials),
        "restart s (median)": {s: round(statistics.median(v), 1) for s, v in restarts.items()},
        "longest wait for the bot (s)": round(max((t.longest_wait for t in trials), default=0), 1),
        "trial s (median)": round(statistics.median(t.seconds for t in trials), 1) if trials else 0,
        "trial s (max)": round(max((t.seconds for t in trials), default=0), 1),
    }


def run_side_by_side(
    chaos: Chaos, plans: list[KillPlan], seed: int, deadline_s: float, recover_s: float
) -> list[Trial]:
    """Every plan's trial at once, each in its own thread (plans must name different services)."""
    assert len({plan.service for plan in plans}) == len(plans), "side by side: one trial per service"
    chaos.ensure_all_running()
    done: dict[int, Trial] = {}

    def one(index: int, plan: KillPlan) -> None:
        done[index] = run_trial(chaos, index, plan, pick_script(seed, index), deadline_s, recover_s)

    threads = [threading.Thread(target=one, args=(i, p), daemon=True) for i, p in enumerate(plans, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    trials = [done[index] for index in sorted(done)]
    for trial in trials:
        trial.alongside = [
            f"{other.plan.service} killed at "
            + (time.strftime("%H:%M:%S", time.localtime(other.killed_wall)) if other.killed_wall else "-")
            for other in trials
            if other is not trial
        ]
    return trials


def pick_script(seed: int, index: int) -> Script:
    return random.Random(seed * 1_000_003 + index).choice(SCRIPTS)
