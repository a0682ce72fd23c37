"""What residents wrote, made safe to show to officers and to open in a spreadsheet.

A resident controls every character of their words, and those words reach officers' Telegram chats and
the station's exported spreadsheets. Two tricks need no bug in Hemu to work:

* **Invisible and reordering characters.** Bidirectional controls (U+202A…U+202E, U+2066…U+2069, the
  direction marks) make a card show text in an order other than the one stored — a phone number or a
  case number read backwards, "not" moved to the end of a sentence; zero-width spaces and other format
  characters hide text or make two different strings look alike. :func:`visible` drops them, with C0/C1
  control characters other than line breaks and tabs. The zero-width joiner and non-joiner stay: emoji
  sequences (👨‍👩‍👧) and Persian or Indic words need them, and neither moves or hides a character.
* **Spreadsheet formulas.** A cell that starts with ``=``, ``+``, ``-``, ``@`` (or a tab or carriage
  return before one) is run as a formula by Excel, LibreOffice and Google Sheets: ``=HYPERLINK(...)``
  sends data away when an officer clicks it. :func:`spreadsheet_cell` prefixes such a cell with an
  apostrophe, the spreadsheets' own "this is text" mark (OWASP's advice for CSV injection).
"""

from __future__ import annotations

import unicodedata

# Format characters (Unicode category Cf) that must survive: they neither move nor hide a character.
_KEPT_FORMAT = frozenset({"\u200c", "\u200d"})  # zero-width non-joiner, zero-width joiner
_KEPT_CONTROLS = frozenset({"\n", "\t"})
# Leading characters a spreadsheet reads as the start of a formula (or as a way to hide one).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _shown(char: str) -> bool:
    category = unicodedata.category(char)
    if category == "Cf":
        return char in _KEPT_FORMAT
    if category == "Cc":
        return char in _KEPT_CONTROLS
    return True


def visible(text: str) -> str:
    """``text`` without the characters that reorder or hide what an officer reads (see module)."""
    if text.isascii() and text.isprintable():  # the common case, checked in C
        return text
    return "".join(char for char in text if _shown(char))


def spreadsheet_cell(value: str) -> str:
    """``value`` as a spreadsheet shows it, never runs it: a formula-like start gets an apostrophe.

    Hemu's own values (case numbers, ISO times, a negative count) never start that way, except a time
    zone offset, which never starts a cell."""
    if value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
