"""Making a message fit Telegram whatever a resident wrote: one budget for all the free text in it.

Telegram refuses a message whose text is over 4096 UTF-16 code units *after* entity parsing, i.e. the text
a reader sees: tags are not counted, ``&amp;`` counts as one ``&``, an emoji or an astral CJK character
counts two. A notice is our own fixed words (labels, a title, an officer's name, a promise) around free
text someone typed (a summary, details, a comment), and only the free text can be too long. So the
renderer hands its free text here as raw strings together with a function that builds the message from
them; :func:`fit` measures what is visible, and when it is too much it shortens the free fields
*together*: the longest first, down to equal shares, each cut one ending in an ellipsis. Cutting happens
on the raw text, before escaping, so an escape (``&lt;``) is never cut in half, and by code point, so a
surrogate pair never is either.
"""

from __future__ import annotations

import re
from typing import Callable, Mapping, Sequence

# Telegram's limit on message text, counted in UTF-16 code units after entity parsing.
MAX_TEXT = 4096
ELLIPSIS = "…"

Build = Callable[[Mapping[str, "str | None"]], str]

_TAG = re.compile(r"<(?:[^>\"']|\"[^\"]*\"|'[^']*')*>")
_ENTITY = re.compile(r"&(?:#(\d{1,7})|#[xX]([0-9a-fA-F]{1,6})|(lt|gt|amp|quot));")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
# Characters that only make sense followed by another: a cut must not leave them dangling at its end.
_DANGLING = " \t\r\n\u200d\ufe0f\ufe0e"
# Shortening again only matters when the build puts a field in more than once or drops one that became
# empty; a few rounds settle that, and a message that still does not fit has too much fixed text.
_ROUNDS = 8


class TooLong(ValueError):
    """The fixed part alone is over the limit: no shortening of free text can make the message fit."""


def utf16_len(text: str) -> int:
    """Telegram counts message length in UTF-16 code units (an emoji is two)."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _unit_cost(char: str) -> int:
    return 2 if ord(char) > 0xFFFF else 1


def _decode(match: re.Match[str]) -> str:
    decimal, hexadecimal, named = match.groups()
    if named:
        return _NAMED[named]
    code = int(decimal) if decimal else int(hexadecimal, 16)
    return chr(code) if 0 < code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF else match.group(0)


def visible(html_text: str) -> str:
    """The text a reader sees of an HTML message (the part Telegram measures): tags gone, the entities
    Telegram knows decoded. Only for measuring Hemu's own messages, which escape every value they fill
    in; it does not check the markup (the local Bot API server does, as Telegram does)."""
    return _ENTITY.sub(_decode, _TAG.sub("", html_text))


def visible_len(html_text: str) -> int:
    return utf16_len(visible(html_text))


def shorten(text: str, units: int) -> str:
    """``text`` in at most ``units`` UTF-16 units: as it is when it fits, else a prefix cut at a code point
    and ending in :data:`ELLIPSIS` (nothing at all when there is no room even for that)."""
    if utf16_len(text) <= units:
        return text
    if units < utf16_len(ELLIPSIS):
        return ""
    room = units - utf16_len(ELLIPSIS)
    kept = used = 0
    for char in text:
        used += _unit_cost(char)
        if used > room:
            break
        kept += 1
    head = text[:kept]
    if head and 0xD800 <= ord(head[-1]) <= 0xDBFF:  # half a pair that arrived as two code points
        head = head[:-1]
    return head.rstrip(_DANGLING) + ELLIPSIS


def shares(lengths: Mapping[str, int], room: int) -> dict[str, int]:
    """How many units each field may keep so that together they take at most ``room``: every field
    gets the same cap, fields shorter than it keep all they have, and what the cap leaves over goes one
    unit at a time to the longest fields (so the longest are the ones shortened, and the most)."""
    room = max(room, 0)
    order = sorted(lengths, key=lambda name: (lengths[name], name))
    allowed: dict[str, int] = {}
    for index, name in enumerate(order):
        left = len(order) - index
        cap = room // left
        if lengths[name] <= cap:
            allowed[name] = lengths[name]
            room -= lengths[name]
            continue
        longest_first = order[index:][::-1]
        extra = room - cap * left
        for position, rest in enumerate(longest_first):
            allowed[rest] = cap + (1 if position < extra else 0)
        break
    return allowed


def fit(build: Build, fields: Mapping[str, str | None], limit: int = MAX_TEXT) -> str:
    """``build(fields)``, with the free-text ``fields`` shortened together just enough for the visible
    text to be at most ``limit`` UTF-16 units.

    ``build`` gets raw text (None stays None) and escapes it as it always does; it must put everything else
    in itself, because only ``fields`` are shortened. Raises :class:`TooLong` when even empty fields leave
    the message too long.
    """
    values: dict[str, str | None] = dict(fields)
    text = build(values)
    over = visible_len(text) - limit
    if over <= 0:
        return text
    lengths = {name: utf16_len(value) for name, value in fields.items() if value}
    room = sum(lengths.values()) - over
    for _ in range(_ROUNDS):
        allowed = shares(lengths, room)
        values = {name: shorten(value, allowed[name]) if value else value for name, value in fields.items()}
        text = build(values)
        over = visible_len(text) - limit
        if over <= 0:
            return text
        if room <= 0:
            break
        room -= over
    raise TooLong(f"{visible_len(text)} UTF-16 units visible after shortening every free field")


def fit_lines(build: Callable[[Sequence[str], int], str], lines: Sequence[str], limit: int = MAX_TEXT) -> str:
    """``build(shown, hidden)`` with as many of ``lines`` (from the top) as fit; ``hidden`` is how many
    were left out, for a "… and N more" line. For lists of Hemu's own lines, where cutting a line in the
    middle would say less than leaving it out."""
    shown = len(lines)
    text = build(lines, 0)
    while (over := visible_len(text) - limit) > 0:
        if shown == 0:
            raise TooLong(f"{visible_len(text)} UTF-16 units visible without any line")
        # Leave out at once as many lines as the excess needs (each with its line break), so a list of
        # thousands is not rebuilt thousands of times; the "more" line may cost one round more.
        saved = 0
        while shown > 0 and saved < over:
            shown -= 1
            saved += visible_len(lines[shown]) + 1
        text = build(lines[:shown], len(lines) - shown)
    return text


__all__ = ["ELLIPSIS", "MAX_TEXT", "TooLong", "fit", "fit_lines", "shares", "shorten", "utf16_len", "visible"]
