"""The compositional danger rules: every family has named cases in both languages, look-alikes stay
silent, and a broken rules file is refused with its place named."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from risk import screen
from risk.rules import RuleScreen, default_screen, expand

HERE = Path(__file__).resolve().parent
LANGUAGES = ("zh", "en")


def cases(language: str) -> dict[str, Any]:
    return yaml.safe_load((HERE / f"cases_{language}.yml").read_text(encoding="utf-8"))


def family_cases() -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (language, family, case)
        for language in LANGUAGES
        for family, entries in cases(language)["families"].items()
        for case in entries
    ]


def harmless_cases() -> list[tuple[str, str]]:
    return [(language, text) for language in LANGUAGES for text in cases(language)["harmless"]]


@pytest.mark.parametrize(("language", "family", "case"), family_cases())
def test_family_case_is_found(language: str, family: str, case: dict[str, Any]) -> None:
    findings = default_screen().find(case["text"])
    labels = {f.label for f in findings}
    assert set(case["labels"]) <= labels, (family, case["text"], findings)
    tiers = {f.tier for f in findings if f.label in case["labels"]}
    expected = case.get("tier", "clear")
    strongest = "clear" if "clear" in tiers else "uncertain"
    assert strongest == expected, (case["text"], findings)


@pytest.mark.parametrize(("language", "text"), harmless_cases())
def test_look_alike_stays_silent(language: str, text: str) -> None:
    assert screen(text) == frozenset(), default_screen().find(text)


def test_every_family_has_cases_in_both_languages() -> None:
    for language in LANGUAGES:
        named = set(cases(language)["families"])
        for label, families in default_screen().families.items():
            missing = families - named
            assert not missing, f"{language}: {label} families without cases: {sorted(missing)}"


def test_findings_point_at_the_residents_own_words() -> None:
    text = "楼上又吵 他拿根铁棍要打我爸"
    for finding in default_screen().find(text):
        assert text[finding.start : finding.end] in text
        assert finding.start < finding.end


def test_full_width_and_invisible_characters_do_not_hide_danger() -> None:
    assert "self_harm" in screen("ＩＷＡＮＴＴＯ　ＤＩＥ".replace("ＩＷＡＮＴＴＯ", "I want to"))
    assert "violence" in screen("他\u200b打\u200d我")
    assert "threat" in screen("he said he'd ｓｏｒｔ ｍｅ ｏｕｔ")


def test_a_space_between_chinese_characters_is_a_comma() -> None:
    # "跳 楼下": a child jumping, then "downstairs" — not 跳楼.
    assert screen("我家娃天天在家跳 楼下阿姨上来说了好几次") == frozenset()


def test_brace_expansion() -> None:
    assert expand("punch{,es,ed}") == ["punch", "punches", "punched"]
    assert expand("a{b,c}d{e,f}") == ["abde", "abdf", "acde", "acdf"]


@pytest.mark.parametrize(
    ("rules", "problem"),
    [
        ({"classes": {"lower": ["x"]}}, "UPPER_CASE"),
        ({"classes": {"A": ["x"]}, "families": {"danger": {"f": [["A"]]}}}, "not a risk label"),
        ({"classes": {"A": ["x"]}, "families": {"violence": {"f": [["B"]]}}}, "unknown class B"),
        ({"classes": {"A": ["x"]}, "families": {"violence": {"f": [["~2", "A"]]}}}, "start and end"),
        (
            {"classes": {"A": ["x"]}, "families": {"violence": {"f": [{"seq": ["A"], "tier": "maybe"}]}}},
            "tier",
        ),
        (
            {"classes": {"A": ["x"]}, "families": {"violence": {"f": [{"seq": ["A"], "demote": True}]}}},
            "only a guard can demote",
        ),
    ],
)
def test_a_broken_rules_file_is_refused_with_its_place(rules: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        RuleScreen(rules, source="rules.yml")


SMALL_RULES: dict[str, Any] = {
    "classes": {"HARM": ["hit", "hits"], "PERSON": ["me", "him"], "BIRD": ["parrot"]},
    "families": {"violence": {"harm_to_person": [["HARM", "PERSON"]]}},
}


def test_a_guard_with_needs_holds_only_when_its_context_is_there() -> None:
    rules = {**SMALL_RULES, "guards": [{"seq": ["hits", "me"], "needs": ["BIRD"]}]}
    screen_ = RuleScreen(rules)
    assert screen_.find("the parrot says hits me all day") == []
    assert [f.label for f in screen_.find("he hits me all day")] == ["violence"]


def test_a_demoting_guard_keeps_the_finding_but_only_asks() -> None:
    rules = {**SMALL_RULES, "guards": [{"seq": ["is", "this", "hit"], "demote": True}]}
    screen_ = RuleScreen(rules)
    (asked,) = screen_.find("is this hit me thing abuse")
    assert (asked.label, asked.tier) == ("violence", "uncertain")
    (paged,) = screen_.find("he hit me")
    assert paged.tier == "clear"
    # Not silenced: the classifier still reads the words.
    assert screen_.screen("is this hit me thing abuse").silenced == ()
