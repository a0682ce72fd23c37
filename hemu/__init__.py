"""Hemu's domain package: station configuration, language, guidance content and intake rules.

Plain Python shared by ``actions/`` (the Rasa action server) and ``bot/`` (the Telegram gateway);
nothing here imports Rasa or Telegram.
"""

LANGUAGES = ("zh", "en")
