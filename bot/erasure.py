"""After /forget, the officers' copies: each message an officer was sent about the resident's cases is
edited to a "details removed" version (the case number and why, no buttons).

The store records every such message by chat and message id (:mod:`hemu.store.officer_messages`: the
notifier records what it sends, the console the cards it shows) and /forget queues one
:data:`NoticeKind.DETAILS_ERASED` notice per message. The notifier delivers it like any other — retried
until its deadline — but as an edit: Telegram's ``editMessageText`` on the message in the payload. The
chat is the one the message is in, whether or not the officer is still linked or in service: the words
must go from that chat either way. A message Telegram can no longer edit (the officer deleted it) is
dropped, not alerted: there is nothing left to remove.
"""

from __future__ import annotations

from bot import cards, languages, texts
from bot.gateway import Gateway
from bot.recipients import Drop, Outgoing
from hemu.kinds import NoticeKind
from hemu.parties import Party
from hemu.store import NotificationRecord

KIND = NoticeKind.DETAILS_ERASED.value
TEXT_KEYS: tuple[str, ...] = ("details_erased",)


def render(gateway: Gateway, record: NotificationRecord) -> Outgoing:
    """The edit for one recorded message; :class:`Drop` for a payload that names no message."""
    payload = record.payload
    chat_id, message_id, number = payload.get("chat_id"), payload.get("message_id"), payload.get("number")
    if not isinstance(chat_id, int) or not isinstance(message_id, int) or not number:
        raise Drop("details_erased without a chat, a message or a case number")
    party = Party.parse(record.recipient)
    ident = party.ident if party is not None else None
    account = gateway.store.officers.account(ident) if ident else None
    language = languages.with_app(gateway, ident, account.language if account else None)
    text = cards.escape(texts.text("details_erased", language, number=number))
    return Outgoing(chat_id, text, edit=message_id)
