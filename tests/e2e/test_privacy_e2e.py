"""What Hemu keeps of a resident, searched for everywhere it could be, with every process real.

Its own stack (see tests/e2e/conftest.py), so the only resident here is the one being searched for: any
trace of their words, phone number or Telegram id after /forget is a leak, wherever it is found — every
table of the case store, Rasa's tracker, the officers' Telegram copies of the card, and every log file
(which hold ids by design, README "Security and privacy", but never words or phone numbers).
"""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import select, text

from bot import texts
from hemu.store.tables import metadata
from tests.e2e.conftest import E2E, Chat, eventually
from tests.e2e.test_telegram_e2e import only_case, report_inlaw_conflict_zh, wait_all_sent

pytestmark = pytest.mark.rasa

# What report_inlaw_conflict_zh has the resident write: their words, their place and their phone.
WORDS = ("婆婆天天挑我毛病", "柳岸花园7栋", "我和我婆婆", "晚上七点后")
PHONE = re.compile(r"139[ -]?1234[ -]?5678")


def log_files(e2e: E2E) -> list[Path]:
    """Every file in the stack's log folder, rotated copies included."""
    folder = next(iter(e2e.hemu.services.values())).log_path.parent
    return sorted(path for path in folder.rglob("*") if path.is_file())


def traces(found: str, resident: Chat, with_id: bool = True) -> list[str]:
    """What of the resident ``found`` still holds: their words, their phone number, their id."""
    hits = [words for words in WORDS if words in found]
    hits += PHONE.findall(found)
    if with_id:
        hits += re.findall(rf"(?<!\d){resident.user_id}(?!\d)", found)
    return hits


def store_contents(e2e: E2E) -> dict[str, str]:
    """Every row of every table, as text (JSON columns decoded, so Chinese appears as written)."""
    with e2e.store.engine.connect() as conn:
        return {
            table.name: json.dumps(
                [list(row) for row in conn.execute(select(table))], default=str, ensure_ascii=False
            )
            for table in metadata.sorted_tables
        }


def rasa_tracker(e2e: E2E, sender: str) -> str:
    url = e2e.hemu.rasa_api(f"/conversations/{sender}/tracker", include_events="ALL")
    with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 - 127.0.0.1 only
        return response.read().decode()


def test_forget_leaves_nothing_of_the_resident_in_any_table_tracker_card_or_log(e2e: E2E) -> None:
    resident = e2e.resident("zh-hans")
    report_inlaw_conflict_zh(resident)
    case = only_case(e2e, resident)
    officer = e2e.officers[case.officer_id]
    eventually(
        lambda: any(WORDS[0] in (m.get("text") or "") for m in officer.bot_messages()), what="the card"
    )
    wait_all_sent(e2e, case.number)
    assert traces(rasa_tracker(e2e, str(resident.user_id)), resident)  # the search finds them before

    resident.send("/forget")
    resident.press_button("forget:yes")
    resident.expect(texts.text("forget_done", "zh", cases=1))

    def officers_copies() -> list[str]:
        return [m.get("text") or "" for chat in e2e.officers.values() for m in chat.bot_messages()]

    eventually(lambda: not traces(" ".join(officers_copies()), resident), what="the cards edited")
    assert any(case.number in copy for copy in officers_copies())  # edited, not deleted: the number stays
    left = {table: traces(rows, resident) for table, rows in store_contents(e2e).items()}
    assert {table: hits for table, hits in left.items() if hits} == {}
    assert traces(rasa_tracker(e2e, str(resident.user_id)), resident, with_id=False) == []
    logged = {
        path.name: traces(path.read_text(errors="replace"), resident, with_id=False)
        for path in log_files(e2e)
    }
    assert {name: hits for name, hits in logged.items() if hits} == {}
    assert e2e.store.cases_for_resident(str(resident.user_id)) == []


@contextmanager
def tables_away(e2e: E2E, *names: str) -> Iterator[None]:
    """The store's ``names`` tables renamed for the block: every write to them is a database error."""
    with e2e.store.engine.begin() as conn:
        for name in names:
            conn.execute(text(f"ALTER TABLE {name} RENAME TO {name}_away"))
    try:
        yield
    finally:
        with e2e.store.engine.begin() as conn:
            for name in names:
                conn.execute(text(f"ALTER TABLE {name}_away RENAME TO {name}"))


def test_a_database_error_leaves_no_phone_number_in_any_log(e2e: E2E) -> None:
    """The gateway journals every update and message with its words; with those tables gone, each write
    fails with the resident's phone number among its bound values — which no log line may show."""
    resident = e2e.resident("zh-hans")
    marker = "could not journal a message"
    before = sum(path.read_text(errors="replace").count(marker) for path in log_files(e2e))
    with tables_away(e2e, "inbound", "received_updates"):
        resident.send("楼上邻居天天半夜吵，我的电话 139 1234 5678 有事找我")
        eventually(lambda: resident.bot_messages(), what="an answer without the journal")
        eventually(
            lambda: sum(path.read_text(errors="replace").count(marker) for path in log_files(e2e)) > before,
            what="the database error logged",
        )
    logged = {path.name: PHONE.findall(path.read_text(errors="replace")) for path in log_files(e2e)}
    assert {name: hits for name, hits in logged.items() if hits} == {}
