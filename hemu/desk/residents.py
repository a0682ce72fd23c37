"""What residents answer about their own cases: withdrawing one, "I am safe now", the rating and its
comment, the follow-up question, and ``/forget``."""

from __future__ import annotations

import contextlib
import logging
from datetime import datetime

from hemu import parties
from hemu.cases import CaseState, InvalidTransition
from hemu.desk.base import DeskBase
from hemu.desk.results import CaseRefused, RateResult
from hemu.kinds import EventKind
from hemu.stats import LOW_RATING
from hemu.store import CaseNotFound, CaseRecord, ConcurrentUpdate, check_rating

log = logging.getLogger(__name__)


class ResidentDesk(DeskBase):
    def cancel(self, resident_id: str, number: str) -> CaseRecord:
        """The resident withdraws their case; the officer is told through the outbox.

        A danger case is refused (``CaseRefused("danger")``): see :meth:`say_safe`."""
        case = self.store.get(number)
        if case is None or case.resident_id != resident_id:
            raise CaseRefused("not_found", number)
        if not case.is_active:
            raise CaseRefused("not_active", number, case.state)
        if case.is_danger:
            raise CaseRefused("danger", number, case.state)
        now = self.now()
        try:
            return self.store.change(number, now, lambda current: current.withdraw(now))
        except (InvalidTransition, CaseNotFound) as error:
            raise CaseRefused("not_active", number, case.state) from error

    def say_safe(self, resident_id: str, number: str) -> CaseRecord:
        """What "cancel" means for a danger case: the resident says they are safe now, the officer is
        told and still decides (the case is not withdrawn)."""
        case = self.store.get(number)
        if case is None or case.resident_id != resident_id:
            raise CaseRefused("not_found", number)
        try:
            actor = parties.resident(resident_id)
            return self.store.change(number, self.now(), lambda current: current.resident_says_safe(actor))
        except (InvalidTransition, CaseNotFound) as error:
            raise CaseRefused("not_active", number, case.state) from error

    def rate(self, resident_id: str, number: str, rating: int, comment: str | None = None) -> RateResult:
        """The resident's rating of their resolved case: 3–5 closes it; 1–2 reopens it to the supervisor
        with a fresh promise (SPEC §4), the supervisor getting the card and the officer the rating.

        CaseRefused: ``not_found`` (not theirs), ``already_rated`` (a second press), ``not_resolved``.
        """
        check_rating(rating)  # before looking at the case: a bad value is the caller's mistake
        comment = (comment or "").strip() or None
        for _attempt in range(3):
            case = self._own_case(resident_id, number)
            if case.state is not CaseState.RESOLVED:
                reason = "already_rated" if case.rating is not None else "not_resolved"
                raise CaseRefused(reason, case.number, case.state)
            try:
                return self._rate(case, rating, comment)
            except (ConcurrentUpdate, InvalidTransition):
                continue  # changed meanwhile (a double press, details added): look again
        raise CaseRefused("already_rated", case.number, case.state)

    def _rate(self, case: CaseRecord, rating: int, comment: str | None) -> RateResult:
        now = self.now()
        if rating > LOW_RATING:
            updated = self.store.change(
                case.number, now, lambda current: current.close_rated(rating, comment, now), case.version
            )
            return RateResult(case=updated, reopened=False)
        supervisor = self.settings.roster.supervisor_officer
        due = self.promises.due(supervisor, self.settings.policy.response_time(case.priority), now)
        why = f"the resident rated the case {rating}; the supervisor takes it"
        updated = self.store.change(
            case.number,
            now,
            lambda current: current.reopen_rated(rating, comment, supervisor.id, due, why, now),
            case.version,
        )
        log.info("case %s rated %d: reopened to the supervisor %s", case.number, rating, supervisor.id)
        return RateResult(case=updated, reopened=True)

    def add_rating_comment(self, resident_id: str, number: str, comment: str) -> CaseRecord:
        """The comment a resident writes after rating; the rated officer (and whoever has the case now,
        after a low rating) read it. CaseRefused ``not_found`` / ``not_rated``."""
        comment = (comment or "").strip()
        if not comment:
            raise ValueError("a rating comment must say something")
        case = self._own_case(resident_id, number)
        if case.rating is None:
            raise CaseRefused("not_rated", case.number, case.state)
        rated_officer = self._rated_officer(case)
        actor = parties.resident(resident_id)
        return self.store.change(
            case.number, self.now(), lambda current: current.comment_rating(comment, actor, rated_officer)
        )

    def _rated_officer(self, case: CaseRecord) -> str:
        """The officer the latest rating was for (a low rating has since given the case to the supervisor)."""
        for event in reversed(self.store.events(case.number)):
            if event.kind == EventKind.STATE_CHANGED and "rating" in event.detail:
                return str(event.detail.get("officer_id") or case.officer_id)
        return case.officer_id

    def follow_up_answer(self, resident_id: str, number: str, came_back: bool) -> CaseRecord:
        """The resident's answer to "has the problem come back?" a week after closing.

        Came back: the case reopens to the same officer when they are still active, else to whoever the
        roster picks, with a new promise; the resident is told who and by when. Fine: only logged.
        A second press changes nothing. CaseRefused ``not_found`` / ``not_asked``.
        """
        case = self._own_case(resident_id, number)
        if case.followed_up_at is None:
            raise CaseRefused("not_asked", case.number, case.state)
        now = self.now()
        actor = parties.resident(resident_id)
        if came_back and case.state is CaseState.CLOSED:
            try:
                case = self._reopen_came_back(case, now)
            except (ConcurrentUpdate, InvalidTransition):
                current = self.store.get(case.number)
                if current is None or current.state is CaseState.CLOSED:
                    raise
                return current  # a second press got there first
        self.store.record_follow_up_answer(case.number, came_back, now, actor)
        return case

    def _reopen_came_back(self, case: CaseRecord, now: datetime) -> CaseRecord:
        response = self.settings.policy.response_time(case.priority)
        previous = self.settings.roster.officer(case.officer_id)
        if previous is not None and self._is_active_officer(previous.id):
            officer, reason = previous, f"the problem came back; {previous.name.en} handled it before"
        else:
            decision = self._choose(
                case.area_id, case.priority, now, self.store.loads(), self.inactive_officers()
            )
            officer, reason = decision.officer, f"the problem came back; {decision.reason}"
        due = self.promises.due(officer, response, now)
        return self.store.change(
            case.number, now, lambda current: current.came_back(officer.id, due, reason, now), case.version
        )

    def forget_resident(self, resident_id: str) -> int:
        """``/forget``: withdraws the resident's active cases (nobody could reach them any more; the
        officers are told), then erases their personal data; returns how many cases were anonymised."""
        for case in self.store.cases_for_resident(resident_id, active_only=True):
            with contextlib.suppress(CaseRefused):  # closed meanwhile: erasing is all that is left
                self.cancel(resident_id, case.number)
        return self.store.privacy.forget_resident(resident_id, self.now())
