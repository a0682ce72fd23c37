"""What officers do on their case cards: the state buttons, handing a case on, and switching an officer
off with every case handed over."""

from __future__ import annotations

import logging
from typing import Mapping

from hemu import parties
from hemu.cases import CaseState, InvalidTransition
from hemu.desk.base import DeskBase
from hemu.desk.results import ActResult, Outcome
from hemu.kinds import EventKind
from hemu.store import Assignment, CaseRecord, ConcurrentUpdate

log = logging.getLogger(__name__)


# Officer card buttons → the state they move the case to.
OFFICER_VERBS: Mapping[str, CaseState] = {
    "acknowledge": CaseState.ACKNOWLEDGED,
    "contacted": CaseState.CONTACTED,
    "resolve": CaseState.RESOLVED,
}


class OfficerDesk(DeskBase):
    def officer_act(
        self,
        number: str,
        officer_id: str,
        verb: str,
        expected_version: int | None = None,
        note: str | None = None,
    ) -> ActResult:
        """An officer's card button: ``acknowledge``, ``contacted`` or ``resolve`` (needs ``note``).

        Only the assigned officer or the supervisor may (:class:`NotAllowed`). A case already in that
        state is returned unchanged (``changed=False``): a double press or a second device must not tell
        the resident twice. A card older than the case (``expected_version``) raises
        :class:`~hemu.store.ConcurrentUpdate`; a step the state does not allow, InvalidTransition.
        """
        if verb not in OFFICER_VERBS:
            raise ValueError(f"unknown officer action {verb!r}; use {', '.join(OFFICER_VERBS)}")
        target = OFFICER_VERBS[verb]
        note = (note or "").strip() or None
        if target is CaseState.RESOLVED and note is None:
            raise ValueError("resolving a case needs a note saying how it was resolved")
        case = self._case(number)
        self._check_officer(case, officer_id)
        if case.state is target:
            return ActResult(case=case, changed=False)
        now = self.now()
        try:
            updated = self.store.change(
                case.number,
                now,
                lambda current: current.officer_moves(target, officer_id, f"{verb} pressed", note, now),
                expected_version,
            )
        except (ConcurrentUpdate, InvalidTransition):
            # Two presses at once: the one that lost finds the case where the winner put it.
            current = self.store.get(case.number)
            if current is not None and current.state is target:
                return ActResult(case=current, changed=False)
            raise
        log.info("case %s: %s by %s", case.number, target.value, officer_id)
        return ActResult(case=updated, changed=True)

    def hand_over_to(
        self, number: str, officer_id: str, to_officer: str | None, expected_version: int | None = None
    ) -> Outcome:
        """An officer hands their case on: to ``to_officer`` with a promise on that officer's duty time,
        or (None) to whoever the roster picks now, never the current officer. Same permission rule as
        :meth:`officer_act`; the resident is told who has it now and by when."""
        case = self._case(number)
        # A second press of the same "hand over to X": already done, nothing to tell anyone.
        if (
            to_officer is not None
            and to_officer == case.officer_id
            and (
                officer_id == case.officer_id
                or self._may_supervise(officer_id)
                or self._handed_by(case, officer_id)
            )
        ):
            return Outcome(case=case, officer=self.officer(case.officer_id), opened=False, rule="unchanged")
        self._check_officer(case, officer_id)
        actor = parties.officer(officer_id)
        if to_officer is None:
            return self.hand_over(
                case.number, actor, f"handed over by {officer_id}", expected_version=expected_version
            )
        target = self.settings.roster.officer(to_officer)
        if target is None or not target.active or to_officer in self.inactive_officers():
            raise ValueError(f"{to_officer!r} is not an active officer in the roster")
        now = self.now()
        due = self.promises.due(target, self.settings.policy.response_time(case.priority), now)
        reason = f"{officer_id} handed the case to {target.name.en}"
        updated = self._hand_over(
            case, Assignment(target.id, due, reason), now, actor, reason, expected_version
        )
        return Outcome(case=updated, officer=target, opened=False, rule="chosen", reason=reason)

    def _handed_by(self, case: CaseRecord, officer_id: str) -> bool:
        handovers = [e for e in self.store.events(case.number) if e.kind == EventKind.HANDED_OVER]
        return bool(handovers) and handovers[-1].actor == parties.officer(officer_id)

    def deactivate_officer(self, officer_id: str, actor: str) -> list[Outcome]:
        """Switches an officer off and hands each of their active cases to whoever the roster picks now,
        so no resident is left waiting on someone who has left.

        Every case or none: each case's new officer is found first, and when one has nobody to go to
        (:class:`~hemu.assignment.NoOfficerAvailable`) nothing changes — the officer stays on with all
        their cases. A failure after that (the database gone mid-way) leaves the officer switched off,
        so no new case reaches them, and running this again hands over the rest: the switch is kept and
        only cases still theirs are moved."""
        self.officer(officer_id)  # KeyError for an unknown id, before anything changes
        waiting = self.store.cases(officer_id=officer_id, active_only=True)
        now, loads = self.now(), self.store.loads()
        unavailable = self.inactive_officers() | {officer_id}
        for case in waiting:  # raises before anything has changed
            self._choose(case.area_id, case.priority, now, loads, unavailable)
        self.store.officers.deactivate(officer_id, now)
        return [self.hand_over(case.number, actor, f"{officer_id} deactivated") for case in waiting]
