from __future__ import annotations

import pytest

from risk.subject import speaks_of_self


@pytest.mark.parametrize(
    "text",
    ["我不想活了", "活着没意思 我想一了百了", "I keep thinking about ending it", "honestly I can't go on"],
)
def test_the_writer_alone(text: str) -> None:
    assert speaks_of_self(text)


@pytest.mark.parametrize(
    "text",
    [
        "我妈说要喝农药",
        "老公把自己关屋里不吃饭",
        "my son says he wants to kill himself",
        "she took a whole bottle of sleeping pills",
        "天天被他们骂 活着真是没意思",  # unsure who: the reply for someone else, which speaks to both
    ],
)
def test_someone_else_named(text: str) -> None:
    assert not speaks_of_self(text)
