from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hemu.cases import (
    ACTIVE_STATES,
    CaseState,
    InvalidTransition,
    can_transition,
    check_transition,
    find_case_number,
    format_case_number,
    is_active,
    normalise_case_number,
    parse_case_number,
)

S = CaseState
# The rules written out once more, by hand, so a change to hemu.cases has to be made twice on purpose.
ALLOWED = {
    S.OPEN: {S.ACKNOWLEDGED, S.CONTACTED, S.RESOLVED, S.HANDED_OVER, S.CANCELLED},
    S.HANDED_OVER: {S.ACKNOWLEDGED, S.CONTACTED, S.RESOLVED, S.HANDED_OVER, S.CANCELLED},
    S.REOPENED: {S.ACKNOWLEDGED, S.CONTACTED, S.RESOLVED, S.HANDED_OVER, S.CANCELLED},
    S.ACKNOWLEDGED: {S.CONTACTED, S.RESOLVED, S.HANDED_OVER, S.CANCELLED},
    S.CONTACTED: {S.RESOLVED, S.HANDED_OVER, S.CANCELLED},
    S.RESOLVED: {S.CLOSED, S.REOPENED},
    S.CLOSED: {S.REOPENED},
    S.CANCELLED: set(),
}
MATRIX = [(current, target) for current in CaseState for target in CaseState]


def test_every_state_has_rules() -> None:
    assert set(ALLOWED) == set(CaseState)


@pytest.mark.parametrize(("current", "target"), MATRIX, ids=[f"{c.value}->{t.value}" for c, t in MATRIX])
def test_transition_matrix(current: CaseState, target: CaseState) -> None:
    allowed = target in ALLOWED[current]
    assert can_transition(current, target) is allowed
    if allowed:
        check_transition("HM-2026-000012", current, target)
    else:
        with pytest.raises(InvalidTransition) as caught:
            check_transition("HM-2026-000012", current, target)
        assert str(caught.value).startswith(
            f"case HM-2026-000012 is {current.value}; it cannot be {target.value}"
        )
        assert (caught.value.current, caught.value.target) == (current, target)


def test_refusal_names_what_is_possible() -> None:
    with pytest.raises(
        InvalidTransition, match=r"is resolved; it cannot be acknowledged \(it can be: closed, reopened\)"
    ):
        check_transition("HM-2026-000012", "resolved", "acknowledged")
    with pytest.raises(
        InvalidTransition, match="is cancelled; it cannot be reopened and can no longer change"
    ):
        check_transition("HM-2026-000012", S.CANCELLED, S.REOPENED)


def test_invalid_transition_is_a_value_error() -> None:
    assert issubclass(InvalidTransition, ValueError)


def test_unknown_state_is_refused() -> None:
    with pytest.raises(ValueError):
        check_transition("HM-2026-000012", "open", "solved")


def test_active_states() -> None:
    assert {S.OPEN, S.ACKNOWLEDGED, S.CONTACTED, S.REOPENED, S.HANDED_OVER} == ACTIVE_STATES
    assert [state for state in CaseState if is_active(state)] == [
        S.OPEN,
        S.ACKNOWLEDGED,
        S.CONTACTED,
        S.REOPENED,
        S.HANDED_OVER,
    ]
    assert is_active("open") and not is_active("closed")


@pytest.mark.parametrize(
    ("year", "seq", "number"),
    [(2026, 1, "HM-2026-000001"), (2026, 123, "HM-2026-000123"), (2031, 999_999, "HM-2031-999999")],
)
def test_format_and_parse_round_trip(year: int, seq: int, number: str) -> None:
    assert format_case_number(year, seq) == number
    assert parse_case_number(number) == (year, seq)


@pytest.mark.parametrize(
    "text",
    [
        "HM-2026-000123",
        " hm-2026-000123\n",
        "Hm - 2026 - 000123",
        "HM-2026-123",
        "ＨＭ－２０２６－０００１２３",
        "HM—2026—000123",
    ],
)
def test_parse_is_tolerant(text: str) -> None:
    assert parse_case_number(text) == (2026, 123)
    assert normalise_case_number(text) == "HM-2026-000123"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "123",
        "HM-2026",
        "HM-26-000123",
        "XX-2026-000123",
        "HM-2026-0000000",
        "HM-2026-000000",
        "HM-2026-00012a",
        "HM-0999-000001",
        "HM-2026-000123 please",
    ],
)
def test_parse_refuses_junk(text: str) -> None:
    with pytest.raises(ValueError, match="is not a case number"):
        parse_case_number(text)


@pytest.mark.parametrize(("year", "seq"), [(999, 1), (10_000, 1), (2026, 0), (2026, 1_000_000), (2026, -1)])
def test_format_refuses_out_of_range(year: int, seq: int) -> None:
    with pytest.raises(ValueError):
        format_case_number(year, seq)


@given(year=st.integers(1000, 9999), seq=st.integers(1, 999_999))
def test_any_number_round_trips(year: int, seq: int) -> None:
    number = format_case_number(year, seq)
    assert parse_case_number(number) == (year, seq)
    assert parse_case_number(f"  {number.lower()} ") == (year, seq)


@given(text=st.text(max_size=30))
def test_parse_raises_only_value_error(text: str) -> None:
    try:
        year, seq = parse_case_number(text)
    except ValueError:
        return
    assert normalise_case_number(text) == format_case_number(year, seq)


def test_a_case_number_is_found_inside_a_message_however_it_was_typed() -> None:
    assert find_case_number("请撤销 hm－2026－123 谢谢") == "HM-2026-000123"
    assert find_case_number("cancel HM-2026-000007 please") == "HM-2026-000007"
    assert find_case_number("my flat is 2026-000123") is None
    assert find_case_number("") is None
