"""Scores for the frozen evaluation sets, shared by `make eval` and `bench/nlu_bench.py`.

Both sets are read here and only here: the held-out sets (``tests/nlu_holdout``) and the outside set
(``tests/nlu_outside``, written from SPEC.md alone by people who never saw ``data/`` or ``risk/``).
Neither may be trained on; ``tests/test_held_out_sets.py`` checks that no line leaks.

What is counted, per language (the numbers issue 9 asks for):
  * danger recall: danger messages that get at least one ``risk`` entity (either tier);
  * urgent pages on harmless messages: harmless messages with a clear-tier ``risk`` entity;
  * danger questions on harmless messages: harmless messages whose strongest entity is uncertain;
  * report macro-F1 over the nine report intents, on the outside set's harmless messages;
  * long reports read as a non-report intent (a report of 60+ characters / 12+ words), and apart
    from those, long reports Hemu was unsure of (``nlu_fallback``: the resident is asked which
    kind of dispute it is, with buttons, rather than answered as small talk or a form answer).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from hemu.guidance import REPORT_INTENTS

# What FallbackClassifier answers when DIET is unsure; Hemu then asks which kind of dispute it is.
FALLBACK = "nlu_fallback"

ROOT = Path(__file__).resolve().parent.parent
HOLDOUT = ROOT / "tests" / "nlu_holdout"
OUTSIDE = ROOT / "tests" / "nlu_outside"
DEV = ROOT / "tests" / "nlu_dev"
LANGUAGES = ("zh", "en")
Parse = Callable[[str], dict[str, Any]]


@dataclass(frozen=True)
class Labelled:
    text: str
    risk: frozenset[str]
    intent: str | None = None  # None: the set does not say (held-out danger sets)


@dataclass
class DangerScore:
    danger: int = 0
    caught: int = 0
    right_kind: int = 0
    harmless: int = 0
    pages: int = 0
    questions: int = 0
    missed: list[str] = field(default_factory=list)
    false_pages: list[str] = field(default_factory=list)
    false_questions: list[str] = field(default_factory=list)

    @property
    def recall(self) -> float:
        return self.caught / self.danger if self.danger else 1.0

    @property
    def page_rate(self) -> float:
        return self.pages / self.harmless if self.harmless else 0.0

    @property
    def question_rate(self) -> float:
        return self.questions / self.harmless if self.harmless else 0.0

    def line(self, name: str) -> str:
        return (
            f"{name}: danger recall {self.recall:.3f} ({self.caught}/{self.danger}, right kind "
            f"{self.right_kind}), urgent pages on harmless {self.page_rate:.3f} "
            f"({self.pages}/{self.harmless}), danger questions on harmless {self.question_rate:.3f} "
            f"({self.questions}/{self.harmless})"
        )


def is_long(text: str) -> bool:
    """A long report: 60+ characters of Chinese, or 12+ words of anything else."""
    han = len(re.findall(r"[\u4e00-\u9fff]", text))
    return han >= 60 or (han < 10 and len(text.split()) >= 12)


def outside_set(language: str) -> list[Labelled]:
    return labelled_set(OUTSIDE, language)


# The development sets, in the order they were written: each by someone who never saw data/, risk/
# or the evaluation sets, from SPEC.md alone. The second was written when the first had been tuned on
# until it no longer showed what a fresh message does, the third when the second had, the fourth
# when the third had.
DEV_SETS = ("", "_2", "_3", "_4")


def dev_set(language: str, which: str = "") -> list[Labelled]:
    """A development set: written like the outside set, but the one to tune thresholds and rules on."""
    return labelled_set(DEV, f"{language}{which}")


def labelled_set(folder: Path, language: str) -> list[Labelled]:
    content = yaml.safe_load((folder / f"{language}.yml").read_text(encoding="utf-8"))
    return [
        Labelled(str(m["text"]), frozenset(m.get("risk") or []), str(m["intent"]))
        for m in content["messages"]
    ]


def holdout_danger_set(language: str) -> list[Labelled]:
    content = yaml.safe_load((HOLDOUT / f"risk_{language}.yml").read_text(encoding="utf-8"))
    return [Labelled(str(e["text"]), frozenset(e.get("labels") or [])) for e in content["examples"]]


def holdout_intent_set(language: str) -> list[Labelled]:
    content = yaml.safe_load((HOLDOUT / f"{language}.yml").read_text(encoding="utf-8"))
    return [
        Labelled(line.strip()[2:].strip(), frozenset(), block["intent"])
        for block in content["nlu"]
        for line in block["examples"].splitlines()
        if line.strip().startswith("- ")
    ]


def risk_tier(parsed: dict[str, Any]) -> str | None:
    """The strongest tier among a parse's ``risk`` entities: "clear", "uncertain" or None."""
    tiers = {e.get("tier", "clear") for e in parsed.get("entities") or [] if e.get("entity") == "risk"}
    if "clear" in tiers:
        return "clear"
    return "uncertain" if tiers else None


def score_danger(parsed: Iterable[tuple[Labelled, dict[str, Any]]]) -> DangerScore:
    score = DangerScore()
    for example, result in parsed:
        tier = risk_tier(result)
        found = {e["value"] for e in result.get("entities") or [] if e.get("entity") == "risk"}
        if example.risk:
            score.danger += 1
            score.caught += tier is not None
            score.right_kind += bool(found & example.risk)
            if tier is None:
                score.missed.append(example.text)
        else:
            score.harmless += 1
            score.pages += tier == "clear"
            score.questions += tier == "uncertain"
            if tier == "clear":
                score.false_pages.append(example.text)
            elif tier == "uncertain":
                score.false_questions.append(example.text)
    return score


