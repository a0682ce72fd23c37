"""The case desk: what happens when a resident's matter becomes a case, in one place for the Rasa actions
and the Telegram gateway alike.

It turns a report into a case with a priority, an officer chosen from the roster and an honest promise
(:mod:`hemu.assignment`, :mod:`hemu.promise`), all written by the store in one transaction together with
the audit log and the officer's notification. Afterwards it carries out what officers press on their
case cards and what residents answer (ratings, the follow-up question, ``/forget``), and runs the promise
watcher (:mod:`hemu.watch`) and the statistics (:mod:`hemu.stats`). Every change that someone must hear
about writes its notifications through the store's outbox, in the change's own transaction. Adapters
only translate to and from chat messages.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Callable, Iterable, Mapping
from zoneinfo import ZoneInfo

from hemu import clock, parties
from hemu.assignment import Decision, assign
from hemu.cases import CaseState, InvalidTransition, Priority
from hemu.notices import tell_resident
from hemu.promise import PromiseClock
from hemu.roster import Officer
from hemu.settings import Settings
from hemu.stats import Stats, compute_stats
from hemu.store import (
    CASE_UPDATE,
    Assignment,
    CaseNotFound,
    CaseRecord,
    ConcurrentUpdate,
    NewCase,
    Notification,
    Store,
    check_rating,
)
from hemu.times import require_aware
from hemu.watch import WatchReport, sweep
from hemu.workcal import WorkCalendar

log = logging.getLogger(__name__)

# The category of an urgent case opened from a danger message before any dispute was described.
DANGER_CATEGORY = "danger"


def utc_now() -> datetime:
    """The deployment's clock (:mod:`hemu.clock`): system time unless a test or the sandbox shifted it."""
    return clock.now()


@dataclass(frozen=True)
class Report:
    """What the resident told the intake conversation; the desk decides everything else (the fields are
    :class:`~hemu.store.NewCase`'s but the priority)."""

    resident_id: str
    language: str
    category: str
    summary: str
    area_id: str | None = None
    area_text: str | None = None
    parties: str | None = None
    duration: str | None = None
    harm: str | None = None
    risk_flags: tuple[str, ...] = ()
    contact_consent: bool = False
    contact: str | None = None
    # The resident said this is not the matter of their open case in the same category: a new case.
    new_matter: bool = False


@dataclass(frozen=True)
class Outcome:
    """A case the resident now has: newly opened, or an existing one their new details were added to."""

    case: CaseRecord
    officer: Officer
    opened: bool
    rule: str = ""
    reason: str = ""


@dataclass(frozen=True)
class ActResult:
    """The case after an officer's button; ``changed`` is False when it was already in that state (a
    second press, or two devices), so the gateway can answer without telling anyone twice."""

    case: CaseRecord
    changed: bool


@dataclass(frozen=True)
class RateResult:
    """The case after the resident's rating; ``reopened`` when a low rating sent it to the supervisor."""

    case: CaseRecord
    reopened: bool


class NotAllowed(PermissionError):
    """An officer tried to change a case that is neither theirs nor theirs to supervise."""

    def __init__(self, officer_id: str, number: str) -> None:
        super().__init__(f"officer {officer_id!r} may not change case {number}")
        self.officer_id = officer_id
        self.number = number


# Officer card buttons → the state they move the case to.
OFFICER_VERBS: Mapping[str, CaseState] = {
    "acknowledge": CaseState.ACKNOWLEDGED,
    "contacted": CaseState.CONTACTED,
    "resolve": CaseState.RESOLVED,
}
# A rating at or below this reopens the case to the supervisor (SPEC §4: "a low rating reopens the case").
LOW_RATING = 2


class CaseRefused(ValueError):
    """A resident asked for something on a case they may not do (not theirs, already closed, …)."""

    def __init__(self, reason: str, number: str, state: str | None = None) -> None:
        super().__init__(f"{number}: {reason}")
        self.reason = reason
        self.number = number
        self.state = state


