"""The held-out and test sets must never leak into training data, or their scores mean nothing."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import yaml

from components.risk import load_examples

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
    texts: set[str] = set()
    for path in (REPO / "data" / "nlu").rglob("*.yml"):
        texts |= nlu_texts(path)
    for path in (REPO / "risk").glob("train_*.yml"):
        texts |= {normalise(text) for text, _ in load_examples(path)}
    return texts


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
