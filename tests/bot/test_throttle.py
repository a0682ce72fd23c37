"""The per-resident message window (bot/throttle.py): 20 a minute read, the 21st not, the resident told
once per stretch, danger always read, quiet residents forgotten."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from bot.throttle import MessageWindow, Verdict
from tests.conftest import WEDNESDAY_10

LIMIT = 20


def flood(
    window: MessageWindow, count: int, start: datetime = WEDNESDAY_10, resident: str = "r"
) -> list[Verdict]:
    return [window.admit(resident, start + timedelta(milliseconds=n), LIMIT) for n in range(count)]


def test_the_twenty_first_message_in_a_minute_is_not_read_and_told_once() -> None:
    verdicts = flood(MessageWindow(), 300)
    assert verdicts[:LIMIT] == [Verdict.READ] * LIMIT
    assert verdicts[LIMIT] is Verdict.TELL
    assert set(verdicts[LIMIT + 1 :]) == {Verdict.QUIET}


def test_danger_is_read_past_the_limit_and_only_then_asked_about() -> None:
    window = MessageWindow()
    asked: list[int] = []

    def dangerous() -> bool:
        asked.append(1)
        return True

    for n in range(LIMIT):
        assert window.admit("r", WEDNESDAY_10 + timedelta(seconds=n), LIMIT, dangerous) is Verdict.READ
    assert asked == []  # under the limit nothing is screened here
    assert window.admit("r", WEDNESDAY_10 + timedelta(seconds=30), LIMIT, dangerous) is Verdict.READ
    assert asked == [1]
    assert window.admit("r", WEDNESDAY_10 + timedelta(seconds=31), LIMIT) is Verdict.TELL


def test_messages_are_read_again_once_the_oldest_leaves_the_minute() -> None:
    window = MessageWindow()
    for n in range(LIMIT):
        window.admit("r", WEDNESDAY_10 + timedelta(seconds=n), LIMIT)
    assert window.admit("r", WEDNESDAY_10 + timedelta(seconds=59), LIMIT) is Verdict.TELL
    assert window.admit("r", WEDNESDAY_10 + timedelta(seconds=59.5), LIMIT) is Verdict.QUIET
    assert window.admit("r", WEDNESDAY_10 + timedelta(seconds=60), LIMIT) is Verdict.READ  # the first left
    assert window.admit("r", WEDNESDAY_10 + timedelta(seconds=60.5), LIMIT) is Verdict.TELL  # told again


def test_each_resident_has_their_own_minute() -> None:
    window = MessageWindow()
    flood(window, 100, resident="flooder")
    assert window.admit("neighbour", WEDNESDAY_10, LIMIT) is Verdict.READ


def test_residents_quiet_for_a_minute_are_forgotten() -> None:
    window = MessageWindow()
    for n in range(50):
        window.admit(f"r{n}", WEDNESDAY_10, LIMIT)
    flood(window, 30, resident="flooder")
    assert len(window) == 51
    window.admit("late", WEDNESDAY_10 + timedelta(minutes=1, seconds=1), LIMIT)
    assert len(window) == 1


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        MessageWindow().admit("r", datetime(2026, 12, 2, 10, 0), LIMIT)
