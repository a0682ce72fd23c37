"""A message that is word for word one of the training examples gets that example's intent.

Why: DIET does not always fit its own training data, and misses it most on the shortest messages,
which carry a handful of character n-grams: "是" and "好的" are affirm examples and scored 0.13 and
0.26 for affirm (below the fallback threshold of 0.3, so the resident confirming a summary was told
"I'm not sure I understood"), and "yes", "no" and "没有" fell below it too when DIET trained in larger
batches. A message a person labelled is not a guess: the table is built from the training data when
the model is trained, never written by hand, and a text labelled with two intents is left to DIET.

Matching ignores case, width, surrounding punctuation and spaces ("好的！", "Yes." and "yes" are one
text); nothing else, so "yes please" and "好的吧" still go to DIET.
"""

from __future__ import annotations

import json
import re
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from risk.normalise import normalise

TABLE_FILE = "known_answers.json"
# Punctuation and symbols around a message do not change what it says: "好的！" is "好的".
_EDGES = re.compile(r"^[\W_]+|[\W_]+$")


def key(text: str) -> str:
    """The form two texts share when they are the same answer: the danger rules' spelling
    (:func:`risk.normalise.normalise`: full-width → half-width, invisible characters dropped, single
    spaces, lower case) without surrounding punctuation."""
    return _EDGES.sub("", normalise(text)).strip()


def build_table(examples: list[tuple[str, str]]) -> dict[str, str]:
    """Text → intent for every example whose text has exactly one intent."""
    seen: dict[str, set[str]] = {}
    for text, intent in examples:
        if text.startswith("/"):
            continue
        folded = key(text)
        if folded:
            seen.setdefault(folded, set()).add(intent)
    return {text: next(iter(intents)) for text, intents in seen.items() if len(intents) == 1}


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class KnownAnswers(GraphComponent):
    """Sets the labelled intent, with full confidence, on a message that is a training example."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {}

    def __init__(
        self, model_storage: ModelStorage, resource: Resource, table: dict[str, str] | None = None
    ) -> None:
        self._model_storage = model_storage
        self._resource = resource
        self._table = table or {}

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> KnownAnswers:
        return cls(model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        examples = [
            (str(message.get(TEXT)), str(message.get(INTENT)))
            for message in training_data.intent_examples
            if message.get(TEXT) and message.get(INTENT)
        ]
        self._table = build_table(examples)
        with self._model_storage.write_to(self._resource) as directory:
            (directory / TABLE_FILE).write_text(
                json.dumps(self._table, ensure_ascii=False, sort_keys=True), encoding="utf-8"
            )
        return self._resource

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> KnownAnswers:
        with model_storage.read_from(resource) as directory:
            table = json.loads((directory / TABLE_FILE).read_text(encoding="utf-8"))
        return cls(model_storage, resource, table)

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            intent = None if text.startswith("/") else self._table.get(key(text))
            if intent is not None:
                self._set(message, intent)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    @staticmethod
    def _set(message: Message, intent: str) -> None:
        """The labelled intent leads with 1.0; DIET's ranking of the others is kept behind it."""
        chosen = {INTENT_NAME_KEY: intent, PREDICTED_CONFIDENCE_KEY: 1.0}
        rest = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get(INTENT_NAME_KEY) != intent]
        message.set(INTENT, chosen, add_to_output=True)
        message.set(INTENT_RANKING_KEY, [chosen, *rest], add_to_output=True)
