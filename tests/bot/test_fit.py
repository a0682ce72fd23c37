"""The one budget for free text (bot.fit): it measures what Telegram measures (the visible text, in
UTF-16 units), shortens the longest fields first and fairly, and never cuts an escape or a character in
half."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot import fit
from sandbox.markup import parse_html, utf16_len
from tests.auxil.hostile import hostile


def _seen(html_text: str) -> int:
    """What the local Bot API server (Telegram's rules) counts: also checks the markup parses."""
    return utf16_len(parse_html(html_text)[0])


@settings(deadline=None)  # texts far over the limit take a while to build
@given(hostile)
def test_visible_length_is_what_telegram_counts(text: str) -> None:
    message = f"<b>Case</b>: {html.escape(text, quote=False)}\n<code>x &amp; y</code>"
    assert fit.visible_len(message) == _seen(message)


@settings(deadline=None)
@given(hostile, st.integers(0, 200))
def test_shorten_keeps_a_prefix_within_the_units(text: str, units: int) -> None:
    short = fit.shorten(text, units)
    assert fit.utf16_len(short) <= units
    if fit.utf16_len(text) <= units:
        assert short == text
    elif short:
        assert short.endswith(fit.ELLIPSIS) and text.startswith(short[: -len(fit.ELLIPSIS)])
    _seen(html.escape(short, quote=False))  # escaped, it is valid markup: no half escape, no half pair


def test_shorten_never_leaves_half_an_emoji_or_a_dangling_joiner() -> None:
    assert fit.shorten("😡😡😡", 4) == "😡…"  # 2 + 1: the second emoji would need two more units
    assert fit.shorten("👨‍👩‍👧", 4) == "👨…"  # the joiner that followed the man is not left at the end
    assert fit.shorten("a&b" * 10, 3) == "a&…"  # raw text is cut, so "&amp;" is never cut in half
    assert fit.shorten("abc", 0) == ""


lengths = st.dictionaries(st.sampled_from("abcdefgh"), st.integers(0, 5000), max_size=8)


@given(lengths, st.integers(-10, 20000))
def test_shares_are_fair_and_use_the_room(sizes: Mapping[str, int], room: int) -> None:
    allowed = fit.shares(sizes, room)
    assert set(allowed) == set(sizes)
    assert all(0 <= allowed[name] <= sizes[name] for name in sizes)
    assert sum(allowed.values()) == min(max(room, 0), sum(sizes.values()))  # nothing wasted
    cut = [name for name in sizes if allowed[name] < sizes[name]]
    if cut:
        # Every shortened field keeps at least as much as any untouched one (longest first), and the
        # shortened ones end up within one unit of each other (fairly).
        cap = min(allowed[name] for name in cut)
        assert all(sizes[name] <= cap + 1 for name in sizes if name not in cut)
        assert max(allowed[name] for name in cut) - cap <= 1


def test_the_longest_field_is_shortened_first() -> None:
    assert fit.shares({"summary": 9000, "parties": 300, "contact": 20}, 3000) == {
        "summary": 2680,
        "parties": 300,
        "contact": 20,
    }
    assert fit.shares({"a": 5000, "b": 5000}, 3001) == {"a": 1500, "b": 1501}


def _message(fields: Mapping[str, str | None]) -> str:
    lines = ["<b>Case HM-2026-000001</b>"]
    lines += [f"<b>{name}</b>: {html.escape(value, quote=False)}" for name, value in fields.items() if value]
    return "\n".join(lines)


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.sampled_from(["summary", "area", "parties", "note"]), st.none() | hostile))
def test_fit_makes_any_fields_fit(fields: dict[str, str | None]) -> None:
    text = fit.fit(_message, fields)
    assert _seen(text) <= fit.MAX_TEXT
    if _seen(_message(fields)) <= fit.MAX_TEXT:
        assert text == _message(fields)  # nothing is shortened that did not need it
    else:
        assert fit.ELLIPSIS in text


def test_fit_fills_the_message_when_it_shortens() -> None:
    fields = {"summary": "😡" * 20_000, "parties": "&" * 3000, "contact": "138 0000 1111"}
    text = fit.fit(_message, fields)
    assert fit.MAX_TEXT - 2 <= _seen(text) <= fit.MAX_TEXT  # an emoji that does not fit leaves 1 unit
    assert "138 0000 1111" in text  # the short field is untouched
    assert "&amp;" * 1000 in text and "&amp…" not in text


def test_a_field_put_in_twice_still_fits() -> None:
    def twice(fields: Mapping[str, str | None]) -> str:
        value = html.escape(fields["text"] or "", quote=False)
        return f"{value}\n<i>{value}</i>"

    assert _seen(fit.fit(twice, {"text": "𠀀" * 5000})) <= fit.MAX_TEXT


def test_too_much_fixed_text_is_refused_not_sent() -> None:
    with pytest.raises(fit.TooLong):
        fit.fit(lambda fields: "x" * 5000 + (fields["text"] or ""), {"text": "resident"})


def test_fit_lines_leaves_out_whole_lines_and_says_how_many() -> None:
    lines = [f"• <b>HM-2026-{n:06d}</b> 😡 waiting" for n in range(1000)]

    def build(shown: Sequence[str], hidden: int) -> str:
        return "\n".join(["<b>Summary</b>", *shown, *([f"… and {hidden} more"] if hidden else [])])

    text = fit.fit_lines(build, lines)
    assert _seen(text) <= fit.MAX_TEXT
    shown = text.count("• ")
    assert 0 < shown < 1000 and text.endswith(f"… and {1000 - shown} more")
    assert fit.fit_lines(build, lines[:3]) == build(lines[:3], 0)
