"""A long message is a report, not small talk: chit-chat intents only for short messages.

Why: DIET sometimes reads a long dispute story that opens with "你好" or ends with "thanks, bye" as
``greet`` or ``goodbye``, or a resigned "算了 说了也没用 ..." paragraph as ``cancel``; the resident
then gets a greeting instead of guidance. People do not write sixty characters to say hello. When a
message is long and its top intent is one of the short-message intents, this component promotes the
best-ranked report intent instead (the ranking is DIET's own; nothing is guessed). Measured on the
outside evaluation set by `make eval` ("long reports read as a non-report").
"""

from __future__ import annotations

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

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")


def is_long(text: str, min_han: int, min_words: int) -> bool:
    """Long enough to be a story: ``min_han`` Chinese characters, or ``min_words`` other words."""
    han = len(_HAN.findall(text))
    if han >= min_han:
        return True
    return len(_HAN.sub(" ", text).split()) >= min_words


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class LongMessageGuard(GraphComponent):
    """Replaces a short-message intent on a long message with the best report intent DIET ranked."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            "min_han": 25,
            "min_words": 14,
            # Intents nobody needs many words for; long messages are not these.
            "short_intents": [
                "greet",
                "goodbye",
                "affirm",
                "deny",
                "thanks",
                "cancel",
                "bot_challenge",
                "dont_know",
                "help",
            ],
            "report_prefix": "report_",
        }

    def __init__(self, config: dict[str, Any]) -> None:
        self._config = {**self.get_default_config(), **config}
        self._short = set(self._config["short_intents"])

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> LongMessageGuard:
        return cls(config)

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            self._guard(message)
        return messages

    def _guard(self, message: Message) -> None:
        text = message.get(TEXT) or ""
        intent = message.get(INTENT) or {}
        if text.startswith("/") or intent.get(INTENT_NAME_KEY) not in self._short:
            return
        if not is_long(text, int(self._config["min_han"]), int(self._config["min_words"])):
            return
        ranking = list(message.get(INTENT_RANKING_KEY) or [])
        reports = [
            r for r in ranking if str(r.get(INTENT_NAME_KEY, "")).startswith(self._config["report_prefix"])
        ]
        if not reports:
            return
        best = reports[0]
        # The two swap confidences: DIET was sure this was *something*, and the fallback threshold
        # should judge the message, not the demotion. Swapping, not copying: a demoted intent left at
        # the same confidence made the two tie, and FallbackClassifier's ambiguity check then turned
        # every promoted report into nlu_fallback.
        top = intent.get(PREDICTED_CONFIDENCE_KEY)
        swapped = {
            str(intent.get(INTENT_NAME_KEY)): best.get(PREDICTED_CONFIDENCE_KEY),
            str(best[INTENT_NAME_KEY]): top,
        }
        promoted = {INTENT_NAME_KEY: best[INTENT_NAME_KEY], PREDICTED_CONFIDENCE_KEY: top}
        reordered = sorted(
            (
                {
                    **r,
                    PREDICTED_CONFIDENCE_KEY: swapped.get(
                        str(r.get(INTENT_NAME_KEY)), r.get(PREDICTED_CONFIDENCE_KEY)
                    ),
                }
                for r in ranking
            ),
            key=lambda r: -float(r.get(PREDICTED_CONFIDENCE_KEY) or 0.0),
        )
        message.set(INTENT, promoted, add_to_output=True)
        message.set(INTENT_RANKING_KEY, reordered, add_to_output=True)
