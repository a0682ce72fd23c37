"""Compositional danger rules: word classes, then constructions over them, in both languages.

Why not phrase lists: residents describe harm in endless wordings ("把七十多岁的爸推倒了", "shoved
my 70-year-old father"), and a list only catches the wordings someone thought of. The rules here
say how danger is *built*: a harm verb acting on a person (active, 被/把 and "was/got" passives),
an injury outcome in a message about people, a hard object held or swung, a threat construction, a
self-harm idiom. Each part is a word class in ``risk/rules.yml``, so adding "锄头" to the hard
objects teaches every weapon construction at once.

Two stages, both over the character tokens of :mod:`risk.tokens` (one token per Han character, one
per Latin word), read from the normalised text (:mod:`risk.normalise`):

1. a spaCy ``PhraseMatcher`` marks every word-class occurrence;
2. each construction (a sequence of classes, literals and bounded gaps ``~N``) is matched over those
   marks. A gap never crosses the end of a sentence.

A construction is dropped when it overlaps a guard (harmless look-alikes: 打我电话, 想死你了, "hit
me up"; a guard marked ``demote`` only lowers it to the uncertain tier: "这算不算家暴"), when a
negation stands just before it with no "but" in between (他没打我, "never hit me"), or when its
family needs a context class the message lacks (an injury word alone is not enough; an injury in a
message about people is). A guard can need a context class too (救命 silenced only where a parrot is
named).
"""

from __future__ import annotations

import functools
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc

from risk.labels import RISK_LABELS
from risk.normalise import normalise_with_offsets
from risk.tokens import blank_char_pipeline

RULES_FILE = Path(__file__).resolve().parent / "rules.yml"

_CLASS_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")
_GAP = re.compile(r"^~(\d+)$")
_BRACES = re.compile(r"\{([^{}]*)\}")
_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# A space next to a Chinese character is the resident's comma: "跳 楼下" must not read as "跳楼".
_HAN_SPACE = re.compile(f"(?<=[{_HAN}]) | (?=[{_HAN}])")
TIERS = ("clear", "uncertain")
_HAN_TOKEN = re.compile(f"[{_HAN}]")


@dataclass(frozen=True)
class Finding:
    """One danger signal: its label, the rule family that saw it, and where (in the original text)."""

    label: str
    family: str
    start: int
    end: int
    tier: str = "clear"  # "clear" or "uncertain" (see config/policy.yml, danger)
    score: float = 1.0  # a rule is sure of what it matched; the classifier's probability otherwise


@dataclass(frozen=True)
class Screening:
    """What the rules made of one message: the findings, and the parts a classifier must not read as
    danger — negated acts ("他没打我", "never hit me") and harmless look-alikes ("打我电话", "hits the
    table") — as character spans of the original text."""

    findings: tuple[Finding, ...]
    silenced: tuple[tuple[int, int], ...]

    def masked(self, text: str) -> str:
        """``text`` with the silenced spans blanked out (same length, so offsets still hold)."""
        if not self.silenced:
            return text
        chars = list(text)
        for start, end in self.silenced:
            chars[start:end] = " " * (end - start)
        return "".join(chars)


@dataclass(frozen=True)
class _Element:
    kind: str  # "class" or "gap"
    name: str = ""
    optional: bool = False
    size: int = 0


@dataclass(frozen=True)
class _Construction:
    label: str
    family: str
    elements: tuple[_Element, ...]
    needs: tuple[str, ...] = ()  # context classes: at least one must occur in the message
    negatable: bool = True
    tier: str = "clear"
    demote: bool = False  # guards only: overlapping clear findings become uncertain instead of dropped


def _overlaps(start: int, end: int, spans: Iterable[tuple[int, int]]) -> bool:
    return any(start < span_end and span_start < end for span_start, span_end in spans)


@dataclass
class _Marks:
    """Word-class occurrences in one message: by start token and by class."""

    starts: dict[int, list[tuple[str, int]]] = field(default_factory=lambda: defaultdict(list))
    spans: dict[str, list[tuple[int, int]]] = field(default_factory=lambda: defaultdict(list))


def expand(phrase: str) -> list[str]:
    """Brace expansion for inflections: ``"punch{,es,ed,ing}"`` → punch, punches, punched, punching."""
    match = _BRACES.search(phrase)
    if not match:
        return [phrase]
    head, tail = phrase[: match.start()], phrase[match.end() :]
    return [variant for option in match.group(1).split(",") for variant in expand(head + option + tail)]


