"""KnownAnswers: a training example, typed by a resident, gets the intent it was labelled with."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import yaml
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from components.known_answers import KnownAnswers, build_table, key
from scripts.train import model_path


def diet_said(text: str, ranking: list[tuple[str, float]]) -> Message:
    return Message(
        data={
            "text": text,
            "intent": {"name": ranking[0][0], "confidence": ranking[0][1]},
            "intent_ranking": [{"name": name, "confidence": value} for name, value in ranking],
        }
    )


def example(text: str, intent: str) -> Message:
    return Message(data={"text": text, "intent": intent})


def test_the_same_answer_is_one_key_whatever_its_width_case_and_punctuation() -> None:
    assert key("好的！") == key("好的") == key(" 好的 。")
    assert key("Yes.") == key("ＹＥＳ") == key("yes")
    assert key("no  thanks!") == "no thanks"
    assert key("好的吧") != key("好的") and key("yes please") != key("yes")


def test_a_text_labelled_with_two_intents_is_left_to_diet() -> None:
    table = build_table([("是", "affirm"), ("算了", "cancel"), ("算了", "deny"), ("/affirm", "affirm")])
    assert table == {"是": "affirm"}


def test_a_known_answer_leads_with_full_confidence_and_diets_ranking_follows(tmp_path: Path) -> None:
    component = KnownAnswers(LocalModelStorage(tmp_path), Resource("known"), {"是": "affirm"})
    unsure = diet_said("是！", [("ask_privacy", 0.09), ("affirm", 0.08), ("greet", 0.07)])
    component.process([unsure])
    assert unsure.get("intent") == {"name": "affirm", "confidence": 1.0}
    assert [r["name"] for r in unsure.get("intent_ranking")] == ["affirm", "ask_privacy", "greet"]


def test_the_danger_found_in_a_known_answer_stays_with_it(tmp_path: Path) -> None:
    """Only the intent changes: the risk entities the screening adds, which decide the safety reply
    and the emergency number, are never touched."""
    component = KnownAnswers(LocalModelStorage(tmp_path), Resource("known"), {"是": "affirm"})
    risk = {"entity": "risk", "value": "violence", "extractor": "RiskEntityExtractor"}
    answer = diet_said("是", [("affirm", 0.1)])
    answer.set("entities", [risk], add_to_output=True)
    component.process([answer])
    assert answer.get("intent")["name"] == "affirm" and answer.get("entities") == [risk]


def test_other_messages_and_payloads_are_left_alone(tmp_path: Path) -> None:
    component = KnownAnswers(LocalModelStorage(tmp_path), Resource("known"), {"是": "affirm"})
    story = diet_said("是楼上那家", [("report_noise", 0.7), ("affirm", 0.2)])
    payload = diet_said("/deny", [("deny", 1.0)])
    component.process([story, payload])
    assert story.get("intent")["name"] == "report_noise"
    assert payload.get("intent")["name"] == "deny"


def test_the_table_is_trained_from_the_data_and_survives_the_model_archive(tmp_path: Path) -> None:
    storage = LocalModelStorage(tmp_path)
    resource = Resource("known")
    context = ExecutionContext(GraphSchema({}), "test")
    trained = KnownAnswers.create({}, storage, resource, context)
    trained.train(TrainingData([example("好的", "affirm"), example("没有", "deny")]))
    loaded = KnownAnswers.load({}, storage, resource, context)
    message = diet_said("没有。", [("dont_know", 0.2), ("deny", 0.19)])
    loaded.process([message])
    assert message.get("intent") == {"name": "deny", "confidence": 1.0}


SHORT_ANSWERS = {
    "affirm": ["是", "是的", "好的", "对", "嗯", "可以", "好的！", "yes", "Yes.", "yeah", "ok", "sure"],
    "deny": ["不是", "没有", "不用了", "不要", "no", "No.", "nope", "no thanks"],
}


@pytest.mark.rasa
def test_short_answers_are_understood_by_the_trained_model() -> None:
    """The confirm and yes/no steps of every conversation depend on these; a bare "好的" answered
    with "I'm not sure I understood" is what the first version of this component fixed."""
    from rasa.core.agent import Agent

    model = model_path()
    if not model.is_file():
        pytest.fail(f"no trained model at {model}: run `make train` (make test does)")
    agent = Agent.load(str(model))
    threshold = fallback_threshold()
    misread = {}
    for intent, texts in SHORT_ANSWERS.items():
        for text in texts:
            parsed = asyncio.run(agent.parse_message(text))["intent"]
            if parsed["name"] != intent or parsed["confidence"] < threshold:
                misread[text] = (parsed["name"], round(parsed["confidence"], 2))
    assert misread == {}


def fallback_threshold() -> float:
    """Below this confidence the resident is asked instead of understood (config.yml)."""
    config = yaml.safe_load((Path(__file__).resolve().parents[2] / "config.yml").read_text(encoding="utf-8"))
    return next(float(c["threshold"]) for c in config["pipeline"] if c["name"] == "FallbackClassifier")
