"""The services' log files: readable by their owner only, and never growing without end.

Even holding ids only (:mod:`hemu.logs`), the logs tell who wrote to a police station and when: the
folder is 0700 and each file 0600, whatever the umask. Each service writes its output straight into its
file (opened for appending), so a file is rotated the way logrotate's ``copytruncate`` does it: its
content is copied to ``<name>.log.1`` (older copies move up to ``.2`` … ``.KEEP``, the oldest is
dropped) and the live file is cut to nothing, while the service keeps writing at the (new) end.
``make run`` rotates a file when it starts its service again and whenever it grows past
``HEMU_LOG_MAX_MB`` (10); ``HEMU_LOG_KEEP`` (5) copies are kept.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import IO, Iterable

MAX_MB_ENV = "HEMU_LOG_MAX_MB"
KEEP_ENV = "HEMU_LOG_KEEP"
DEFAULT_MAX_MB = 10.0
DEFAULT_KEEP = 5


def private_dir(path: Path) -> Path:
    """``path`` created if needed and made 0700 (an existing folder too: an earlier run's umask)."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.chmod(0o700)
    return path


def open_log(path: Path, fresh: bool) -> IO[bytes]:
    """The service's log, 0600, for appending; ``fresh`` (a new start) rotates what an earlier run left."""
    private_dir(path.parent)
    if fresh and path.exists() and path.stat().st_size:
        rotate(path, keep_from_env())
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.fchmod(descriptor, 0o600)
    return os.fdopen(descriptor, "ab")


def rotate(path: Path, keep: int) -> None:
    """``path`` → ``path.1`` (older copies move up, beyond ``keep`` dropped); ``path`` left empty."""
    if keep < 1:
        os.truncate(path, 0)
        return
    for number in range(keep - 1, 0, -1):
        older = path.with_name(f"{path.name}.{number}")
        if older.exists():
            os.replace(older, path.with_name(f"{path.name}.{number + 1}"))
    copy = path.with_name(f"{path.name}.1")
    descriptor = os.open(copy, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with open(path, "rb") as live, os.fdopen(descriptor, "wb") as out:
        shutil.copyfileobj(live, out)
    os.truncate(path, 0)


def rotate_large(paths: Iterable[Path], max_bytes: int | None = None, keep: int | None = None) -> list[Path]:
    """Rotates each file past ``max_bytes``; the ones rotated. Cheap enough to call twice a second."""
    limit = max_bytes if max_bytes is not None else max_bytes_from_env()
    copies = keep if keep is not None else keep_from_env()
    rotated = []
    for path in paths:
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            continue
        if size > limit:
            rotate(path, copies)
            rotated.append(path)
    return rotated


def max_bytes_from_env() -> int:
    raw = os.environ.get(MAX_MB_ENV, "").strip()
    try:
        value = float(raw) if raw else DEFAULT_MAX_MB
    except ValueError as error:
        raise ValueError(f"{MAX_MB_ENV} must be a number of megabytes, got {raw!r}") from error
    if value <= 0:
        raise ValueError(f"{MAX_MB_ENV} must be more than 0, got {raw!r}")
    return int(value * 1024 * 1024)


def keep_from_env() -> int:
    raw = os.environ.get(KEEP_ENV, "").strip()
    if not raw:
        return DEFAULT_KEEP
    if not raw.isdigit():
        raise ValueError(f"{KEEP_ENV} must be a whole number of old copies to keep, got {raw!r}")
    return int(raw)