class RuleScreen:
    """The compiled rules; build once (``default_screen()``) and call :meth:`find` per message."""

    def __init__(self, rules: dict[str, Any], source: str = "rules") -> None:
        self._nlp = blank_char_pipeline()
        self._source = source
        self._matcher = PhraseMatcher(self._nlp.vocab, attr="LOWER")
        self._literals: dict[str, str] = {}
        classes = rules.get("classes") or {}
        for name, phrases in classes.items():
            if not _CLASS_NAME.match(name):
                raise ValueError(f"{source}: class name {name!r} must be UPPER_CASE")
            self._add_class(name, phrases or [], f"classes.{name}")
        negation = rules.get("negation") or {}
        self._negation_window = int(negation.get("window", 3))
        self._add_class("__NEG", negation.get("words") or [], "negation.words")
        self._add_class("__RESET", negation.get("reset") or [], "negation.reset")
        self._add_class("__FILLER", negation.get("fillers") or [], "negation.fillers")
        self._add_class("__NOT_NEG", negation.get("not_negation") or [], "negation.not_negation")
        self._boundaries = {str(b) for b in rules.get("sentence_ends") or []}
        self._guards = [
            self._construction("guard", f"guards[{n}]", entry, f"guards[{n}]")
            for n, entry in enumerate(rules.get("guards") or [])
        ]
        self._constructions: list[_Construction] = []
        families = rules.get("families") or {}
        for label, by_family in families.items():
            if label not in RISK_LABELS:
                raise ValueError(f"{source}: families.{label}: not a risk label {RISK_LABELS}")
            for family, entries in (by_family or {}).items():
                for n, entry in enumerate(entries or []):
                    where = f"families.{label}.{family}[{n}]"
                    self._constructions.append(self._construction(label, family, entry, where))
        self._by_first = self._index(self._constructions)
        self._guards_by_first = self._index(self._guards)

    @classmethod
    def from_file(cls, path: Path = RULES_FILE) -> RuleScreen:
        return cls(yaml.safe_load(path.read_text(encoding="utf-8")) or {}, source=str(path))

    # -- compiling ------------------------------------------------------------------------------

    def _add_class(self, name: str, phrases: Iterable[Any], where: str) -> None:
        texts = sorted({variant.lower() for phrase in phrases for variant in expand(str(phrase).strip())})
        docs = [doc for doc in self._nlp.tokenizer.pipe(texts) if len(doc)]
        if not docs and not name.startswith("__"):
            raise ValueError(f"{self._source}: {where}: no words")
        if docs:
            self._matcher.add(name, docs)

    def _element(self, raw: Any, where: str) -> _Element:
        text = str(raw).strip()
        gap = _GAP.match(text)
        if gap:
            return _Element("gap", size=int(gap.group(1)))
        optional = text.endswith("?") and len(text) > 1
        if optional:
            text = text[:-1]
        if _CLASS_NAME.match(text):
            if text not in self._matcher:
                raise ValueError(f"{self._source}: {where}: unknown class {text}")
            return _Element("class", name=text, optional=optional)
        # A literal word or phrase becomes a class of its own, shared by every rule that uses it.
        name = self._literals.get(text.lower())
        if name is None:
            name = f"={text.lower()}"
            self._literals[text.lower()] = name
            self._add_class(name, [text], where)
        return _Element("class", name=name, optional=optional)

    def _construction(self, label: str, family: str, entry: Any, where: str) -> _Construction:
        if isinstance(entry, dict):
            sequence = entry.get("seq") or []
            needs = entry.get("needs") or []
            needs = [needs] if isinstance(needs, str) else list(needs)
            negatable = bool(entry.get("negatable", True))
            tier = str(entry.get("tier", "clear"))
            demote = bool(entry.get("demote", False))
        elif isinstance(entry, list):
            sequence, needs, negatable, tier, demote = entry, [], True, "clear", False
        else:
            sequence, needs, negatable, tier, demote = [entry], [], True, "clear", False
        if demote and label != "guard":
            raise ValueError(f"{self._source}: {where}: only a guard can demote")
        if tier not in TIERS:
            raise ValueError(f"{self._source}: {where}: tier must be one of {TIERS}")
        elements = tuple(self._element(raw, where) for raw in sequence)
        if not elements or elements[0].kind == "gap" or elements[-1].kind == "gap":
            raise ValueError(f"{self._source}: {where}: must start and end with a word, not a gap")
        if elements[0].optional:
            raise ValueError(f"{self._source}: {where}: the first element cannot be optional")
        for need in needs:
            if need not in self._matcher:
                raise ValueError(f"{self._source}: {where}: unknown context class {need}")
        return _Construction(label, family, elements, tuple(needs), negatable, tier, demote)

    @staticmethod
    def _index(constructions: Sequence[_Construction]) -> dict[str, list[_Construction]]:
        index: dict[str, list[_Construction]] = defaultdict(list)
        for construction in constructions:
            index[construction.elements[0].name].append(construction)
        return index

    # -- matching -------------------------------------------------------------------------------

    def _marks(self, doc: Doc) -> _Marks:
        marks = _Marks()
        strings = doc.vocab.strings
        for match_id, start, end in self._matcher(doc):
            name = strings[match_id]
            marks.starts[start].append((name, end))
            marks.spans[name].append((start, end))
        return marks

    def _ends(
        self, elements: Sequence[_Element], position: int, marks: _Marks, stops: frozenset[int]
    ) -> Iterable[int]:
        """Every token index where ``elements`` can end when they start at ``position``."""
        if not elements:
            yield position
            return
        head, rest = elements[0], elements[1:]
        if head.kind == "gap":
            for skip in range(head.size + 1):
                if skip and (position + skip - 1) in stops:
                    break
                yield from self._ends(rest, position + skip, marks, stops)
            return
        for name, end in marks.starts.get(position, ()):
            if name == head.name:
                yield from self._ends(rest, end, marks, stops)
        if head.optional:
            yield from self._ends(rest, position, marks, stops)

    def _spans(
        self, index: dict[str, list[_Construction]], marks: _Marks, stops: frozenset[int]
    ) -> list[tuple[_Construction, int, int]]:
        found = []
        for start in sorted(marks.starts):
            for name, _ in marks.starts[start]:
                for construction in index.get(name, ()):
                    end = next(iter(self._ends(construction.elements, start, marks, stops)), None)
                    if end is not None:
                        found.append((construction, start, end))
        return found

    @staticmethod
    def _context(needs: tuple[str, ...], start: int, end: int, marks: _Marks) -> bool:
        """Whether one of ``needs`` occurs outside the construction itself (砍刀 is no attack on its own)."""
        return any(
            span_end <= start or span_start >= end
            for need in needs
            for span_start, span_end in marks.spans.get(need, ())
        )

    @staticmethod
    def _only_fillers(begin: int, end: int, marks: _Marks) -> bool:
        """Whether tokens ``begin..end`` are covered by filler words (Chinese negation distance)."""
        position = begin
        while position < end:
            ends = [
                f_end for name, f_end in marks.starts.get(position, ()) if name == "__FILLER" and f_end <= end
            ]
            if not ends:
                return False
            position = max(ends)
        return True

    def _negated(self, start: int, marks: _Marks, doc: Doc) -> int | None:
        """The token where a negation of the construction at ``start`` begins, or None."""
        not_negation = marks.spans.get("__NOT_NEG", ())
        for neg_start, neg_end in marks.spans.get("__NEG", ()):
            if any(n_start <= neg_start < n_end for n_start, n_end in not_negation):
                continue
            if neg_end <= start and start - neg_end <= self._negation_window and neg_start < start:
                between = range(neg_end, start)
                if any(r_start in between for r_start, _ in marks.spans.get("__RESET", ())):
                    continue
                if any(doc[i].text in self._boundaries for i in between):
                    continue
                if _HAN_TOKEN.match(doc[start].text) and not self._only_fillers(neg_end, start, marks):
                    continue
                return neg_start
        return None

    def find(self, text: str) -> list[Finding]:
        """Every danger signal in ``text``, at most one per label and family, in order of position."""
        return list(self.screen(text).findings)

    def screen(self, text: str) -> Screening:
        """Findings, and the negated or harmless spans (see :class:`Screening`)."""
        normal, origin = normalise_with_offsets(text)
        if not normal:
            return Screening((), ())
        normal = _HAN_SPACE.sub("，", normal)
        doc = self._nlp.make_doc(normal)
        marks = self._marks(doc)
        stops = frozenset(i for i, token in enumerate(doc) if token.text in self._boundaries)
        guarded: list[tuple[int, int]] = []
        demoting: list[tuple[int, int]] = []
        for guard, start, end in self._spans(self._guards_by_first, marks, stops):
            if guard.needs and not self._context(guard.needs, start, end, marks):
                continue
            (demoting if guard.demote else guarded).append((start, end))
        findings: list[Finding] = []
        seen: set[tuple[str, str, str]] = set()

        def span(first_token: int, end_token: int) -> tuple[int, int]:
            first, last = doc[first_token], doc[end_token - 1]
            return origin[first.idx], origin[last.idx + len(last.text) - 1] + 1

        silenced = [span(start, end) for start, end in guarded]
        for construction, start, end in self._spans(self._by_first, marks, stops):
            if _overlaps(start, end, guarded):
                continue
            tier = "uncertain" if _overlaps(start, end, demoting) else construction.tier
            key = (construction.label, construction.family, tier)
            if key in seen:
                continue
            if construction.needs and not self._context(construction.needs, start, end, marks):
                continue
            negation = self._negated(start, marks, doc) if construction.negatable else None
            if negation is not None:
                silenced.append(span(negation, end))
                continue
            seen.add(key)
            first, last = doc[start], doc[end - 1]
            findings.append(
                Finding(
                    construction.label,
                    construction.family,
                    origin[first.idx],
                    origin[last.idx + len(last.text) - 1] + 1,
                    tier,
                )
            )
        return Screening(tuple(sorted(findings, key=lambda f: (f.start, f.label))), tuple(silenced))

    def labels(self, text: str) -> set[str]:
        return {finding.label for finding in self.find(text)}

    @property
    def families(self) -> dict[str, set[str]]:
        """Rule family names by label (for tests that every family is covered)."""
        by_label: dict[str, set[str]] = defaultdict(set)
        for construction in self._constructions:
            by_label[construction.label].add(construction.family)
        return dict(by_label)


@functools.lru_cache(maxsize=1)
def default_screen() -> RuleScreen:
    """The rules from ``risk/rules.yml``, compiled once per process."""
    return RuleScreen.from_file()


__all__ = ["Finding", "RuleScreen", "Screening", "default_screen", "expand"]
