"""A database says what it is for, and neither the sandbox nor real Telegram starts on the other's."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from hemu.store import Store, purpose
from hemu.store.purpose import Purpose, WrongDatabase
from tests.hemu.store.support import NOW


def test_the_first_start_records_the_purpose_and_the_other_is_refused(store: Store) -> None:
    assert purpose.recorded(store.engine) is None
    purpose.claim(store.engine, Purpose.SANDBOX, "the case store")
    purpose.claim(store.engine, Purpose.SANDBOX, "the case store")  # again: fine
    assert purpose.recorded(store.engine) is Purpose.SANDBOX
    with pytest.raises(WrongDatabase, match="the case store holds the offline sandbox's play cases"):
        purpose.claim(store.engine, Purpose.STATION, "the case store")


def test_the_sandbox_never_runs_on_a_stations_database(store: Store) -> None:
    purpose.claim(store.engine, Purpose.STATION, "db")
    with pytest.raises(WrongDatabase, match="is a station's database"):
        purpose.claim(store.engine, Purpose.SANDBOX, "db")


def test_an_unmarked_database_with_linked_officers_is_a_stations(store: Store) -> None:
    """Databases from before the mark: officers linked to real chats give them away."""
    code = store.officers.create_invite("wang_li", NOW, timedelta(days=1))
    store.officers.redeem_invite(code, 4242, NOW)
    with pytest.raises(WrongDatabase, match="has officers linked to Telegram chats"):
        purpose.claim(store.engine, Purpose.SANDBOX, "db")
    assert purpose.recorded(store.engine) is None
    purpose.claim(store.engine, Purpose.STATION, "db")


def test_two_processes_starting_at_once_agree(make_store: Callable[[], Store]) -> None:
    stores = [make_store() for _ in range(4)]
    stores[0].migrate()

    def start(store: Store) -> str:
        try:
            purpose.claim(store.engine, Purpose.SANDBOX, "db")
            return "ok"
        except WrongDatabase as error:
            return str(error)

    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(start, stores)) == ["ok"] * 4
    assert purpose.recorded(stores[0].engine) is Purpose.SANDBOX
