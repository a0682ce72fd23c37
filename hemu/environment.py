"""Numbers from the environment (12-factor settings of the gateway and the store), checked the same way
everywhere: a bad value stops the process at start-up naming its variable, instead of surfacing later
as a hang or a crash deep inside a loop."""

from __future__ import annotations

from typing import Mapping

from hemu.errors import ConfigError


def number(
    env: Mapping[str, str], name: str, default: float, low: float, high: float, unit: str = ""
) -> float:
    """``env[name]`` as a number in ``low``–``high``; ``default`` when unset or empty. ``unit`` (e.g.
    "seconds") only words the error."""
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    of = f" of {unit}" if unit else ""
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"environment: {name}: {raw!r} is not a number{of}") from None
    if not low <= value <= high:
        raise ConfigError(
            f"environment: {name}: {value:g} is outside {low}–{high}{' ' + unit if unit else ''}"
        )
    return value
