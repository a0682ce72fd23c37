from __future__ import annotations

import pytest

from hemu.language import choose_language, client_language, requested_language, script_language


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("楼上装修天天drilling吵死了", "zh"),
        ("我婆婆又来control我们", "zh"),
        ("my 婆婆 keeps telling me how to raise my son", "en"),
        ("the guy upstairs drags furniture at 2 am", "en"),
        ("ok", None),
        ("13812345678", None),
        ("/affirm", None),
        ("好", "zh"),
    ],
)
def test_script_language(text: str, expected: str | None) -> None:
    assert script_language(text) == expected


@pytest.mark.parametrize(
    ("code", "expected"), [("zh-hans", "zh"), ("en-GB", "en"), ("en", "en"), ("ru", None), (None, None)]
)
def test_client_language(code: str | None, expected: str | None) -> None:
    assert client_language(code) == expected


def test_short_latin_reply_keeps_a_chinese_conversation_chinese() -> None:
    assert choose_language("ok", previous="zh", client="en") == "zh"


def test_two_english_words_switch_to_english() -> None:
    assert choose_language("yes please", previous="zh") == "en"


def test_client_language_decides_when_the_text_does_not() -> None:
    assert choose_language("/start", client="en-US") == "en"


def test_explicit_choice_beats_everything() -> None:
    assert choose_language("楼上好吵", explicit="en", client="zh") == "en"


def test_station_default_when_nothing_is_known() -> None:
    assert choose_language("👍", default="zh") == "zh"


@pytest.mark.parametrize(
    ("text", "current", "expected"),
    [
        ("English please", "zh", "en"),
        ("说中文", "en", "zh"),
        ("换个语言", "zh", "en"),
        ("切换语言", "en", "zh"),
    ],
)
def test_requested_language(text: str, current: str, expected: str) -> None:
    assert requested_language(text, current) == expected
