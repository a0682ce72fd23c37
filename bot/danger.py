"""The gateway's own answer to a danger message that no Rasa turn will answer now (SPEC §6).

A rating comment, an edited message, the words after a command and a message kept while Rasa is down are
screened by :mod:`bot.screening`. When the rules find danger, the resident gets from here, at once, what
Rasa's safety flow would have given: the station's emergency numbers with how to get safe, and an urgent
case paged to an officer on duty (:meth:`hemu.desk.Desk.open_urgent_case`), named with a time. The safety
reply goes out before the case store is touched, so nothing behind the desk can delay or stop it; if the
desk cannot be reached the resident is told so and given the numbers again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from telegram import User
from telegram.error import TelegramError
from telegram.ext import Application

from bot import notifier, screening, texts
from bot.gateway import Gateway
from bot.replies import escape
from bot.sending import send
from hemu.config import StationProfile
from hemu.desk import Outcome
from hemu.guidance import load_content
from hemu.language import choose_language
from hemu.when import describe_due
from risk.subject import speaks_of_self

log = logging.getLogger(__name__)

# An urgent case the store could not take is tried again this often, for this long (seconds).
PAGE_RETRY_EVERY = 5.0
PAGE_RETRY_FOR = 3600.0

TEXT_KEYS: tuple[str, ...] = (
    "danger_safety",
    "danger_helplines",
    "danger_case_opened",
    "danger_case_extended",
    "danger_limit_extended",
    "danger_case_failed",
)


@dataclass(frozen=True)
class Answered:
    """A danger message the gateway answered: the kinds found, and the urgent case paged (None when the
    desk could not be reached; the resident was told to call the emergency number)."""

    risks: frozenset[str]
    case_number: str | None


def emergency_number(gateway: Gateway) -> str:
    """The station's first emergency number (police), which every "we can't answer now" text carries."""
    return gateway.settings.station.first_emergency_number


def language_for(
    gateway: Gateway,
    words: str,
    user: User | None,
    user_data: dict[str, Any] | None,
    previous: str | None = None,
) -> str:
    """The resident's language for an answer about what they just wrote: their /language choice, else the
    script they wrote in, else ``previous`` (a case's), else their Telegram app's, else the station's."""
    return choose_language(
        words,
        explicit=(user_data or {}).get("language"),
        client=user.language_code if user else None,
        previous=previous,
        default=gateway.settings.station.station.default_language,
    )


def safety_reply(station: StationProfile, risks: Iterable[str], language: str, words: str = "") -> str:
    """Emergency numbers, how to get safe for each kind of danger, and the matching help-lines (HTML).

    The advice is ``content/safety.yml``, the same words Rasa's ``action_safety`` uses (self-harm advice
    speaks to the resident when ``words`` are about themself); the numbers and their labels are the
    station profile's.
    """
    kinds = sorted(set(risks))
    numbers = "\n".join(f"{line.label.get(language)} {line.number}" for line in station.emergency_numbers)
    advice = load_content().safety_text(kinds, language, about_self=bool(words) and speaks_of_self(words))
    parts = [texts.text("danger_safety", language, numbers=numbers, advice=advice)]
    helplines = station.helplines_for(kinds)
    if helplines:
        listed = "\n".join(f"{line.label.get(language)} {line.number}" for line in helplines)
        parts.append(texts.text("danger_helplines", language, helplines=listed))
    return escape("\n\n".join(part.strip() for part in parts))


async def answer_if_dangerous(
    application: Application,
    gateway: Gateway,
    resident_id: str,
    chat_id: int,
    words: str,
    language: str,
) -> Answered | None:
    """Screens ``words``; when they are dangerous, sends the safety reply and pages an officer through an
    urgent case. None when the rules find nothing (the caller carries on as usual)."""
    risks = screening.dangers(words)
    if not risks:
        return None
    # Ids and kinds only: logs never hold what residents wrote (SPEC §9).
    log.warning("danger (%s) from %s answered by the gateway", ", ".join(sorted(risks)), resident_id)
    await _tell(application, chat_id, safety_reply(gateway.settings.station, risks, language, words))
    page = UrgentPage(resident_id, chat_id, screening.as_words(words), risks, language)
    number = await _page(application, gateway, page)
    return Answered(risks=risks, case_number=number)


