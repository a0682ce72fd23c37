"""The danger detector on its own: trained in pytest's temp dir, no Rasa model needed.

Cases come from risk_cases_<lang>.yml, written apart from the training data: a danger case counts as
found when at least one of its labels is found, a harmless one when nothing is.
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

pytestmark = pytest.mark.slow

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


# The detector is statistical: these are floors that catch a regression, not the targets (recall
# 1.00, false alarms <= 5 %), which `make bench` measures on the held-out set. Misses are listed so a
# failure says what to teach it.
MIN_RECALL = 0.88
MAX_FALSE_ALARMS = 0.15


@pytest.mark.parametrize("language", ["zh", "en"])
def test_danger_cases_are_found(trained: RiskEntityExtractor, language: str) -> None:
    positives = cases(language, positive=True)
    missed = [(text, labels) for text, labels in positives if not trained.labels(text) & set(labels)]
    recall = 1 - len(missed) / len(positives)
    assert recall >= MIN_RECALL, f"recall {recall:.3f}; missed: {missed}"


@pytest.mark.parametrize("language", ["zh", "en"])
def test_harmless_cases_stay_silent(trained: RiskEntityExtractor, language: str) -> None:
    negatives = cases(language, positive=False)
    alarms = [(text, sorted(trained.labels(text))) for text, _ in negatives if trained.labels(text)]
    rate = len(alarms) / len(negatives)
    assert rate <= MAX_FALSE_ALARMS, f"false alarms {rate:.3f}: {alarms}"


# Messages the issue and the spec name explicitly: these must be right every time.
@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("他拿着菜刀站在门口", "weapon"),
        ("我老公又动手打我了", "violence"),
        ("她说再这样就喝农药", "self_harm"),
        ("他说要弄死你们全家", "threat"),
        ("he said he'd finish us", "threat"),
        ("he hit me again last night", "violence"),
        ("my son says he wants to kill himself", "self_harm"),
        ("the neighbour was waving a knife at my door", "weapon"),
    ],
)
def test_explicit_danger_is_always_found(trained: RiskEntityExtractor, text: str, label: str) -> None:
    assert label in trained.labels(text)


@pytest.mark.parametrize(
    "text",
    [
        "吵死了",
        "楼上装修吵死了，烦死了",
        "我刚打扫完楼道",
        "有事打我电话",
        "他没打我",
        "the noise is killing me",
        "we fought about the bins, just shouting",
        "he never hit me",
        "she threatened to sue me over the fence",
    ],
)
def test_everyday_words_never_alarm(trained: RiskEntityExtractor, text: str) -> None:
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
