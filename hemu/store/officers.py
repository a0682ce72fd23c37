"""Officer accounts: which Telegram chat is which officer's, linked with one-time invite codes, and who
is switched off. The roster (config/roster.yml) says who exists; this says how to reach them."""

from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
from datetime import datetime, timedelta
from typing import Any, List

from sqlalchemy import and_, insert, select, update
from sqlalchemy.engine import Connection, Engine, Row
from sqlalchemy.exc import IntegrityError

from hemu import LANGUAGES
from hemu.store import checks, db
from hemu.store.checks import nonempty
from hemu.store.errors import InviteError
from hemu.store.mappers import account_record, invite_record
from hemu.store.records import Invite, OfficerAccount
from hemu.store.tables import invites, officer_accounts
from hemu.times import require_aware

# Typed from a phone: no 0/o, 1/l/i to confuse; 31^10 ≈ 8·10^14 codes, and each lives only days.
INVITE_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
INVITE_LENGTH = 10
# A concurrent insert of the same account is retried this often.
MAX_ATTEMPTS = 4


def _normalise_code(code: str) -> str:
    return re.sub(r"[\s\-_]", "", unicodedata.normalize("NFKC", code or "")).lower()


def hash_code(code: str) -> str:
    return hashlib.sha256(_normalise_code(code).encode()).hexdigest()


def _unspent() -> Any:
    return and_(invites.c.used_at.is_(None), invites.c.revoked_at.is_(None))


