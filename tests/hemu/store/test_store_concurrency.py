"""Several writers at once, each with its own engine as separate processes would have."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, List

import pytest
from sqlalchemy import event

from hemu.cases import parse_case_number
from hemu.desk import Desk
from hemu.settings import load_settings
from hemu.store import Assignment, ConcurrentUpdate, InvalidTransition, Store
from tests.conftest import REPO_ROOT, Clock
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


def test_two_danger_messages_paged_at_the_same_moment_make_one_urgent_case(
    make_store: Callable[[], Store], clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The gateway's page and Rasa's safety flow — two processes, two engines — open the resident's urgent
    case at the same moment (so can two of the resident's messages waiting for their turn,
    tests/bot/test_danger_waiting.py): both looked, found none, and each opened one. Played step by step:
    the first holds its opening (the counter's lock) until the second has looked and found nothing; the
    second then waits for the lock, and must put its words onto the first one's case."""
    settings = load_settings(REPO_ROOT / "config")
    first_desk, second_desk = (Desk(settings, make_store(), clock=clock) for _ in range(2))
    first_desk.store.migrate()
    first_inside, second_looked, go_on = threading.Event(), threading.Event(), threading.Event()
    choose, look = first_desk._choose, second_desk._case_to_extend

    def held_choose(*args: Any, **kwargs: Any) -> Any:
        first_inside.set()
        assert go_on.wait(30)
        return choose(*args, **kwargs)

    def noted_look(*args: Any, **kwargs: Any) -> Any:
        found = look(*args, **kwargs)
        second_looked.set()
        return found

    monkeypatch.setattr(first_desk, "_choose", held_choose)
    monkeypatch.setattr(second_desk, "_case_to_extend", noted_look)
    outcomes: dict[str, Any] = {}

    def page(name: str, desk: Desk, words: str) -> None:
        outcomes[name] = desk.open_urgent_case("42", "zh", words, ["threat"])

    first = threading.Thread(target=page, args=("first", first_desk, "他拿着菜刀在门口"))
    second = threading.Thread(target=page, args=("second", second_desk, "他说要砍死我"))
    first.start()
    assert first_inside.wait(30)
    second.start()
    assert second_looked.wait(30)  # looked while the first case was not committed: found nothing
    go_on.set()
    first.join(60)
    second.join(60)
    assert outcomes["first"].opened and not outcomes["second"].opened
    assert outcomes["second"].case.number == outcomes["first"].case.number
    [case] = first_desk.store.cases_for_resident("42")
    added = [e for e in first_desk.store.events(case.number) if e.kind == "details_added"]
    assert len(added) == 1 and "他说要砍死我" in str(added[0].detail)  # the officer reads both messages
