"""DIET loaded by a forward pass instead of a training step answers exactly as Rasa's own load does."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from scripts.nlu_scores import LANGUAGES, outside_set
from scripts.train import model_path


def _answers(agent: Any, texts: list[str]) -> list[tuple[Any, ...]]:
    async def parse_all() -> list[dict[str, Any]]:
        return [await agent.parse_message(text) for text in texts]

    parsed_all = asyncio.run(parse_all())
    return [(parsed["intent"], parsed["intent_ranking"], parsed["entities"]) for parsed in parsed_all]


@pytest.fixture
def rasa_load() -> Iterator[None]:
    from rasa_addons import fast_load

    yield
    fast_load.uninstall()


@pytest.mark.rasa
@pytest.mark.usefixtures("rasa_load")
def test_the_fast_load_answers_bit_for_bit_as_rasas_own() -> None:
    from rasa.core.agent import Agent
    from rasa.utils.tensorflow.models import RasaModel

    from rasa_addons import fast_load

    model = model_path()
    if not model.is_file():
        pytest.fail(f"no trained model at {model}: run `make train` (make test does)")
    texts = [example.text for language in LANGUAGES for example in outside_set(language)]
    assert len(texts) > 300

    fast_load.uninstall()
    expected = _answers(Agent.load(str(model)), texts)
    trained_steps = 0
    fit = RasaModel.fit

    def counted_fit(self: RasaModel, *args: Any, **kwargs: Any) -> Any:
        nonlocal trained_steps
        trained_steps += 1
        return fit(self, *args, **kwargs)

    fast_load.install()
    RasaModel.fit = counted_fit  # type: ignore[method-assign]
    try:
        got = _answers(Agent.load(str(model)), texts)
    finally:
        RasaModel.fit = fit  # type: ignore[method-assign]
    assert trained_steps == 0  # the point: no training step at load
    differing = [text for text, a, b in zip(texts, expected, got, strict=True) if a != b]
    assert differing == []
    # the comparison sees the intents and the danger screen's entities, not a constant
    assert len({answer[0]["name"] for answer in got}) > 10
    assert any(answer[2] for answer in got)
