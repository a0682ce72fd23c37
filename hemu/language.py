"""Which language to answer in: the resident's, decided afresh at every message.

Order of precedence: an explicit request ("English please", ``/language``) sticks; otherwise
the script of what they just wrote; otherwise what we used before; otherwise the language their
Telegram client reports (it decides a first "/start"); otherwise the station default. Short
Latin replies ("ok", "no") in a Chinese conversation do not flip it, and neither do button payloads.
"""

from __future__ import annotations

import re

from hemu import LANGUAGES

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")

_ASK_ENGLISH = re.compile(r"english|英文|英语|英語", re.IGNORECASE)
_ASK_CHINESE = re.compile(r"chinese|mandarin|中文|汉语|漢語|普通话|国语|华语", re.IGNORECASE)


def script_language(text: str) -> str | None:
    """The language the text is written in, or None when it does not tell (digits, emoji, "ok")."""
    if not text or text.startswith("/"):
        return None
    han = len(_HAN.findall(text))
    latin = len(_LATIN_WORD.findall(text))
    if han and han >= latin:
        return "zh"
    if latin >= 2 or (latin and not han and len(text.strip()) > 3):
        return "en"
    if han:
        return "zh"
    return None


def client_language(language_code: str | None) -> str | None:
    """Telegram's ``language_code`` (an IETF tag such as ``zh-hans`` or ``en-GB``) mapped to ours."""
    if not language_code:
        return None
    primary = language_code.lower().replace("_", "-").split("-")[0]
    if primary in LANGUAGES:
        return primary
    return None


def requested_language(text: str, current: str | None) -> str:
    """The language a "change language" request asks for; a bare request toggles."""
    wants_en = bool(_ASK_ENGLISH.search(text or ""))
    wants_zh = bool(_ASK_CHINESE.search(text or ""))
    if wants_en and not wants_zh:
        return "en"
    if wants_zh and not wants_en:
        return "zh"
    return "zh" if current == "en" else "en"


def choose_language(
    text: str,
    *,
    explicit: str | None = None,
    client: str | None = None,
    previous: str | None = None,
    default: str = "zh",
) -> str:
    """Applies the precedence described in the module docstring."""
    if explicit in LANGUAGES:
        return explicit  # type: ignore[return-value]
    written = script_language(text)
    if written == "en" and previous == "zh" and len(_LATIN_WORD.findall(text)) < 2:
        written = None
    for candidate in (written, previous, client_language(client), default):
        if candidate in LANGUAGES:
            return candidate  # type: ignore[return-value]
    return "zh"
