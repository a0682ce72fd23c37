"""Safety comes first (SPEC §6): a danger signal interrupts whatever the conversation is doing.

Rules cannot say "a ``risk`` entity with any intent, in any state, inside or outside a form", and a
form's happy path outranks every rule. This policy can: when the latest message carries a
``risk`` entity it predicts the safety flow, marked as a no-user prediction with a priority above
RulePolicy's, so it wins over a running form too. A new message is recognised by the order of the
tracker's events, not by "the last action was action_listen": a turn cut short (a crash, Rasa's
circuit breaker) ends without one, and a weapon threat after it must still be heard. It needs no
training and keeps no state of its own (what it needs is in the tracker), so it behaves the same
after a restart and in every test.

Two tiers (thresholds in config/policy.yml, ``danger``):
  * clear → ``action_safety`` → ``action_open_urgent_case`` → listen;
  * uncertain → ``action_danger_question`` (safety reply + "is anyone in danger right now?") → listen;
    then the answer (a button, a typed yes/no, or the reminder that fires when nobody answers) →
    ``action_danger_answer``. A classifier-only signal on a short typed answer to a form question is
    uncertain whatever its score: a few words carry too little for the classifier to page on.
"""

from __future__ import annotations

from typing import Any

from rasa.core.policies.policy import Policy, PolicyPrediction
from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.generator import TrackerWithCachedStates
from rasa.shared.core.trackers import DialogueStateTracker

from components.turn_guard import user_spoke_last
from hemu.danger import ANSWER_ENTITY, PENDING, PENDING_SLOT
from hemu.policy import DangerPolicy, load_policy
from risk.labels import RISK_ENTITY

ACTION_SAFETY = "action_safety"
ACTION_URGENT_CASE = "action_open_urgent_case"
ACTION_DANGER_QUESTION = "action_danger_question"
ACTION_DANGER_ANSWER = "action_danger_answer"

# The flow after a danger message: each step names the action that must follow it.
_NEXT_STEP = {
    ACTION_SAFETY: ACTION_URGENT_CASE,
    ACTION_URGENT_CASE: ACTION_LISTEN_NAME,
    ACTION_DANGER_QUESTION: ACTION_LISTEN_NAME,
}
# Typed answers to the danger question that count as one.
_ANSWER_INTENTS = ("affirm", "deny")


def signal_tier(tracker: DialogueStateTracker, danger: DangerPolicy) -> str | None:
    """ "clear", "uncertain" or None for the latest message (see the module docstring)."""
    message = tracker.latest_message
    risks = [e for e in (message.entities if message else []) if e.get("entity") == RISK_ENTITY]
    if not risks:
        return None
    # Entities without a tier come from a button payload ("/inform{"risk":"violence"}"): clear.
    classifier_only = all(entity.get("source") == "classifier" for entity in risks)
    text = (message.text if message else "") or ""
    if classifier_only and tracker.active_loop_name and len(text.strip()) <= danger.short_answer_chars:
        # A few words answering a form question give the classifier too little to go on: even a
        # confident score only asks, and a middling one ("about three weeks") is noise.
        return "uncertain" if any(entity.get("tier") == "clear" for entity in risks) else None
    if not any(entity.get("tier", "clear") == "clear" for entity in risks):
        return "uncertain"
    return "clear"


def answers_danger_question(tracker: DialogueStateTracker) -> bool:
    """Whether the latest message answers a danger question that is still waiting."""
    if tracker.get_slot(PENDING_SLOT) != PENDING or tracker.latest_message is None:
        return False
    message = tracker.latest_message
    if any(entity.get("entity") == ANSWER_ENTITY for entity in message.entities):
        return True
    return (message.intent or {}).get("name") in _ANSWER_INTENTS


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT, is_trainable=False)
class SafetyPolicy(Policy):
    """Predicts the safety flow of the tier the latest message's danger signal belongs to."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        # RulePolicy has priority 4 (Memoization 3, TED 1); the safety flow must outrank all.
        return {"priority": 7}

    def __init__(self, *args: Any, danger: DangerPolicy | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._danger = danger or load_policy().danger

    def train(
        self,
        training_trackers: list[TrackerWithCachedStates],
        domain: Domain,
        **kwargs: Any,
    ) -> Resource:
        return self._resource

    def next_action(self, tracker: DialogueStateTracker) -> str | None:
        """The action the safety flow demands now, or None when it has nothing to say."""
        latest = tracker.latest_action_name
        if user_spoke_last(tracker):
            tier = signal_tier(tracker, self._danger)
            if tier == "clear":
                return ACTION_SAFETY
            if tier == "uncertain":
                # Asked once: a second uncertain message while the question waits answers it as "yes".
                return (
                    ACTION_DANGER_ANSWER
                    if tracker.get_slot(PENDING_SLOT) == PENDING
                    else ACTION_DANGER_QUESTION
                )
            if answers_danger_question(tracker):
                return ACTION_DANGER_ANSWER
            return None
        if latest == ACTION_DANGER_ANSWER:
            # After "no" a report form still running takes its turn again; otherwise wait for the resident.
            return None if tracker.active_loop_name else ACTION_LISTEN_NAME
        return _NEXT_STEP.get(latest or "")

    def predict_action_probabilities(
        self,
        tracker: DialogueStateTracker,
        domain: Domain,
        rule_only_data: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> PolicyPrediction:
        action = self.next_action(tracker)
        if action is None:
            return self._prediction(self._default_predictions(domain))
        probabilities = self._default_predictions(domain)
        probabilities[domain.index_for_action(action)] = 1.0
        # A no-user prediction is the only kind that can outrank a form's happy path.
        return self._prediction(probabilities, is_no_user_prediction=True)

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> SafetyPolicy:
        return cls(config, model_storage, resource, execution_context)
