"""The action server as Hemu runs it: rasa_sdk's own app, answering only Rasa.

``rasa run actions`` accepts any caller: a local process could run ``action_request_officer`` for any
resident, open cases and page officers. Here the same app (``rasa_sdk.endpoint.create_app``, the same
options as ``rasa run actions``) gets one guard: ``/webhook`` and ``/actions`` answer only a request
carrying the shared secret ``HEMU_ACTIONS_SECRET`` in the :data:`HEADER` header, which Rasa sends from
its endpoints file (``headers`` of ``action_endpoint``, the value read from Rasa's environment, never
written into the file: :func:`scripts.endpoints.write_endpoints`). ``/health`` stays open: it says
nothing but "up". Without a secret the server refuses to start: there is no unguarded mode.

``python -m actions.server --port 5055 --actions actions`` (``make run`` makes a fresh secret each run).
"""

from __future__ import annotations

import hmac
import logging
import os
import sys

if __name__ == "__main__":
    # The actions' danger screen uses spaCy, whose thinc probes for TensorFlow at import: ~3 s of every
    # start and ~400 MB the action server never uses (it runs no TensorFlow model). Declared absent for
    # this process only, as the gateway does (bot/__main__.py); tests importing this module are untouched.
    sys.modules.setdefault("tensorflow", None)  # type: ignore[arg-type]

from rasa_sdk import endpoint, utils  # noqa: E402
from sanic import Sanic, response  # noqa: E402
from sanic.request import Request  # noqa: E402
from sanic.response import HTTPResponse  # noqa: E402

SECRET_ENV = "HEMU_ACTIONS_SECRET"
HEADER = "X-Hemu-Actions-Secret"
OPEN_PATHS = frozenset({"/health"})

log = logging.getLogger(__name__)


def secret_from_env() -> str:
    secret = os.environ.get(SECRET_ENV, "").strip()
    if len(secret) < 16:
        raise SystemExit(
            f"{SECRET_ENV} must be set to a shared secret of at least 16 characters (Rasa sends it in "
            f"the {HEADER} header; `make run` makes one for each run)"
        )
    return secret


def guard(app: Sanic, secret: str) -> None:
    """Every path but :data:`OPEN_PATHS` needs the secret; a wrong or missing one gets 403."""

    @app.middleware("request")
    async def only_rasa(request: Request) -> HTTPResponse | None:
        if request.path in OPEN_PATHS:
            return None
        given = request.headers.get(HEADER, "")
        if hmac.compare_digest(given.encode(), secret.encode()):
            return None
        log.warning("refused %s %s: no valid %s header", request.method, request.path, HEADER)
        return response.json({"error": "forbidden"}, status=403)


def main(argv: list[str] | None = None) -> None:
    args = endpoint.create_argument_parser().parse_args(sys.argv[1:] if argv is None else argv)
    secret = secret_from_env()
    utils.configure_colored_logging(args.loglevel)
    utils.update_sanic_log_level()
    app = endpoint.create_app(args.actions, cors_origins=args.cors, auto_reload=args.auto_reload)
    guard(app, secret)
    host = os.environ.get("SANIC_HOST", "127.0.0.1")
    log.info("Action endpoint (Rasa only) is up on http://%s:%s", host, args.port)
    app.run(host, args.port, workers=utils.number_of_sanic_workers())


if __name__ == "__main__":
    main()
