from __future__ import annotations

from pathlib import Path

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, ActiveLoop, SlotSet, UserUttered
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


def uncertain(text: str = "他最近不太对劲", source: str = "classifier") -> UserUttered:
    return UserUttered(
        text,
        {"name": "report_spouse_conflict", "confidence": 0.9},
        [
            {
                "entity": "risk",
                "value": "violence",
                "start": 0,
                "end": 3,
                "tier": "uncertain",
                "source": source,
            }
        ],
    )


def test_an_uncertain_signal_asks_the_danger_question_and_listens(policy: SafetyPolicy) -> None:
    state = tracker(uncertain())
    assert predicted(policy, state) == "action_danger_question"
    state.update(ActionExecuted("action_danger_question"))
    assert predicted(policy, state) == "action_listen"


@pytest.mark.parametrize(
    ("entities", "intent"),
    [
        ([{"entity": "danger_answer", "value": "now"}], "inform"),
        ([{"entity": "danger_answer", "value": "past"}], "inform"),
        ([{"entity": "danger_answer", "value": "none"}], "inform"),
        ([{"entity": "danger_answer", "value": "unanswered"}], "inform"),
        ([], "affirm"),
        ([], "deny"),
    ],
)
def test_the_answer_to_a_waiting_danger_question_is_carried_out(
    policy: SafetyPolicy, entities: list[dict], intent: str
) -> None:
    state = tracker(
        uncertain(),
        ActionExecuted("action_danger_question"),
        SlotSet("danger_question", "pending"),
        ActionExecuted("action_listen"),
        UserUttered("/inform", {"name": intent, "confidence": 1.0}, entities),
    )
    assert predicted(policy, state) == "action_danger_answer"


def test_an_answer_with_no_question_waiting_is_left_to_the_others(policy: SafetyPolicy) -> None:
    state = tracker(UserUttered("是的", {"name": "affirm", "confidence": 1.0}))
    assert predicted(policy, state) is None


@pytest.mark.parametrize(
    ("text", "tier", "source", "expected"),
    [
        # A confident classifier on a few words only asks; a middling one is noise; a rule still pages.
        ("他经常这样", "clear", "classifier", "action_danger_question"),
        ("about three weeks", "uncertain", "classifier", None),
        ("他打我", "clear", "rule:harm_to_person", "action_safety"),
    ],
)
def test_a_short_answer_to_a_form_question(
    policy: SafetyPolicy, text: str, tier: str, source: str, expected: str | None
) -> None:
    entity = {"entity": "risk", "value": "violence", "start": 0, "end": 3, "tier": tier, "source": source}
    short = UserUttered(text, {"name": "inform", "confidence": 0.9}, [entity])
    state = tracker(
        ActionExecuted("report_form"), ActiveLoop("report_form"), ActionExecuted("action_listen"), short
    )
    assert predicted(policy, state) == expected


def test_a_second_uncertain_message_while_the_question_waits_counts_as_yes(policy: SafetyPolicy) -> None:
    state = tracker(
        uncertain(),
        ActionExecuted("action_danger_question"),
        SlotSet("danger_question", "pending"),
        ActionExecuted("action_listen"),
        uncertain("他又来了"),
    )
    assert predicted(policy, state) == "action_danger_answer"


def test_after_the_answer_the_form_resumes_or_hemu_listens(policy: SafetyPolicy) -> None:
    answered = tracker(uncertain(), ActionExecuted("action_danger_answer"))
    assert predicted(policy, answered) == "action_listen"
    in_form = tracker(
        ActionExecuted("report_form"), ActiveLoop("report_form"), ActionExecuted("action_listen"), uncertain()
    )
    in_form.update(ActionExecuted("action_danger_answer"))
    assert predicted(policy, in_form) is None
