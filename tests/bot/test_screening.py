"""What a resident types reaches Rasa as words, and the gateway's rule screen finds what it must.

The payload check mirrors Rasa 3.6's own parser (``YAMLStoryReader.unpack_regex_message``): whatever
:func:`bot.screening.as_words` returns, Rasa must not read it as an intent.
"""

from __future__ import annotations

import pytest

from bot import screening
from tests.bot.conftest import DANGER_EN, DANGER_ZH, HARMLESS_EN, HARMLESS_ZH


def rasa_reads_as_intent(text: str) -> bool:
    """Rasa 3.6's test: the stripped text starts with "/" (then /intent@conf{entities} is tried)."""
    return text.strip().startswith("/")


@pytest.mark.parametrize(
    ("typed", "words"),
    [
        ("/affirm", "affirm"),
        ('/report_noise{"a":1}', 'report_noise{"a":1}'),
        ("  /affirm", "affirm"),
        ("/ affirm", "affirm"),
        ("// /restart", "restart"),
        ("\u3000/request_officer@0.99", "request_officer@0.99"),
        (f"/{DANGER_ZH}", DANGER_ZH),
        ("/", ""),
    ],
)
def test_typed_slash_text_becomes_words_rasa_cannot_execute(typed: str, words: str) -> None:
    assert screening.as_words(typed) == words
    assert not rasa_reads_as_intent(screening.as_words(typed))


@pytest.mark.parametrize("typed", [HARMLESS_ZH, "price 1/2", " leading space kept ", "a /affirm"])
def test_text_without_a_leading_slash_is_left_alone(typed: str) -> None:
    assert screening.as_words(typed) == typed


@pytest.mark.parametrize("text", [DANGER_ZH, DANGER_EN, f"/{DANGER_ZH}", f"  /{DANGER_EN}"])
def test_the_rules_find_danger_whatever_the_slash(text: str) -> None:
    assert screening.dangers(text) <= {"violence", "weapon", "threat", "self_harm"}
    assert screening.dangers(text)


@pytest.mark.parametrize("text", [HARMLESS_ZH, HARMLESS_EN, "/", "   ", "/affirm"])
def test_harmless_text_finds_nothing(text: str) -> None:
    assert screening.dangers(text) == frozenset()


def test_the_rules_compile_at_start_up() -> None:
    screening.check()
