"""The officer's case card: everything a resident wrote is escaped, the card fits Telegram, and the
buttons follow the case's state and version."""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import timedelta

from bot import cards, fit
from hemu.cases import CaseState
from hemu.desk import Desk
from hemu.store import CaseRecord
from tests.conftest import WEDNESDAY_10


def _data(markup: object) -> list[str]:
    return [button.callback_data for row in markup.inline_keyboard for button in row]  # type: ignore[attr-defined]


def test_resident_text_is_escaped_everywhere(desk: Desk, open_case: Callable[..., CaseRecord]) -> None:
    nasty = '<b>&</b> <a href="x">'
    case = open_case(
        summary=f"summary {nasty}",
        area_text=f"area {nasty}",
        parties=f"parties {nasty}",
        duration=f"duration {nasty}",
        contact_consent=True,
        contact=f"contact {nasty}",
    )
    text = cards.card_text(case, desk.settings, WEDNESDAY_10, "en")
    escaped = html.escape(nasty, quote=False)
    for field in ("summary", "area", "parties", "duration", "contact"):
        assert f"{field} {escaped}" in text
    assert nasty not in text
    # Only Hemu's own markup is left: bold labels and title.
    assert text.count("<b>") == text.count("</b>")
    assert "<a " not in text


def test_characters_that_reorder_or_hide_text_never_reach_the_card(
    desk: Desk, open_case: Callable[..., CaseRecord]
) -> None:
    # A right-to-left override would show "call 110 now" as "won 011 llac"; zero-width spaces split words.
    case = open_case(
        summary="he said \u202ewon 011 llac\u202c twice",
        parties="neigh\u200bbour \u2066upstairs\u2069",
        contact_consent=True,
        contact="138\u200e0000\ufeff1234",
    )
    text = cards.card_text(case, desk.settings, WEDNESDAY_10, "en")
    assert "he said won 011 llac twice" in text and "neighbour upstairs" in text and "13800001234" in text
    assert not any(char in text for char in "\u202e\u202c\u200b\u2066\u2069\u200e\ufeff")


def test_card_shows_what_the_officer_needs(desk: Desk, open_case: Callable[..., CaseRecord]) -> None:
    case = open_case(risk_flags=("threat",), harm="afraid", contact_consent=True, contact="138 0000 1111")
    text = cards.card_text(case, desk.settings, WEDNESDAY_10, "en")
    assert f"<b>Case {case.number}</b>" in text
    assert "Noise" in text or "noise" in text  # the category's name, not its intent
    assert "urgent" in text  # a threat makes it urgent (policy.risk_priority)
    assert "Binhe Community (Building 3)" in text
    assert "Loud music upstairs every night" in text
    assert "threat" in text and "⚠️" in text
    assert "Someone is afraid" in text
    assert "138 0000 1111" in text
    # The promise reads as an absolute time and a relative one.
    assert "by 10:15 today (within 15 minutes)" in text
    assert "Wang Li" in text


def test_card_in_chinese(desk: Desk, open_case: Callable[..., CaseRecord]) -> None:
    case = open_case(language="zh")
    text = cards.card_text(case, desk.settings, WEDNESDAY_10, "zh")
    assert f"<b>案件 {case.number}</b>" in text
    assert "王丽" in text and "滨河社区" in text and "承诺联系时间" in text


def test_contact_only_with_consent(desk: Desk, open_case: Callable[..., CaseRecord]) -> None:
    case = open_case(contact_consent=False)
    text = cards.card_text(case, desk.settings, WEDNESDAY_10, "en")
    assert "No contact wanted" in text


def test_a_danger_case_without_contact_does_not_say_none_was_wanted(
    desk: Desk, open_case: Callable[..., CaseRecord]
) -> None:
    """Issue 10: an urgent card said "no contact wanted" though the resident was never asked."""
    case = open_case(risk_flags=("weapon",), contact_consent=False)
    text = cards.card_text(case, desk.settings, WEDNESDAY_10, "en")
    assert "No contact wanted" not in text and "may not have been asked" in text


