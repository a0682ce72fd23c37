"""Danger screening for every message: adds ``risk`` entities (violence, weapon, threat, self_harm).

Missing a danger message is the worst failure Hemu can have, and paging officers for nothing teaches
them to ignore pages. So two detectors vote, and each finding carries a tier (SPEC §6):

* the compositional rules of :mod:`risk.rules` (a harm verb acting on a person, an injury outcome, a
  hard object held or swung, a threat construction, a self-harm idiom, in both languages, with
  negation and look-alike guards) — a rule match is a *clear* signal, except for the few families
  marked uncertain in ``risk/rules.yml`` (an injury with no act of harm named);
* a spaCy multi-label text classifier trained on the labelled danger lines in ``risk/train_*.yml``
  plus, as negatives, every ordinary NLU example — at or above ``danger.clear_threshold`` of
  ``config/policy.yml`` it is a clear signal, between ``uncertain_threshold`` and that it is
  *uncertain* (the resident gets the emergency numbers and one question instead of an urgent page).

Every entity carries ``tier`` ("clear" or "uncertain") beside the contract's ``entity``/``value``.
Both detectors read the normalised text (:mod:`risk.normalise`) through the character tokenizer of
:mod:`risk.tokens`, so one trained artefact serves Chinese, English and mixed text. Text that begins
with "/" is screened too: the gateway never forwards a resident's own "/…" as a payload, so anything
here is either a server-side button payload (harmless words) or resident prose.
"""

from __future__ import annotations

import logging
import re
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

from hemu.policy import DangerPolicy, load_policy
from risk.classifier import Settings, train_members
from risk.labels import RISK_ENTITY, RISK_LABELS
from risk.normalise import normalise
from risk.rules import Finding, RuleScreen, Screening, default_screen

logger = logging.getLogger(__name__)

__all__ = ["RISK_ENTITY", "RISK_LABELS", "Finding", "RiskEntityExtractor", "load_examples"]

_PIPELINE_DIR = "textcat"


def _member_dir(number: int) -> str:
    """Where classifier ``number`` is saved; the first keeps the name a single classifier always had."""
    return _PIPELINE_DIR if number == 0 else f"{_PIPELINE_DIR}_{number}"


# The family name of a finding only the classifier made (rules name their own family).
CLASSIFIER = "classifier"
_TIER_ORDER = {"clear": 0, "uncertain": 1}


_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
# Pronouns, particles and intensifiers: what is left of "我实在受不了了" once the idiom is blanked.
_FUNCTION_HAN = frozenset("我你他她它们的地得了着过是在就都也还又很太真实啊吧呢吗呀哦嘛")


