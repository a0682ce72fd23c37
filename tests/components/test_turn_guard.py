from __future__ import annotations

from pathlib import Path

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, ActionExecutionRejected, ActiveLoop, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from components.safety_policy import SafetyPolicy
from components.turn_guard import TurnGuardPolicy, actions_this_turn, user_spoke_last

DOMAIN = Domain.load(str(Path(__file__).resolve().parents[2] / "domain.yml"))
CONTEXT = ExecutionContext(GraphSchema({}), "turn-guard-test")


@pytest.fixture
def guard(tmp_path: Path) -> TurnGuardPolicy:
    return TurnGuardPolicy.create(
        TurnGuardPolicy.get_default_config(), LocalModelStorage.create(tmp_path), Resource("guard"), CONTEXT
    )


def tracker(*events) -> DialogueStateTracker:
    return DialogueStateTracker.from_events(
        "resident", [ActionExecuted("action_listen"), *events], DOMAIN.slots
    )


def said(text: str = "可以，打我电话 135 0000 1111", intent: str = "inform", entities=()) -> UserUttered:
    return UserUttered(text, {"name": intent, "confidence": 0.9}, list(entities))


def listens(guard: TurnGuardPolicy, state: DialogueStateTracker) -> bool:
    prediction = guard.predict_action_probabilities(state, DOMAIN)
    if max(prediction.probabilities) == 0:
        return False
    assert prediction.is_no_user_prediction and 4 < prediction.policy_priority < 7
    return DOMAIN.action_names_or_texts[prediction.max_confidence_index] == "action_listen"


def test_a_fresh_message_is_left_to_the_other_policies(guard: TurnGuardPolicy) -> None:
    assert not listens(guard, tracker(said()))


def test_the_clarifying_question_ends_the_turn(guard: TurnGuardPolicy) -> None:
    """The lock: report_form rejected, action_clarify, report_form again … ten times."""
    state = tracker(
        ActiveLoop("report_form"),
        said(),
        ActionExecutionRejected("report_form"),
        ActionExecuted("action_clarify"),
    )
    assert listens(guard, state)


def test_an_action_repeated_in_one_turn_ends_it(guard: TurnGuardPolicy) -> None:
    state = tracker(
        said(), ActionExecuted("report_form"), ActionExecuted("utter_help"), ActionExecuted("report_form")
    )
    assert listens(guard, state)
    assert not listens(guard, tracker(said(), ActionExecuted("utter_help"), ActionExecuted("report_form")))


def test_a_long_turn_ends_before_the_circuit_breaker(guard: TurnGuardPolicy) -> None:
    names = [f"utter_step_{n}" for n in range(6)]
    assert listens(guard, tracker(said(), *(ActionExecuted(name) for name in names)))
    assert not listens(guard, tracker(said(), *(ActionExecuted(name) for name in names[:5])))


def test_the_turn_is_counted_from_the_latest_message() -> None:
    state = tracker(said(), ActionExecuted("utter_help"), ActionExecuted("action_listen"), said("再说一遍"))
    assert actions_this_turn(state) == []
    state.update(ActionExecuted("report_form"))
    assert actions_this_turn(state) == ["report_form"]


def test_a_message_after_a_turn_cut_short_is_still_heard(tmp_path: Path) -> None:
    """After a circuit breaker the next message follows action_clarify, not action_listen."""
    danger = said(
        "他拿着刀说要杀了我", entities=[{"entity": "risk", "value": "weapon", "start": 2, "end": 3}]
    )
    state = tracker(said(), ActionExecuted("action_clarify"), danger)
    assert state.latest_action_name == "action_clarify" and user_spoke_last(state)
    safety = SafetyPolicy.create(
        SafetyPolicy.get_default_config(), LocalModelStorage.create(tmp_path), Resource("safety"), CONTEXT
    )
    assert safety.next_action(state) == "action_safety"
