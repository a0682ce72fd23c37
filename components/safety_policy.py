"""Safety comes first (SPEC §6): a danger signal interrupts whatever the conversation is doing.

Rules cannot say "a ``risk`` entity with any intent, in any state, inside or outside a form", and a
form's happy path outranks every rule. This policy can: when the latest message carries a
``risk`` entity it predicts the safety flow, marked as a no-user prediction with a priority above
RulePolicy's, so it wins over a running form too. It needs no training and keeps no state, so
it behaves the same after a restart and in every test.
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

from components.risk import RISK_ENTITY

ACTION_SAFETY = "action_safety"
ACTION_URGENT_CASE = "action_open_urgent_case"

# The flow after a danger message: each step names the action that must follow it.
_NEXT_STEP = {ACTION_SAFETY: ACTION_URGENT_CASE, ACTION_URGENT_CASE: ACTION_LISTEN_NAME}


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT, is_trainable=False)
class SafetyPolicy(Policy):
    """Predicts ``action_safety`` → ``action_open_urgent_case`` → listen after a danger message."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        # RulePolicy has priority 4 (Memoization 3, TED 1); the safety flow must outrank all.
        return {"priority": 7}

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
        if latest == ACTION_LISTEN_NAME:
            entities = tracker.latest_message.entities if tracker.latest_message else []
            if any(entity.get("entity") == RISK_ENTITY for entity in entities):
                return ACTION_SAFETY
            return None
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
