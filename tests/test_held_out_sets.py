"""The held-out and test sets must never leak into training data, or their scores mean nothing."""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from pathlib import Path

import yaml

from components.risk import load_examples
from scripts.nlu_scores import DEV_SETS, LANGUAGES, dev_set, outside_set

REPO = Path(__file__).resolve().parent.parent


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    return re.sub(r"[\W_]+", "", text)


def nlu_texts(path: Path) -> set[str]:
    content = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {
        normalise(line[2:])
        for block in content.get("nlu") or []
        for line in (block.get("examples") or "").splitlines()
        if line.strip().startswith("- ")
    }


def training_texts() -> set[str]:
    return {normalise(text) for text in raw_training_texts()}


SHORT = 6


def grams(text: str) -> set[str]:
    norm = normalise(text)
    return {norm[i : i + 3] for i in range(max(1, len(norm) - 2))}


def raw_training_texts() -> list[str]:
    texts: list[str] = []
    for path in (REPO / "data" / "nlu").rglob("*.yml"):
        content = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for block in content.get("nlu") or []:
            texts += [line.strip()[2:] for line in (block.get("examples") or "").splitlines() if line.strip()]
    for path in (REPO / "risk").glob("train_*.yml"):
        texts += [text for text, _ in load_examples(path)]
    return texts


def evaluation_texts() -> list[str]:
    texts: list[str] = []
    for path in (REPO / "tests" / "nlu_holdout").glob("*.yml"):
        if path.name.startswith("risk_"):
            texts += [text for text, _ in load_examples(path)]
        else:
            content = yaml.safe_load(path.read_text(encoding="utf-8"))
            for block in content["nlu"]:
                texts += [line.strip()[2:] for line in block["examples"].splitlines() if line.strip()]
    for path in (REPO / "tests" / "components").glob("risk_cases_*.yml"):
        texts += [text for text, _ in load_examples(path)]
    texts += outside_texts()
    # The development set is tuned against (rules, thresholds), never trained on.
    texts += [
        example.text for language in LANGUAGES for which in DEV_SETS for example in dev_set(language, which)
    ]
    return texts


def outside_texts() -> list[str]:
    """The outside evaluation set (tests/nlu_outside): frozen, never trained on."""
    return [example.text for language in LANGUAGES for example in outside_set(language)]


def test_the_outside_set_is_big_enough_and_never_trained_on() -> None:
    for language in LANGUAGES:
        examples = outside_set(language)
        danger = [example for example in examples if example.risk]
        assert len(danger) >= 40 and len(examples) - len(danger) >= 150, language
    # Short everyday replies ("好的", "yes") are the same everywhere: the near-copy check below skips
    # them for the same reason; everything longer must be absent from training.
    leaked = {normalise(text) for text in outside_texts() if len(normalise(text)) > SHORT} & training_texts()
    assert not leaked, sorted(leaked)


def test_no_training_example_is_a_near_copy_of_an_evaluation_message() -> None:
    """Paraphrases leak too: no training line may share half its character trigrams with one.

    Short everyday replies ("你好", "ok sure") are left to the exact-match check: there are only so
    many ways to say them, and the held-out set was deduplicated against training by exact match.
    """
    held = evaluation_texts()
    held_grams = [grams(text) for text in held]
    index: dict[str, set[int]] = defaultdict(set)
    for number, gram_set in enumerate(held_grams):
        for gram in gram_set:
            index[gram].add(number)
    near = []
    for text in raw_training_texts():
        if len(normalise(text)) <= SHORT:
            continue
        own = grams(text)
        shared: dict[int, int] = defaultdict(int)
        for gram in own:
            for number in index.get(gram, ()):
                shared[number] += 1
        for number, count in shared.items():
            if count / len(own | held_grams[number]) >= 0.5:
                near.append((text, held[number]))
    assert not near, near[:20]


def test_no_held_out_message_is_in_the_training_data() -> None:
    held_out: set[str] = set()
    for path in (REPO / "tests" / "nlu_holdout").glob("*.yml"):
        if path.name.startswith("risk_"):
            held_out |= {normalise(text) for text, _ in load_examples(path)}
        else:
            held_out |= nlu_texts(path)
    assert len(held_out) > 900
    leaked = held_out & training_texts()
    assert not leaked, sorted(leaked)


def test_no_risk_test_case_is_in_the_training_data() -> None:
    cases = {
        normalise(text)
        for path in (REPO / "tests" / "components").glob("risk_cases_*.yml")
        for text, _ in load_examples(path)
    }
    assert not cases & training_texts()
