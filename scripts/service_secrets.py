"""The secrets Hemu's own processes share: Rasa's API token and the action server's secret.

One run of ``start_all`` (``make run``, the end-to-end tests, the benchmarks) gives every process the same
pair: the environment's when set (a deployment's), else fresh random ones for this run. Rasa gets its token
through ``rasa_addons.serve``; the action server checks its secret in ``actions.server``; Rasa sends that
secret from its endpoints file (:func:`scripts.endpoints.write_endpoints`), which names the variable only.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping

RASA_TOKEN_ENV = "HEMU_RASA_TOKEN"
ACTIONS_SECRET_ENV = "HEMU_ACTIONS_SECRET"
# actions.server's header, repeated (that module loads rasa_sdk; the supervisor need not).
ACTIONS_SECRET_HEADER = "X-Hemu-Actions-Secret"


def with_secrets(env: Mapping[str, str]) -> dict[str, str]:
    """Both secrets: ``env``'s, else fresh ones."""
    return {
        name: env.get(name, "").strip() or secrets.token_urlsafe(32)
        for name in (RASA_TOKEN_ENV, ACTIONS_SECRET_ENV)
    }
