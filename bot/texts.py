"""What the gateway says, from ``content/bot/*.yml`` (both languages), never from code.

The files share the schema of ``content/messages.yml`` (:mod:`hemu.messages`): ``zh``, ``en`` with the same
``{placeholders}``, optional ``buttons``. Each gateway module lists the keys it uses in ``TEXT_KEYS``; the
application checks all of them at start-up so a missing text stops the gateway instead of a resident seeing
a stack trace at 2 a.m.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

from hemu.config import load_model
from hemu.errors import ConfigError
from hemu.guidance import content_dir
from hemu.messages import Catalogue, Message, Messages, Rendered


def texts_dir() -> Path:
    return content_dir() / "bot"


@lru_cache(maxsize=4)
def load_texts(directory: Path | None = None) -> Messages:
    """All gateway texts; a key defined in two files is a configuration error naming both."""
    directory = directory or texts_dir()
    entries: dict[str, Message] = {}
    origin: dict[str, Path] = {}
    files = sorted(directory.glob("*.yml"))
    if not files:
        raise ConfigError(f"{directory}: no gateway texts (*.yml) found")
    for path in files:
        for key, message in load_model(path, Catalogue).__root__.items():
            if key in entries:
                raise ConfigError(f"{path}: {key}: already defined in {origin[key]}")
            entries[key] = message
            origin[key] = path
    return Messages(entries=entries)


def check_keys(keys: Iterable[str], directory: Path | None = None) -> None:
    """Raises :class:`ConfigError` listing every key the gateway uses that no file defines.

    ``directory`` goes to :func:`load_texts` as given, so the start-up check and the first text sent share
    one cached load instead of parsing the files twice.
    """
    missing = sorted(set(keys) - set(load_texts(directory).entries))
    if missing:
        raise ConfigError(f"{directory or texts_dir()}: {', '.join(missing)}: text missing")


def render(key: str, language: str, **values: Any) -> Rendered:
    return load_texts().render(key, language, **values)


def text(key: str, language: str, **values: Any) -> str:
    return render(key, language, **values).text
