"""``python -m bot``: run the gateway (long polling, or a webhook when HEMU_WEBHOOK_URL is set).

``python -m bot --check`` only loads the configuration and texts and reports problems, without
contacting Telegram: ``make check-config`` runs it so a bad deployment fails before it starts.
"""

from __future__ import annotations

import logging
import os
import sys

# The gateway's danger rules use spaCy, whose thinc probes for TensorFlow at import: about 3 s and 450 MB
# the gateway never uses (it trains and runs no model). Declared absent for this process only; the Rasa
# processes, and tests that import both, are untouched.
sys.modules.setdefault("tensorflow", None)  # type: ignore[arg-type]

from telegram import Update  # noqa: E402

from bot.app import build_application, check_configuration, webhook_options  # noqa: E402
from bot.config import load_gateway_config  # noqa: E402
from hemu import logs  # noqa: E402
from hemu.errors import ConfigError  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    logging.basicConfig(
        level=os.environ.get("HEMU_LOG_LEVEL", "INFO"),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per poll otherwise
    logs.install()  # log lines hold ids, not residents' words (hemu.logs)
    try:
        config = load_gateway_config()
        if "--check" in argv:
            check_configuration()
            print("gateway configuration and texts: ok")
            return 0
        application = build_application(config)
    except ConfigError as error:
        print(f"Hemu gateway: bad configuration:\n{error}", file=sys.stderr)
        return 2
    try:
        if config.webhook_url:
            application.run_webhook(**webhook_options(config), bootstrap_retries=-1)
        else:
            application.run_polling(
                timeout=config.telegram.poll, allowed_updates=Update.ALL_TYPES, bootstrap_retries=-1
            )
    except ConfigError as error:  # found at start-up (post_init): e.g. the sandbox's database
        print(f"Hemu gateway: refusing to start:\n{error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
