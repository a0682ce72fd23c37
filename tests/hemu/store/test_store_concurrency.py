"""Several writers at once, each with its own engine as separate processes would have."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, List

import pytest
from sqlalchemy import event

from hemu.cases import parse_case_number
from hemu.store import Assignment, ConcurrentUpdate, InvalidTransition, Store
from tests.hemu.store.support import DUE, NOW, count_rows, least_loaded, new_case, open_case

WRITERS = 8


def run_together(stores: List[Store], work: Callable[[int, Store], Any]) -> List[Any]:
    """Run ``work`` in one thread per store, all released at the same moment; exceptions are returned."""
    barrier = threading.Barrier(len(stores))

    def call(index: int) -> Any:
        barrier.wait()
        try:
            return work(index, stores[index])
        except Exception as error:  # noqa: BLE001 - the test looks at what each writer got
            return error

    with ThreadPoolExecutor(len(stores)) as pool:
        return list(pool.map(call, range(len(stores))))


def test_concurrent_openings_get_distinct_consecutive_numbers(
    store: Store, make_store: Callable[[], Store]
) -> None:
    officers = ("chen_hao", "li_ming", "wang_li", "zhang_wei")

    def open_many(index: int, writer: Store) -> List[str]:
        return [
            writer.open_case(
                new_case(resident_id=f"r{index}"), least_loaded(*officers), NOW, f"resident:r{index}"
            ).number
            for _ in range(25)
        ]

    results = run_together([make_store() for _ in range(WRITERS)], open_many)
    assert not [r for r in results if isinstance(r, Exception)], results
    numbers = [number for batch in results for number in batch]
    assert sorted(parse_case_number(n)[1] for n in numbers) == list(range(1, 201))
    for batch in results:  # each writer's own numbers increase
        assert batch == sorted(batch)
    assert count_rows(store, "cases") == 200
    assert count_rows(store, "case_events") == 400
    assert count_rows(store, "outbox") == 200
    # Loads are read after the number is allocated, which serialises openings: the balance is exact.
    assert store.loads() == {officer: 50 for officer in officers}


def test_concurrent_changes_to_one_case_are_all_kept(store: Store, make_store: Callable[[], Store]) -> None:
    number = open_case(store).number

    def change(index: int, writer: Store) -> int:
        if index % 2:
            return writer.add_details(number, f"detail {index}", NOW, f"resident:{index}").version
        assignment = Assignment(f"officer_{index}", DUE, "rebalance")
        return writer.hand_over(number, assignment, NOW, "admin", f"hand over {index}").version

    results = run_together([make_store() for _ in range(WRITERS)], change)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sorted(results) == list(range(2, 2 + WRITERS)), results
    record = store.get(number)
    assert record.version == 1 + WRITERS
    kinds = Counter(e.kind for e in store.events(number))
    assert kinds == {"opened": 1, "assigned": 1, "details_added": WRITERS // 2, "handed_over": WRITERS // 2}
    assert len(store.outbox.notifications(number)) == 1 + WRITERS
    # The last hand-over in the log is the officer the case ended with.
    last = [e for e in store.events(number) if e.kind == "handed_over"][-1]
    assert record.officer_id == last.detail["to_officer"]


def test_concurrent_resolves_exactly_one_wins(store: Store, make_store: Callable[[], Store]) -> None:
    number = open_case(store).number

    def resolve(index: int, writer: Store) -> Any:
        return writer.transition(number, "resolved", NOW, f"officer:{index}", resolution_note=f"note {index}")

    results = run_together([make_store() for _ in range(WRITERS)], resolve)
    winners = [r for r in results if not isinstance(r, Exception)]
    assert len(winners) == 1, results
    assert all(isinstance(r, InvalidTransition) for r in results if r is not winners[0])
    record = store.get(number)
    assert (record.version, record.resolution_note) == (2, winners[0].resolution_note)
    assert [e.kind for e in store.events(number)].count("state_changed") == 1


def test_concurrent_stale_writers_exactly_one_wins(store: Store, make_store: Callable[[], Store]) -> None:
    number = open_case(store).number

    def hand_over(index: int, writer: Store) -> Any:
        assignment = Assignment(f"officer_{index}", DUE)
        return writer.hand_over(number, assignment, NOW, "admin", "", expected_version=1)

    results = run_together([make_store() for _ in range(WRITERS)], hand_over)
    assert sum(not isinstance(r, Exception) for r in results) == 1, results
    assert sum(isinstance(r, ConcurrentUpdate) for r in results) == WRITERS - 1
    assert store.get(number).version == 2


# PostgreSQL only: on SQLite writers never overlap, BEGIN IMMEDIATE serialises them.
@pytest.mark.parametrize("store_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
def test_a_lost_race_is_retried_against_the_current_row(
    store: Store, make_store: Callable[[], Store]
) -> None:
    assert store.dialect == "postgresql"
    number = open_case(store).number
    other = make_store()
    sneaked: List[int] = []

    @event.listens_for(store.engine, "before_cursor_execute")
    def sneak_in(*args: Any) -> None:
        # Between our read and our UPDATE another process changes the case and commits.
        if args[2].startswith("UPDATE cases") and not sneaked:
            sneaked.append(other.add_details(number, "sneaked in", NOW, "resident:42").version)

    record = store.transition(number, "acknowledged", NOW, "officer:wang_li")
    assert sneaked == [2]
    assert record.version == 3
    assert [e.kind for e in store.events(number)][-2:] == ["details_added", "state_changed"]

    with pytest.raises(ConcurrentUpdate, match="was changed by someone else"):
        store.transition(number, "contacted", NOW, "officer:wang_li", expected_version=4)
    assert store.get(number).version == 3
    sneaked.clear()
    with pytest.raises(ConcurrentUpdate):
        store.transition(number, "contacted", NOW, "officer:wang_li", expected_version=3)
    assert sneaked == [4] and store.get(number).state == "acknowledged"


def test_concurrent_migrations(store_url: str, make_store: Callable[[], Store]) -> None:
    results = run_together([make_store() for _ in range(4)], lambda _i, s: s.migrate())
    assert results == [None] * 4
    assert open_case(make_store()).number == "HM-2026-000001"
