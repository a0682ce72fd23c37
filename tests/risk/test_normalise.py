from __future__ import annotations

from risk.normalise import normalise, normalise_with_offsets


def test_full_width_letters_digits_and_punctuation_become_ascii() -> None:
    assert normalise("ＫＩＬＬ　ｍｅ １１０！") == "kill me 110!"


def test_invisible_characters_are_dropped_and_spaces_folded() -> None:
    assert normalise("他\u200b打\u200d我 \u00ad \t\n 了") == "他打我 了"
    assert normalise("  \u2060  ") == ""


def test_phone_apostrophes_fold_to_ascii() -> None:
    assert normalise("he’ll kill me") == "he'll kill me"


def test_offsets_point_back_into_the_original() -> None:
    original = "我\u200b被 ＡＢ打"
    text, origin = normalise_with_offsets(original)
    assert text == "我被 ab打"
    assert [original[i] for i in origin] == ["我", "被", " ", "Ａ", "Ｂ", "打"]
