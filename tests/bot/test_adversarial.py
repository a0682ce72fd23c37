"""Presses and commands from people who must not get anywhere, through the real gateway.

For every officer verb a card can carry (and the forms a forger would try): a resident, an officer the
case is not assigned to, an officer switched off, and the right officer with a stale card all change
nothing and see nothing of the case; and a resident cannot rate, follow up or look at someone else's
case through any button or command the resident side offers. Each attempt is checked in the store (the
case's state and version) and in the attacker's chat (no card, no resident's words).
"""

from __future__ import annotations

import asyncio
from typing import Any

from hemu.cases import CaseState
from tests.auxil.gateway import RunningGateway
from tests.bot.conftest import (
    OFFICER_CHATS,
    OTHER_RESIDENT,
    RESIDENT,
    bot_messages,
    latest,
    open_case_now,
    press,
    register,
    resident_says_hello,
)

WANG = OFFICER_CHATS["wang_li"]
CHEN = OFFICER_CHATS["chen_hao"]
SECRET = "Zhang in 502 threatens his mother"


def verbs(number: str, version: int) -> list[str]:
    """Every officer button, well-formed for this case, and the forms a forger would try."""
    return [
        f"o:ack:{number}:{version}",
        f"o:contact:{number}:{version}",
        f"o:resolve:{number}:{version}",
        f"o:handover:{number}:{version}",
        f"o:auto:{number}:{version}",
        f"o:to:{number}:{version}:chen_hao",
        f"o:to:{number}:{version}:zhou_jian",
        f"o:open:{number}",
        f"o:ack:{number.lower()}:{version}",
        f"o:ack:{number}:{version}:extra",
        f"o:ack:{number}:-1",
        f"o:ack:{number}:{version}\nINFO forged",
        f"o:resolve:{number}",
        "o:",
        "o:ack::1",
    ]


async def _attempts(gateway: RunningGateway, chat: int, user: int, data: list[str]) -> list[dict[str, Any]]:
    """Presses each of ``data`` as ``user`` on the last bot message in ``chat``; the answers."""
    message = (await bot_messages(gateway, chat))[-1]
    answers = []
    for item in data:
        answers.append(await press(gateway, user, message["message_id"], item, chat_id=chat))
    return answers


def unchanged(gateway: RunningGateway, number: str, version: int) -> None:
    case = gateway.store.get(number)
    assert case is not None and (case.state, case.version, case.officer_id) == (
        CaseState.OPEN,
        version,
        "wang_li",
    )


async def no_secret(gateway: RunningGateway, chat: int) -> None:
    assert all(SECRET not in m["text"] for m in await bot_messages(gateway, chat))


async def test_no_officer_button_works_for_anyone_but_the_officer_with_a_current_card(
    gateway: RunningGateway,
) -> None:
    await register(gateway, "wang_li")
    await register(gateway, "chen_hao")
    await resident_says_hello(gateway)
    case = await open_case_now(gateway, summary=SECRET)
    await latest(gateway, WANG, 2)
    version = gateway.store.get(case.number).version
    data = verbs(case.number, version)

    # A resident pressing in their own chat, and in the officer's chat (a forwarded card, a shared phone).
    for chat in (RESIDENT, WANG):
        for answer in await _attempts(gateway, chat, RESIDENT, data):
            assert answer.get("show_alert"), answer
        unchanged(gateway, case.number, version)
    # Another officer, in their own chat.
    for answer in await _attempts(gateway, CHEN, CHEN, data):
        assert answer.get("show_alert"), answer
    unchanged(gateway, case.number, version)
    await no_secret(gateway, CHEN)
    await no_secret(gateway, RESIDENT)
    # The right officer with a stale card.
    stale = [d for d in verbs(case.number, version + 3) if ":open:" not in d]
    for answer in await _attempts(gateway, WANG, WANG, stale):
        assert answer.get("show_alert"), answer
    unchanged(gateway, case.number, version)


async def test_a_switched_off_officer_can_do_nothing_with_their_old_card(gateway: RunningGateway) -> None:
    await register(gateway, "wang_li")
    case = await open_case_now(gateway, summary=SECRET)
    await latest(gateway, WANG, 2)
    version = gateway.store.get(case.number).version
    await asyncio.to_thread(gateway.store.officers.deactivate, "wang_li", gateway.gateway.desk.now())
    before = len(await bot_messages(gateway, WANG))
    for answer in await _attempts(gateway, WANG, WANG, verbs(case.number, version)):
        assert answer.get("show_alert"), answer
    unchanged(gateway, case.number, version)
    await gateway.control.send_text(WANG, f"/case {case.number}")
    refusal = await latest(gateway, WANG, before + 1)
    assert SECRET not in refusal["text"] and case.number not in refusal["text"]


async def test_a_resident_cannot_rate_follow_up_or_read_someone_elses_case(gateway: RunningGateway) -> None:
    await register(gateway, "wang_li")
    hello = await resident_says_hello(gateway)
    theirs = await open_case_now(gateway, summary=SECRET)
    await asyncio.to_thread(
        gateway.gateway.desk.officer_act, theirs.number, "wang_li", "resolve", note="Done."
    )
    await latest(gateway, RESIDENT, hello + 1)  # the rating request, to its own resident
    resolved = gateway.store.get(theirs.number)

    await resident_says_hello(gateway, OTHER_RESIDENT)
    attempts = [
        f"rate:{theirs.number}:1",
        f"rate:skip:{theirs.number}",
        f"fu:{theirs.number}:back",
        f"fu:{theirs.number}:fine",
        f"rate:{theirs.number}:1:x",
    ]
    for answer in await _attempts(gateway, OTHER_RESIDENT, OTHER_RESIDENT, attempts):
        assert answer is not None
    for command in (f"/case {theirs.number}", "/cases", "/stats"):
        await gateway.control.send_text(OTHER_RESIDENT, command, language_code="en")
    await latest(gateway, OTHER_RESIDENT, 4)
    after = gateway.store.get(theirs.number)
    assert (after.state, after.rating, after.version) == (resolved.state, resolved.rating, resolved.version)
    await no_secret(gateway, OTHER_RESIDENT)
