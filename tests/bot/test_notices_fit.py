"""Cards and notices that always fit (issue 13): every card and every notice, whatever the resident wrote
(huge, emoji, astral CJK, ``<>&``, many details), is valid HTML for Telegram with at most 4096 UTF-16 units
of visible text; the short stand-ins hold no typed word; and an officer really receives them through the
gateway and the local Bot API server, which measures as Telegram does."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any, cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot import cards, notices
from bot.gateway import Gateway
from bot.notices import RESIDENT_EVENTS
from hemu.cases import CaseState
from hemu.desk import Desk
from hemu.hygiene import visible
from hemu.kinds import CardReason
from hemu.policy import ESCALATION_ROLES
from hemu.store import CaseRecord, NotificationRecord, Store
from sandbox.markup import MAX_TEXT_LENGTH, parse_html, utf16_len
from tests.auxil.gateway import RunningGateway
from tests.auxil.hostile import hostile
from tests.bot.conftest import OFFICER_CHATS, RESIDENT, buttons, latest, open_case_now, register
from tests.bot.offline import notice, offline_gateway
from tests.conftest import WEDNESDAY_10

WANG = OFFICER_CHATS["wang_li"]
OFFICER = "officer:wang_li"
SUPERVISOR = "officer:zhou_jian"
RESIDENT_PARTY = f"resident:{RESIDENT}"
# Typed into every free field where a test checks that a short stand-in leaves typed words out.
MARKER = "ZQXmarker😡𠀀<&>"
HUGE = "😡" * 20_000

maybe_hostile = st.none() | hostile
case_fields = st.fixed_dictionaries(
    {
        "summary": hostile.filter(bool),
        "area_text": maybe_hostile,
        "parties": maybe_hostile,
        "duration": maybe_hostile,
        "contact": maybe_hostile,
        "contact_consent": st.booleans(),
        "risk_flags": st.sampled_from([(), ("threat",), ("weapon", "violence")]),
        "state": st.sampled_from(
            [CaseState.OPEN, CaseState.REOPENED, CaseState.CONTACTED, CaseState.RESOLVED]
        ),
        "resolution_note": maybe_hostile,
        "rating": st.none() | st.integers(1, 5),
        "rating_comment": maybe_hostile,
        "language": st.sampled_from(["zh", "en"]),
    }
)
# Huge texts take a while to build and shrink: no per-example deadline.
relaxed = settings(max_examples=80, deadline=None)


class OneCase:
    """The real store, except that every case number reads as the case under test: the renderers read
    the case at send time, and this lets one store serve every hostile variant."""

    def __init__(self, store: Store, case: CaseRecord) -> None:
        self._store = store
        self._case = case

    def get(self, number: str) -> CaseRecord:
        return self._case

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def with_case(gateway: Gateway, case: CaseRecord) -> Gateway:
    return replace(gateway, store=cast(Store, OneCase(gateway.store, case)))


def all_notices(case: CaseRecord) -> st.SearchStrategy[tuple[str, str, dict[str, Any]]]:
    """Every kind of notice about ``case``, to its officer, the supervisor or its resident, with hostile
    text where a resident types into one (details, a rating comment)."""
    base: dict[str, Any] = {"number": case.number}
    due = {"old_due": WEDNESDAY_10.isoformat(), "new_due": (WEDNESDAY_10 + timedelta(hours=2)).isoformat()}
    return st.one_of(
        st.builds(
            lambda reason, source, rating: (
                OFFICER,
                "case_assigned",
                {**base, "reason": reason, "from_officer": source, "rating": rating},
            ),
            st.sampled_from([None, *(reason.value for reason in CardReason)]),
            st.sampled_from([None, "zhao_min", "wang_li"]),
            st.integers(1, 5),
        ),
        st.just((OFFICER, "promise_reminder", base)),
        st.builds(
            lambda role, level, call: (
                OFFICER,
                "promise_broken",
                {
                    **base,
                    **due,
                    "role": role,
                    "level": level,
                    "levels": 3,
                    "call": call,
                    "officer_id": "wang_li",
                },
            ),
            st.sampled_from([*ESCALATION_ROLES, "nobody"]),
            st.integers(1, 3),
            st.booleans(),
        ),
        st.builds(
            lambda said: (OFFICER, "case_update", {**base, "event": "details_added", "text": said}), hostile
        ),
        st.builds(
            lambda said, rating: (
                OFFICER,
                "case_update",
                {**base, "event": "rated", "rating": rating, "comment": said},
            ),
            st.none() | hostile,
            st.integers(1, 5),
        ),
        st.sampled_from(
            [
                (OFFICER, "case_update", {**base, "event": event})
                for event in (
                    "cancelled_by_resident",
                    "resident_says_safe",
                    "follow_up_came_back",
                    "new_thing",
                )
            ]
        ),
        st.sampled_from(
            [
                (RESIDENT_PARTY, "case_update", {**base, **due, "event": event.value})
                for event in RESIDENT_EVENTS
            ]
            + [
                (RESIDENT_PARTY, "case_update", {**base, "event": "closed"}),
                (RESIDENT_PARTY, "follow_up", base),
            ]
        ),
        st.builds(
            lambda count: (SUPERVISOR, "daily_summary", {"numbers": [case.number] * count}),
            st.integers(1, 300),
        ),
    )


def fits(text: str) -> str:
    """The visible text, after checking what the local Bot API server (Telegram's rules) checks."""
    seen, _ = parse_html(text)
    assert seen.strip()
    assert utf16_len(seen) <= MAX_TEXT_LENGTH
    return seen


def rendered(
    render: Callable[[Gateway, NotificationRecord], notices.Outgoing],
    gateway: Gateway,
    record: NotificationRecord,
) -> str | None:
    try:
        return render(gateway, record).text
    except notices.Drop:  # e.g. a reminder for a case no longer waiting: nothing is sent at all
        return None


@pytest.mark.parametrize("language", ["zh", "en"])
def test_every_notice_fits_whatever_the_resident_wrote(
    desk: Desk, open_case: Callable[..., CaseRecord], language: str
) -> None:
    case = open_case()
    gateway = offline_gateway(desk, {"wang_li": 7001, "zhou_jian": 7006}, language)

    @relaxed
    @given(fields=case_fields, data=st.data())
    def check(fields: dict[str, Any], data: st.DataObject) -> None:
        variant = replace(case, **fields)
        recipient, kind, payload = data.draw(all_notices(variant))
        record = notice(desk, recipient, kind, payload)
        full = rendered(notices.render, with_case(gateway, variant), record)
        short = rendered(notices.render_minimal, with_case(gateway, variant), record)
        assert (full is None) == (short is None)  # both refuse the same recipients
        if full is not None and short is not None:
            assert case.number in fits(full)
            assert case.number in fits(short) or "/cases" in short  # the daily summary's stand-in

    check()


def test_every_card_fits_and_keeps_the_short_fields(desk: Desk, open_case: Callable[..., CaseRecord]) -> None:
    case = open_case()

    @relaxed
    @given(fields=case_fields, header=st.sampled_from([None, "🆕 <b>A new case for you</b>"]))
    def check(fields: dict[str, Any], header: str | None) -> None:
        variant = replace(case, **fields)
        for language in ("zh", "en"):
            seen = fits(cards.card_text(variant, desk.settings, WEDNESDAY_10, language, header=header))
            assert case.number in seen
            if variant.contact_consent and variant.contact and utf16_len(variant.contact) <= 100:
                # A short field is never the one shortened (shown without reordering/hidden characters).
                assert visible(variant.contact) in seen
            short = fits(cards.minimal_card_text(variant, desk.settings, WEDNESDAY_10, language))
            assert case.number in short and "python -m hemu cases show" in short

    check()


@pytest.mark.parametrize("language", ["zh", "en"])
def test_the_short_stand_ins_hold_no_typed_word(
    desk: Desk, open_case: Callable[..., CaseRecord], language: str
) -> None:
    case = open_case()
    typed = {field: MARKER * 500 for field in ("summary", "area_text", "parties", "duration", "contact")}
    variant = replace(
        case,
        **typed,
        contact_consent=True,
        resolution_note=MARKER,
        rating=2,
        rating_comment=MARKER,
        risk_flags=("threat",),
    )
    gateway = with_case(offline_gateway(desk, {"wang_li": 7001, "zhou_jian": 7006}, language), variant)
    every = [
        (OFFICER, "case_assigned", {"number": case.number}),
        (OFFICER, "promise_reminder", {"number": case.number}),
        (OFFICER, "promise_broken", {"number": case.number, "role": "assigned"}),
        *[
            (
                OFFICER,
                "case_update",
                {"number": case.number, "event": event, "text": MARKER, "comment": MARKER},
            )
            for event in (
                "details_added",
                "rated",
                "cancelled_by_resident",
                "resident_says_safe",
                "new_thing",
            )
        ],
        *[
            (RESIDENT_PARTY, "case_update", {"number": case.number, "event": event.value})
            for event in RESIDENT_EVENTS
        ],
        (RESIDENT_PARTY, "follow_up", {"number": case.number}),
        (SUPERVISOR, "daily_summary", {"numbers": [case.number]}),
    ]
    hints = {OFFICER: f"/case {case.number}", RESIDENT_PARTY: "/status", SUPERVISOR: "/cases"}
    for recipient, kind, payload in every:
        outgoing = notices.render_minimal(gateway, notice(desk, recipient, kind, payload))
        seen = fits(outgoing.text)
        assert "ZQX" not in seen, (kind, payload)
        assert hints[recipient] in seen, (kind, payload)
        assert recipient == SUPERVISOR or case.number in seen
    resolved = notices.render_minimal(
        gateway, notice(desk, RESIDENT_PARTY, "case_update", {"number": case.number, "event": "resolved"})
    )
    assert resolved.markup is not None  # the resident can still rate from the short message
    assert "ZQX" not in cards.minimal_card_text(variant, desk.settings, WEDNESDAY_10, language)


def test_the_details_notice_shortens_many_details_and_keeps_the_escapes(
    desk: Desk, open_case: Callable[..., CaseRecord]
) -> None:
    case = open_case()
    gateway = offline_gateway(desk, {"wang_li": 7001}, "en")
    details = " | ".join(["𠀀<b>&amp;</b>" * 40] * 200)
    payload = {"number": case.number, "event": "details_added", "text": details}
    text = notices.render(gateway, notice(desk, OFFICER, "case_update", payload)).text
    seen = fits(text)
    assert seen.endswith("…") and utf16_len(seen) >= MAX_TEXT_LENGTH - 2
    assert "&lt;b&gt;&amp;amp;&lt;/b&gt;" in text


# ---------------------------------------------------------------- through the gateway


async def test_an_officer_gets_the_card_of_a_case_written_in_20000_emoji(gateway: RunningGateway) -> None:
    """Before issue 13 the card was refused ("message is too long") and never reached the officer."""
    await register(gateway, "wang_li")
    case = await open_case_now(
        gateway,
        summary=HUGE,
        area_text="🏠" * 2000,
        parties="👨‍👩‍👧" * 2000,
        duration="🕐" * 2000,
        contact_consent=True,
        contact="📞" * 2000,
    )
    card = await latest(gateway, WANG, 2)
    assert case.number in card["text"] and "😡…" in card["text"]
    assert utf16_len(card["text"]) <= MAX_TEXT_LENGTH
    assert f"o:ack:{case.number}:{case.version}" in buttons(card)

    # The resident writes again about the same matter: 20,000 more emoji reach the officer as details.
    again = await open_case_now(gateway, summary=HUGE, parties="<&>" * 3000)
    assert again.number == case.number
    details = await latest(gateway, WANG, 3)
    assert case.number in details["text"] and details["text"].endswith("…")
    assert utf16_len(details["text"]) <= MAX_TEXT_LENGTH


async def test_case_command_shows_the_card_or_at_least_the_case(gateway: RunningGateway) -> None:
    await register(gateway, "wang_li")
    case = await open_case_now(gateway, summary=HUGE, parties=MARKER * 1000)
    await latest(gateway, WANG, 2)
    await gateway.control.send_text(WANG, f"/case {case.number}")
    card = await latest(gateway, WANG, 3)
    assert case.number in card["text"] and "😡" in card["text"]
    assert utf16_len(card["text"]) <= MAX_TEXT_LENGTH

    # Should Telegram refuse the full card all the same, the officer gets the case without typed text.
    await gateway.control.fail("sendMessage", 400, "Bad Request: message is too long", chat_id=WANG)
    await gateway.control.send_text(WANG, f"/case {case.number}")
    short = await latest(gateway, WANG, 4)
    assert case.number in short["text"] and "python -m hemu cases show" in short["text"]
    assert "ZQX" not in short["text"] and "😡" not in short["text"]
    assert f"o:ack:{case.number}:{case.version}" in buttons(short)
