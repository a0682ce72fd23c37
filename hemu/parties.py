"""Who acts on a case and who is told about it, as the store writes them: ``officer:<roster id>`` and
``resident:<Telegram user id>`` (the audit log's actor, the outbox's recipient).

One module builds and reads these strings, so a typo cannot send a card to nobody and a new kind of
party cannot be half added.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Role = Literal["officer", "resident"]
ROLES: tuple[Role, ...] = ("officer", "resident")
# Hemu itself (the promise watcher, the retention rule) as the actor of an audit event.
SYSTEM = "system"


def officer(officer_id: str) -> str:
    return f"officer:{officer_id}"


def resident(resident_id: str) -> str:
    return f"resident:{resident_id}"


@dataclass(frozen=True)
class Party:
    role: Role
    ident: str

    @classmethod
    def parse(cls, text: str) -> Party | None:
        """The party a stored actor or recipient names; None for anything else (``system``, ``admin``)."""
        role, sep, ident = text.partition(":")
        if not sep or not ident or role not in ROLES:
            return None
        return cls(role, ident)  # type: ignore[arg-type]  # checked against ROLES just above

    def __str__(self) -> str:
        return f"{self.role}:{self.ident}"
