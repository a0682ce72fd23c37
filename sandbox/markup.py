"""Telegram's text formatting rules, reproduced so the sandbox rejects what Telegram would reject.

The point of a local Bot API server is to fail where Telegram fails: a bot that forgets to escape a
resident's ``<`` must get "can't parse entities" here, not only in production. The HTML parser follows
TDLib's ``parse_html`` (same tag set, same error wording, offsets in UTF-16 code units), with one deliberate
difference: a bare ``&`` that does not start an entity is an error here, while Telegram quietly keeps it.
Being stricter costs correct code nothing (``html.escape`` escapes ``&``) and catches a missing escape early.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

# A message's text after entity parsing, in UTF-16 code units (:func:`utf16_len`).
MAX_TEXT_LENGTH = 4096

# Tag → entity type. ``span`` is only valid as ``<span class="tg-spoiler">``.
_TAG_ENTITY = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}

_ENTITY_RE = re.compile(r"&(?:#(\d{1,7})|#[xX]([0-9a-fA-F]{1,6})|(lt|gt|amp|quot));")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_PLAIN_RE = re.compile(r"[^&<]+")
_COMMAND_RE = re.compile(r"(?<![\w/@])/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?(?![\w/])")


class ParseError(ValueError):
    """Not valid Telegram HTML; the message is Telegram's wording after "can't parse entities: "."""


def utf16_len(text: str) -> int:
    """Entity offsets and lengths count UTF-16 code units (a CJK character is 1, most emoji are 2)."""
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(text: str, index: int) -> int:
    """Telegram's error messages count UTF-8 bytes; computed only when an error is raised."""
    return len(text[:index].encode("utf-8"))


def _entity_char(match: re.Match[str]) -> str | None:
    """The character an ``&…;`` entity stands for; None for a code point Telegram refuses."""
    decimal, hexadecimal, named = match.groups()
    if named:
        return _NAMED[named]
    code = int(decimal) if decimal else int(hexadecimal, 16)
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None
    return chr(code)


def _skip_spaces(text: str, i: int) -> int:
    while i < len(text) and text[i].isspace():
        i += 1
    return i


def _name_end(text: str, i: int, stops: str = ">") -> int:
    """Index just past a tag or attribute name starting at ``i`` (ends at white space or a ``stops`` char)."""
    while i < len(text) and not text[i].isspace() and text[i] not in stops:
        i += 1
    return i


@dataclass
class _Open:
    """A start tag waiting for its end tag; ``start`` is the UTF-16 offset of its text."""

    tag: str
    argument: str
    start: int
    extra: dict[str, Any] = field(default_factory=dict)


