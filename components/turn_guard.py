"""Every turn ends by listening: the conversation can never lock.

Why: when a form rejected an answer it could not read, RulePolicy's fallback (``action_clarify``) ran,
the form was predicted again, rejected again, and so on until Rasa's circuit breaker stopped the turn
after ten actions — ten identical "I'm not sure I understood" messages. Worse, the circuit breaker
ends the turn *without* ``action_listen``, and every rule and policy reads "the user just spoke" as
"the last action was action_listen": from then on nothing matched, not even a weapon threat.

This policy watches the turn (the actions since the resident's last message) and predicts
``action_listen`` when the turn has said its last word:

* after an action that always ends a turn (``last_words``: the clarifying question);
* when the latest action already ran earlier in the same turn (a loop has begun);
* when the turn reached ``max_actions`` actions, well below Rasa's circuit breaker (10).

Its predictions are no-user predictions with a priority above RulePolicy's (so they outrank a form's
happy path) and below SafetyPolicy's (the safety flow is never cut short). It needs no training.
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
from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.generator import TrackerWithCachedStates
from rasa.shared.core.trackers import DialogueStateTracker


def actions_this_turn(tracker: DialogueStateTracker) -> list[str]:
    """The actions run since the resident's latest message, oldest first (empty: not answered yet)."""
    names: list[str] = []
    for event in reversed(tracker.events):
        if isinstance(event, UserUttered):
            break
        if isinstance(event, ActionExecuted) and event.action_name:
            names.append(event.action_name)
    else:
        return []
    names.reverse()
    return names


def user_spoke_last(tracker: DialogueStateTracker) -> bool:
    """Whether a message from the resident is waiting for its answer.

    Not ``latest_action_name == "action_listen"``: a turn cut short (the circuit breaker, a crash)
    ends without action_listen, and the next message must still be heard.
    """
    for event in reversed(tracker.events):
        if isinstance(event, UserUttered):
            return True
        if isinstance(event, ActionExecuted) and event.action_name != ACTION_LISTEN_NAME:
            return False
    return False


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT, is_trainable=False)
class TurnGuardPolicy(Policy):
    """Predicts ``action_listen`` once a turn has said its last word (see the module docstring)."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            # SafetyPolicy 7 > this > RulePolicy 4 (Memoization 3, TED 1).
            "priority": 6,
            # A turn's longest honest path is the safety flow inside a form: about five actions.
            "max_actions": 6,
            "last_words": ["action_clarify"],
        }

    def train(
        self,
        training_trackers: list[TrackerWithCachedStates],
        domain: Domain,
        **kwargs: Any,
    ) -> Resource:
        return self._resource

    def should_listen(self, tracker: DialogueStateTracker) -> bool:
        turn = actions_this_turn(tracker)
        if not turn or turn[-1] == ACTION_LISTEN_NAME:
            return False
        latest = turn[-1]
        return (
            latest in self.config["last_words"]
            or latest in turn[:-1]
            or len(turn) >= int(self.config["max_actions"])
        )

    def predict_action_probabilities(
        self,
        tracker: DialogueStateTracker,
        domain: Domain,
        rule_only_data: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> PolicyPrediction:
        probabilities = self._default_predictions(domain)
        if not self.should_listen(tracker):
            return self._prediction(probabilities)
        probabilities[domain.index_for_action(ACTION_LISTEN_NAME)] = 1.0
        return self._prediction(probabilities, is_no_user_prediction=True)

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> TurnGuardPolicy:
        return cls(config, model_storage, resource, execution_context)
