"""What Hemu's own processes write to their logs: ids, not residents' words, and one line per entry.

Logs outlive every privacy promise Hemu makes: ``/forget`` cannot reach them, they are copied to
support tickets and read by whoever runs the machine. So the code logs ids and kinds (chat, case,
update, notification ids; danger kinds), never what a resident wrote — and, as a second line of
defence for the cases code cannot foresee (a library's error message quoting a value, a resident's
words inside an exception), :func:`install` rewrites every log record as it is made:

* **Control characters are escaped** (``\\n`` → ``\\\\n``): a newline in callback data or a message
  would otherwise start a forged log line ("INFO officer zhou_jian resolved HM-…").
* **Phone numbers are masked** (``138 0000 1234`` → ``[phone]``), unless ``HEMU_LOG_TEXT=1`` — a switch
  for debugging on a developer's machine, never for a station's server.

Tracebacks are left as they are (they hold code, not words; the store's engine is created with
``hide_parameters`` so SQL errors carry no bound values). The gateway and the action server call
:func:`install` at start-up.
"""

from __future__ import annotations

import logging
import os
import re
from typing import Any

TEXT_SWITCH = "HEMU_LOG_TEXT"
PHONE_MASK = "[phone]"

# Mainland mobiles (11 digits from 13x–19x, optionally +86 and spaced or dashed 3-4-4), landlines with an
# area code (010-12345678, 0755 1234 5678) and international numbers (+, 7–15 digits). Never inside a
# longer run of digits, so Telegram ids and case numbers (HM-2026-000123) are kept.
_PHONE = re.compile(
    r"(?<![0-9A-Za-z])(?:"
    r"(?:\+?86[ -]?)?1[3-9]\d(?:[ -]?\d{4}){2}"
    r"|0\d{2,3}[ -]\d{3,4}[ -]?\d{4}"
    r"|\+\d{1,3}(?:[ -]?\d){6,14}"
    r")(?![0-9A-Za-z])"
)
_CONTROLS = {code: f"\\x{code:02x}" for code in (*range(0x20), 0x7F)} | {
    ord("\n"): "\\n",
    ord("\r"): "\\r",
    ord("\t"): "\\t",
    0x85: "\\x85",
    0x2028: "\\u2028",
    0x2029: "\\u2029",
}


def keep_text() -> bool:
    """``HEMU_LOG_TEXT=1``: phone numbers are left in log lines (local debugging only)."""
    return os.environ.get(TEXT_SWITCH, "").strip() == "1"


def scrub(message: str, keep: bool = False) -> str:
    """One log message as it may be written: a single line, phone numbers masked unless ``keep``."""
    line = message.translate(_CONTROLS)
    return line if keep else _PHONE.sub(PHONE_MASK, line)


def install() -> None:
    """Every log record made from now on in this process is scrubbed (:func:`scrub`) — records from
    libraries too, whichever handler writes them. Safe to call twice."""
    current = logging.getLogRecordFactory()
    if getattr(current, "hemu_scrubs", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = current(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken format string is logging's own error to report
            return record
        scrubbed = scrub(message, keep_text())
        if scrubbed != message:  # untouched records keep their args (some formatters read them)
            record.msg, record.args = scrubbed, None
        return record

    factory.hemu_scrubs = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)
