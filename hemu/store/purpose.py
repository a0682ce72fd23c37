"""What a database is for — a station's real cases or the offline sandbox's play — kept in the database.

The sandbox gives every officer a fresh invite each start and serves the codes on a local page; pointed
at a station's database, it would put live codes for real officer accounts on that page. So the first
start against a database records its purpose (table ``store_meta``), and a later start for the other
purpose is refused with a clear message. A database without a mark that already has officers linked to
Telegram chats is taken to be a station's: the sandbox refuses it too.
"""

from __future__ import annotations

from enum import Enum

from sqlalchemy import func, insert, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from hemu.errors import ConfigError
from hemu.store.tables import officer_accounts, store_meta

KEY = "purpose"


class Purpose(str, Enum):
    STATION = "station"
    SANDBOX = "sandbox"


class WrongDatabase(ConfigError):
    """Started against the other purpose's database; the message says which and what to do."""


def claim(engine: Engine, purpose: Purpose, where: str) -> None:
    """Records ``purpose`` for a database without one, or checks it is the one recorded (``where``
    names the database in the message). Safe for two processes starting at once."""
    for _ in range(2):  # a concurrent first claim: read what the other wrote
        with engine.begin() as conn:
            current = conn.execute(select(store_meta.c.value).where(store_meta.c.key == KEY)).scalar()
            if current == purpose.value:
                return
            if current is not None:
                raise WrongDatabase(_refusal(Purpose(current), purpose, where))
            if purpose is Purpose.SANDBOX and _linked_officers(conn) > 0:
                raise WrongDatabase(
                    f"{where} has officers linked to Telegram chats: it is a station's database, and the "
                    "sandbox would put live invite codes for their accounts on its page. Run the sandbox "
                    "on its own database (set HEMU_SANDBOX_DATABASE_URL, or unset DATABASE_URL)."
                )
            try:
                conn.execute(insert(store_meta).values(key=KEY, value=purpose.value))
                return
            except IntegrityError:
                continue
    raise WrongDatabase(f"{where}: could not record what this database is for")


def recorded(engine: Engine) -> Purpose | None:
    with engine.connect() as conn:
        value = conn.execute(select(store_meta.c.value).where(store_meta.c.key == KEY)).scalar()
    return Purpose(value) if value is not None else None


def _linked_officers(conn: Connection) -> int:
    query = (
        select(func.count())
        .select_from(officer_accounts)
        .where(officer_accounts.c.telegram_chat_id.is_not(None))
    )
    return int(conn.execute(query).scalar() or 0)


def _refusal(recorded_purpose: Purpose, wanted: Purpose, where: str) -> str:
    if recorded_purpose is Purpose.SANDBOX:
        return (
            f"{where} holds the offline sandbox's play cases and officers, not a station's: with a real "
            "Telegram token, use the station's own database (DATABASE_URL)."
        )
    return (
        f"{where} is a station's database (real cases and officers): the sandbox never runs on it. "
        "Set HEMU_SANDBOX_DATABASE_URL, or unset DATABASE_URL (the sandbox then uses var/sandbox.sqlite3)."
    )
