"""The dialogue explorer (tests/e2e/explorer.py) against the real Rasa and action server.

`make test` runs a short, derandomised exploration (the same conversations every run, so CI is
stable); `make explore` runs thousands of fresh ones (HEMU_EXPLORE_CONVERSATIONS, default 5000) and
prints how many conversations and turns it played. HEMU_MODEL explores another model: against the
one before the turn guard it shrinks, within seconds, to a stale "cancel case" button pressed inside
the report form → nine identical clarifications and Rasa's circuit breaker.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test

from hemu.store import Store
from scripts.stack import start_stack
from scripts.train import model_path
from tests.e2e.explorer import Conversation, Explorer

pytestmark = pytest.mark.rasa

CONVERSATIONS = int(os.environ.get("HEMU_EXPLORE_CONVERSATIONS", "40"))
STEPS = int(os.environ.get("HEMU_EXPLORE_STEPS", "12"))
LONG_RUN = "HEMU_EXPLORE_CONVERSATIONS" in os.environ


@pytest.fixture(scope="module")
def explorer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Explorer]:
    model = model_path()  # HEMU_MODEL names another one
    if not model.is_file():
        pytest.fail(f"no trained model at {model}: run `make train`")
    database = f"sqlite:///{tmp_path_factory.mktemp('store') / 'hemu.sqlite3'}"
    with start_stack(model, tmp_path_factory.mktemp("logs"), env={"DATABASE_URL": database}) as stack:
        yield Explorer(stack, Store.from_url(database))


def test_no_conversation_breaks_an_invariant(explorer: Explorer) -> None:
    Conversation.explorer = explorer
    started = time.monotonic()
    try:
        run_state_machine_as_test(
            Conversation,
            settings=settings(
                max_examples=CONVERSATIONS,
                stateful_step_count=STEPS,
                deadline=None,
                derandomize=not LONG_RUN,
                database=None,
                suppress_health_check=list(HealthCheck),
                print_blob=True,
            ),
        )
        # A trip whose log line landed after its conversation ended.
        explorer.tripped("")
        assert not explorer.tripped_senders, f"circuit breaker for {sorted(explorer.tripped_senders)}"
    finally:
        elapsed = time.monotonic() - started
        print(
            f"\nexplorer: {explorer.conversations} conversations, {explorer.turns} turns "
            f"in {elapsed:.0f} s ({explorer.turns / max(elapsed, 1e-9):.1f} turns/s)"
        )
