"""Whose danger is it: does the resident speak of themself ("我不想活了") or of someone else
("我妈说要喝农药", "my son says he wants to kill himself")?

Why: the self-harm reply used to speak as if someone else were at risk ("stay with them") to a
resident writing about themself. A message naming anyone else — a relative, a neighbour, he or she —
gets the reply for a person at risk (which also speaks to the resident in case it is them); only a
message about no one but the writer gets the reply addressed to them. Erring towards "someone else"
is the safe side: that text still tells the resident where to turn.
"""

from __future__ import annotations

import re

from risk.normalise import normalise

# Someone other than the writer, as the subject of what they say.
_OTHERS_ZH = re.compile(
    r"[他她它]|对方|人家|别人|有人|老公|老婆|丈夫|妻子|媳妇|婆婆|公公|岳父|岳母|丈母娘|老丈人|"
    r"[爸妈爹娘]|父亲|母亲|儿子|女儿|闺女|孩子|娃|[哥姐弟妹]|爷爷|奶奶|外公|外婆|姥姥|姥爷|"
    r"叔|婶|舅|姨|姑|侄|朋友|同学|同事|室友|邻居|男朋友|女朋友|对象|家里人|亲戚"
)
_OTHERS_EN = re.compile(
    r"\b(he|she|him|her|his|hers|they|them|their|someone|somebody|anyone|"
    r"(my|our|the|a)\s+(\w+\s+)?(mum|mom|mother|dad|father|parents?|son|daughter|kids?|child|children|"
    r"boy|girl|husband|wife|partner|boyfriend|girlfriend|brother|sister|sibling|grand\w+|"
    r"in-laws?|mother-in-law|father-in-law|uncle|aunt|cousin|nephew|niece|friend|flatmate|roommate|"
    r"neighbou?r|colleague|tenant|landlord))\b",
    re.IGNORECASE,
)


def speaks_of_self(text: str) -> bool:
    """True when the message names no one but the writer."""
    normalised = normalise(text or "")
    return not (_OTHERS_ZH.search(normalised) or _OTHERS_EN.search(normalised))