def test_a_huge_summary_is_shortened_to_fit_telegram(
    desk: Desk, open_case: Callable[..., CaseRecord]
) -> None:
    case = open_case(summary="噪音&<" * 3000, parties="p" * 5000)
    text = cards.card_text(case, desk.settings, WEDNESDAY_10, "en")
    assert fit.visible_len(text) <= fit.MAX_TEXT
    assert "…" in text
    assert "&amp;&lt;" in text  # escaping survived the cut (no half entity)
    assert "&am…" not in text and "&l…" not in text
    emoji = open_case(summary="😡" * 5000, category="report_pet_dispute")
    assert fit.visible_len(cards.card_text(emoji, desk.settings, WEDNESDAY_10, "en")) <= fit.MAX_TEXT


def test_keyboard_follows_the_state_and_carries_the_version(
    desk: Desk, open_case: Callable[..., CaseRecord]
) -> None:
    case = open_case()
    data = _data(cards.card_keyboard(case, "en"))
    assert data == [
        f"o:ack:{case.number}:{case.version}",
        f"o:contact:{case.number}:{case.version}",
        f"o:resolve:{case.number}:{case.version}",
        f"o:handover:{case.number}:{case.version}",
    ]
    assert all(len(d.encode()) <= 64 for d in data)
    acknowledged = desk.store.transition(
        case.number, CaseState.ACKNOWLEDGED, desk.now(), actor="officer:wang_li"
    )
    data = _data(cards.card_keyboard(acknowledged, "en"))
    assert [d.split(":")[1] for d in data] == ["contact", "resolve", "handover"]
    assert all(d.endswith(f":{acknowledged.version}") for d in data)
    resolved = desk.store.transition(
        case.number, CaseState.RESOLVED, desk.now(), actor="officer:wang_li", resolution_note="talked"
    )
    assert cards.card_keyboard(resolved, "en") is None
    text = cards.card_text(resolved, desk.settings, WEDNESDAY_10 + timedelta(hours=1), "en")
    assert "talked" in text and "Promised contact" not in text


def test_buttons_only_for_the_assigned_officer_or_the_supervisor(
    desk: Desk, open_case: Callable[..., CaseRecord]
) -> None:
    case = open_case()
    assert case.officer_id == "wang_li"
    assert cards.viewer_keyboard(case, "wang_li", desk, "en") is not None
    assert cards.viewer_keyboard(case, "zhou_jian", desk, "en") is not None
    assert cards.viewer_keyboard(case, "chen_hao", desk, "en") is None


def test_a_switched_off_officer_gets_no_buttons_even_on_a_card_that_still_names_them(
    desk: Desk, open_case: Callable[..., CaseRecord]
) -> None:
    """The gateway and the desk share one permission rule: a card queued before the officer was switched
    off must not offer buttons the desk would refuse."""
    case = open_case()
    assert case.officer_id == "wang_li"
    desk.deactivate_officer("wang_li", actor="admin")
    assert cards.viewer_keyboard(case, "wang_li", desk, "en") is None
    assert not desk.may_act(case, "wang_li")
    assert cards.viewer_keyboard(case, "zhou_jian", desk, "en") is not None


def test_hand_over_choice_lists_other_officers_and_the_roster(
    desk: Desk, open_case: Callable[..., CaseRecord]
) -> None:
    case = open_case()
    markup = cards.handover_keyboard(case, desk.settings, "en", inactive=["sun_wei"])
    data = _data(markup)
    assert f"o:to:{case.number}:{case.version}:zhao_min" in data
    assert not any(d.endswith(":wang_li") or d.endswith(":sun_wei") for d in data)
    assert data[-2:] == [f"o:auto:{case.number}:{case.version}", f"o:open:{case.number}"]
    assert cards.is_handover_keyboard(markup, case.number)
    assert not cards.is_handover_keyboard(cards.card_keyboard(case, "en"), case.number)


def test_case_list_has_one_open_button_per_case(desk: Desk, open_case: Callable[..., CaseRecord]) -> None:
    first = open_case()
    second = open_case(category="report_pet_dispute", summary="dog <barks>")
    lines, markup = cards.case_list([first, second], desk.settings, WEDNESDAY_10, "en")
    assert len(lines) == 2 and first.number in lines[0]
    assert _data(markup) == [f"o:open:{first.number}", f"o:open:{second.number}"]
    assert "<barks>" not in "\n".join(lines)


def test_rating_keyboard() -> None:
    assert _data(cards.rating_keyboard("HM-2026-000001")) == [f"rate:HM-2026-000001:{n}" for n in range(1, 6)]
