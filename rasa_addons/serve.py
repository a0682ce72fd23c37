"""``rasa run`` with its HTTP API behind a token that never appears on a command line.

Rasa takes its API token only as ``--auth-token`` on the command line, which every local user can read
(``ps``, ``/proc/<pid>/cmdline``). This launcher reads it from ``HEMU_RASA_TOKEN`` and hands it to Rasa's
own command line parser in this process's ``sys.argv`` — the operating system still shows the launcher's
arguments without it. With the token, every endpoint of Rasa's HTTP API (``/conversations/…``,
``/model/…``, ``/status``) answers 401 to a request without ``?token=…``; the REST channel's webhook, which
the gateway uses for turns, is a channel and stays open to local callers (README, "Security and
privacy"). Without a token the launcher refuses to start with ``--enable-api``.

Rasa's own log lines pass through :func:`hemu.logs.install` like the gateway's and the action server's:
one line per entry, phone numbers masked (Rasa logs residents' texts only at DEBUG, but a library's error
can quote anything).

The action server's answers are checked against Rasa's schema with a validator built once
(:mod:`rasa_addons.action_validation`), not rebuilt for every custom action; DIET's weights are loaded
without Rasa's one training step (:mod:`rasa_addons.fast_load`).

``python -m rasa_addons.serve run --model … --enable-api …`` — the same arguments as ``rasa run``.
"""

from __future__ import annotations

import os
import sys

from hemu import logs

TOKEN_ENV = "HEMU_RASA_TOKEN"


def arguments(argv: list[str], token: str) -> list[str]:
    """Rasa's own argv: ``rasa`` + ``argv`` + the token where the API is enabled."""
    if any(arg in ("-t", "--auth-token") or arg.startswith("--auth-token=") for arg in argv):
        raise SystemExit(f"give Rasa's token in {TOKEN_ENV}, never on the command line")
    if "--enable-api" in argv:
        if len(token) < 16:
            raise SystemExit(
                f"{TOKEN_ENV} must be set to a token of at least 16 characters with --enable-api"
            )
        # One argument with "=": a token starting with "-" (token_urlsafe gives one in 64) is otherwise
        # read by argparse as an option, and Rasa refuses to start.
        return ["rasa", *argv, f"--auth-token={token}"]
    return ["rasa", *argv]


def main() -> None:
    sys.argv = arguments(sys.argv[1:], os.environ.get(TOKEN_ENV, "").strip())
    logs.install()  # Rasa's log lines too: ids, not residents' words
    # TensorFlow imports jax when it is installed (it is, as TensorFlow's dependency) only to convert jax
    # models for TF Lite: ~1 s of every start for nothing Rasa does. Declared absent in Rasa's process.
    sys.modules.setdefault("jax", None)  # type: ignore[arg-type]
    from rasa.__main__ import main as rasa_main  # imported late: Rasa's start-up is heavy

    from rasa_addons import action_validation, fast_load

    action_validation.install()  # the action server's answers checked without rebuilding the schema
    fast_load.install()  # DIET's weights without a training step: seconds off every start
    rasa_main()


if __name__ == "__main__":
    main()
