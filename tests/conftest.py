"""Shared fixtures: a dispatcher, the domain, and the real station configuration."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa_sdk.executor import CollectingDispatcher

REPO_ROOT = Path(__file__).resolve().parent.parent

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")


@pytest.fixture
def dispatcher() -> CollectingDispatcher:
    return CollectingDispatcher()


@pytest.fixture(scope="session")
def domain() -> dict[str, Any]:
    return yaml.safe_load((REPO_ROOT / "domain.yml").read_text(encoding="utf-8"))


@pytest.fixture
def texts(dispatcher: CollectingDispatcher) -> Any:
    """All texts the dispatcher collected, joined: for asserting on what the resident reads."""

    def joined() -> str:
        return "\n".join(message.get("text") or "" for message in dispatcher.messages)

    return joined