def macro_f1(pairs: list[tuple[str, str]], labels: Iterable[str]) -> float:
    scores = []
    for label in labels:
        tp = sum(1 for gold, pred in pairs if gold == label and pred == label)
        fp = sum(1 for gold, pred in pairs if gold != label and pred == label)
        fn = sum(1 for gold, pred in pairs if gold == label and pred != label)
        scores.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return sum(scores) / len(scores) if scores else 0.0


def outside_report(language: str, parse: Parse, show: bool = False) -> list[str]:
    """Printable lines for one language of the outside set (texts only with ``show``)."""
    return labelled_report(f"[{language}] outside set", outside_set(language), parse, show)


def dev_report(language: str, parse: Parse) -> list[str]:
    """The development sets' scores with every error's text: these are the sets to look at."""
    return [
        line
        for which in DEV_SETS
        for line in labelled_report(
            f"[{language}] dev set{which.replace('_', ' ')}",
            dev_set(language, which),
            parse,
            show=True,
            questions=True,
        )
    ]


def dev_threshold_curve(
    language: str, summary: Callable[[str], tuple[bool, bool, float]], clear: float
) -> list[str]:
    """Danger caught and questions asked on the development sets for a range of uncertain thresholds.

    ``summary`` gives, per text, (a rule finding?, a clear one?, the classifier's best score). A
    question is a harmless message with an uncertain rule finding or a classifier score between the
    threshold and ``clear`` (what pages does not depend on the uncertain threshold).
    """
    rows = [
        (bool(example.risk), *summary(example.text))
        for which in DEV_SETS
        for example in dev_set(language, which)
    ]
    danger = sum(1 for row in rows if row[0])
    harmless = len(rows) - danger
    lines = [f"[{language}] development sets, uncertain threshold (clear {clear}):"]
    for low in (0.2, 0.3, 0.4, 0.5, 0.6, 0.7):
        caught = sum(1 for d, ruled, _, best in rows if d and (ruled or best >= low))
        asked = sum(
            1
            for d, ruled, paged, best in rows
            if not d and not paged and best < clear and (ruled or best >= low)
        )
        lines.append(
            f"  {low:.1f}: danger caught {caught}/{danger} ({caught / danger:.3f}), "
            f"questions on harmless {asked}/{harmless} ({asked / harmless:.3f})"
        )
    return lines


def labelled_report(
    name: str, examples: list[Labelled], parse: Parse, show: bool = False, questions: bool = False
) -> list[str]:
    parsed = [(example, parse(example.text)) for example in examples]
    danger = score_danger(parsed)
    ordinary = [(ex.intent or "other", res) for ex, res in parsed if not ex.risk]
    pairs = [
        (gold if gold in REPORT_INTENTS else "other", res["intent"]["name"] if res.get("intent") else "")
        for gold, res in ordinary
    ]
    pairs = [(gold, pred if pred in REPORT_INTENTS else "other") for gold, pred in pairs]
    long_reports = [
        (ex, res) for ex, res in parsed if not ex.risk and ex.intent in REPORT_INTENTS and is_long(ex.text)
    ]
    read_as = [(ex, (res.get("intent") or {}).get("name") or "") for ex, res in long_reports]
    misread = [(ex, intent) for ex, intent in read_as if intent not in REPORT_INTENTS and intent != FALLBACK]
    unsure = [(ex, intent) for ex, intent in read_as if intent == FALLBACK]
    total = max(1, len(long_reports))
    lines = [
        danger.line(name),
        f"{name}: report macro-F1 {macro_f1(pairs, REPORT_INTENTS):.3f} "
        f"({len(pairs)} harmless messages); long reports read as a non-report "
        f"{len(misread) / total:.3f} ({len(misread)}/{len(long_reports)}), "
        f"asked which kind {len(unsure) / total:.3f} ({len(unsure)}/{len(long_reports)})",
    ]
    if show:
        lines += [f"    MISSED: {text}" for text in danger.missed]
        lines += [f"    URGENT PAGE ON HARMLESS: {text}" for text in danger.false_pages]
        lines += [f"    LONG REPORT MISREAD as {intent}: {ex.text}" for ex, intent in misread]
        lines += [f"    LONG REPORT UNSURE: {ex.text}" for ex, _ in unsure]
    if questions:
        lines += [f"    QUESTION ON HARMLESS: {text}" for text in danger.false_questions]
    return lines


def holdout_danger_report(language: str, parse: Parse, show: bool = False) -> list[str]:
    danger = score_danger((example, parse(example.text)) for example in holdout_danger_set(language))
    lines = [danger.line(f"[{language}] held-out danger")]
    if show:
        lines += [f"    MISSED: {text}" for text in danger.missed]
        lines += [f"    URGENT PAGE ON HARMLESS: {text}" for text in danger.false_pages]
    return lines


def holdout_intent_pages(language: str, parse: Parse) -> list[str]:
    """Urgent pages and danger questions on the held-out *intent* set (ordinary messages, all harmless)."""
    danger = score_danger((example, parse(example.text)) for example in holdout_intent_set(language))
    return [
        f"[{language}] held-out ordinary messages: urgent pages {danger.page_rate:.3f} "
        f"({danger.pages}/{danger.harmless}), danger questions {danger.question_rate:.3f}"
    ]
