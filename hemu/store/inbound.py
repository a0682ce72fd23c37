"""Every resident message the gateway relays, journalled before Rasa sees it: kept in order and replayed
by the gateway, oldest first, when Rasa could not take it (an outage, a timeout) or the gateway died
half-way — so a resident never waits in silence and nothing they wrote is lost or taken twice.

A message's life: ``add`` (journalled; a Telegram update seen before is refused) → ``answer`` (Rasa's
replies kept) → ``mark_delivered`` (the replies sent). A row still pending after its gateway died is
replayed; one with answers is only sent again (at least once, never asked of Rasa twice).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, List, Mapping

from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from hemu.store import checks, db
from hemu.store.checks import jsonable, nonempty
from hemu.store.mappers import inbound_record
from hemu.store.records import RESET_MARK, InboundRecord, InboundStatus
from hemu.store.tables import inbound
from hemu.times import require_aware

# The start of a dead letter's reason: the gateway's replay writes it, /stats and the admin count it.
DEAD_LETTER = "dead letter: "
# The text of a queued reset (:func:`reset_row`): what Rasa would be sent, were it a message.
RESET_TEXT = "/restart"


def message_row(
    sender: str,
    chat_id: int,
    text: str,
    metadata: Mapping[str, Any],
    now: datetime,
    source: str | None = None,
    error: str | None = None,
    owner: str | None = None,
    lease_until: datetime | None = None,
) -> dict[str, Any]:
    """A new pending journal row's columns, checked (see :meth:`InboundQueue.add`)."""
    nonempty(sender, "sender")
    checks.chat_id(chat_id)
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    return {
        "sender": sender,
        "chat_id": chat_id,
        "text": text,
        "metadata": jsonable(dict(metadata or {}), "metadata"),
        "created_at": require_aware(now, "now"),
        "status": InboundStatus.PENDING.value,
        "attempts": 0,
        "source": source,
        "last_error": error,
        "owner": owner,
        "lease_until": require_aware(lease_until, "lease_until") if lease_until else None,
    }


def reset_row(sender: str, chat_id: int, now: datetime, source: str | None = None) -> dict[str, Any]:
    """A journal row that is not a message but "erase this conversation in Rasa" (:data:`RESET_MARK`),
    carried out by the gateway's replay loop."""
    return message_row(sender, chat_id, RESET_TEXT, {RESET_MARK: True}, now, source)


