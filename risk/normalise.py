"""One spelling for every way a phone can write the same words, before any danger rule looks.

Why: residents type on phones with Chinese input methods that emit full-width Latin letters and
digits ("ｋｉｌｌ", "１１０"), traditional-width punctuation, and invisible characters pasted from
other apps (zero-width spaces and joiners, soft hyphens, direction marks). A rule written for "kill"
must see "ｋｉｌｌ" and "k\u200bill" as "kill". Offsets are kept: ``normalise_with_offsets`` maps
each normalised character back to the original message, so a finding can point at the words the
resident wrote.
"""

from __future__ import annotations

import unicodedata

# Zero-width and formatting characters that change nothing a reader sees (Unicode category Cf
# covers them all, plus U+FFFC/U+FFFD placeholders from broken pastes).
_INVISIBLE_EXTRA = {"\ufffc", "\ufffd"}
# Apostrophe and dash look-alikes that phones substitute; rules are written with the ASCII forms.
_FOLD = str.maketrans({"’": "'", "‘": "'", "`": "'", "´": "'", "–": "-", "—": "-", "－": "-"})


def _invisible(char: str) -> bool:
    return unicodedata.category(char) == "Cf" or char in _INVISIBLE_EXTRA


def normalise_with_offsets(text: str) -> tuple[str, list[int]]:
    """The normalised text and, for each of its characters, the index it came from in ``text``.

    NFKC turns full-width forms into ASCII (and compatibility ideographs into their usual form);
    then invisible characters are dropped, whitespace runs become one space, and letters are
    lower-cased. Chinese characters are left as they are.
    """
    out: list[str] = []
    origin: list[int] = []
    previous_space = True
    for index, char in enumerate(text):
        if _invisible(char):
            continue
        for piece in unicodedata.normalize("NFKC", char).translate(_FOLD):
            if piece.isspace():
                if previous_space:
                    continue
                piece = " "
                previous_space = True
            else:
                previous_space = False
            out.append(piece.lower())
            origin.append(index)
    while out and out[-1] == " ":
        out.pop()
        origin.pop()
    return "".join(out), origin


def normalise(text: str) -> str:
    """``text`` as the danger rules read it (see :func:`normalise_with_offsets`)."""
    return normalise_with_offsets(text)[0]
