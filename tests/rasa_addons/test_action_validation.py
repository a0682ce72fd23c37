"""The action server's answers: the same ones accepted and refused as by Rasa's own check, the schema
checked once instead of on every custom action."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from rasa.core.actions.action import RemoteAction

from rasa_addons import action_validation

GOOD: list[dict[str, Any]] = [
    {"events": [], "responses": []},
    {"events": [{"event": "slot", "name": "area", "value": "滨河社区"}], "responses": [{"text": "好的"}]},
    {"events": [{"event": "active_loop", "name": "report_form"}, {"event": "followup", "name": "x"}]},
]
BAD: list[dict[str, Any]] = [
    {"events": [{"event": "slot", "name": 3}]},
    {"events": "nope"},
    {"events": [{"event": "no_such_event"}]},
    {"responses": ["text"]},
]


@pytest.mark.parametrize("result", GOOD + BAD)
def test_it_decides_as_rasa_does_with_the_same_message(result: dict[str, Any]) -> None:
    action = RemoteAction("action_x", None)
    try:
        expected: str | None = None
        RemoteAction._validate_action_result(action, result)
    except jsonschema.ValidationError as error:
        expected = error.message
    try:
        got: str | None = None
        assert action_validation.validate_action_result(action, result)
    except jsonschema.ValidationError as error:
        got = error.message
    assert got == expected
    assert (got is None) == (result in GOOD)


def test_the_schema_is_checked_once(monkeypatch: pytest.MonkeyPatch) -> None:
    cls = jsonschema.validators.validator_for(RemoteAction.action_response_format_spec())
    original = cls.check_schema.__func__  # type: ignore[attr-defined]
    calls: list[object] = []

    def counting(klass: type, schema: object) -> None:
        calls.append(schema)
        original(klass, schema)

    monkeypatch.setattr(cls, "check_schema", classmethod(counting))
    action = RemoteAction("action_x", None)
    for _ in range(20):
        RemoteAction._validate_action_result(action, GOOD[1])
    assert len(calls) == 20  # Rasa's own: the schema checked on every answer
    calls.clear()
    action_validation._validator.cache_clear()
    for _ in range(20):
        action_validation.validate_action_result(action, GOOD[1])
    assert len(calls) == 1


def test_serve_installs_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(RemoteAction, "_validate_action_result", RemoteAction._validate_action_result)
    action_validation.install()
    assert RemoteAction._validate_action_result is action_validation.validate_action_result
