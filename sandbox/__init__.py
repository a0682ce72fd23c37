"""Offline Telegram: a local Bot API server, its control API and the sandbox page.

``sandbox.server.LocalBotApi`` speaks the Bot API on 127.0.0.1 so the gateway runs unchanged without a token;
``sandbox.client`` plays residents and officers from tests; ``python -m sandbox`` serves the page at ``/``.
"""
