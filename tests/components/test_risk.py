"""The danger detector as Rasa runs it: rules and the classifier of the trained model, with tiers.

The classifier is the one `make train` put in the model (no second training here). Cases come from
risk_cases_<lang>.yml, written apart from the training data: a danger case counts as found when at
least one of its labels is found in either tier; a harmless one must get no clear (paging) signal.
The mechanics (tiers, offsets, appending, the rules-only fallback) are tested with a small classifier
trained in the temp dir.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from components.risk import RiskEntityExtractor, load_examples
from hemu.policy import DangerPolicy
from scripts.train import model_path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
CONTEXT = ExecutionContext(GraphSchema({}), "risk-test")


def cases(language: str, positive: bool) -> list[tuple[str, list[str]]]:
    return [
        (text, labels)
        for text, labels in load_examples(HERE / f"risk_cases_{language}.yml")
        if bool(labels) == positive
    ]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RiskEntityExtractor]:
    """The component exactly as the trained model holds it."""
    model = model_path()
    if not model.is_file():
        pytest.fail(f"no trained model at {model}: run `make train` (make test does)")
    storage, metadata = LocalModelStorage.from_model_archive(tmp_path_factory.mktemp("model"), model)
    node = next(node for node in metadata.predict_schema.nodes.values() if node.uses is RiskEntityExtractor)
    yield RiskEntityExtractor.load(node.config, storage, node.resource, CONTEXT)


def clear_labels(component: RiskEntityExtractor, text: str) -> set[str]:
    return {finding.label for finding in component.findings(text) if finding.tier == "clear"}


def test_the_case_files_are_big_enough() -> None:
    for language in ("zh", "en"):
        assert len(cases(language, positive=True)) >= 40
        assert len(cases(language, positive=False)) >= 30


# Floors that catch a regression, not the targets (recall 0.98, urgent pages <= 2 %), which
# `make eval` and `make bench` measure on the held-out and outside sets. Misses are listed so a
# failure says what to look at.
MIN_RECALL = 0.95
MAX_PAGES = 0.05


@pytest.mark.rasa
@pytest.mark.parametrize("language", ["zh", "en"])
def test_danger_cases_are_found(trained: RiskEntityExtractor, language: str) -> None:
    positives = cases(language, positive=True)
    missed = [(text, labels) for text, labels in positives if not trained.labels(text)]
    recall = 1 - len(missed) / len(positives)
    assert recall >= MIN_RECALL, f"recall {recall:.3f}; missed: {missed}"


@pytest.mark.rasa
@pytest.mark.parametrize("language", ["zh", "en"])
def test_harmless_cases_do_not_page(trained: RiskEntityExtractor, language: str) -> None:
    negatives = cases(language, positive=False)
    pages = [(text, trained.findings(text)) for text, _ in negatives if clear_labels(trained, text)]
    rate = len(pages) / len(negatives)
    assert rate <= MAX_PAGES, f"urgent pages {rate:.3f}: {pages}"


# Messages the issue and the spec name explicitly: these must be right every time.
@pytest.mark.rasa
@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("他拿着菜刀站在门口 说要砍我", "weapon"),
        ("我老公又动手打我了", "violence"),
        ("她说再这样就喝农药", "self_harm"),
        ("他说要弄死你们全家", "threat"),
        ("he hit me again last night", "violence"),
        ("my son says he wants to kill himself", "self_harm"),
        ("the neighbour was waving a knife at my door", "weapon"),
        ("/report_noise 他拿刀说要砍死我", "threat"),
    ],
)
def test_explicit_danger_is_always_found(trained: RiskEntityExtractor, text: str, label: str) -> None:
    assert label in clear_labels(trained, text)


@pytest.mark.rasa
@pytest.mark.parametrize(
    "text",
    [
        "吵死了",
        "楼上装修吵死了，烦死了",
        "我刚打扫完楼道",
        "有事打我电话",
        "他没打我",
        "我老公最近老跟我吵架",
        "最近老吵",
        "我老公一生气就拍桌子，摔东西",
        "my husband hits the table when angry",
        "the noise is killing me",
        "we fought about the bins, just shouting",
        "he never hit me",
        "she threatened to sue me over the fence",
        "婆婆天天挑我毛病，今天又当着孩子的面骂我，我实在受不了了",
        "我实在受不了了",
        "楼上天天半夜跺脚，我快崩溃了",
        "I can't take it anymore, the dog barks all night",
    ],
)
def test_everyday_words_never_page(trained: RiskEntityExtractor, text: str) -> None:
    assert clear_labels(trained, text) == set(), trained.findings(text)


# -- mechanics, with a small classifier --------------------------------------------------------


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> RiskEntityExtractor:
    """A classifier trained in seconds on a slice of the data: enough to test the plumbing."""
    storage = LocalModelStorage.create(tmp_path_factory.mktemp("small"))
    config = {"examples": [str(REPO / "risk/train_zh.yml")], "epochs": 1, "architecture": "bow"}
    component = RiskEntityExtractor.create(config, storage, Resource("risk"), CONTEXT)
    component.train(TrainingData([Message(data={"text": "楼上太吵", "intent": "report_noise"})]))
    return RiskEntityExtractor.load(config, storage, Resource("risk"), CONTEXT)


def test_several_classifiers_are_saved_loaded_and_averaged(tmp_path: Path) -> None:
    storage = LocalModelStorage.create(tmp_path)
    config = {
        "examples": [str(REPO / "risk/train_zh.yml")],
        "epochs": 1,
        "architecture": "bow",
        "members": 2,
    }
    component = RiskEntityExtractor.create(config, storage, Resource("risk"), CONTEXT)
    component.train(TrainingData([Message(data={"text": "楼上太吵", "intent": "report_noise"})]))
    loaded = RiskEntityExtractor.load(config, storage, Resource("risk"), CONTEXT)
    assert len(loaded._members) == 2
    text = "他拿着菜刀说要砍死我们"
    each = [member(text).cats for member in loaded._members]
    assert each[0] != each[1], "two seeds, two different classifiers"
    averaged = loaded.scores(text)
    for label, score in averaged.items():
        assert score == pytest.approx((each[0][label] + each[1][label]) / 2)


def test_entities_are_appended_with_tier_and_offsets(small: RiskEntityExtractor) -> None:
    existing = {"entity": "harm", "value": "none", "start": 0, "end": 1}
    message = Message(data={"text": "  他拿着菜刀说要砍死我们", "entities": [existing]})
    small.process([message])
    entities = message.get("entities")
    assert entities[0] == existing
    risks = [e for e in entities if e["entity"] == "risk"]
    assert {e["value"] for e in risks} >= {"weapon", "threat"}
    for entity in risks:
        assert entity["extractor"] == "RiskEntityExtractor"
        assert entity["tier"] in ("clear", "uncertain")
        assert message.get("text")[entity["start"] : entity["end"]] == entity["text"]


def test_text_after_a_slash_is_screened_too(small: RiskEntityExtractor) -> None:
    message = Message(data={"text": "/他拿刀说要砍死我"})
    small.process([message])
    assert {e["value"] for e in message.get("entities")} >= {"threat"}


def test_button_payload_words_raise_nothing(small: RiskEntityExtractor) -> None:
    message = Message(data={"text": '/inform{"harm":"none"}'})
    small.process([message])
    assert not clear_labels(small, '/inform{"harm":"none"}')


def scripted(tmp_path: Path, scores: dict[str, float], **danger: object) -> RiskEntityExtractor:
    """A component whose classifier answers ``scores`` for any text, with thresholds 0.4 and 0.9."""
    policy = DangerPolicy(**{"clear_threshold": 0.9, "uncertain_threshold": 0.4, **danger})
    component = RiskEntityExtractor({}, LocalModelStorage.create(tmp_path), Resource("r"), danger=policy)
    component.scores = lambda text: scores  # type: ignore[method-assign]
    return component


def test_classifier_scores_fall_into_tiers(tmp_path: Path) -> None:
    """Between the thresholds a classifier-only label is uncertain; above, clear; below, nothing."""
    component = scripted(tmp_path, {"violence": 0.95, "threat": 0.5, "weapon": 0.1, "self_harm": 0.0})
    tiers = {finding.label: finding.tier for finding in component.findings("一段普通的话")}
    assert tiers == {"violence": "clear", "threat": "uncertain"}


def test_a_classifier_hit_on_a_message_with_a_look_alike_asks_rather_than_pages(tmp_path: Path) -> None:
    """With "threatened to divorce" blanked the classifier reads a sentence with holes: ask, don't page."""
    divorce = "He threatened to divorce me if I go on the trip with my friends"
    component = scripted(tmp_path, {"threat": 0.95})
    (finding,) = component.findings(divorce)
    assert (finding.label, finding.tier) == ("threat", "uncertain")
    (plain,) = component.findings("He keeps saying things about me and my friends on the trip")
    assert plain.tier == "clear"
    paging = scripted(tmp_path / "paging", {"threat": 0.95}, classifier_pages_after_look_alike=True)
    (finding,) = paging.findings(divorce)
    assert finding.tier == "clear"


