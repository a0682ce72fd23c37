"""The error every configuration loader raises (station, roster, policy, content, the gateway's texts and
settings), in a module of its own so that any loader can raise it without importing another loader."""

from __future__ import annotations


class ConfigError(ValueError):
    """Configuration that Hemu refuses to start with; the message names file, entry and problem."""


__all__ = ["ConfigError"]