class OfficerAccounts:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._reader = db.reader(engine)

    def create_invite(self, officer_id: str, now: datetime, ttl: timedelta) -> str:
        """A one-time code that links the officer's Telegram chat; only its hash is stored. The officer's
        older unused codes are revoked with it: only the newest one sent can be the one that works."""
        nonempty(officer_id, "officer_id")
        now = require_aware(now, "now")
        if ttl <= timedelta(0):
            raise ValueError(f"an invite must live for some time, got {ttl}")
        code = "".join(secrets.choice(INVITE_ALPHABET) for _ in range(INVITE_LENGTH))
        with self.engine.begin() as conn:
            account = self._account_row(conn, officer_id)
            if account is not None and not account.active:
                raise InviteError(
                    f"officer {officer_id} is deactivated; reactivate them before inviting", "deactivated"
                )
            conn.execute(
                update(invites).where(invites.c.officer_id == officer_id, _unspent()).values(revoked_at=now)
            )
            conn.execute(
                insert(invites).values(
                    code_hash=hash_code(code), officer_id=officer_id, created_at=now, expires_at=now + ttl
                )
            )
        return code

    def invites(self, officer_id: str | None = None) -> List[Invite]:
        """Every invite (newest first), or one officer's; what they are, never the codes."""
        query = select(invites).order_by(invites.c.id.desc())
        if officer_id is not None:
            query = query.where(invites.c.officer_id == officer_id)
        with self._reader.connect() as conn:
            return [invite_record(row) for row in conn.execute(query).all()]

    def revoke(self, now: datetime, invite_id: int | None = None, officer_id: str | None = None) -> int:
        """Revokes one unused invite, or all of an officer's; how many were still unused."""
        now = require_aware(now, "now")
        if (invite_id is None) == (officer_id is None):
            raise ValueError("revoke takes an invite id or an officer id, one of them")
        where = invites.c.id == invite_id if invite_id is not None else invites.c.officer_id == officer_id
        with self.engine.begin() as conn:
            return conn.execute(update(invites).where(where, _unspent()).values(revoked_at=now)).rowcount

    def unlink(self, officer_id: str) -> int | None:
        """Cuts the officer's account from its Telegram chat (a lost phone, a chat someone else reads), so
        a new invite can link another; the chat it had, or None. Their cases stay theirs."""
        with self.engine.begin() as conn:
            account = self._account_row(conn, officer_id, lock=True)
            if account is None or account.telegram_chat_id is None:
                return None
            conn.execute(
                update(officer_accounts)
                .where(officer_accounts.c.officer_id == officer_id)
                .values(telegram_chat_id=None, linked_at=None)
            )
            return int(account.telegram_chat_id)

    def redeem_invite(self, code: str, chat_id: int, now: datetime, language: str | None = None) -> str:
        """Link ``chat_id`` to the invited officer and return their id; InviteError says why not.

        One chat per officer: while the officer is linked to another chat, the code is refused (reason
        ``linked_elsewhere``) and not spent — an admin unlinks the old chat first (``python -m hemu officers
        unlink``), so a code that leaked cannot quietly move an officer's cases to a stranger's chat.
        Registering again in the same chat is allowed (it updates the language). A chat already linked
        to another active officer is refused; one left behind by a deactivated officer is taken over.
        ``language`` is the officer's Telegram app language ("zh", "en" or None).
        """
        now = require_aware(now, "now")
        checks.chat_id(chat_id)
        if language is not None and language not in LANGUAGES:
            raise ValueError(f"language must be one of {LANGUAGES} or None, got {language!r}")
        ask = "ask the station admin for a new code"
        with self.engine.begin() as conn:
            invite = conn.execute(
                select(invites).where(invites.c.code_hash == hash_code(code)).with_for_update()
            ).first()
            if invite is None:
                raise InviteError(f"this invite code is not known; check it for typos or {ask}", "unknown")
            if invite.used_at is not None:
                raise InviteError(f"this invite code has already been used; {ask}", "used")
            if invite.revoked_at is not None:
                raise InviteError(
                    f"this invite code was revoked or replaced by a newer one; {ask}", "revoked"
                )
            if now >= invite.expires_at:
                raise InviteError(
                    f"this invite code expired at {invite.expires_at:%Y-%m-%d %H:%M} UTC; {ask}", "expired"
                )
            officer_id = invite.officer_id
            account = self._account_row(conn, officer_id, lock=True)
            if account is not None and not account.active:
                raise InviteError(
                    f"officer {officer_id}'s account is deactivated; ask the station admin", "deactivated"
                )
            if account is not None and account.telegram_chat_id not in (None, chat_id):
                raise InviteError(
                    f"officer {officer_id} is linked to another Telegram chat; the station admin must "
                    "unlink it first",
                    "linked_elsewhere",
                )
            holder = conn.execute(
                select(officer_accounts).where(
                    officer_accounts.c.telegram_chat_id == chat_id,
                    officer_accounts.c.officer_id != officer_id,
                )
            ).first()
            if holder is not None:
                if holder.active:
                    raise InviteError(
                        f"this Telegram chat is already linked to officer {holder.officer_id}; "
                        "each officer needs their own chat",
                        "chat_taken",
                    )
                conn.execute(
                    update(officer_accounts)
                    .where(officer_accounts.c.officer_id == holder.officer_id)
                    .values(telegram_chat_id=None, linked_at=None)
                )
            try:
                self._upsert_account(
                    conn, officer_id, telegram_chat_id=chat_id, linked_at=now, language=language
                )
            except IntegrityError as error:
                raise InviteError(
                    "this Telegram chat was just linked to another officer", "chat_taken"
                ) from error
            claimed = conn.execute(
                update(invites)
                .where(invites.c.id == invite.id, invites.c.used_at.is_(None))
                .values(used_at=now, used_by_chat_id=chat_id)
            ).rowcount
            if claimed != 1:
                raise InviteError(f"this invite code has already been used; {ask}", "used")
        return officer_id

    def accounts(self) -> List[OfficerAccount]:
        with self._reader.connect() as conn:
            rows = conn.execute(select(officer_accounts).order_by(officer_accounts.c.officer_id)).all()
        return [account_record(row) for row in rows]

    def switched_off(self) -> frozenset[str]:
        """Officers switched off with the admin command line (the roster's ``active: false`` is the
        assignment's to apply); one query, as every assignment asks it."""
        with self._reader.connect() as conn:
            rows = conn.execute(
                select(officer_accounts.c.officer_id).where(officer_accounts.c.active.is_(False))
            ).all()
        return frozenset(officer_id for (officer_id,) in rows)

    def account(self, officer_id: str) -> OfficerAccount | None:
        """The officer's account, whatever its state; None for an officer never invited."""
        with self._reader.connect() as conn:
            row = self._account_row(conn, officer_id)
        return account_record(row) if row is not None else None

    def account_for_chat(self, chat_id: int) -> OfficerAccount | None:
        """The active officer linked to this chat, with their stored app language, in one query; None for
        residents and for deactivated officers."""
        with self._reader.connect() as conn:
            row = conn.execute(
                select(officer_accounts).where(
                    officer_accounts.c.telegram_chat_id == chat_id, officer_accounts.c.active.is_(True)
                )
            ).first()
        return account_record(row) if row is not None else None

    def officer_for_chat(self, chat_id: int) -> str | None:
        account = self.account_for_chat(chat_id)
        return account.officer_id if account is not None else None

    def reachable(self, officer_id: str) -> OfficerAccount | None:
        """The officer's account when they can be written to (linked and active), with their stored app
        language, in one query; None otherwise (a deactivated officer must not get case details)."""
        with self._reader.connect() as conn:
            row = conn.execute(
                select(officer_accounts).where(
                    officer_accounts.c.officer_id == officer_id,
                    officer_accounts.c.active.is_(True),
                    officer_accounts.c.telegram_chat_id.is_not(None),
                )
            ).first()
        return account_record(row) if row is not None else None

    def chat_for_officer(self, officer_id: str) -> int | None:
        """Where to reach the officer; None when unlinked or deactivated (they must not get case details)."""
        account = self.reachable(officer_id)
        return account.telegram_chat_id if account is not None else None

    def deactivate(self, officer_id: str, now: datetime) -> None:
        """Lock the officer out; their chat link is kept so reactivating needs no new invite."""
        nonempty(officer_id, "officer_id")
        now = require_aware(now, "now")
        with self.engine.begin() as conn:
            account = self._account_row(conn, officer_id, lock=True)
            if account is not None and not account.active:
                return
            self._upsert_account(conn, officer_id, active=False, deactivated_at=now)

    def reactivate(self, officer_id: str, now: datetime | None = None) -> None:
        """Let the officer back in; ``now`` is only checked (for symmetry with deactivate), not stored."""
        if now is not None:
            require_aware(now, "now")
        with self.engine.begin() as conn:
            conn.execute(
                update(officer_accounts)
                .where(officer_accounts.c.officer_id == officer_id)
                .values(active=True, deactivated_at=None)
            )

    def is_active(self, officer_id: str) -> bool:
        """Officers are active unless deactivated: the roster, not this table, says who exists."""
        with self._reader.connect() as conn:
            active = conn.execute(
                select(officer_accounts.c.active).where(officer_accounts.c.officer_id == officer_id)
            ).scalar()
        return active is None or bool(active)

    @staticmethod
    def _account_row(conn: Connection, officer_id: str, lock: bool = False) -> Row | None:
        query = select(officer_accounts).where(officer_accounts.c.officer_id == officer_id)
        return conn.execute(query.with_for_update() if lock else query).first()

    @staticmethod
    def _upsert_account(conn: Connection, officer_id: str, **values: Any) -> None:
        error: IntegrityError | None = None
        for _ in range(MAX_ATTEMPTS):
            where = officer_accounts.c.officer_id == officer_id
            if conn.execute(update(officer_accounts).where(where).values(**values)).rowcount == 1:
                return
            try:
                with conn.begin_nested():
                    row = {"active": True, **values, "officer_id": officer_id}
                    conn.execute(insert(officer_accounts).values(row))
                return
            except IntegrityError as caught:
                error = caught
        assert error is not None
        raise error
