"""Telegram's text formatting rules, reproduced so the sandbox rejects what Telegram would reject.

The point of a local Bot API server is to fail where Telegram fails: a bot that forgets to escape a
resident's ``<`` must get "can't parse entities" here, not only in production. The HTML parser follows
TDLib's ``parse_html`` (same tag set, same error wording, offsets in UTF-16 code units), with one deliberate
difference: a bare ``&`` that does not start an entity is an error here, while Telegram quietly keeps it.
Being stricter costs correct code nothing (``html.escape`` escapes ``&``) and catches a missing escape early.
"""

from __future__ import annotations

import re
from typing import Any

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
_COMMAND_RE = re.compile(r"(?<![\w/@])/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?(?![\w/])")


class ParseError(ValueError):
    """Not valid Telegram HTML; the message is Telegram's wording after "can't parse entities: "."""


def utf16_len(text: str) -> int:
    """Entity offsets and lengths count UTF-16 code units (a CJK character is 1, most emoji are 2)."""
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def _decode_entity(text: str, i: int) -> tuple[str, int] | None:
    match = _ENTITY_RE.match(text, i)
    if not match:
        return None
    decimal, hexadecimal, named = match.groups()
    if named:
        return _NAMED[named], match.end()
    code = int(decimal) if decimal else int(hexadecimal, 16)
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None
    return chr(code), match.end()


def parse_html(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Returns (plain text, entities) as Telegram would store them, or raises :class:`ParseError`."""
    out: list[str] = []
    position = 0  # UTF-16 length of ``out``
    # open tags: [tag name, argument, utf-16 start, extra]
    stack: list[list[Any]] = []
    entities: list[dict[str, Any]] = []
    n = len(text)
    i = 0

    def emit(chunk: str) -> None:
        nonlocal position
        out.append(chunk)
        position += utf16_len(chunk)

    while i < n:
        c = text[i]
        if c == "&":
            decoded = _decode_entity(text, i)
            if decoded is None:
                raise ParseError(
                    f'unescaped "&" at byte offset {_byte_offset(text, i)}; write &amp; for a literal "&"'
                )
            emit(decoded[0])
            i = decoded[1]
            continue
        if c != "<":
            j = i
            while j < n and text[j] not in "&<":
                j += 1
            emit(text[i:j])
            i = j
            continue
        begin = i
        begin_byte = _byte_offset(text, begin)
        i += 1
        if i < n and text[i] == "/":
            if not stack:
                raise ParseError(f"Unexpected end tag at byte offset {begin_byte}")
            i += 1
            start = i
            while i < n and not text[i].isspace() and text[i] != ">":
                i += 1
            end_name = text[start:i].lower()
            while i < n and text[i].isspace():
                i += 1
            if i >= n or text[i] != ">":
                raise ParseError(f"Unclosed end tag at byte offset {begin_byte}")
            i += 1
            tag, argument, start_pos, extra = stack.pop()
            if end_name and end_name != tag:
                raise ParseError(
                    f"Unmatched end tag at byte offset {begin_byte}, "
                    f'expected "</{tag}>", found "</{end_name}>"'
                )
            _close(tag, argument, start_pos, position, extra, stack, entities)
            continue
        start = i
        while i < n and not text[i].isspace() and text[i] != ">":
            i += 1
        if i >= n:
            raise ParseError(f"Unclosed start tag at byte offset {begin_byte}")
        tag = text[start:i].lower()
        if tag not in _TAG_ENTITY:
            raise ParseError(f'Unsupported start tag "{tag}" at byte offset {begin_byte}')
        argument = ""
        extra: dict[str, Any] = {}
        while True:
            while i < n and text[i].isspace():
                i += 1
            if i >= n:
                raise ParseError(f'Unclosed start tag "{tag}" at byte offset {begin_byte}')
            if text[i] == ">":
                i += 1
                break
            name_start = i
            while i < n and not text[i].isspace() and text[i] not in "=>":
                i += 1
            attribute = text[name_start:i].lower()
            if not attribute:
                raise ParseError(f'Empty attribute name in the tag "{tag}" at byte offset {begin_byte}')
            while i < n and text[i].isspace():
                i += 1
            if i >= n or text[i] != "=":
                if tag == "blockquote" and attribute == "expandable":
                    extra["expandable"] = True
                    continue
                raise ParseError(
                    f'Expected equal sign in declaration of an attribute of the tag "{tag}" '
                    f"at byte offset {begin_byte}"
                )
            i += 1
            while i < n and text[i].isspace():
                i += 1
            if i >= n:
                raise ParseError(f'Unclosed start tag "{tag}" at byte offset {begin_byte}')
            if text[i] in "'\"":
                quote = text[i]
                i += 1
                value_chars: list[str] = []
                while i < n and text[i] != quote:
                    if text[i] == "&":
                        decoded = _decode_entity(text, i)
                        if decoded is not None:
                            value_chars.append(decoded[0])
                            i = decoded[1]
                            continue
                    value_chars.append(text[i])
                    i += 1
                if i >= n:
                    raise ParseError(f"Unclosed start tag at byte offset {begin_byte}")
                i += 1
                value = "".join(value_chars)
            else:
                token_start = i
                while i < n and (text[i].isalnum() or text[i] in ".-"):
                    i += 1
                value = text[token_start:i].lower()
                if i >= n or (not text[i].isspace() and text[i] != ">"):
                    raise ParseError(
                        f"Unexpected end of name token at byte offset {_byte_offset(text, token_start)}"
                    )
            if tag == "a" and attribute == "href":
                argument = value
            elif tag == "code" and attribute == "class" and value.startswith("language-"):
                argument = value[len("language-") :]
            elif tag == "span" and attribute == "class" and value.startswith("tg-"):
                argument = value[3:]
            elif tag == "tg-emoji" and attribute == "emoji-id":
                argument = value
        if tag == "span" and argument != "spoiler":
            raise ParseError(f'Tag "span" must have class "tg-spoiler" at byte offset {begin_byte}')
        stack.append([tag, argument, position, extra])
    if stack:
        raise ParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def _close(
    tag: str,
    argument: str,
    start: int,
    end: int,
    extra: dict[str, Any],
    stack: list[list[Any]],
    entities: list[dict[str, Any]],
) -> None:
    """Turns a closed tag into an entity as Telegram does (empty ranges vanish, tg://user links mention)."""
    length = end - start
    if tag == "code" and argument and stack and stack[-1][0] == "pre":
        # <pre><code class="language-x"> is one pre entity with a language, not two entities.
        stack[-1][3]["language"] = argument
        return
    if length <= 0:
        return
    kind = _TAG_ENTITY[tag]
    entity: dict[str, Any] = {"type": kind, "offset": start, "length": length}
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
    elif tag == "pre" and extra.get("language"):
        entity["language"] = extra["language"]
    elif tag == "blockquote" and extra.get("expandable"):
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
