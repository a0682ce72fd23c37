from __future__ import annotations

import spacy

from risk.tokens import blank_char_pipeline


def test_han_characters_are_single_tokens_and_latin_words_whole() -> None:
    doc = blank_char_pipeline()("我婆婆又来control我们, he'd go")
    assert [t.text for t in doc] == ["我", "婆", "婆", "又", "来", "control", "我", "们", ",", "he'd", "go"]
    assert doc.text == "我婆婆又来control我们, he'd go"


def test_pipeline_round_trips_through_disk(tmp_path) -> None:
    blank_char_pipeline().to_disk(tmp_path / "p")
    assert [t.text for t in spacy.load(tmp_path / "p")("打我")] == ["打", "我"]
