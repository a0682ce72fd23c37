"""A long message is a report, not small talk: chit-chat intents only for short messages.

Why: DIET sometimes reads a long dispute story that opens with "你好" or ends with "thanks, bye" as
``greet`` or ``goodbye``, or a resigned "算了 说了也没用 ..." paragraph as ``cancel``; the resident
then gets a greeting instead of guidance. People do not write sixty characters to say hello. When a
message is long and its top intent is one of the short-message intents, this component promotes the
best-ranked report intent instead (the ranking is DIET's own; nothing is guessed).

A long message is also a report when DIET, unsure which category, spreads most of its belief over
the report intents: "upstairs washing machine flooded again, third time this year" scored
property_damage, noise and shared_space a little each and `inform` a little more, so no single
intent won and the story was answered as a form answer or not understood. Two questions, then: is
this a report (the report intents' summed confidence reaches ``report_mass``), and which one (the
best-ranked report, which takes that sum as its confidence). Measured by `make eval` ("long
reports read as a non-report").
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
            "min_words": 12,
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
                # A form's answer is a few words; a story is a report, whatever DIET thought.
                "inform",
            ],
            "report_prefix": "report_",
            # Summed report-intent confidence at which a long message is a report whatever its top
            # intent: more than half of DIET's belief. Tuned on tests/nlu_dev only.
            "report_mass": 0.5,
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
        if text.startswith("/"):
            return
        if not is_long(text, int(self._config["min_han"]), int(self._config["min_words"])):
            return
        ranking = list(message.get(INTENT_RANKING_KEY) or [])
        reports = [r for r in ranking if self._is_report(r)]
        if not reports:
            return
        mass = sum(float(r.get(PREDICTED_CONFIDENCE_KEY) or 0.0) for r in reports)
        if mass >= float(self._config["report_mass"]) and mass > float(
            intent.get(PREDICTED_CONFIDENCE_KEY) or 0.0
        ):
            self._promote(message, reports[0], round(min(mass, 1.0), 4), ranking)
        elif intent.get(INTENT_NAME_KEY) in self._short:
            # DIET was sure this was *something*; the fallback threshold should judge the message,
            # not the demotion, so the report takes the short intent's confidence.
            self._promote(message, reports[0], float(intent.get(PREDICTED_CONFIDENCE_KEY) or 0.0), ranking)
        if self._is_report(message.get(INTENT) or {}):
            self._silence_short(message, list(message.get(INTENT_RANKING_KEY) or []))

    def _is_report(self, ranked: dict[str, Any]) -> bool:
        return str(ranked.get(INTENT_NAME_KEY, "")).startswith(self._config["report_prefix"])

    def _silence_short(self, message: Message, ranking: list[dict[str, Any]]) -> None:
        """A report on top keeps it: a short intent close behind must not make FallbackClassifier's
        ambiguity check answer nlu_fallback ("谢谢了" ending a story made ``thanks`` 0.49 against the
        report's 0.51; a demoted ``deny`` left at the report's confidence tied with it)."""
        quiet = [
            {**r, PREDICTED_CONFIDENCE_KEY: 0.0} if r.get(INTENT_NAME_KEY) in self._short else r
            for r in ranking
        ]
        quiet.sort(key=lambda r: -float(r.get(PREDICTED_CONFIDENCE_KEY) or 0.0))
        message.set(INTENT_RANKING_KEY, quiet, add_to_output=True)

    @staticmethod
    def _promote(
        message: Message, best: dict[str, Any], confidence: float, ranking: list[dict[str, Any]]
    ) -> None:
        """The best report leads with ``confidence``; the others keep theirs."""
        promoted = {INTENT_NAME_KEY: best[INTENT_NAME_KEY], PREDICTED_CONFIDENCE_KEY: confidence}
        rest = [r for r in ranking if r.get(INTENT_NAME_KEY) != best[INTENT_NAME_KEY]]
        message.set(INTENT, promoted, add_to_output=True)
        message.set(INTENT_RANKING_KEY, [{**best, **promoted}, *rest], add_to_output=True)
