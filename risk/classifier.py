"""Training the danger classifier(s): a spaCy multi-label text classifier over the character tokens.

Kept apart from the Rasa component (:mod:`components.risk`) so that a fresh worker process can train
one classifier importing spaCy alone: the component trains its several classifiers side by side,
one process each, because each is single-threaded and ``rasa train`` must stay within five minutes
on a two-core machine (issue 9). Nothing here imports Rasa or TensorFlow.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import random
import tempfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import spacy
from spacy.training import Example

from risk.labels import RISK_LABELS
from risk.normalise import normalise
from risk.tokens import blank_char_pipeline

logger = logging.getLogger(__name__)

Labelled = tuple[str, list[str]]


@dataclass(frozen=True)
class Settings:
    """How one classifier is trained (the component's config, resolved)."""

    model: dict[str, Any]  # the textcat_multilabel "model" block (spaCy architecture config)
    epochs: int
    dropout: float
    positive_weight: int  # danger lines repeated this often per epoch: they are outnumbered


def train_one(examples: list[Labelled], seed: int, settings: Settings) -> spacy.Language:
    """One classifier; the same ``seed`` and examples give the same classifier in any process."""
    spacy.util.fix_random_seed(seed)
    rng = random.Random(seed)
    nlp = blank_char_pipeline()
    textcat = nlp.add_pipe("textcat_multilabel", config={"model": settings.model})
    for label in RISK_LABELS:
        textcat.add_label(label)
    spacy_examples = [
        Example.from_dict(
            nlp.make_doc(normalise(text)),
            {"cats": {label: float(label in labels) for label in RISK_LABELS}},
        )
        for text, labels in examples
    ]
    weighted = [
        example
        for example, (_, labels) in zip(spacy_examples, examples, strict=True)
        for _ in range(settings.positive_weight if labels else 1)
    ]
    optimizer = nlp.initialize(lambda: spacy_examples)
    for epoch in range(settings.epochs):
        rng.shuffle(weighted)
        losses: dict[str, float] = {}
        for batch in spacy.util.minibatch(weighted, size=spacy.util.compounding(8, 64, 1.2)):
            nlp.update(batch, sgd=optimizer, drop=settings.dropout, losses=losses)
        logger.debug(
            "risk classifier %d epoch %d loss %.4f", seed, epoch, losses.get("textcat_multilabel", 0)
        )
    return nlp


def _train_to_disk(examples: list[Labelled], seed: int, settings: Settings, directory: str) -> str:
    train_one(examples, seed, settings).to_disk(directory)
    return directory


def train_members(examples: list[Labelled], seeds: list[int], settings: Settings) -> list[spacy.Language]:
    """One classifier per seed, trained in parallel worker processes when there is more than one.

    Workers are spawned, never forked: the parent is ``rasa train``, which has TensorFlow's thread
    pools running by now, and a forked copy of those can deadlock.
    """
    workers = min(len(seeds), os.cpu_count() or 1)
    if workers <= 1:
        return [train_one(examples, seed, settings) for seed in seeds]
    with tempfile.TemporaryDirectory(prefix="hemu-risk-") as scratch:
        directories = [str(Path(scratch) / f"member_{seed}") for seed in seeds]
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            done = list(
                pool.map(
                    _train_to_disk,
                    [examples] * len(seeds),
                    seeds,
                    [settings] * len(seeds),
                    directories,
                )
            )
        return [spacy.load(directory) for directory in done]
