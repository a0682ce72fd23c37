"""The one clock every Hemu process reads: real UTC time, optionally shifted forward.

The shift exists so a promise that falls due in two hours can be watched breaking in a test or in the
offline sandbox without waiting two hours: ``HEMU_CLOCK_FILE`` names a file holding a number of seconds
that is added to the real time. All processes of one deployment (action server, gateway) read the same
file, so they agree on "now". Production leaves the variable unset and gets the plain system clock.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

ENV = "HEMU_CLOCK_FILE"
_cache: dict[str, tuple[float, float]] = {}


def shift_seconds() -> float:
    """The current shift; 0 when no clock file is configured or it is absent or unreadable."""
    name = os.environ.get(ENV)
    if not name:
        return 0.0
    path = Path(name)
    try:
        mtime = path.stat().st_mtime
    except OSError:
        return 0.0
    cached = _cache.get(name)
    if cached and cached[0] == mtime:
        return cached[1]
    try:
        value = float(path.read_text(encoding="utf-8").strip() or 0)
    except (OSError, ValueError):
        value = 0.0
    _cache[name] = (mtime, value)
    return value


def now() -> datetime:
    """Timezone-aware UTC now, plus the configured shift."""
    return datetime.now(timezone.utc) + timedelta(seconds=shift_seconds())


def advance(by: timedelta, path: Path | None = None) -> float:
    """Moves the shared clock forward (tests, sandbox); returns the new total shift in seconds."""
    target = path or Path(os.environ[ENV])
    try:
        current = float(target.read_text(encoding="utf-8").strip() or 0)
    except (OSError, ValueError):
        current = 0.0
    total = current + by.total_seconds()
    tmp = target.with_suffix(".tmp")
    tmp.write_text(f"{total}\n", encoding="utf-8")
    os.replace(tmp, target)
    _cache.pop(str(target), None)
    return total
