"""The danger detector on its own: trained in pytest's temp dir, no Rasa model needed.

Cases come from risk_cases_<lang>.yml, written apart from the training data; a positive case passes
when at least one of its labels is found, a negative one when nothing is.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.loading import load_data
from rasa.shared.nlu.training_data.message import Message

from components.risk import RiskEntityExtractor, load_examples

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]


def cases(language: str, positive: bool) -> list[tuple[str, list[str]]]:
    return [
        (text, labels)
        for text, labels in load_examples(HERE / f"risk_cases_{language}.yml")
        if bool(labels) == positive
    ]


@pytest.fixture(scope="module")
def storage(tmp_path_factory: pytest.TempPathFactory) -> LocalModelStorage:
    return LocalModelStorage.create(tmp_path_factory.mktemp("risk-model"))


@pytest.fixture(scope="module")
def trained(storage: LocalModelStorage) -> RiskEntityExtractor:
    """Trained once for the module on the repository's risk and NLU data, as `rasa train` does."""
    config = {
        **RiskEntityExtractor.get_default_config(),
        "lexicon": str(REPO / "risk/lexicon.yml"),
        "examples": [str(REPO / "risk/train_zh.yml"), str(REPO / "risk/train_en.yml")],
    }
    context = ExecutionContext(GraphSchema({}), "risk-test")
    component = RiskEntityExtractor.create(config, storage, Resource("risk"), context)
    component.train(load_data(str(REPO / "data/nlu")))
    return RiskEntityExtractor.load(config, storage, Resource("risk"), context)


def test_the_case_files_are_big_enough() -> None:
    for language in ("zh", "en"):
        assert len(cases(language, positive=True)) >= 40
        assert len(cases(language, positive=False)) >= 30


@pytest.mark.parametrize(("text", "labels"), cases("zh", True) + cases("en", True))
def test_danger_is_found(trained: RiskEntityExtractor, text: str, labels: list[str]) -> None:
    found = trained.labels(text)
    assert found & set(labels), f"expected one of {labels}, found {sorted(found)}"


@pytest.mark.parametrize(("text", "labels"), cases("zh", False) + cases("en", False))
def test_harmless_message_stays_silent(trained: RiskEntityExtractor, text: str, labels: list[str]) -> None:
    assert trained.labels(text) == set()


def test_entities_are_appended_not_overwritten(trained: RiskEntityExtractor) -> None:
    existing = {"entity": "harm", "value": "none", "start": 0, "end": 1}
    message = Message(data={"text": "他拿着菜刀说要砍死我们", "entities": [existing]})
    trained.process([message])
    entities = message.get("entities")
    assert entities[0] == existing
    risks = [e for e in entities if e["entity"] == "risk"]
    assert {e["value"] for e in risks} >= {"weapon", "threat"}
    for entity in risks:
        assert entity["extractor"] == "RiskEntityExtractor"
        assert message.get("text")[entity["start"] : entity["end"]] == entity["text"]


def test_button_payloads_are_not_screened(trained: RiskEntityExtractor) -> None:
    message = Message(data={"text": '/inform{"harm":"none"}'})
    trained.process([message])
    assert not message.get("entities")


def test_negation_silences_the_lexicon(storage: LocalModelStorage) -> None:
    """Without training, the lexicon alone still screens, and respects negation."""
    untrained = RiskEntityExtractor(
        {"lexicon": str(REPO / "risk/lexicon.yml")}, storage, Resource("untrained")
    )
    assert untrained.labels("他打我") == {"violence"}
    assert untrained.labels("他没打我") == set()
    assert untrained.labels("有事打我电话") == set()
    assert untrained.labels("he never hit me") == set()


def test_loading_without_an_artefact_falls_back_to_the_lexicon(tmp_path: Path) -> None:
    storage = LocalModelStorage.create(tmp_path)
    context = ExecutionContext(GraphSchema({}), "risk-test")
    component = RiskEntityExtractor.load(
        {"lexicon": str(REPO / "risk/lexicon.yml")}, storage, Resource("missing"), context
    )
    assert component.labels("他拿着菜刀站在门口") >= {"weapon"}
