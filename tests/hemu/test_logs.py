"""Log lines hold ids, not words: phone numbers masked, control characters escaped (hemu.logs)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from hemu import logs

PHONE = "138 0000 1234"


@pytest.fixture
def scrubbing(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    before = logging.getLogRecordFactory()
    monkeypatch.delenv(logs.TEXT_SWITCH, raising=False)
    logs.install()
    yield
    logging.setLogRecordFactory(before)


@pytest.mark.parametrize(
    "written",
    [
        "138 0000 1234",
        "13800001234",
        "+86 138-0000-1234",
        "021-12345678",
        "0755 1234 5678",
        "+44 20 7946 0958",
    ],
)
def test_phone_numbers_are_masked(written: str) -> None:
    assert logs.scrub(f"电话{written}，快来") == "电话[phone]，快来"


def test_ids_and_case_numbers_are_kept() -> None:
    line = "update 812345678 in chat 7001234567 for HM-2026-000123 (outbox 1380000123456)"
    assert logs.scrub(line) == line


def test_a_newline_cannot_forge_a_log_line() -> None:
    forged = "o:ack:HM-1\n2026-12-04 INFO bot.console: officer zhou_jian resolved HM-2026-000001\r\x1b[2K"
    scrubbed = logs.scrub(forged)
    assert "\n" not in scrubbed and "\r" not in scrubbed and "\x1b" not in scrubbed
    assert "\\n2026-12-04 INFO" in scrubbed


def test_every_record_is_scrubbed_once_installed(scrubbing: None, caplog: pytest.LogCaptureFixture) -> None:
    logs.install()  # a second call changes nothing
    with caplog.at_level(logging.INFO):
        logging.getLogger("any.library").warning("call %s about %r", PHONE, "x\ny")
        logging.getLogger("untouched").info("case %s", "HM-2026-000001")
    assert [r.getMessage() for r in caplog.records] == ["call [phone] about 'x\\ny'", "case HM-2026-000001"]
    assert caplog.records[1].args == ("HM-2026-000001",)  # left alone: nothing to scrub
    assert PHONE not in caplog.text


def test_the_debug_switch_keeps_numbers_but_still_one_line(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    before = logging.getLogRecordFactory()
    logs.install()
    monkeypatch.setenv(logs.TEXT_SWITCH, "1")  # read as each line is made: no restart of the logging
    try:
        with caplog.at_level(logging.INFO):
            logging.getLogger("x").info("call %s\nnow", PHONE)
    finally:
        logging.setLogRecordFactory(before)
    assert caplog.records[0].getMessage() == f"call {PHONE}\\nnow"
