"""What a button says when it is pressed (Telegram's ``callback_data``): ``<prefix>:<part>:…``, at most
64 bytes. Every button the gateway makes is built here and every press is read here, so a new button
cannot collide with an old one and a forged, truncated or outdated press is refused in one place
(the readers return None) rather than half understood by a ``split(":")`` somewhere else.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from hemu.cases import normalise_case_number

# Telegram refuses longer callback data (bytes, not characters).
MAX_BYTES = 64


class Prefix(str, Enum):
    """Which handler a press belongs to."""

    OFFICER = "o"  # a case card's buttons (bot.console.buttons)
    RATE = "rate"  # the resident's rating (bot.ratings)
    FOLLOW_UP = "fu"  # the week-after question (bot.ratings)
    LANGUAGE = "lang"  # /language (bot.resident); content/bot/resident.yml spells these payloads
    FORGET = "forget"  # /forget's confirmation (bot.resident), likewise
    REPLY = "r"  # a Rasa button's payload, as it is (bot.replies)
    REPLY_KEY = "rk"  # a Rasa button's payload too long to carry, by its key (bot.replies)


# Presses the gateway answers itself, whatever the resident's conversation is doing.
GATEWAY_BUTTONS = (Prefix.OFFICER, Prefix.RATE, Prefix.FOLLOW_UP)

# An officer's card: open the card, a state verb, hand over (``auto``: to whoever the roster picks).
CASE_VERBS = ("ack", "contact", "resolve", "handover")


def encode(prefix: Prefix, *parts: object) -> str:
    """Callback data; refuses what Telegram would reject rather than sending a dead button."""
    data = ":".join([prefix.value, *(str(part) for part in parts)])
    if len(data.encode("utf-8")) > MAX_BYTES:
        raise ValueError(f"callback data longer than {MAX_BYTES} bytes: {data!r}")
    return data


def decode(data: str | None, prefix: Prefix, parts: int | None = None) -> list[str] | None:
    """The parts after ``prefix`` (``parts`` of them when given); None for another button's data."""
    head, sep, rest = (data or "").partition(":")
    if not sep or head != prefix.value:
        return None
    found = rest.split(":")
    if parts is not None and len(found) != parts:
        return None
    return found


def pattern(prefix: Prefix) -> str:
    """The ``CallbackQueryHandler`` pattern for one prefix."""
    return f"^{prefix.value}:"


def starts_with(data: str | None, prefixes: tuple[Prefix, ...]) -> bool:
    return (data or "").startswith(tuple(f"{prefix.value}:" for prefix in prefixes))


# ---------------------------------------------------------------- officers' case cards


@dataclass(frozen=True)
class OfficerButton:
    """A pressed case-card button; ``version`` (the case's, when the card was drawn) is None only for
    ``open``; ``officer_id`` only for ``to`` (hand over to that officer)."""

    verb: str
    number: str
    version: int | None = None
    officer_id: str | None = None


def officer_button(verb: str, number: str, version: int | None = None, officer_id: str | None = None) -> str:
    parts: list[object] = [verb, number]
    if version is not None:
        parts.append(version)
    if officer_id is not None:
        parts.append(officer_id)
    return encode(Prefix.OFFICER, *parts)


def parse_officer(data: str | None) -> OfficerButton | None:
    """The button an officer pressed, or None for anything malformed (forged, truncated, old format)."""
    parts = decode(data, Prefix.OFFICER)
    if not parts:
        return None
    verb = parts[0]
    try:
        if verb == "open" and len(parts) == 2:
            return OfficerButton("open", normalise_case_number(parts[1]))
        if verb in (*CASE_VERBS, "auto") and len(parts) == 3:
            return OfficerButton(verb, normalise_case_number(parts[1]), _version(parts[2]))
        if verb == "to" and len(parts) == 4 and parts[3]:
            return OfficerButton("to", normalise_case_number(parts[1]), _version(parts[2]), parts[3])
    except ValueError:
        return None
    return None


def _version(raw: str) -> int:
    if not raw.isdigit() or len(raw) > 9:
        raise ValueError(raw)
    return int(raw)


# ---------------------------------------------------------------- residents' ratings and follow-up


def rating(number: str, stars: int) -> str:
    return encode(Prefix.RATE, number, stars)


def skip_rating(number: str) -> str:
    return encode(Prefix.RATE, "skip", number)


def parse_rating(data: str | None) -> tuple[str, str, int | None] | None:
    """``("rate", number, n)`` or ``("skip", number, None)``; None for anything else."""
    parts = decode(data, Prefix.RATE, parts=2)
    if parts is None:
        return None
    if parts[0] == "skip":
        return "skip", parts[1], None
    if parts[1] in ("1", "2", "3", "4", "5"):
        return "rate", parts[0], int(parts[1])
    return None


def follow_up(number: str, came_back: bool) -> str:
    return encode(Prefix.FOLLOW_UP, number, "back" if came_back else "fine")


def parse_follow_up(data: str | None) -> tuple[str, bool] | None:
    """``(number, came_back)`` from the week-after question's buttons; None for anything else."""
    parts = decode(data, Prefix.FOLLOW_UP, parts=2)
    if parts is None or parts[1] not in ("back", "fine"):
        return None
    return parts[0], parts[1] == "back"


def choice(data: str | None, prefix: Prefix) -> str:
    """What a gateway question's button chose (``lang:zh`` → ``zh``); empty for anything else."""
    parts = decode(data, prefix, parts=1)
    return parts[0] if parts else ""


__all__ = [
    "CASE_VERBS",
    "GATEWAY_BUTTONS",
    "MAX_BYTES",
    "OfficerButton",
    "Prefix",
    "choice",
    "decode",
    "encode",
    "follow_up",
    "officer_button",
    "parse_follow_up",
    "parse_officer",
    "parse_rating",
    "pattern",
    "rating",
    "skip_rating",
    "starts_with",
]
