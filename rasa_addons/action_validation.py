"""Rasa checks every answer of the action server against its JSON schema with ``jsonschema.validate``,
which first checks the *schema itself* against the JSON Schema meta-schema and builds a fresh validator
(resolving every ``$ref`` again) — on each custom action, several times per resident turn. py-spy put
29 % of Rasa's CPU there (`make bench-turn`). The schema never changes while Rasa runs, so this checks
it once and keeps the validator: the same answers are accepted and refused, with the same message.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from jsonschema import ValidationError
from jsonschema.exceptions import best_match
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL


@lru_cache(maxsize=1)
def _validator() -> Any:
    schema = RemoteAction.action_response_format_spec()
    cls = validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def validate_action_result(_action: RemoteAction, result: dict[str, Any]) -> bool:
    """``RemoteAction._validate_action_result`` with the validator built once (as ``jsonschema.validate``
    does: the most relevant error is raised)."""
    error = best_match(_validator().iter_errors(result))
    if error is None:
        return True
    error.message += (
        ". Failed to validate Action server response from API, make sure your response from the Action "
        f"endpoint is valid. For more information about the format visit {DOCS_BASE_URL}/custom-actions"
    )
    raise error


def install() -> None:
    """Called by :mod:`rasa_addons.serve` before Rasa starts."""
    RemoteAction._validate_action_result = validate_action_result  # type: ignore[method-assign]


__all__ = ["ValidationError", "install", "validate_action_result"]