def parse_html(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Returns (plain text, entities) as Telegram would store them, or raises :class:`ParseError`."""
    out: list[str] = []
    position = 0  # UTF-16 length of ``out``
    stack: list[_Open] = []
    entities: list[dict[str, Any]] = []
    i = 0
    while i < len(text):
        if text[i] == "&":
            match = _ENTITY_RE.match(text, i)
            chunk = _entity_char(match) if match else None
            if match is None or chunk is None:
                raise ParseError(
                    f'unescaped "&" at byte offset {_byte_offset(text, i)}; write &amp; for a literal "&"'
                )
            i = match.end()
        elif text[i] != "<":
            plain = _PLAIN_RE.match(text, i)
            assert plain is not None  # text[i] is neither "&" nor "<"
            chunk, i = plain.group(0), plain.end()
        elif text.startswith("</", i):
            if not stack:
                raise ParseError(f"Unexpected end tag at byte offset {_byte_offset(text, i)}")
            i = _end_tag(text, i, stack[-1].tag)
            _close(stack.pop(), position, stack[-1] if stack else None, entities)
            continue
        else:
            opened, i = _start_tag(text, i, position)
            stack.append(opened)
            continue
        out.append(chunk)
        position += utf16_len(chunk)
    if stack:
        raise ParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].tag}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def _end_tag(text: str, begin: int, expected: str) -> int:
    """Checks that ``</name>`` at ``begin`` closes ``expected`` (``</>`` closes any tag); returns the index
    after it."""
    i = _name_end(text, begin + 2)
    name = text[begin + 2 : i].lower()
    i = _skip_spaces(text, i)
    if i >= len(text) or text[i] != ">":
        raise ParseError(f"Unclosed end tag at byte offset {_byte_offset(text, begin)}")
    if name and name != expected:
        raise ParseError(
            f"Unmatched end tag at byte offset {_byte_offset(text, begin)}, "
            f'expected "</{expected}>", found "</{name}>"'
        )
    return i + 1


def _start_tag(text: str, begin: int, position: int) -> tuple[_Open, int]:
    """Parses ``<name attr=value …>`` at ``begin``; returns the open tag and the index after ``>``."""
    n = len(text)
    i = _name_end(text, begin + 1)
    if i >= n:
        raise ParseError(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
    opened = _Open(tag=text[begin + 1 : i].lower(), argument="", start=position)
    tag = opened.tag
    if tag not in _TAG_ENTITY:
        raise ParseError(f'Unsupported start tag "{tag}" at byte offset {_byte_offset(text, begin)}')
    while True:
        i = _skip_spaces(text, i)
        if i >= n:
            raise ParseError(f'Unclosed start tag "{tag}" at byte offset {_byte_offset(text, begin)}')
        if text[i] == ">":
            break
        attribute, value, i = _attribute(text, i, tag, begin)
        if value is None:
            if tag == "blockquote" and attribute == "expandable":
                opened.extra["expandable"] = True
                continue
            raise ParseError(
                f'Expected equal sign in declaration of an attribute of the tag "{tag}" '
                f"at byte offset {_byte_offset(text, begin)}"
            )
        if tag == "a" and attribute == "href":
            opened.argument = value
        elif tag == "code" and attribute == "class" and value.startswith("language-"):
            opened.argument = value[len("language-") :]
        elif tag == "span" and attribute == "class" and value.startswith("tg-"):
            opened.argument = value[3:]
        elif tag == "tg-emoji" and attribute == "emoji-id":
            opened.argument = value
    if tag == "span" and opened.argument != "spoiler":
        raise ParseError(
            f'Tag "span" must have class "tg-spoiler" at byte offset {_byte_offset(text, begin)}'
        )
    return opened, i + 1


def _attribute(text: str, i: int, tag: str, begin: int) -> tuple[str, str | None, int]:
    """One ``name=value`` of the tag at ``begin``: (name, value or None when no "=" follows, next index)."""
    n = len(text)
    end = _name_end(text, i, "=>")
    attribute = text[i:end].lower()
    if not attribute:
        raise ParseError(
            f'Empty attribute name in the tag "{tag}" at byte offset {_byte_offset(text, begin)}'
        )
    i = _skip_spaces(text, end)
    if i >= n or text[i] != "=":
        return attribute, None, i
    i = _skip_spaces(text, i + 1)
    if i >= n:
        raise ParseError(f'Unclosed start tag "{tag}" at byte offset {_byte_offset(text, begin)}')
    if text[i] in "'\"":
        close = text.find(text[i], i + 1)
        if close < 0:
            raise ParseError(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
        # In a quoted value entities are decoded and a bare "&" is kept as it is.
        value = _ENTITY_RE.sub(lambda m: _entity_char(m) or m.group(0), text[i + 1 : close])
        return attribute, value, close + 1
    token_start = i
    while i < n and (text[i].isalnum() or text[i] in ".-"):
        i += 1
    if i >= n or (not text[i].isspace() and text[i] != ">"):
        raise ParseError(f"Unexpected end of name token at byte offset {_byte_offset(text, token_start)}")
    return attribute, text[token_start:i].lower(), i


def _close(opened: _Open, end: int, parent: _Open | None, entities: list[dict[str, Any]]) -> None:
    """Turns a closed tag into an entity as Telegram does (empty ranges vanish, tg://user links mention)."""
    tag, argument, start = opened.tag, opened.argument, opened.start
    length = end - start
    if tag == "code" and argument and parent is not None and parent.tag == "pre":
        # <pre><code class="language-x"> is one pre entity with a language, not two entities.
        parent.extra["language"] = argument
        return
    if length <= 0:
        return
    entity: dict[str, Any] = {"type": _TAG_ENTITY[tag], "offset": start, "length": length}
    if tag == "a":
        if not argument:
            return
        match = re.fullmatch(r"tg://user\?id=(\d+)", argument)
        if match:
            entity = {
                "type": "text_mention",
                "offset": start,
                "length": length,
                "user": {"id": int(match.group(1)), "is_bot": False, "first_name": ""},
            }
        else:
            entity["url"] = argument
    elif tag == "pre" and opened.extra.get("language"):
        entity["language"] = opened.extra["language"]
    elif tag == "blockquote" and opened.extra.get("expandable"):
        entity["type"] = "expandable_blockquote"
    elif tag == "tg-emoji":
        entity["custom_emoji_id"] = argument
    entities.append(entity)


def command_entities(text: str) -> list[dict[str, Any]]:
    """``bot_command`` entities Telegram attaches to a user's message; PTB's CommandHandler needs them."""
    found = []
    for match in _COMMAND_RE.finditer(text):
        found.append(
            {
                "type": "bot_command",
                "offset": utf16_len(text[: match.start()]),
                "length": utf16_len(match.group(0)),
            }
        )
    return found
