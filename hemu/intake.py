"""What the report form needs to know, and how to read it out of what residents write.

The form asks only for what is still missing (SPEC §4), so the first message is read for details
it already gives (the area, how long it has gone on). Answers are normalised here: "I don't know"
is a real answer, not a reason to ask again.
"""

from __future__ import annotations

import re
from typing import Iterable, List, NamedTuple

from hemu.config import Area

UNKNOWN = "unknown"

# The questions, in the order they are asked; contact only when the resident agrees to be contacted.
FORM_FIELDS = ("area", "parties", "duration", "harm", "contact_consent", "contact")
# Fields a resident may correct from the summary, in the order they are offered.
CORRECTABLE_FIELDS = ("area", "parties", "duration", "harm", "contact")

HARM_VALUES = ("none", "afraid", "hurt")

_DONT_KNOW = re.compile(
    r"^\s*(不知道|不清楚|不太清楚|说不好|说不清|不记得了?|忘了|不晓得|鬼知道|"
    r"i\s*don'?t\s*know|dunno|no\s*idea|not\s*sure|can'?t\s*remember|idk)\W*$",
    re.IGNORECASE,
)

_DURATION = re.compile(
    r"(?P<zh>(?:[一二两三四五六七八九十半几\d]+|好几|十几)\s*(?:个)?\s*"
    r"(?:天|日|周|星期|礼拜|月|年)(?:多)?(?:了|之久)?|"
    r"(?:从|自从|打)?(?:去年|前年|今年|上个?月|上周|昨天|前天|春节|过年)(?:开始|起|以来)?|"
    r"好久|很久|很多年|好多年|一直)"
    r"|(?P<en>(?:for\s+)?(?:about\s+|around\s+|almost\s+|over\s+)?"
    r"(?:a|an|one|two|three|four|five|six|seven|eight|nine|ten|a\s+few|several|many|\d+)\s+"
    r"(?:day|night|week|month|year)s?|"
    r"since\s+(?:last\s+)?(?:\w+)|ages|years|months)",
    re.IGNORECASE,
)

_HARM_NONE = re.compile(
    r"没(有)?人(受伤|受到伤害)|没人伤|没受伤|都没事|没事|没有|都还好|no(body| one)\s+(is|was|got)?\s*hurt|"
    r"nobody|no one|^no\b|not hurt|everyone'?s? (is )?(ok|fine)",
    re.IGNORECASE,
)
_HARM_AFRAID = re.compile(
    r"怕|害怕|吓|担心|不敢|afraid|scared|frightened|worried|nervous|fear", re.IGNORECASE
)


# A phone number as people type it: 135 0000 1111, 138-0000-2222, +86 13800002222, 020 8123 4567.
_PHONE = re.compile(r"\+?\d[\d\s\-()]{5,}\d")
_CONSENT_YES = re.compile(
    r"^\W*(?:可以|好的|好啊|好吧|是的|对的|没问题|同意|当然|欢迎|(?:是|对|好|行|嗯+)(?=\W|$)|"
    r"(?:ok(?:ay)?|yes|yeah|yep|yup|sure|of course|please(?: do)?|fine|that'?s fine|go ahead|"
    r"certainly)\b)",
    re.IGNORECASE,
)
_CONSENT_NO = re.compile(
    r"^\W*(?:不用|不要|不行|不可以|不同意|不方便|不了|不必|没必要|不需要|别|算了|"
    r"(?:no|nope|nah|don'?t|do not|rather not|not necessary|no need|no thanks?)\b)",
    re.IGNORECASE,
)


class Consent(NamedTuple):
    """A typed answer to "may the officer contact you directly?": yes/no, and any number given."""

    agreed: bool | None
    contact: str | None


def read_consent(text: str) -> Consent:
    """Reads 「可以，打我电话 135 0000 1111」, "yes, call me on 138 0000 2222", "不用", "no thanks".

    A phone number means yes, whatever else is said ("别打电话 发短信 138…" still gives a way to reach
    them); the contact keeps the resident's words after the yes. Anything else is ``agreed=None``:
    the question is asked again with its buttons.
    """
    text = (text or "").strip()
    if _PHONE.search(text):
        yes = _CONSENT_YES.match(text)
        rest = text[yes.end() :] if yes else text
        return Consent(True, rest.strip(" ,，.。:：;；!！") or text)
    if _CONSENT_NO.match(text):
        return Consent(False, None)
    if _CONSENT_YES.match(text):
        return Consent(True, None)
    return Consent(None, None)


def is_dont_know(text: str) -> bool:
    return bool(_DONT_KNOW.match(text or ""))


def find_area(text: str, areas: Iterable[Area]) -> Area | None:
    """The configured area whose name or alias the text mentions (longest mention wins)."""
    lowered = (text or "").casefold()
    best: tuple[int, Area] | None = None
    for area in areas:
        for name in (area.name.zh, area.name.en, *area.aliases):
            key = name.casefold()
            if key and key in lowered and (best is None or len(key) > best[0]):
                best = (len(key), area)
    return best[1] if best else None


def find_duration(text: str) -> str | None:
    """The first phrase that says how long the trouble has gone on, as the resident wrote it."""
    match = _DURATION.search(text or "")
    return match.group(0).strip() if match else None


def normalise_harm(text: str) -> str:
    """``none``, ``afraid`` or ``hurt`` from a free answer (danger itself is screened elsewhere)."""
    if text in HARM_VALUES:
        return text
    if _HARM_AFRAID.search(text or ""):
        return "afraid"
    if _HARM_NONE.search(text or ""):
        return "none"
    return "afraid" if text else "none"


def required_fields(contact_consent: object) -> List[str]:
    """The form's questions; how to reach the resident only matters once they agreed to contact."""
    return [field for field in FORM_FIELDS if field != "contact" or contact_consent is not False]
