"""Which language the gateway writes in, one rule per reader, so a resident, an officer and a case are
never addressed by two different guesses.

- a resident: their /language choice, else their Telegram app's language, else the station's default;
- someone not yet known (an officer registering, a stranger typing an officer command): the app's
  language, else Chinese;
- an officer (case cards, reminders, breach messages, every console reply): the roster's ``language``
  for them, else the language of their Telegram app when they sent /register (stored with their account,
  updated when they register again), else the gateway's officer language (the station's default);
- a case's notices and buttons: the case's own language (the resident's when they reported), else the
  caller's fallback.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from telegram import Update, User

from hemu import LANGUAGES
from hemu.language import client_language
from hemu.settings import Settings
from hemu.store import CaseRecord

if TYPE_CHECKING:  # the gateway's context imports the handlers that import this module
    from bot.gateway import Gateway

# When nobody is known yet and the app's language is neither of ours.
FALLBACK = "zh"


def chosen(user_data: dict[str, Any] | None) -> str | None:
    """The resident's /language choice, if they made one."""
    value = (user_data or {}).get("language")
    return value if value in LANGUAGES else None


def resident(gateway: Gateway, user: User | None, user_data: dict[str, Any] | None) -> str:
    return (
        chosen(user_data)
        or client_language(user.language_code if user else None)
        or gateway.settings.station.station.default_language
    )


def telegram_app(update: Update) -> str:
    user = update.effective_user
    return client_language(user.language_code if user else None) or FALLBACK


def officer(settings: Settings, officer_id: str | None, default: str, app: str | None = None) -> str:
    """The officer rule: the roster's language, else ``app`` (their Telegram app's at /register), else
    ``default``."""
    found = settings.roster.officer(officer_id) if officer_id else None
    language = getattr(found, "language", None) if found is not None else None
    if language in LANGUAGES:
        return language
    return app if app in LANGUAGES else default


def with_app(gateway: Gateway, officer_id: str | None, app: str | None) -> str:
    """The officer rule when their stored app language is at hand: the account lookup that finds their
    chat brings it (``OfficerAccount.language``), or /register has just stored it."""
    return officer(gateway.settings, officer_id, gateway.officer_language, app)


def of_case(case: CaseRecord, default: str) -> str:
    return case.language if case.language in LANGUAGES else default


__all__ = ["FALLBACK", "chosen", "of_case", "officer", "resident", "telegram_app", "with_app"]
