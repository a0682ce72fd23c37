"""How many of one resident's messages the gateway reads in a minute (``resident_limits`` in
``config/policy.yml``), so that one person — or a script with their account — cannot keep Rasa, the
case desk and the officer on duty busy for everyone else.

A sliding minute per resident, in memory: one gateway process reads every Telegram update, and a
restart forgetting the last minute costs nothing. A message past the limit is not read; the resident is
told so once, not once per message (a flood must not be answered with a flood), and told again only if
they are still over the limit after they could have written again. Danger is never throttled (SPEC §6):
the caller says whether the words are dangerous, and asks only once the limit is reached, so the
screening costs nothing in ordinary use.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum

from hemu.times import require_aware

WINDOW = timedelta(minutes=1)


class Verdict(Enum):
    READ = "read"
    # Not read, and the resident must be told (the first message past the limit in this stretch).
    TELL = "tell"
    # Not read; they were already told.
    QUIET = "quiet"


@dataclass
class _Reader:
    read: deque[datetime] = field(default_factory=deque)
    told_until: datetime | None = None


class MessageWindow:
    """The messages each resident had read in the last minute; residents quiet for a minute are forgotten,
    so the table holds only who wrote recently."""

    def __init__(self) -> None:
        self._readers: OrderedDict[str, _Reader] = OrderedDict()  # least recently written first

    def __len__(self) -> int:
        return len(self._readers)

    def admit(
        self, resident: str, now: datetime, limit: int, dangerous: Callable[[], bool] = lambda: False
    ) -> Verdict:
        """Whether this message is read; ``dangerous`` is asked only when the limit is reached."""
        now = require_aware(now, "now")
        self._forget_quiet(now)
        reader = self._readers.pop(resident, None) or _Reader()
        self._readers[resident] = reader  # now the most recent
        while reader.read and reader.read[0] <= now - WINDOW:
            reader.read.popleft()
        if len(reader.read) < limit or dangerous():
            reader.read.append(now)
            return Verdict.READ
        if reader.told_until is not None and now < reader.told_until:
            return Verdict.QUIET
        # Told once until the oldest message read leaves the minute: from then on they are read again.
        reader.told_until = reader.read[0] + WINDOW
        return Verdict.TELL

    def _forget_quiet(self, now: datetime) -> None:
        while self._readers:
            resident, reader = next(iter(self._readers.items()))
            last = reader.read[-1] if reader.read else None
            if last is not None and last > now - WINDOW:
                return
            if reader.told_until is not None and reader.told_until > now:
                return
            del self._readers[resident]
