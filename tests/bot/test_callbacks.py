"""Button data: every button the gateway draws reads back as what it was drawn for, and anything else
(forged, truncated, another handler's) reads as nothing."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot import callbacks
from bot.callbacks import Prefix


def test_parse_officer_buttons_refuses_anything_forged() -> None:
    parsed = callbacks.parse_officer("o:ack:HM-2026-000001:3")
    assert parsed == callbacks.OfficerButton("ack", "HM-2026-000001", 3)
    assert callbacks.parse_officer("o:to:hm-2026-1:4:zhao_min") == callbacks.OfficerButton(
        "to", "HM-2026-000001", 4, "zhao_min"
    )
    assert callbacks.parse_officer("o:open:HM-2026-000007") == callbacks.OfficerButton(
        "open", "HM-2026-000007"
    )
    for forged in (
        None,
        "",
        "o:",
        "o:ack:HM-2026-000001",
        "o:ack:HM-2026-000001:x",
        "o:ack:HM-2026-000001:-1",
        "o:delete:HM-2026-000001:1",
        "o:ack:not-a-case:1",
        "o:to:HM-2026-000001:1:",
        "o:ack:HM-2026-000001:1:extra",
        "rate:HM-2026-000001:5",
    ):
        assert callbacks.parse_officer(forged) is None, forged


def test_ratings_and_the_follow_up_read_back_and_nothing_else_does() -> None:
    assert callbacks.parse_rating(callbacks.rating("HM-2026-000001", 4)) == ("rate", "HM-2026-000001", 4)
    assert callbacks.parse_rating(callbacks.skip_rating("HM-2026-000001")) == ("skip", "HM-2026-000001", None)
    for forged in (
        None,
        "",
        "rate:",
        "rate:HM-2026-000001:6",
        "rate:HM-2026-000001:0",
        "rate:a:b:c",
        "fu:x:back",
    ):
        assert callbacks.parse_rating(forged) is None, forged
    assert callbacks.parse_follow_up(callbacks.follow_up("HM-2026-000001", came_back=True)) == (
        "HM-2026-000001",
        True,
    )
    assert callbacks.parse_follow_up(callbacks.follow_up("HM-2026-000001", came_back=False)) == (
        "HM-2026-000001",
        False,
    )
    for forged in (None, "fu:HM-2026-000001", "fu:HM-2026-000001:maybe", "fu:a:back:x", "rate:a:back"):
        assert callbacks.parse_follow_up(forged) is None, forged


def test_a_gateway_question_reads_its_own_choice_only() -> None:
    assert callbacks.choice("lang:zh", Prefix.LANGUAGE) == "zh"
    assert callbacks.choice("forget:yes", Prefix.FORGET) == "yes"
    assert callbacks.choice("forget:yes", Prefix.LANGUAGE) == ""
    assert callbacks.choice("lang:zh:en", Prefix.LANGUAGE) == ""
    assert callbacks.starts_with("rate:HM-2026-000001:5", callbacks.GATEWAY_BUTTONS)
    assert not callbacks.starts_with("r:/affirm", callbacks.GATEWAY_BUTTONS)
    assert not callbacks.starts_with("rated", callbacks.GATEWAY_BUTTONS)


def test_data_telegram_would_refuse_is_never_drawn() -> None:
    with pytest.raises(ValueError, match="64 bytes"):
        callbacks.officer_button("to", "HM-2026-000001", 3, "x" * 60)


@given(
    year=st.integers(min_value=2000, max_value=9999),
    seq=st.integers(min_value=1, max_value=999_999),
    version=st.integers(min_value=1, max_value=999_999_999),
    verb=st.sampled_from([*callbacks.CASE_VERBS, "auto"]),
    officer=st.from_regex(r"[a-z][a-z0-9_]{0,20}", fullmatch=True),
)
def test_every_officer_button_reads_back_as_drawn(
    year: int, seq: int, version: int, verb: str, officer: str
) -> None:
    number = f"HM-{year}-{seq:06d}"
    assert callbacks.parse_officer(
        callbacks.officer_button(verb, number, version)
    ) == callbacks.OfficerButton(verb, number, version)
    assert callbacks.parse_officer(callbacks.officer_button("open", number)) == callbacks.OfficerButton(
        "open", number
    )
    handed = callbacks.parse_officer(callbacks.officer_button("to", number, version, officer))
    assert handed == callbacks.OfficerButton("to", number, version, officer)
