"""What happens to a message that could not be delivered: nothing is given up in silence.

Two kinds of outbox notification that no case change causes live here:

* :data:`NoticeKind.DELIVERY_FAILED` — the supervisor hears that a card, an alert or a reply was given up
  at its deadline or that an officer's chat cannot be written to, so a person can pick up the phone;
  it names the case and the kind of message, never a resident's words;
* :data:`NoticeKind.RESIDENT_REPLY` — the gateway's own words to a resident (a safety reply above all)
  that Telegram would not take at once: the notifier retries them until the deadline like a card.
"""

from __future__ import annotations

import html
import logging
from typing import Any

from bot import languages, texts
from bot.gateway import Gateway
from bot.recipients import Drop, Outgoing, Unlinked
from hemu import parties
from hemu.kinds import NoticeKind
from hemu.parties import Party
from hemu.store import Notification, NotificationRecord

log = logging.getLogger(__name__)

KINDS = frozenset({NoticeKind.DELIVERY_FAILED.value, NoticeKind.RESIDENT_REPLY.value})
TEXT_KEYS: tuple[str, ...] = (
    "delivery_failed",
    "delivery_failed_no_case",
    "delivery_to_resident",
    "inbound_dead_letter",
    "stats_undelivered",
    *(f"delivery_what_{kind.value}" for kind in NoticeKind),
)


def alert_recipients(gateway: Gateway, failed_recipient: str) -> list[str]:
    """The supervisor — or, when the supervisor is the one who could not be reached, the duty officers."""
    roster = gateway.settings.roster
    supervisor = parties.officer(roster.supervisor)
    if failed_recipient != supervisor:
        return [supervisor]
    return [
        parties.officer(officer.id)
        for officer in roster.active_officers()
        if officer.duty_officer and parties.officer(officer.id) != failed_recipient
    ]


def alert_given_up(gateway: Gateway, record: NotificationRecord, why: str) -> bool:
    """Queues the alert about ``record``; False when nobody is left to tell (an alert about an alert is
    only logged: the chain must end)."""
    if record.kind == NoticeKind.DELIVERY_FAILED.value:
        log.error("delivery alert %s could not be delivered either: %s", record.id, why)
        return False
    payload = {
        "notification": record.id,
        "kind": record.kind,
        "recipient": record.recipient,
        "number": record.payload.get("number"),
        "why": why[:200],
    }
    recipients = alert_recipients(gateway, record.recipient)
    if not recipients:
        log.error("notification %s given up and nobody is left to tell: %s", record.id, why)
        return False
    now = gateway.desk.now()
    for recipient in recipients:
        notification = Notification(
            recipient=recipient, kind=NoticeKind.DELIVERY_FAILED.value, payload=payload
        )
        gateway.store.outbox.add(notification, now, case_id=record.case_id)
    return True


def queue_resident_reply(gateway: Gateway, resident_id: str, chat_id: int, text: str) -> None:
    """Hands an HTML reply the gateway could not send now to the notifier, which retries it until the
    delivery deadline."""
    notification = Notification(
        recipient=parties.resident(resident_id),
        kind=NoticeKind.RESIDENT_REPLY.value,
        payload={"chat_id": chat_id, "text": text},
    )
    gateway.store.outbox.add(notification, gateway.desk.now())


def render(gateway: Gateway, record: NotificationRecord) -> Outgoing:
    """The message for one of :data:`KINDS` (the notifier asks here before :func:`bot.notices.render`)."""
    party = Party.parse(record.recipient)
    if party is None:
        raise Drop(f"unknown recipient {record.recipient!r}")
    if record.kind == NoticeKind.RESIDENT_REPLY.value:
        chat_id, text = record.payload.get("chat_id"), record.payload.get("text")
        if not isinstance(chat_id, int) or not isinstance(text, str) or not text:
            raise Drop("resident reply without a chat or a text")
        return Outgoing(chat_id, text)
    if party.role != "officer":
        raise Drop("delivery alerts go to officers")
    account = gateway.store.officers.reachable(party.ident)
    if not gateway.settings.roster.in_service(party.ident):
        account = None
    if account is None or account.telegram_chat_id is None:
        raise Unlinked(f"officer {party.ident} has no linked Telegram chat")
    language = languages.with_app(gateway, party.ident, account.language)
    return Outgoing(account.telegram_chat_id, alert_text(gateway, record.payload, language))


def alert_text(gateway: Gateway, payload: Any, language: str) -> str:
    """Case number, kind of message, who missed it and Telegram's reason — escaped, no resident words."""
    kind = str(payload.get("kind") or "")
    what_key = (
        f"delivery_what_{kind}" if kind in {k.value for k in NoticeKind} else "delivery_what_case_update"
    )
    missed = Party.parse(str(payload.get("recipient") or ""))
    if missed is not None and missed.role == "officer":
        officer = gateway.settings.roster.officer(missed.ident)
        to = officer.name.get(language) if officer else missed.ident
    else:
        to = texts.text("delivery_to_resident", language)
    values = {
        "what": html.escape(texts.text(what_key, language)),
        "to": html.escape(to),
        "why": html.escape(str(payload.get("why") or "")[:200]),
    }
    number = payload.get("number")
    if number:
        return texts.text("delivery_failed", language, number=html.escape(str(number)), **values)
    return texts.text("delivery_failed_no_case", language, **values)
