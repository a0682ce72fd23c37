"""Random sequences of requested changes: the store must do exactly what hemu.cases allows, nothing else."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hemu.cases import CaseState, InvalidTransition, can_transition
from hemu.store import Assignment, Store
from tests.hemu.store.support import DUE, NOW, open_case


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(st.sampled_from(list(CaseState)), max_size=12))
def test_the_store_follows_the_rules(store: Store, steps: list[CaseState]) -> None:
    number = open_case(store).number  # a new case per example; earlier examples' cases do not matter
    state, version, now = CaseState.OPEN, 1, NOW
    for step, target in enumerate(steps):
        now += timedelta(minutes=1)
        try:
            if target is CaseState.HANDED_OVER:
                record = store.hand_over(number, Assignment(f"officer_{step}", DUE), now, "admin", "")
            else:
                record = store.transition(number, target, now, "officer:x")
        except InvalidTransition:
            assert not can_transition(state, target)
        else:
            assert can_transition(state, target)
            state, version = target, version + 1
            assert (record.state, record.version, record.updated_at) == (state, version, now)
        current = store.get(number)
        assert (current.state, current.version) == (state, version)
    changes = [e for e in store.events(number) if e.kind in ("state_changed", "handed_over")]
    assert len(changes) == version - 1
    assert all(a.to_state == b.from_state for a, b in zip(changes, changes[1:], strict=False))