async def screen_fairly(gateway: Gateway, words: str) -> frozenset[str]:
    """:func:`bot.screening.dangers` for a message still waiting for its turn, one at a time per gateway
    and each after a yield to the event loop. Screening is about a millisecond; a resident flooding
    hundreds of messages that all wait would otherwise have them screened in one burst that holds up
    every other chat's turn (tests/bot/test_ordering.py). Not a thread: the pool is the journal's, and a
    busy thread costs the loop the GIL's switch interval on every step."""
    async with gateway.resident_state().screening:
        await asyncio.sleep(0)
        return screening.dangers(words)


@dataclass(frozen=True)
class UrgentPage:
    """One danger message's urgent case, as the background retry needs it again and again."""

    resident_id: str
    chat_id: int
    words: str
    risks: frozenset[str]
    language: str


async def _page(application: Application, gateway: Gateway, page: UrgentPage) -> str | None:
    """Opens (or extends) the urgent case and tells the resident its number. When the store cannot take
    it now (locked, unreachable), the resident is told at once what to do meanwhile, and the page is
    tried again in the background until it opens (:func:`_page_later`): late, never lost."""
    try:
        outcome = await asyncio.to_thread(_open, gateway, page)
    except Exception:  # noqa: BLE001 - whatever broke behind the desk, the resident must hear what to do
        log.exception(
            "could not open an urgent case for %s; trying again in the background", page.resident_id
        )
        await _tell(application, page.chat_id, escape(_failed_text(gateway, page.language)))
        task = asyncio.create_task(
            _page_later(application, gateway, page), name=f"page-later-{page.resident_id}"
        )
        gateway.resident_state().background.add(task)
        task.add_done_callback(gateway.resident_state().background.discard)
        return None
    await _opened(application, gateway, page.chat_id, outcome, page.language)
    return outcome.case.number


def _open(gateway: Gateway, page: UrgentPage) -> Outcome:
    return gateway.desk.open_urgent_case(page.resident_id, page.language, page.words, page.risks)


async def _page_later(application: Application, gateway: Gateway, page: UrgentPage) -> None:
    """Keeps trying to open the urgent case (every ``PAGE_RETRY_EVERY``, for ``PAGE_RETRY_FOR``); the
    desk keeps one urgent case per resident, so a case Rasa's action opened meanwhile is extended."""
    loop = asyncio.get_running_loop()
    give_up = loop.time() + PAGE_RETRY_FOR
    while loop.time() < give_up:
        await asyncio.sleep(PAGE_RETRY_EVERY)
        try:
            outcome = await asyncio.to_thread(_open, gateway, page)
        except Exception as error:  # noqa: BLE001 - the store is still away: once more, later
            log.warning("urgent case for %s still cannot be opened: %r", page.resident_id, error)
            continue
        log.warning("urgent case %s opened late for %s", outcome.case.number, page.resident_id)
        await _opened(application, gateway, page.chat_id, outcome, page.language)
        return
    log.error("urgent case for %s could not be opened for %ss: giving up", page.resident_id, PAGE_RETRY_FOR)


async def _opened(
    application: Application, gateway: Gateway, chat_id: int, outcome: Outcome, language: str
) -> None:
    notifier.wake(gateway)  # the officer's card goes out now, not at the next poll
    key = "danger_case_opened" if outcome.opened else "danger_case_extended"
    if outcome.held_back:  # past the daily page limit: on their case as details, no new page or promise
        key = "danger_limit_extended"
    await _tell(
        application, chat_id, escape(texts.text(key, language, **_case_values(gateway, outcome, language)))
    )


def _failed_text(gateway: Gateway, language: str) -> str:
    station = gateway.settings.station
    return texts.text(
        "danger_case_failed",
        language,
        emergency=emergency_number(gateway),
        station_name=station.station.name.get(language),
        station_phone=station.station.phone,
    )


async def _tell(application: Application, chat_id: int, text: str) -> None:
    """Sends one part of the answer. A failure is logged, not raised: the page, and the caller keeping
    the message, must not depend on Telegram taking a reply (:func:`bot.sending.send` already retried)."""
    try:
        await send(application, chat_id, text)
    except TelegramError:
        log.exception("could not send a danger answer to chat %s", chat_id)


def _case_values(gateway: Gateway, outcome: Outcome, language: str) -> dict[str, str]:
    """Case number, who will contact the resident and by when (plain text; escaped with the message)."""
    station = gateway.settings.station.station
    return {
        "number": outcome.case.number,
        "officer_name": outcome.officer.name.get(language),
        "officer_title": outcome.officer.title.get(language),
        "station_name": station.name.get(language),
        "promise": describe_due(outcome.case.promise_due_at, gateway.desk.now(), station.tz, language),
        "emergency": emergency_number(gateway),
    }
