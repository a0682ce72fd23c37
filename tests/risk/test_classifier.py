"""Training the danger classifiers side by side gives the classifiers one process would have trained."""

from __future__ import annotations

import pytest

from risk.classifier import Settings, train_members, train_one

EXAMPLES = [
    ("他拿着菜刀说要砍死我们", ["weapon", "threat"]),
    ("老公又打我了", ["violence"]),
    ("不想活了", ["self_harm"]),
    ("楼上装修太吵了", []),
    ("邻居的狗天天叫", []),
    ("他借了钱一直不还", []),
]

SETTINGS = Settings(
    model={
        "@architectures": "spacy.TextCatBOW.v2",
        "exclusive_classes": False,
        "ngram_size": 2,
        "no_output_layer": False,
    },
    epochs=2,
    dropout=0.0,
    positive_weight=2,
)


def test_parallel_members_equal_the_same_seeds_trained_here() -> None:
    parallel = train_members(EXAMPLES, [0, 1], SETTINGS)
    here = [train_one(EXAMPLES, seed, SETTINGS) for seed in (0, 1)]
    text = "他拿着刀追我"
    for theirs, ours in zip(parallel, here, strict=True):
        for label, score in ours(text).cats.items():
            assert theirs(text).cats[label] == pytest.approx(score, abs=1e-6)
    assert parallel[0](text).cats != parallel[1](text).cats, "two seeds, two classifiers"
