"""Danger screening for every message: adds ``risk`` entities (violence, weapon, threat, self_harm).

Missing a danger message is the worst failure Hemu can have, and danger is often said indirectly
("he said he'd finish us", "她说再这样就喝药"). So two detectors vote, and either is enough:

* a spaCy ``Matcher``/``PhraseMatcher`` over explicit phrases from ``risk/lexicon.yml``, with a
  negation guard ("他没打我", "never hit me");
* a spaCy multi-label text classifier trained on the labelled danger examples in ``risk/`` plus,
  as negatives, every ordinary NLU example (reports, answers, chit-chat), which is what teaches it
  that "吵死了" and "the noise is killing me" are harmless.

Both work on a character-level tokenisation (:mod:`components.char_tokenizer`) shared by Chinese,
English and mixed text, so the component needs no Rasa tokenizer before it and one trained
artefact serves both languages. Matches carry the matched span; classifier-only findings span the
whole message.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import spacy
import yaml
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from spacy.matcher import Matcher, PhraseMatcher
from spacy.tokens import Doc
from spacy.training import Example

from components.char_tokenizer import blank_char_pipeline

logger = logging.getLogger(__name__)

RISK_ENTITY = "risk"
RISK_LABELS = ("violence", "weapon", "threat", "self_harm")

_PIPELINE_DIR = "textcat"
_LEXICON_FILE = "lexicon.yml"


@dataclass(frozen=True)
class RiskFinding:
    """One danger label found in a message, with where it was seen."""

    label: str
    start: int
    end: int
    confidence: float
    source: str  # "matcher" or "classifier"


def load_examples(path: Path) -> list[tuple[str, list[str]]]:
    """Reads a labelled danger file (``examples: [{text, labels}]``), checking every label."""
    content = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    examples: list[tuple[str, list[str]]] = []
    for number, entry in enumerate(content.get("examples") or [], start=1):
        text = str(entry.get("text", "")).strip()
        labels = list(entry.get("labels") or [])
        unknown = sorted(set(labels) - set(RISK_LABELS))
        if not text or unknown:
            raise ValueError(
                f"{path}: example {number}: " + ("empty text" if not text else f"unknown labels {unknown}")
            )
        examples.append((text, labels))
    return examples


def affirmed(scanned: list[tuple[RiskFinding, bool]]) -> list[RiskFinding]:
    return [finding for finding, negated in scanned if not negated]


class RiskMatcher:
    """Explicit danger phrases, compiled from the lexicon into spaCy matchers."""

    def __init__(self, nlp: spacy.Language, lexicon: dict[str, Any]) -> None:
        self._lexicon = lexicon
        self._phrases = PhraseMatcher(nlp.vocab, attr="LOWER")
        self._patterns = Matcher(nlp.vocab)
        for label in RISK_LABELS:
            entry = lexicon.get(label) or {}
            phrases = [str(p) for p in entry.get("phrases") or []]
            if phrases:
                self._phrases.add(label, list(nlp.tokenizer.pipe(phrases)))
            patterns = entry.get("patterns") or []
            if patterns:
                self._patterns.add(label, patterns)
        self._exceptions = PhraseMatcher(nlp.vocab, attr="LOWER")
        exceptions = [str(p) for p in lexicon.get("exceptions") or []]
        if exceptions:
            self._exceptions.add("exception", list(nlp.tokenizer.pipe(exceptions)))
        negation = lexicon.get("negation") or {}
        self._negation_words = {str(w).lower() for w in negation.get("words") or []}
        self._negation_window = int(negation.get("window", 3))

    @property
    def lexicon(self) -> dict[str, Any]:
        return self._lexicon

    def _negated(self, doc: Doc, start: int) -> bool:
        window = doc[max(0, start - self._negation_window) : start]
        for token in window:
            lower = token.lower_
            if lower in self._negation_words or lower.endswith("n't") or lower.endswith("n’t"):
                return True
        return False

    def find(self, doc: Doc) -> list[RiskFinding]:
        """Explicit signals that are neither negated nor part of a harmless phrase."""
        return affirmed(self.scan(doc))

    def negated_spans(
        self, doc: Doc, scanned: list[tuple[RiskFinding, bool]]
    ) -> dict[str, list[tuple[int, int]]]:
        """Per label mentioned only in negated form ("他没打我", "he never hit me"), the character
        spans from the negation word to the end of the mention; ``scanned`` is ``scan(doc)``."""
        labels = {finding.label for finding in affirmed(scanned)}
        spans: dict[str, list[tuple[int, int]]] = {}
        for finding, negated in scanned:
            if negated and finding.label not in labels:
                cue = doc.char_span(finding.start, finding.end, alignment_mode="expand")
                first = doc[max(0, cue.start - self._negation_window)] if cue is not None else None
                begin = first.idx if first is not None else finding.start
                spans.setdefault(finding.label, []).append((begin, finding.end))
        return spans

    def scan(self, doc: Doc) -> list[tuple[RiskFinding, bool]]:
        """Every lexicon match outside a harmless phrase, with whether it is negated."""
        harmless = [(start, end) for _, start, end in self._exceptions(doc)]
        found = []
        for matcher in (self._phrases, self._patterns):
            for match_id, start, end in matcher(doc):
                if any(start < h_end and h_start < end for h_start, h_end in harmless):
                    continue
                span = doc[start:end]
                finding = RiskFinding(
                    label=doc.vocab.strings[match_id],
                    start=span.start_char,
                    end=span.end_char,
                    confidence=1.0,
                    source="matcher",
                )
                found.append((finding, self._negated(doc, start)))
        return found


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=True)
class RiskEntityExtractor(GraphComponent, EntityExtractorMixin):
    """Adds ``risk`` entities to every message; see the module docstring for the design."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            # Explicit phrases and token patterns per label, plus the negation guard.
            "lexicon": "risk/lexicon.yml",
            # Labelled danger examples (positives and hard negatives) for the classifier.
            "examples": ["risk/train_zh.yml", "risk/train_en.yml"],
            # Use every NLU training example (which must hold no danger) as a negative.
            "nlu_examples_as_negatives": True,
            # Probability at or above which the classifier reports a label.
            "threshold": 0.5,
            "epochs": 10,
            "dropout": 0.2,
            # Positive examples are repeated this often per epoch: they are outnumbered.
            "positive_weight": 6,
            "random_seed": 0,
            # "bow": n-gram bag of characters/words (fast, robust on small data);
            # "ensemble": bag of n-grams plus a CNN over token embeddings.
            "architecture": "ensemble",
            "ngram_size": 4,
        }

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        nlp: spacy.Language | None = None,
        lexicon: dict[str, Any] | None = None,
    ) -> None:
        self._config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self._nlp = nlp or blank_char_pipeline()
        self._matcher = RiskMatcher(self._nlp, lexicon or self._read_lexicon())
        self._trained = "textcat_multilabel" in self._nlp.pipe_names

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> RiskEntityExtractor:
        return cls(config, model_storage, resource)

    def _read_lexicon(self) -> dict[str, Any]:
        path = Path(self._config["lexicon"])
        content = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        unknown = sorted(set(content) - set(RISK_LABELS) - {"negation", "exceptions"})
        if unknown:
            raise ValueError(f"{path}: unknown sections {unknown}")
        return content

    # -- training ---------------------------------------------------------------------------

    def _training_examples(self, training_data: TrainingData) -> list[tuple[str, list[str]]]:
        examples: list[tuple[str, list[str]]] = []
        for name in self._config["examples"]:
            examples.extend(load_examples(Path(name)))
        if self._config["nlu_examples_as_negatives"]:
            known = {text for text, _ in examples}
            for message in training_data.intent_examples:
                text = message.get(TEXT)
                if text and text not in known and not text.startswith("/"):
                    examples.append((text, []))
                    known.add(text)
        return examples

    def _model_config(self) -> dict[str, Any]:
        if self._config["architecture"] == "bow":
            return {
                "@architectures": "spacy.TextCatBOW.v2",
                "exclusive_classes": False,
                "ngram_size": int(self._config["ngram_size"]),
                "no_output_layer": False,
            }
        return {
            "@architectures": "spacy.TextCatEnsemble.v2",
            "tok2vec": {
                "@architectures": "spacy.Tok2Vec.v2",
                "embed": {
                    "@architectures": "spacy.MultiHashEmbed.v2",
                    "width": 64,
                    "rows": [5000, 2000, 1000, 1000],
                    "attrs": ["NORM", "PREFIX", "SUFFIX", "SHAPE"],
                    "include_static_vectors": False,
                },
                "encode": {
                    "@architectures": "spacy.MaxoutWindowEncoder.v2",
                    "width": 64,
                    "window_size": 1,
                    "maxout_pieces": 3,
                    "depth": 2,
                },
            },
            "linear_model": {
                "@architectures": "spacy.TextCatBOW.v2",
                "exclusive_classes": False,
                "ngram_size": int(self._config["ngram_size"]),
                "no_output_layer": False,
            },
        }

    def train(self, training_data: TrainingData) -> Resource:
        """Trains the classifier; the lexicon is copied into the model as it is."""
        spacy.util.fix_random_seed(self._config["random_seed"])
        rng = random.Random(self._config["random_seed"])
        examples = self._training_examples(training_data)
        positive_weight = int(self._config["positive_weight"])

        nlp = blank_char_pipeline()
        textcat = nlp.add_pipe("textcat_multilabel", config={"model": self._model_config()})
        for label in RISK_LABELS:
            textcat.add_label(label)
        spacy_examples = [
            Example.from_dict(
                nlp.make_doc(text), {"cats": {label: float(label in labels) for label in RISK_LABELS}}
            )
            for text, labels in examples
        ]
        weighted = [
            example
            for example, (_, labels) in zip(spacy_examples, examples, strict=False)
            for _ in range(positive_weight if labels else 1)
        ]
        optimizer = nlp.initialize(lambda: spacy_examples)
        for epoch in range(int(self._config["epochs"])):
            rng.shuffle(weighted)
            losses: dict[str, float] = {}
            for batch in spacy.util.minibatch(weighted, size=spacy.util.compounding(8, 64, 1.2)):
                nlp.update(batch, sgd=optimizer, drop=self._config["dropout"], losses=losses)
            logger.debug("risk classifier epoch %d loss %.4f", epoch, losses.get("textcat_multilabel", 0))

        self._nlp = nlp
        self._matcher = RiskMatcher(nlp, self._matcher.lexicon)
        self._trained = True
        self.persist()
        return self._resource

    def persist(self) -> None:
        with self._model_storage.write_to(self._resource) as directory:
            self._nlp.to_disk(directory / _PIPELINE_DIR)
            (directory / _LEXICON_FILE).write_text(
                yaml.safe_dump(self._matcher.lexicon, allow_unicode=True), encoding="utf-8"
            )

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> RiskEntityExtractor:
        try:
            with model_storage.read_from(resource) as directory:
                nlp = spacy.load(directory / _PIPELINE_DIR)
                lexicon = yaml.safe_load((directory / _LEXICON_FILE).read_text(encoding="utf-8"))
        except (ValueError, OSError) as error:
            # Without its artefact the component still screens with the lexicon from the
            # repository, which is far better than screening nothing.
            logger.warning("Risk classifier not loaded (%s); using the lexicon only.", error)
            return cls(config, model_storage, resource)
        return cls(config, model_storage, resource, nlp=nlp, lexicon=lexicon)

    # -- inference --------------------------------------------------------------------------

    def findings(self, text: str) -> list[RiskFinding]:
        """Every label found in ``text``: matcher spans first, then classifier-only labels."""
        doc = self._nlp(text) if self._trained else self._nlp.make_doc(text)
        scanned = self._matcher.scan(doc)
        found = affirmed(scanned)
        seen = {finding.label for finding in found}
        if self._trained:
            scores = dict(doc.cats)
            negated = self._matcher.negated_spans(doc, scanned)
            if negated:
                # The classifier does not understand negation, and a negated mention ("never hit
                # me") sways all its labels: ask it again about the rest of the message only.
                masked = list(text)
                for begin, end in (span for spans in negated.values() for span in spans):
                    masked[begin:end] = " " * (end - begin)
                scores = dict(self._nlp("".join(masked)).cats)
            stripped = text.strip()
            start = text.find(stripped) if stripped else 0
            for label in RISK_LABELS:
                score = float(scores.get(label, 0.0))
                if label not in seen and score >= self._config["threshold"]:
                    found.append(
                        RiskFinding(label, start, start + len(stripped), round(score, 4), "classifier")
                    )
                    seen.add(label)
        return found

    def labels(self, text: str) -> set[str]:
        return {finding.label for finding in self.findings(text)}

    def _entities(self, message: Message) -> list[dict[str, Any]]:
        text = message.get(TEXT) or ""
        if not text.strip() or text.startswith("/"):
            # Button payloads carry their own entities; they are not resident prose.
            return []
        entities = []
        first_per_label: set[str] = set()
        for finding in self.findings(text):
            if finding.label in first_per_label:
                continue
            first_per_label.add(finding.label)
            entities.append(
                {
                    "entity": RISK_ENTITY,
                    "value": finding.label,
                    "start": finding.start,
                    "end": finding.end,
                    "confidence_entity": finding.confidence,
                    "text": text[finding.start : finding.end],
                }
            )
        return entities

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            found = self.add_extractor_name(self._entities(message))
            if found:
                message.set(ENTITIES, message.get(ENTITIES, []) + found, add_to_output=True)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Training messages keep their annotated entities; nothing is added to them."""
        return training_data
