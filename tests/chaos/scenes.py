"""What several scenarios do alike: residents who already talked to the bot, cases opened at the desk
(as the action server opens them, so notices are queued without a Rasa turn), waiting for the outbox to
settle, and reading the Bot API server's call log."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from hemu.cases import Priority
from hemu.desk import Desk, Report
from hemu.store import CaseRecord
from tests.chaos import audit
from tests.chaos.stack import Chaos
from tests.e2e.conftest import Chat

T = TypeVar("T")

AREAS = ("binhe", "donghu", "liuan", "laojie")


class Timeout(AssertionError):
    """A condition a scenario needs before it can go on never held: the scenario cannot be measured."""


def until(check: Callable[[], T], timeout: float, what: str, every: float = 0.2) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise Timeout(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


def greeted(chaos: Chaos, language_code: str = "zh-hans", timeout: float = 60) -> Chat:
    """A resident whose chat exists (Telegram lets a bot write only to people who wrote first)."""
    resident = chaos.resident(language_code)
    resident.send("你好" if language_code.startswith("zh") else "hello")
    until(resident.new, timeout, f"a greeting for {resident.chat_id}", every=0.1)
    return resident


def desk(chaos: Chaos) -> Desk:
    """The desk in this process, on the same store and clock file as the servers."""
    return Desk(chaos.settings, chaos.store)


def open_case(chaos: Chaos, resident: Chat, index: int, urgent: bool = False) -> CaseRecord:
    report = Report(
        resident_id=str(resident.user_id),
        language="zh",
        category="report_noise",
        summary=f"楼下KTV每天唱到凌晨两点（第{index}号）",
        area_id=AREAS[index % len(AREAS)],
        harm="afraid" if urgent else "none",
        risk_flags=("threat",) if urgent else (),
    )
    return desk(chaos).open_case(report, priority=Priority.URGENT if urgent else None).case


@dataclass
class Outcome:
    """What a scenario's cases and chats show once settled: the three kinds of finding."""

    lost: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    unanswered: list[str] = field(default_factory=list)


def audit_cases(
    chaos: Chaos,
    numbers: list[str],
    residents: Iterable[Chat],
    officer_marks: dict[int, int],
    settle_seconds: float,
) -> Outcome:
    """Waits for the outbox of ``numbers`` to settle, then: rows lost, cards missing, duplicates in every
    resident's chat and in each officer chat (after its mark)."""
    audit.settle(chaos.store, numbers, time.monotonic() + settle_seconds)
    officer_chats = {officer_id: chat.chat_id for officer_id, chat in chaos.officers.items()}
    delivery = audit.check_delivery(chaos.store, chaos.control, numbers, officer_chats)
    outcome = Outcome(lost=delivery.lost, dropped=delivery.dropped)
    for resident in residents:
        outcome.duplicates += audit.duplicates_in_chat(resident.messages(), resident.chat_id)
    for chat in chaos.officers.values():
        messages = chat.messages()
        after = officer_marks.get(chat.chat_id, 0)
        outcome.duplicates += audit.duplicates_in_chat(messages, chat.chat_id, after=after)
        for number in numbers:
            outcome.duplicates += [
                line
                for line in audit.duplicates_in_chat(messages, chat.chat_id, after=after, number=number)
                if "with nothing done in between" not in line
            ]
    return outcome


def officer_marks(chaos: Chaos) -> dict[int, int]:
    return {
        chat.chat_id: max((m["message_id"] for m in chat.messages()), default=0)
        for chat in chaos.officers.values()
    }


def sends(chaos: Chaos, since: float, method: str = "sendMessage") -> list[dict[str, Any]]:
    """The bot's calls of ``method`` since ``since`` (time.time()), oldest first."""
    return [call for call in chaos.control.calls(method) if call["at"] >= since]


def first_answer_after(calls: list[dict[str, Any]], chat_id: int, after: float) -> float | None:
    """Seconds from ``after`` to the first message the bot got into ``chat_id`` (a call answered ok)."""
    for call in calls:
        if call["at"] < after or call.get("error_code") is not None:
            continue
        if str(call["params"].get("chat_id")) == str(chat_id):
            return call["at"] - after
    return None


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile (p95 of 20 answers is the 19th slowest)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-share * len(ordered) // 1))))
    return ordered[rank - 1]
