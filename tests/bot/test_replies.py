"""Rasa replies → Telegram messages: joined, split under Telegram's limit, escaped, with keyboards."""

from __future__ import annotations

import pytest

from bot.replies import (
    TEXT_LIMIT,
    ButtonKeys,
    chosen_title,
    escape,
    keyboard,
    render,
    split_text,
    telegram_length,
)


def test_consecutive_text_replies_become_one_message() -> None:
    out = render([{"text": "one"}, {"text": "two"}, {"text": "three"}], ButtonKeys())
    assert [m.text for m in out] == ["one\n\ntwo\n\nthree"]
    assert out[0].reply_markup is None


def test_buttons_close_the_message_they_belong_to() -> None:
    replies = [
        {"text": "Guidance."},
        {"text": "Enough?", "buttons": [{"title": "Officer", "payload": "/request_officer"}]},
        {"text": "After."},
    ]
    out = render(replies, ButtonKeys())
    assert [m.text for m in out] == ["Guidance.\n\nEnough?", "After."]
    assert out[0].reply_markup is not None
    assert out[0].reply_markup.inline_keyboard[0][0].callback_data == "r:/request_officer"
    assert out[1].reply_markup is None


def test_rasa_text_is_escaped_for_html() -> None:
    out = render([{"text": '<b>me & you</b> "quoted"'}], ButtonKeys())
    assert out[0].text == '&lt;b&gt;me &amp; you&lt;/b&gt; "quoted"'
    assert escape("a<b") == "a&lt;b"


def test_long_text_is_split_at_paragraphs_under_the_limit() -> None:
    paragraph = "这是一段比较长的指导文字。" * 40  # 520 characters
    text = "\n\n".join([paragraph] * 20)  # ~10 800 characters
    pieces = split_text(text)
    assert len(pieces) >= 3
    assert all(telegram_length(p) <= TEXT_LIMIT for p in pieces)
    assert all(p.startswith("这是") and p.endswith("。") for p in pieces)  # whole paragraphs
    assert "\n\n".join(pieces) == text


def test_split_falls_back_to_lines_then_words_then_hard_cut() -> None:
    lines = "\n".join(["line " + "x" * 90] * 100)
    pieces = split_text(lines)
    assert all(telegram_length(p) <= TEXT_LIMIT for p in pieces)
    assert all(p.startswith("line ") for p in pieces)
    words = " ".join(["word"] * 3000)
    assert all(p.startswith("word") and p.endswith("word") for p in split_text(words))
    solid = "x" * 10_000
    pieces = split_text(solid)
    assert "".join(pieces) == solid and max(map(len, pieces)) == TEXT_LIMIT


def test_split_counts_emoji_as_telegram_does() -> None:
    text = "😀" * 3000  # 6000 UTF-16 units
    pieces = split_text(text)
    assert len(pieces) == 2 and all(telegram_length(p) <= TEXT_LIMIT for p in pieces)


def test_escaping_does_not_push_a_piece_over_the_limit() -> None:
    # The limit applies to the text after entity parsing: "&amp;" counts as one character.
    out = render([{"text": "&" * 5000}], ButtonKeys())
    assert len(out) == 2
    assert all(m.text.count("&amp;") <= TEXT_LIMIT for m in out)


def test_keyboard_goes_on_the_last_piece_of_a_long_message() -> None:
    out = render([{"text": "a " * 5000, "buttons": [{"title": "OK", "payload": "/affirm"}]}], ButtonKeys())
    assert len(out) == 3
    assert [m.reply_markup is not None for m in out] == [False, False, True]


def test_buttons_without_text_still_get_a_message() -> None:
    out = render([{"buttons": [{"title": "OK", "payload": "/affirm"}]}], ButtonKeys())
    assert len(out) == 1 and out[0].text and out[0].reply_markup is not None


def test_long_payloads_go_behind_a_hash() -> None:
    keys = ButtonKeys()
    payload = '/cancel{"case_number":"HM-2026-000123","reason":"resolved between ourselves"}'
    data = keys.data_for(payload)
    assert data.startswith("rk:") and len(data.encode()) <= 64
    assert keys.payload_for(data) == payload
    assert keys.payload_for("rk:0000000000000000") is None
    short = '/inform{"harm":"none"}'
    assert keys.data_for(short) == "r:" + short and keys.payload_for("r:" + short) == short


def test_payload_limit_is_in_bytes() -> None:
    keys = ButtonKeys()
    chinese = "/inform" + "中" * 20  # 7 + 60 bytes
    assert keys.data_for(chinese).startswith("rk:")
    assert keys.data_for("/x" + "a" * 60) == "r:/x" + "a" * 60  # exactly 64 bytes


def test_hashed_payloads_expire_and_are_bounded() -> None:
    keys = ButtonKeys(max_entries=2, ttl=0.0)
    data = keys.data_for("/" + "x" * 80)
    assert keys.payload_for(data) is None  # ttl 0: already expired
    keys = ButtonKeys(max_entries=2)
    first = keys.data_for("/" + "a" * 80)
    keys.data_for("/" + "b" * 80)
    keys.data_for("/" + "c" * 80)
    assert len(keys) == 2 and keys.payload_for(first) is None


@pytest.mark.parametrize(
    ("titles", "rows"),
    [
        (["是", "否"], 1),
        (["我要找民警", "暂时够了"], 1),
        (["I'd like an officer", "That's enough for now"], 2),
        (["1", "2", "3", "4"], 4),
    ],
)
def test_short_buttons_share_a_row(titles: list[str], rows: int) -> None:
    markup = keyboard([{"title": t, "payload": f"/p{i}"} for i, t in enumerate(titles)], ButtonKeys())
    assert markup is not None and len(markup.inline_keyboard) == rows


def test_url_payload_becomes_a_link_button_and_title_is_found() -> None:
    markup = keyboard(
        [{"title": "Map", "payload": "https://example.invalid/map"}, {"title": "Yes", "payload": "/affirm"}],
        ButtonKeys(),
    )
    assert markup is not None
    buttons = [b for row in markup.inline_keyboard for b in row]
    assert buttons[0].url == "https://example.invalid/map" and buttons[0].callback_data is None
    assert chosen_title(markup, "r:/affirm") == "Yes"
    assert chosen_title(markup, "r:/nope") is None
    assert chosen_title(None, "r:/affirm") is None


def test_odd_replies_are_tolerated() -> None:
    assert render([], ButtonKeys()) == []
    assert render([{"recipient_id": "1"}, "junk", {"text": ""}], ButtonKeys()) == []  # type: ignore[list-item]
    out = render([{"image": "https://example.invalid/a.png"}, {"custom": {"x": 1}}], ButtonKeys())
    assert [m.text for m in out] == ["https://example.invalid/a.png"]