class InboundQueue:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._reader = db.reader(engine)

    def add(
        self,
        sender: str,
        chat_id: int,
        text: str,
        metadata: Mapping[str, Any],
        now: datetime,
        source: str | None = None,
        error: str | None = None,
        owner: str | None = None,
        lease_until: datetime | None = None,
    ) -> int | None:
        """Journal a resident's message; returns its id, or None when ``source`` (the Telegram message)
        was journalled before — Telegram delivering an update again after a crash must not count twice.
        ``error``: why it is kept rather than in flight now (replayed at once, nobody has it).
        ``owner``: the gateway taking it to Rasa now, which keeps it from other gateways until
        ``lease_until`` (:meth:`claim_sender`)."""
        row = message_row(sender, chat_id, text, metadata, now, source, error, owner, lease_until)
        try:
            with self.engine.begin() as conn:
                return conn.execute(insert(inbound).values(**row)).inserted_primary_key[0]
        except IntegrityError:
            if source is None:
                raise
            return None

    def queue_reset(self, sender: str, chat_id: int, now: datetime) -> int | None:
        """Queue the erasing of ``sender``'s conversation in Rasa for the replay loop (/forget while Rasa
        was away); the retention rule queues the same row inside its own transaction (:func:`reset_row`)."""
        with self.engine.begin() as conn:
            return conn.execute(
                insert(inbound).values(**reset_row(sender, chat_id, now))
            ).inserted_primary_key[0]

    def claim_sender(self, sender: str, owner: str, now: datetime, lease: timedelta) -> bool:
        """Take (or renew) all of ``sender``'s pending messages for gateway ``owner`` until now + lease;
        False, changing nothing, while any of them is another gateway's under a lease still running.

        Several gateways on one database each run a replay loop: without this, two could hand the same
        resident's messages to Rasa at once. All of a resident's messages or none, because their order
        matters. The rows are locked for the decision (PostgreSQL ``FOR UPDATE``; SQLite's writer lock,
        as every write transaction here begins IMMEDIATE), so two claims cannot both win."""
        now = require_aware(now, "now")
        if lease <= timedelta(0):
            raise ValueError(f"a lease must last for some time, got {lease}")
        mine = (inbound.c.sender == sender) & (inbound.c.status == InboundStatus.PENDING.value)
        with self.engine.begin() as conn:
            query = select(inbound.c.owner, inbound.c.lease_until).where(mine)
            if conn.dialect.name == "postgresql":
                query = query.with_for_update()
            for other, until in conn.execute(query):
                if other is not None and other != owner and until is not None and until > now:
                    return False
            # Only rows not already its own for at least half a lease: a gateway's live messages are
            # journalled as its own, so a queue it is working through costs no write here.
            stale = or_(
                inbound.c.owner.is_(None),
                inbound.c.owner != owner,
                inbound.c.lease_until.is_(None),
                inbound.c.lease_until < now + lease / 2,
            )
            conn.execute(update(inbound).where(mine, stale).values(owner=owner, lease_until=now + lease))
        return True

    def release(self, inbound_id: int) -> bool:
        """No gateway is working on this message any more (Rasa never saw it): any may take it now."""
        return self._set(inbound_id, owner=None, lease_until=None)

    def waiting_before(self, sender: str, inbound_id: int) -> bool:
        """Whether this resident has older messages still pending: a new one waits behind them."""
        query = select(inbound.c.id).where(
            inbound.c.sender == sender,
            inbound.c.status == InboundStatus.PENDING.value,
            inbound.c.id < inbound_id,
        )
        with self._reader.connect() as conn:
            return conn.execute(query.limit(1)).first() is not None

    def answer(self, inbound_id: int, answers: List[Mapping[str, Any]]) -> bool:
        """Keep Rasa's replies before sending them: a crash from here on sends them, never asks again."""
        return self._set(inbound_id, answers=jsonable(list(answers), "answers"), last_error=None)

    def note(
        self,
        inbound_id: int,
        metadata: Mapping[str, Any] | None = None,
        error: str | None = None,
        release: bool = False,
    ) -> bool:
        """Replace the metadata (e.g. the urgent case paged on arrival) and/or say why it is kept;
        ``release``: in the same write, no gateway owns it any more (:meth:`release`)."""
        values: dict[str, Any] = {"owner": None, "lease_until": None} if release else {}
        if metadata is not None:
            values["metadata"] = jsonable(dict(metadata), "metadata")
        if error is not None:
            values["last_error"] = error
        return self._set(inbound_id, **values) if values else True

    def pending(self, limit: int = 100, sender: str | None = None) -> List[InboundRecord]:
        """Messages still to hand to Rasa (of one sender), oldest first: the order they were written."""
        query = (
            select(inbound)
            .where(inbound.c.status == InboundStatus.PENDING.value)
            .order_by(inbound.c.id)
            .limit(limit)
        )
        if sender is not None:
            query = query.where(inbound.c.sender == sender)
        with self._reader.connect() as conn:
            return [inbound_record(row) for row in conn.execute(query)]

    def has_pending(self, sender: str) -> bool:
        """Whether this resident has messages waiting: a new one must queue behind them, not overtake."""
        query = select(inbound.c.id).where(
            inbound.c.sender == sender, inbound.c.status == InboundStatus.PENDING.value
        )
        with self._reader.connect() as conn:
            return conn.execute(query.limit(1)).first() is not None

    def messages(self, sender: str | None = None) -> List[InboundRecord]:
        """Every queued message (of one sender), oldest first, whatever its status: for admins and tests."""
        query = select(inbound).order_by(inbound.c.id)
        if sender is not None:
            query = query.where(inbound.c.sender == sender)
        with self._reader.connect() as conn:
            return [inbound_record(row) for row in conn.execute(query)]

    def mark_delivered(self, inbound_id: int, now: datetime) -> bool:
        """Rasa took the message. False when it was not pending any more (delivered twice, or dropped
        because the resident asked to be forgotten meanwhile): nothing to do then."""
        now = require_aware(now, "now")
        return self._set(
            inbound_id,
            status=InboundStatus.DELIVERED.value,
            delivered_at=now,
            attempts=inbound.c.attempts + 1,
        )

    def mark_attempt(self, inbound_id: int, now: datetime, error: str) -> bool:
        """Count a failed delivery; the message stays pending. False when it is no longer pending."""
        require_aware(now, "now")
        return self._set(inbound_id, attempts=inbound.c.attempts + 1, last_error=str(error))

    def drop(self, inbound_id: int, now: datetime, reason: str) -> bool:
        """Give up on a message on purpose (too old, too many attempts); ``reason`` is kept."""
        require_aware(now, "now")
        return self._set(inbound_id, status=InboundStatus.DROPPED.value, last_error=str(reason))

    def dead_letters(self) -> int:
        """How many messages the gateway set aside after Rasa kept failing on them (their reason starts
        with ``DEAD_LETTER``): for /stats."""
        query = select(func.count()).where(
            inbound.c.status == InboundStatus.DROPPED.value, inbound.c.last_error.like(f"{DEAD_LETTER}%")
        )
        with self._reader.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def _set(self, inbound_id: int, **values: Any) -> bool:
        with self.engine.begin() as conn:
            return (
                conn.execute(
                    update(inbound)
                    .where(inbound.c.id == inbound_id, inbound.c.status == InboundStatus.PENDING.value)
                    .values(**values)
                ).rowcount
                == 1
            )
