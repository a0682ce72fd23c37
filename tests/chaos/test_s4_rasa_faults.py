"""Scenario 4: Rasa or the action server down (refusing connections), slow (every turn or action call
held for CHAOS_SLOW_SECONDS), or dropping Rasa's answers after it took the turn — played by the fault
proxies, so the processes (and Rasa's conversations) stay as they were.

During each fault four residents write: one in the middle of a report, one starting a report, and two
in danger (Chinese and English). Goals, for every message: never silently dropped (it gets its real
answer — at once, or after an "unavailable, we'll answer later" notice); the resident is told something
within TOLD_SECONDS; a danger message gets the emergency number within CHAOS_DANGER_SECONDS, however
Rasa is; nothing shown twice.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import pytest

from tests.chaos import audit, figures, scenes
from tests.chaos.config import Sizes
from tests.chaos.people import EN_PET, ZH_NOISE, emergency_number
from tests.chaos.stack import Chaos
from tests.e2e.conftest import Chat

DANGER_LATE = "danger without the emergency number in time"
GOALS = {
    "messages silently dropped": "0",
    "residents not told in time": "0",
    DANGER_LATE: "0",
    "duplicates shown": "0",
}
TOLD_SECONDS = 15.0  # a person waits about this long before they think the message went nowhere
SETTLE_SECONDS = 240.0  # after a fault ends, for kept messages to be replayed and answered
DANGER_ZH = "他拿着刀说要杀了我"
DANGER_EN = "he has a knife and says he will kill me"
EMERGENCY = emergency_number()  # 110 in the sample station


@dataclass(frozen=True)
class Fault:
    name: str
    target: str  # "rasa" | "actions"
    kind: str
    seconds: float = 0.0
    paths: tuple[str, ...] = ()


@dataclass
class Probe:
    """One message written during a fault and what became of it."""

    chat: Chat
    text: str
    answer: str  # in the real answer
    danger: bool = False
    sent: float = 0.0
    first_reply: float | None = None
    first_was_answer: bool = False
    answered: float | None = None
    emergency: float | None = None
    replies: list[str] = field(default_factory=list)

    def look(self) -> None:
        new = self.chat.new()
        if not new:
            return
        at = time.monotonic() - self.sent
        texts = [m.get("text") or "" for m in new]
        if self.first_reply is None:
            self.first_reply = at
            self.first_was_answer = self.answer in texts[0]
        if self.answered is None and any(self.answer in text for text in texts):
            self.answered = at
        if self.emergency is None and any(EMERGENCY in text for text in texts):
            self.emergency = at
        self.replies = texts

    @property
    def done(self) -> bool:
        return self.answered is not None and (not self.danger or self.emergency is not None)

    def line(self) -> str:
        def shown(value: float | None) -> str:
            return f"{value:.1f}s" if value is not None else "never"

        return (
            f"chat {self.chat.chat_id} {self.text!r}: first reply {shown(self.first_reply)}"
            f" ({'the answer' if self.first_was_answer else 'a notice'}), answer {shown(self.answered)}"
            + (f", {EMERGENCY} {shown(self.emergency)}" if self.danger else "")
            + f"; replies {[audit.short(t, 50) for t in self.replies[-4:]]}"
        )


def faults(sizes: Sizes, full: bool) -> list[tuple[Fault, float]]:
    """Each fault with how long it lasts."""
    slow_for = max(sizes.down_seconds, sizes.slow_seconds + 1)
    chosen = [
        (Fault("Rasa down", "rasa", "refuse"), sizes.down_seconds),
        (Fault("Rasa slow", "rasa", "delay", sizes.slow_seconds, ("/webhooks/",)), slow_for),
    ]
    if full:
        chosen += [
            (Fault("action server down", "actions", "refuse"), sizes.down_seconds),
            (Fault("action server slow", "actions", "delay", sizes.slow_seconds, ("/webhook",)), slow_for),
            (Fault("Rasa drops its answers", "rasa", "drop", 0.0, ("/webhooks/",)), sizes.down_seconds),
        ]
    return chosen


def prepare(chaos: Chaos) -> list[Probe]:
    """The residents, before the fault: one mid-report, one new, two in danger (chats exist)."""
    mid = chaos.resident(ZH_NOISE.language_code)
    mid.send(ZH_NOISE.opening)
    scenes.until(lambda: "发生在哪里" in mid.new_text(), 60, "the first form question", every=0.1)
    fresh = chaos.resident(EN_PET.language_code)
    danger_zh = scenes.greeted(chaos, "zh-hans")
    danger_en = scenes.greeted(chaos, "en")
    return [
        Probe(mid, "柳岸花园7栋", "涉及哪些人"),
        Probe(fresh, EN_PET.opening, "Where is this happening"),
        Probe(danger_zh, DANGER_ZH, EMERGENCY, danger=True),
        Probe(danger_en, DANGER_EN, EMERGENCY, danger=True),
    ]


def play(chaos: Chaos, fault: Fault, lasts: float) -> list[Probe]:
    probes = prepare(chaos)
    proxy = chaos.rasa_proxy if fault.target == "rasa" else chaos.actions_proxy
    proxy.set(fault.kind, fault.seconds, fault.paths, duration=lasts)
    began = time.monotonic()
    for probe in probes:
        probe.sent = time.monotonic()
        probe.chat.send(probe.text)
    while time.monotonic() - began < lasts:
        for probe in probes:
            probe.look()
        time.sleep(0.1)
    proxy.clear()
    deadline = time.monotonic() + SETTLE_SECONDS
    while not all(probe.done for probe in probes) and time.monotonic() < deadline:
        for probe in probes:
            probe.look()
        time.sleep(0.2)
    for probe in probes:
        probe.look()
    return probes


def run(chaos: Chaos, sizes: Sizes, full: bool) -> None:
    began = time.monotonic()
    dropped, untold, danger_late, duplicates, lines = [], [], [], [], []
    per_fault: dict[str, str] = {}
    for fault, lasts in faults(sizes, full):
        probes = play(chaos, fault, lasts)
        for probe in probes:
            line = f"{fault.name} ({lasts:.0f} s): {probe.line()}"
            lines.append(line)
            if probe.answered is None:
                dropped.append(line)
            if probe.first_reply is None or probe.first_reply > TOLD_SECONDS:
                untold.append(line)
            if probe.danger and (probe.emergency is None or probe.emergency > sizes.danger_seconds):
                danger_late.append(line)
            shown_twice = audit.duplicates_in_chat(probe.chat.messages(), probe.chat.chat_id)
            duplicates += [f"{fault.name}: {line}" for line in shown_twice]
        worst = max((p.emergency or float("inf")) for p in probes if p.danger)
        slowest = max((p.answered or float("inf")) for p in probes)
        per_fault[fault.name] = f"{EMERGENCY} after {worst:.1f}s, last answer {slowest:.1f}s"
    figures.record(
        figures.Result(
            scenario="4 Rasa / action server down or slow",
            size=sizes.size,
            seconds=time.monotonic() - began,
            goals_met=not (dropped or untold or danger_late or duplicates),
            figures={
                "messages silently dropped": len(dropped),
                "residents not told in time": len(untold),
                DANGER_LATE: len(danger_late),
                "duplicates shown": len(duplicates),
                "messages": len(lines),
                **per_fault,
            },
            goals={**GOALS, DANGER_LATE: f"0 (≤ {sizes.danger_seconds:g} s)"},
            evidence=[
                *(f"dropped: {line}" for line in dropped),
                *(f"not told within {TOLD_SECONDS:g} s: {line}" for line in untold),
                *(f"danger late: {line}" for line in danger_late),
                *(f"duplicate: {line}" for line in duplicates),
                *(f"probe: {line}" for line in lines),
            ],
        )
    )
    assert not dropped, "messages silently dropped:\n" + "\n".join(dropped)
    assert not danger_late, "danger without the emergency number in time:\n" + "\n".join(danger_late)
    assert not untold, f"residents told nothing within {TOLD_SECONDS:g} s:\n" + "\n".join(untold)
    assert not duplicates, "duplicates shown:\n" + "\n".join(duplicates)


@pytest.mark.rasa
def test_rasa_down_and_slow_smoke(chaos: Chaos, chaos_sizes: Sizes) -> None:
    run(chaos, chaos_sizes, full=False)


@pytest.mark.rasa
@pytest.mark.chaos
def test_rasa_and_actions_down_slow_and_dropping(chaos: Chaos, chaos_sizes: Sizes) -> None:
    run(chaos, chaos_sizes, full=True)