def _enough_left(masked: str) -> bool:
    """Whether a message (with its negated or harmless parts blanked) says enough for the classifier.

    The classifier's scores on a fragment ("he", "他") or a three-word form answer mean nothing: it has
    learnt that short lines are often terse danger ("he hit me"), so what is left of "he never hit me"
    or of "我实在受不了了" would page, and "whatever" or "since last spring" asked whether anyone was in
    danger (0.58, 0.45). Terse danger is the rules' to find; on the three development sets no danger
    message shorter than this was found by the classifier alone. Only content characters count:
    pronouns and particles are not something of its own.
    """
    han = sum(1 for character in _HAN.findall(masked) if character not in _FUNCTION_HAN)
    words = len(re.findall(r"[A-Za-z]+", masked))
    return han >= 4 or words >= 4 or (han >= 2 and words >= 1)


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


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=True)
class RiskEntityExtractor(GraphComponent, EntityExtractorMixin):
    """Adds ``risk`` entities to every message; see the module docstring for the design."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            # Labelled danger lines (positives and hard negatives) for the classifier; globs allowed.
            "examples": ["risk/train_*.yml"],
            # Use every NLU training example (which must hold no danger) as a negative.
            "nlu_examples_as_negatives": True,
            "epochs": 10,
            "dropout": 0.2,
            # Positive examples are repeated this often per epoch: they are outnumbered.
            "positive_weight": 3,
            "random_seed": 0,
            # How many classifiers to train (seeds random_seed, random_seed + 1, …); their probabilities
            # are averaged. One classifier's scores move by several points from one training to the
            # next (the order of its minibatches); the average of a few moves less.
            "members": 1,
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
        members: list[spacy.Language] | None = None,
        rules: RuleScreen | None = None,
        danger: DangerPolicy | None = None,
    ) -> None:
        self._config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        # The trained classifiers whose scores are averaged; none: screening with the rules only.
        self._members: list[spacy.Language] = members or []
        self._rules = rules or default_screen()
        # Thresholds live in config/policy.yml with the rest of the station's choices.
        self._danger = danger or load_policy().danger

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> RiskEntityExtractor:
        return cls(config, model_storage, resource)

    # -- training ---------------------------------------------------------------------------

    def _training_examples(self, training_data: TrainingData) -> list[tuple[str, list[str]]]:
        examples: list[tuple[str, list[str]]] = []
        for pattern in self._config["examples"]:
            paths = sorted(Path().glob(pattern)) if any(c in pattern for c in "*?[") else [Path(pattern)]
            if not paths:
                raise ValueError(f"risk examples: nothing matches {pattern!r}")
            for path in paths:
                examples.extend(load_examples(path))
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
        """Trains the classifier(s) (the rules need no training: they are read from ``risk/rules.yml``)."""
        seed = int(self._config["random_seed"])
        settings = Settings(
            model=self._model_config(),
            epochs=int(self._config["epochs"]),
            dropout=float(self._config["dropout"]),
            positive_weight=int(self._config["positive_weight"]),
        )
        seeds = [seed + i for i in range(int(self._config["members"]))]
        self._members = train_members(self._training_examples(training_data), seeds, settings)
        self.persist()
        return self._resource

    def persist(self) -> None:
        with self._model_storage.write_to(self._resource) as directory:
            for number, member in enumerate(self._members):
                member.to_disk(directory / _member_dir(number))

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
                members = [spacy.load(directory / _member_dir(0))]
                while (directory / _member_dir(len(members))).is_dir():
                    members.append(spacy.load(directory / _member_dir(len(members))))
        except (ValueError, OSError) as error:
            # Without its artefact the component still screens with the rules, which is far
            # better than screening nothing.
            logger.warning("Risk classifier not loaded (%s); screening with the rules only.", error)
            return cls(config, model_storage, resource)
        return cls(config, model_storage, resource, members=members)

    # -- inference --------------------------------------------------------------------------

    def scores(self, text: str) -> dict[str, float]:
        """The classifier's probability per label (empty when no classifier is trained)."""
        if not self._members:
            return {}
        normal = normalise(text)
        totals: dict[str, float] = {}
        for member in self._members:
            for label, score in member(normal).cats.items():
                totals[label] = totals.get(label, 0.0) + float(score)
        return {label: total / len(self._members) for label, total in totals.items()}

    def read(self, text: str) -> tuple[Screening, dict[str, float]]:
        """The rules' screening, and the classifier's scores on what the rules left (none on a few words)."""
        screening = self._rules.screen(text)
        masked = screening.masked(text)
        return screening, (self.scores(masked) if _enough_left(masked) else {})

    def findings(self, text: str) -> list[Finding]:
        """Per label, the strongest signal: rule findings first, then classifier-only labels.

        The classifier reads the message without what the rules silenced: it does not understand
        negation, and a negated act or a look-alike ("他没打我", "hits the table") sways all its labels.
        """
        screening, scores = self.read(text)
        best: dict[str, Finding] = {}
        for finding in screening.findings:
            current = best.get(finding.label)
            if current is None or _TIER_ORDER[finding.tier] < _TIER_ORDER[current.tier]:
                best[finding.label] = finding
        stripped = text.strip()
        start = text.find(stripped) if stripped else 0
        for label, score in scores.items():
            tier = self._danger.tier_for_score(score)
            if tier == "clear" and screening.silenced and not self._danger.classifier_pages_after_look_alike:
                tier = "uncertain"
            current = best.get(label)
            if tier is None or (current is not None and _TIER_ORDER[current.tier] <= _TIER_ORDER[tier]):
                continue
            best[label] = Finding(label, CLASSIFIER, start, start + len(stripped), tier, round(score, 4))
        return sorted(best.values(), key=lambda f: (f.start, f.label))

    def labels(self, text: str) -> set[str]:
        return {finding.label for finding in self.findings(text)}

    def _entities(self, message: Message) -> list[dict[str, Any]]:
        text = message.get(TEXT) or ""
        if not text.strip():
            return []
        entities = []
        for finding in self.findings(text):
            entities.append(
                {
                    "entity": RISK_ENTITY,
                    "value": finding.label,
                    "start": finding.start,
                    "end": finding.end,
                    "confidence_entity": finding.score,
                    "text": text[finding.start : finding.end],
                    "tier": finding.tier,
                    "source": CLASSIFIER if finding.family == CLASSIFIER else f"rule:{finding.family}",
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
