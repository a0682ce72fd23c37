from __future__ import annotations

import pytest

from hemu.config import load_station
from hemu.intake import find_area, find_duration, is_dont_know, normalise_harm, read_consent, required_fields


@pytest.mark.parametrize("text", ["不知道", "不清楚。", "I don't know", "no idea", "dunno"])
def test_dont_know(text: str) -> None:
    assert is_dont_know(text)


@pytest.mark.parametrize("text", ["不知道他叫什么，住602", "I know exactly who it is"])
def test_an_answer_with_content_is_not_dont_know(text: str) -> None:
    assert not is_dont_know(text)


@pytest.mark.parametrize(
    ("text", "area_id"),
    [
        ("柳岸花园5栋", "liuan"),
        ("in Donghu Court building 3", "donghu"),
        ("old street by the shop", "laojie"),
        ("幸福路12号", None),
    ],
)
def test_find_area(text: str, area_id: str | None) -> None:
    area = find_area(text, load_station().areas)
    assert (area.id if area else None) == area_id


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("楼上装修半年多了天天吵", "半年多了"),
        ("从去年开始就这样", "从去年开始"),
        ("it has gone on for two weeks now", "for two weeks"),
        ("楼上漏水", None),
    ],
)
def test_find_duration(text: str, expected: str | None) -> None:
    assert find_duration(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("none", "none"),
        ("没人受伤", "none"),
        ("孩子有点怕", "afraid"),
        ("nobody is hurt", "none"),
        ("my mum is scared of him", "afraid"),
    ],
)
def test_normalise_harm(text: str, expected: str) -> None:
    assert normalise_harm(text) == expected


def test_contact_is_only_asked_unless_consent_was_refused() -> None:
    assert "contact" not in required_fields(False)
    assert required_fields(True)[-1] == "contact"
    assert required_fields(None) == ["area", "parties", "duration", "harm", "contact_consent", "contact"]


@pytest.mark.parametrize(
    ("text", "agreed", "contact"),
    [
        ("可以，打我电话 135 0000 1111", True, "打我电话 135 0000 1111"),
        ("yes, call me on 138 0000 2222", True, "call me on 138 0000 2222"),
        ("别打电话 发短信 138-0000-2222", True, "别打电话 发短信 138-0000-2222"),
        ("13800002222", True, "13800002222"),
        ("嗯", True, None),
        ("sure", True, None),
        ("不用了", False, None),
        ("no thanks", False, None),
        ("是谁", None, None),
        ("随便吧", None, None),
        ("yesterday", None, None),
    ],
)
def test_a_typed_answer_to_the_contact_question(text: str, agreed: bool | None, contact: str | None) -> None:
    assert read_consent(text) == (agreed, contact)