@pytest.mark.parametrize("text", ["whatever", "since last spring", "他又来了", "随便吧"])
def test_the_classifier_does_not_read_a_few_words(tmp_path: Path, text: str) -> None:
    """Three words say too little for the classifier: short lines are where it guesses danger."""
    assert scripted(tmp_path, {"threat": 0.95}).findings(text) == []


def test_four_words_are_read(tmp_path: Path) -> None:
    (finding,) = scripted(tmp_path, {"threat": 0.95}).findings("he keeps coming back here")
    assert finding.tier == "clear"


def test_a_rule_match_outranks_an_uncertain_score(tmp_path: Path) -> None:
    component = scripted(tmp_path, {"violence": 0.5})
    (finding,) = component.findings("他又打我了")
    assert (finding.label, finding.tier) == ("violence", "clear")
    assert finding.family == "harm_to_person"


def test_loading_without_an_artefact_falls_back_to_the_rules(tmp_path: Path) -> None:
    storage = LocalModelStorage.create(tmp_path)
    component = RiskEntityExtractor.load({}, storage, Resource("missing"), CONTEXT)
    assert component.labels("他拿着菜刀朝我砍过来") >= {"weapon"}
    assert component.labels("他没打我") == set()


@pytest.mark.rasa
@pytest.mark.parametrize("text", ["我老婆要杀了我", "my brother is going to kill me"])
def test_a_threat_nobody_is_quoted_saying_asks_rather_than_pages(
    trained: RiskEntityExtractor, text: str
) -> None:
    """The end-to-end tier tests (tests/e2e) rely on these being uncertain, not clear."""
    findings = trained.findings(text)
    assert findings and all(finding.tier == "uncertain" for finding in findings), findings
