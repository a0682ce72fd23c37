from __future__ import annotations

from pathlib import Path

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, ActiveLoop, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from components.safety_policy import SafetyPolicy

DOMAIN = Domain.load(str(Path(__file__).resolve().parents[2] / "domain.yml"))


@pytest.fixture
def policy(tmp_path: Path) -> SafetyPolicy:
    return SafetyPolicy.create(
        SafetyPolicy.get_default_config(),
        LocalModelStorage.create(tmp_path),
        Resource("safety"),
        ExecutionContext(GraphSchema({}), "safety-test"),
    )


def tracker(*events) -> DialogueStateTracker:
    return DialogueStateTracker.from_events(
        "resident", [ActionExecuted("action_listen"), *events], DOMAIN.slots
    )


def predicted(policy: SafetyPolicy, state: DialogueStateTracker) -> str | None:
    prediction = policy.predict_action_probabilities(state, DOMAIN)
    if max(prediction.probabilities) == 0:
        return None
    return DOMAIN.action_names_or_texts[prediction.max_confidence_index]


def danger(text: str = "他拿刀站在门口") -> UserUttered:
    return UserUttered(
        text,
        {"name": "inform", "confidence": 0.9},
        [{"entity": "risk", "value": "weapon", "start": 0, "end": 3}],
    )


def test_danger_message_starts_the_safety_flow_even_inside_a_form(policy: SafetyPolicy) -> None:
    state = tracker(
        ActionExecuted("report_form"), ActiveLoop("report_form"), ActionExecuted("action_listen"), danger()
    )
    prediction = policy.predict_action_probabilities(state, DOMAIN)
    assert predicted(policy, state) == "action_safety"
    assert prediction.is_no_user_prediction and prediction.policy_priority > 4


def test_safety_is_followed_by_the_urgent_case_then_listening(policy: SafetyPolicy) -> None:
    state = tracker(danger(), ActionExecuted("action_safety"))
    assert predicted(policy, state) == "action_open_urgent_case"
    state.update(ActionExecuted("action_open_urgent_case"))
    assert predicted(policy, state) == "action_listen"


def test_calm_message_leaves_the_decision_to_other_policies(policy: SafetyPolicy) -> None:
    state = tracker(UserUttered("楼上好吵", {"name": "report_noise", "confidence": 0.9}))
    prediction = policy.predict_action_probabilities(state, DOMAIN)
    assert max(prediction.probabilities) == 0 and not prediction.is_no_user_prediction
