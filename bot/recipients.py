"""Who a queued notice goes to and what it is about: the recipient's chat and language and the current
case, or :class:`Drop` with the reason it can never be delivered. Shared by the full notices and their
short stand-ins (:mod:`bot.notices`), so both refuse exactly the same recipients.
"""

from __future__ import annotations

from dataclasses import dataclass

from telegram import InlineKeyboardMarkup

from bot import languages
from bot.gateway import Gateway
from hemu.kinds import NoticeKind
from hemu.parties import Party
from hemu.store import CaseRecord, NotificationRecord

# What an officer is sent about a case (the daily summary is about many).
OFFICER_KINDS = (
    NoticeKind.CASE_ASSIGNED,
    NoticeKind.PROMISE_REMINDER,
    NoticeKind.PROMISE_BROKEN,
    NoticeKind.CASE_UPDATE,
)


class Drop(Exception):
    """This notification can never be delivered (no chat, not a Telegram user, case gone): say why."""


class Unlinked(Drop):
    """The officer it is for has no Telegram chat linked: a person must hear of it (bot.delivery)."""


@dataclass(frozen=True)
class Outgoing:
    """One HTML message (with its buttons) for one chat: what the notifier hands to Telegram."""

    chat_id: int
    text: str
    markup: InlineKeyboardMarkup | None = None
    # An edit of this message of ours instead of a new message (bot.erasure).
    edit: int | None = None
    # A picture sent with ``text`` as its caption (the weekly digest's chart, bot.digest).
    photo: bytes | None = None


def subject(gateway: Gateway, record: NotificationRecord) -> tuple[Party, CaseRecord | None]:
    """Who a notification is for and the case it is about (None: the supervisor's daily summary)."""
    party = Party.parse(record.recipient)
    if party is None:
        raise Drop(f"unknown recipient {record.recipient!r}")
    if record.kind == NoticeKind.DAILY_SUMMARY and party.role == "officer":
        return party, None
    number = record.payload.get("number")
    if not number:
        raise Drop("notification without a case number")
    try:
        case = gateway.store.get(str(number))
    except ValueError:
        raise Drop(f"not a case number: {number!r}") from None
    if case is None:
        raise Drop(f"case {number} does not exist")
    return party, case


def resident_language(gateway: Gateway, record: NotificationRecord, case: CaseRecord, ident: str) -> str:
    """The checks every message to a resident passes first; the case's language."""
    if not ident.isdigit():
        raise Drop("not a Telegram resident")
    if case.resident_id != ident:
        raise Drop("the case no longer belongs to this resident")
    if record.kind not in (NoticeKind.FOLLOW_UP, NoticeKind.CASE_UPDATE):
        raise Drop(f"unknown notification kind {record.kind!r}")
    return languages.of_case(case, gateway.officer_language)


def check_officer_notice(gateway: Gateway, record: NotificationRecord, case: CaseRecord, ident: str) -> None:
    """Raises :class:`Drop` for an officer's notice the case has moved past: a card for a case no longer
    theirs, a reminder of a promise no longer running for them, a kind no renderer knows."""
    if record.kind == NoticeKind.CASE_ASSIGNED and not gateway.desk.may_act(case, ident):
        raise Drop(f"case {case.number} is no longer assigned to {ident}")
    if record.kind == NoticeKind.PROMISE_REMINDER and (not case.is_active or case.officer_id != ident):
        raise Drop(f"case {case.number} no longer waits for {ident}")
    if record.kind not in OFFICER_KINDS:
        raise Drop(f"unknown notification kind {record.kind!r}")


def officer_chat(gateway: Gateway, ident: str) -> tuple[int, str]:
    """The officer's linked chat and the language they read, or :class:`Drop`."""
    if not gateway.settings.roster.in_service(ident):  # `active: false` in the roster: no case details
        raise Unlinked(f"officer {ident} is not in service in the roster")
    account = gateway.store.officers.reachable(ident)
    if account is None or account.telegram_chat_id is None:
        raise Unlinked(f"officer {ident} has no linked Telegram chat")
    return account.telegram_chat_id, languages.with_app(gateway, ident, account.language)


def still_waiting(gateway: Gateway, record: NotificationRecord) -> list[CaseRecord]:
    """The daily summary's cases that still wait for first contact (one answered since is left out)."""
    waiting = []
    for number in record.payload.get("numbers") or []:
        try:
            case = gateway.store.get(str(number))
        except ValueError:
            continue
        if case is not None and case.awaits_response:
            waiting.append(case)
    if not waiting:
        raise Drop("every case in the daily summary has been answered since")
    return waiting