class Desk:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        calendar: WorkCalendar | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.settings = settings
        self.store = store
        self.calendar = calendar or WorkCalendar(settings.station.calendar)
        self.promises = PromiseClock(self.calendar, settings.station.station.tz)
        self.clock = clock

    @property
    def tz(self) -> ZoneInfo:
        return self.settings.station.station.tz

    def now(self) -> datetime:
        moment = self.clock()
        require_aware(moment, "the desk's clock")
        return moment

    def officer(self, officer_id: str) -> Officer:
        return self.settings.roster.get(officer_id)

    def inactive_officers(self) -> frozenset[str]:
        """Officers switched off with the admin command line (the roster's ``active: false`` is applied by
        the assignment itself); one query, as it runs on every case opened."""
        return frozenset(
            account.officer_id for account in self.store.officers.accounts() if not account.active
        )

    def _choose(
        self,
        area_id: str | None,
        priority: Priority,
        now: datetime,
        loads: Mapping[str, int],
        unavailable: frozenset[str],
    ) -> Decision:
        """The roster's choice with this station's calendar and time zone (hemu.assignment decides)."""
        return assign(
            self.settings.roster,
            self.settings.policy,
            area_id,
            priority,
            now,
            loads,
            self.calendar,
            self.tz,
            unavailable,
        )

    def priority_for(self, report: Report) -> Priority:
        return self.settings.policy.priority_for(
            report.category, report.harm, list(report.risk_flags), report.summary
        )

    def open_case(self, report: Report, priority: Priority | None = None) -> Outcome:
        """Opens and assigns a case — or, when the resident already has one open about the same thing,
        adds the new details to it so the officer sees one case, not two."""
        chosen = priority or self.priority_for(report)
        now = self.now()
        existing = self._case_to_extend(report, chosen)
        if existing is not None:
            updated = self.store.add_details(
                existing.number, self._details_text(report), now, actor=parties.resident(report.resident_id)
            )
            return Outcome(case=updated, officer=self.officer(updated.officer_id), opened=False)

        inactive = self.inactive_officers()
        fields = asdict(report)
        del fields["new_matter"]
        if not report.contact_consent:
            fields["contact"] = None  # never stored without the resident's consent
        # One unit of work: the number, then the loads as they are now, the roster's choice, the case.
        with self.store.opening(now, year_tz=self.tz) as opening:
            decision = self._choose(report.area_id, chosen, now, opening.loads, inactive)
            case = opening.add(
                NewCase(priority=chosen, **fields),
                Assignment(officer_id=decision.officer.id, due_at=decision.due_at, reason=decision.reason),
                actor=parties.resident(report.resident_id),
            )
        log.info("case %s opened: %s, %s (%s)", case.number, chosen.value, case.officer_id, decision.rule)
        return Outcome(
            case=case,
            officer=self.officer(case.officer_id),
            opened=True,
            rule=decision.rule,
            reason=decision.reason,
        )

    def open_urgent_case(self, resident_id: str, language: str, said: str, risks: Iterable[str]) -> Outcome:
        """An urgent case for a danger message no conversation is taking up now: the gateway screened it
        itself (a rating comment, an edited message, a message kept while Rasa is down), and an officer on
        duty must be paged at once, not when Rasa is back. As with every danger message, it goes onto the
        resident's open urgent case when there is one (:meth:`open_case`)."""
        flags = tuple(sorted(set(risks)))
        if not flags:
            raise ValueError("an urgent case needs the danger that was found in the message")
        if not said.strip():
            raise ValueError("an urgent case needs the resident's words")
        report = Report(
            resident_id=resident_id,
            language=language,
            category=DANGER_CATEGORY,
            summary=said.strip(),
            risk_flags=flags,
        )
        return self.open_case(report, priority=Priority.URGENT)

    def _case_to_extend(self, report: Report, priority: Priority) -> CaseRecord | None:
        if priority is Priority.URGENT:
            # A second danger message belongs on the urgent case already paged, whatever its category.
            urgent = [
                case
                for case in self.store.cases_for_resident(report.resident_id, active_only=True)
                if case.priority is Priority.URGENT
            ]
            if urgent:
                return urgent[0]  # newest first
        if report.new_matter:
            return None
        return self.store.active_case_in_category(report.resident_id, report.category)

    def open_case_about(self, resident_id: str, category: str) -> CaseRecord | None:
        """The resident's open case of this kind, so a new report can ask "is this the same matter?"."""
        return self.store.active_case_in_category(resident_id, category)

    @staticmethod
    def _details_text(report: Report) -> str:
        parts = [report.summary]
        parts += [value for value in (report.area_text, report.parties, report.duration) if value]
        if report.risk_flags:
            parts.append("risk: " + ", ".join(report.risk_flags))
        return " | ".join(part for part in parts if part)

    def hand_over(
        self,
        number: str,
        actor: str,
        why: str,
        exclude: frozenset[str] = frozenset(),
        expected_version: int | None = None,
    ) -> Outcome:
        """Gives a case to the officer the roster would choose now (never one in ``exclude``), with a
        fresh promise; the new officer gets the case card through the outbox."""
        case = self._case(number)
        now = self.now()
        loads = self.store.loads()
        decision = self._choose(
            case.area_id, case.priority, now, loads, self.inactive_officers() | exclude | {case.officer_id}
        )
        updated = self._hand_over(
            case,
            Assignment(officer_id=decision.officer.id, due_at=decision.due_at, reason=decision.reason),
            now,
            actor,
            why,
            expected_version,
        )
        return Outcome(
            case=updated, officer=decision.officer, opened=False, rule=decision.rule, reason=decision.reason
        )

    def _hand_over(
        self,
        case: CaseRecord,
        assignment: Assignment,
        now: datetime,
        actor: str,
        why: str,
        expected_version: int | None,
    ) -> CaseRecord:
        # The new officer gets the case card from the store; the resident must hear whose case it is now.
        return self.store.hand_over(
            case.number,
            assignment,
            now,
            actor=actor,
            reason=why,
            notify=lambda record: self._tell_new_promise(record, "handed_over"),
            expected_version=expected_version,
        )

    def deactivate_officer(self, officer_id: str, actor: str) -> list[Outcome]:
        """Switches an officer off and hands each of their active cases to whoever the roster picks now,
        so no resident is left waiting on someone who has left."""
        self.officer(officer_id)  # KeyError for an unknown id, before anything changes
        self.store.officers.deactivate(officer_id, self.now())
        moved = []
        for case in self.store.cases(officer_id=officer_id, active_only=True):
            moved.append(self.hand_over(case.number, actor, f"{officer_id} deactivated"))
        return moved

    def resident_cases(self, resident_id: str) -> list[CaseRecord]:
        """The resident's cases, active ones first, newest first within each group."""
        # The store lists newest first and sorting is stable, so only "active first" needs saying.
        return sorted(self.store.cases_for_resident(resident_id), key=lambda case: not case.is_active)

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
        try:
            return self.store.transition(
                number,
                CaseState.CANCELLED,
                self.now(),
                actor=parties.resident(resident_id),
                reason="cancelled by the resident",
                notify=[
                    Notification(
                        recipient=parties.officer(case.officer_id),
                        kind=CASE_UPDATE,
                        payload={"number": number, "event": "cancelled_by_resident"},
                    )
                ],
            )
        except (InvalidTransition, CaseNotFound) as error:
            raise CaseRefused("not_active", number, case.state) from error

    def say_safe(self, resident_id: str, number: str) -> CaseRecord:
        """What "cancel" means for a danger case: the resident says they are safe now, the officer is
        told and still decides (the case is not withdrawn)."""
        case = self.store.get(number)
        if case is None or case.resident_id != resident_id:
            raise CaseRefused("not_found", number)
        try:
            return self.store.resident_says_safe(number, self.now(), actor=parties.resident(resident_id))
        except (InvalidTransition, CaseNotFound) as error:
            raise CaseRefused("not_active", number, case.state) from error

    # ---------------------------------------------------------------- officers act on their cases

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
        changes: dict[str, Any] = {"resolution_note": note} if target is CaseState.RESOLVED else {}
        detail = {"officer_id": officer_id}
        if note is not None and target is not CaseState.RESOLVED:
            detail["note"] = note
        try:
            updated = self.store.transition(
                case.number,
                target,
                self.now(),
                actor=parties.officer(officer_id),
                reason=f"{verb} pressed",
                # The officer who acted (the supervisor may act on someone's case), not just the assignee.
                notify=lambda record: tell_resident(record, target.value, officer_id=officer_id),
                expected_version=expected_version,
                detail=detail,
                **changes,
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

    def may_act(self, case: CaseRecord, officer_id: str) -> bool:
        """The one permission rule for officers' buttons and commands: the assigned officer and the
        station supervisor, each only while active (in the roster and not switched off with the admin
        command line). The gateway asks it before showing buttons; the desk before every change."""
        if officer_id == case.officer_id and self._is_active_officer(officer_id):
            return True
        return self._may_supervise(officer_id)

    def _check_officer(self, case: CaseRecord, officer_id: str) -> None:
        if not self.may_act(case, officer_id):
            raise NotAllowed(officer_id, case.number)

    def _may_supervise(self, officer_id: str) -> bool:
        return officer_id == self.settings.roster.supervisor and self._is_active_officer(officer_id)

    def _is_active_officer(self, officer_id: str) -> bool:
        officer = self.settings.roster.officer(officer_id)
        return officer is not None and officer.active and self.store.officers.is_active(officer_id)

    def _handed_by(self, case: CaseRecord, officer_id: str) -> bool:
        handovers = [event for event in self.store.events(case.number) if event.kind == "handed_over"]
        return bool(handovers) and handovers[-1].actor == parties.officer(officer_id)

    # ---------------------------------------------------------------- residents rate and answer

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
        actor = parties.resident(case.resident_id)
        rated = self._rated_update(case.officer_id, case.number, rating, comment)
        values = {"rating": rating, "rating_comment": comment}
        if rating > LOW_RATING:
            updated = self.store.transition(
                case.number,
                CaseState.CLOSED,
                now,
                actor=actor,
                reason=f"rated {rating}",
                # The resident pressed the button and the gateway answers that press at once (with
                # the officer and promise after a low rating): no queued notice repeats it.
                notify=[rated],
                expected_version=case.version,
                detail={"officer_id": case.officer_id},
                **values,
            )
            return RateResult(case=updated, reopened=False)
        supervisor = self.settings.roster.supervisor_officer
        due = self.promises.due(supervisor, self.settings.policy.response_time(case.priority), now)
        updated = self.store.reopen(
            case.number,
            Assignment(supervisor.id, due, f"the resident rated the case {rating}; the supervisor takes it"),
            now,
            actor=actor,
            reason=f"rated {rating}",
            notify=[rated],
            expected_version=case.version,
            detail={"officer_id": case.officer_id},
            **values,
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
        officers = dict.fromkeys([rated_officer, case.officer_id])
        return self.store.set_rating_comment(
            case.number,
            comment,
            self.now(),
            actor=parties.resident(resident_id),
            notify=lambda record: [
                self._rated_update(officer, record.number, record.rating or 0, comment)
                for officer in officers
            ],
        )

    def _rated_officer(self, case: CaseRecord) -> str:
        """The officer the latest rating was for (a low rating has since given the case to the supervisor)."""
        for event in reversed(self.store.events(case.number)):
            if event.kind == "state_changed" and "rating" in event.detail:
                return str(event.detail.get("officer_id") or case.officer_id)
        return case.officer_id

    @staticmethod
    def _rated_update(officer_id: str, number: str, rating: int, comment: str | None) -> Notification:
        payload: dict[str, Any] = {"number": number, "event": "rated", "rating": rating}
        if comment:
            payload["comment"] = comment
        return Notification(parties.officer(officer_id), CASE_UPDATE, payload)

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
                case = self._reopen_came_back(case, now, actor)
            except (ConcurrentUpdate, InvalidTransition):
                current = self.store.get(case.number)
                if current is None or current.state is CaseState.CLOSED:
                    raise
                return current  # a second press got there first
        self.store.record_follow_up_answer(case.number, came_back, now, actor)
        return case

    def _reopen_came_back(self, case: CaseRecord, now: datetime, actor: str) -> CaseRecord:
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
        back = Notification(
            parties.officer(officer.id),
            CASE_UPDATE,
            {"number": case.number, "event": "follow_up_came_back"},
        )
        return self.store.reopen(
            case.number,
            Assignment(officer.id, due, reason),
            now,
            actor=actor,
            reason="the resident says the problem came back",
            notify=[back],  # the resident's press is answered at once, with the officer and promise
            expected_version=case.version,
        )

    # ---------------------------------------------------------------- watcher, statistics, privacy

    def watch(self, now: datetime | None = None) -> WatchReport:
        """One promise-watcher sweep (see :mod:`hemu.watch`); safe to run often and from two processes."""
        moment = require_aware(now, "now") if now is not None else self.now()
        return sweep(self.store, self.settings, self.promises, moment)

    def stats(self, now: datetime | None = None) -> Stats:
        """Station statistics (see :mod:`hemu.stats`)."""
        return compute_stats(self.store, require_aware(now, "now") if now is not None else self.now())

    def forget_resident(self, resident_id: str) -> int:
        """``/forget``: withdraws the resident's active cases (nobody could reach them any more; the
        officers are told), then erases their personal data; returns how many cases were anonymised."""
        for case in self.store.cases_for_resident(resident_id, active_only=True):
            with contextlib.suppress(CaseRefused):  # closed meanwhile: erasing is all that is left
                self.cancel(resident_id, case.number)
        return self.store.privacy.forget_resident(resident_id, self.now())

    # ---------------------------------------------------------------- helpers

    def _case(self, number: str) -> CaseRecord:
        case = self.store.get(number)
        if case is None:
            raise CaseNotFound(number)
        return case

    def _own_case(self, resident_id: str, number: str) -> CaseRecord:
        try:
            case = self.store.get(number)
        except ValueError as error:
            raise CaseRefused("not_found", number) from error
        if case is None or case.resident_id != resident_id:
            raise CaseRefused("not_found", number)
        return case

    def _tell_new_promise(self, case: CaseRecord, event: str) -> list[Notification]:
        """After a hand-over or a reopening: the resident hears who has their case now, and by when."""
        return tell_resident(
            case, event, officer_id=case.officer_id, due_at=self.promises.iso(case.promise_due_at)
        )
