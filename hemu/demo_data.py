"""Demo data for the sandbox (``python -m hemu demo-data``): a realistic month of cases, so the station
report has something to show before any resident has written.

Nothing is written around the domain: a second desk on the same store reads a clock moved forward here;
residents report and rate through the desk, officers press their card buttons, and the real promise
watcher reminds, breaks promises and asks the follow-up question when it falls due. So every figure the
report shows (broken promises, reopenings, follow-ups) comes from the same rules as a station's.

It is kept out of real databases three ways: the store is claimed for the sandbox first
(:func:`hemu.store.purpose.claim`), a store holding anyone's real cases is refused, and every resident id
starts with ``demo-`` while ``store_meta`` says the store holds demo data (:func:`is_demo`, for a banner).
"""

from __future__ import annotations

import heapq
import itertools
import random
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone, tzinfo
from typing import Callable

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Engine

from hemu.cases import CaseState, InvalidTransition
from hemu.desk import CaseRefused, Desk, LimitReached, NotAllowed, Report
from hemu.duty import on_duty
from hemu.store import ERASED_PREFIX, CaseRecord, ConcurrentUpdate
from hemu.store.purpose import Purpose, claim, recorded
from hemu.store.tables import cases, store_meta
from hemu.watch import FOLLOW_UP_AFTER, reminder_moment

MARK = "demo_data"  # the store_meta key
PREFIX = "demo-"  # every seeded resident id starts with it
DEFAULT_SEED = 2026
# Refusals the domain gives a resident or officer acting on a case that changed meanwhile: in a simulated
# month, as in a real one, a planned step is then simply not taken.
_SKIPPED = (CaseRefused, InvalidTransition, NotAllowed, ConcurrentUpdate, LimitReached, LookupError)
_LEASE, _BATCH = timedelta(minutes=1), 500
_LATE_MIN, _LATE_MAX = timedelta(minutes=8), timedelta(hours=4)
# Real category ids (content/categories.yml, policy.yml category_priority) with how common each is, and a
# clearly fake description per language: summaries are never shown in reports, only in a case's card.
CATEGORIES: dict[str, tuple[int, str, str]] = {
    "report_noise": (24, "【演示】楼上邻居晚上很吵", "[demo] noise from the flat above at night"),
    "report_shared_space": (16, "【演示】楼道里堆放杂物", "[demo] things left in the shared corridor"),
    "report_property_damage": (14, "【演示】楼上渗水到我家天花板", "[demo] water stains from upstairs"),
    "report_pet_dispute": (10, "【演示】邻居的狗一直叫", "[demo] the neighbour's dog barks all day"),
    "report_spouse_conflict": (8, "【演示】和配偶经常争吵", "[demo] frequent arguments with my spouse"),
    "report_family_conflict": (8, "【演示】兄弟姐妹为赡养争执", "[demo] siblings argue about parents' care"),
    "report_inlaw_conflict": (7, "【演示】婆媳之间有矛盾", "[demo] disagreements with my in-laws"),
    "report_boundary_dispute": (7, "【演示】邻居围墙占了我家地", "[demo] a new wall built on our land"),
    "report_money_dispute": (6, "【演示】邻居借钱不还", "[demo] a neighbour has not paid back a loan"),
}
_HOUSEHOLD = ("report_spouse_conflict", "report_inlaw_conflict", "report_family_conflict")
# Danger comes mostly from home, now and then from a quarrel over land or money.
_DANGER = (*_HOUSEHOLD, *_HOUSEHOLD, "report_boundary_dispute", "report_money_dispute")
_OTHERS = {"zh": ("邻居", "楼上住户", "家人"), "en": ("a neighbour", "the upstairs flat", "a relative")}
_DURATIONS = {"zh": ("几天", "两周", "一个多月"), "en": ("a few days", "two weeks", "over a month")}
# Residents mostly write in the evening; a few at night.
_HOUR_WEIGHTS = (1, 1, 1, 1, 1, 1, 2, 3, 6, 6, 6, 6, 5, 5, 6, 6, 6, 6, 8, 8, 8, 9, 9, 4)
_FIRST_RATINGS = ((5, 52), (4, 30), (3, 11), (2, 4), (1, 3))  # mostly satisfied, a few low
_LATER_RATINGS = ((5, 40), (4, 40), (3, 20))
_COMMENTS = {"zh": "【演示】评价留言", "en": "[demo] a comment on the rating"}
# How long after first contact an officer resolves a case, in hours, by priority.
_RESOLVE_HOURS = {"urgent": (1, 8), "high": (4, 48), "normal": (6, 96), "low": (24, 144)}
_NEVER = datetime.max.replace(tzinfo=timezone.utc)


class DemoRefused(Exception):
    """The store is not one demo data may go into; the message says why and what to do."""


@dataclass(frozen=True)
class Seeded:
    """What one run wrote, for the command line's one-line summary."""

    cases: int
    start: datetime
    end: datetime
    days: int
    seed: int
    ratings: int
    low_ratings: int
    cancelled: int
    forgotten: int
    open: int


def is_demo(engine: Engine) -> str | None:
    """What ``store_meta`` says about the demo data in this store (None: it holds none), for a banner."""
    with engine.connect() as conn:
        return conn.execute(select(store_meta.c.value).where(store_meta.c.key == MARK)).scalar()


def _count(engine: Engine, *conditions: object) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(cases).where(*conditions)).scalar() or 0)


def prepare(engine: Engine, where: str, append: bool) -> None:
    """Everything that may refuse, before anything is written: a purpose already recorded is checked
    first (claiming it then writes nothing); an unmarked store is claimed only once its cases passed."""
    marked = recorded(engine) is not None
    if marked:
        claim(engine, Purpose.SANDBOX, where)
    demo, erased = (cases.c.resident_id.startswith(prefix) for prefix in (PREFIX, ERASED_PREFIX))
    real = _count(engine, ~demo, ~erased)
    if real:
        raise DemoRefused(
            f"{where} holds {real} case(s) of real residents (or of sandbox play): demo data is never "
            "mixed into them. Use an empty sandbox database (HEMU_SANDBOX_DATABASE_URL)."
        )
    if not append and (is_demo(engine) is not None or _count(engine, demo)):
        raise DemoRefused(
            f"{where} already holds demo data ({is_demo(engine)}); add another batch with --append"
        )
    if not marked:
        claim(engine, Purpose.SANDBOX, where)


def _mark(engine: Engine, value: str) -> None:
    with engine.begin() as conn:
        if conn.execute(update(store_meta).where(store_meta.c.key == MARK).values(value=value)).rowcount == 0:
            conn.execute(insert(store_meta).values(key=MARK, value=value))


class Month:
    """The simulation: planned steps in time order, with watcher sweeps when the watcher asks for them.
    Its desk reads ``moment``, only ever moved forward, so the store sees time pass as it would."""

    def __init__(self, station: Desk, start: datetime, seed: int, first_id: int) -> None:
        self.moment, self.rng, self.next_id = start, random.Random(seed), first_id
        self.desk = Desk(station.settings, station.store, station.calendar, clock=lambda: self.moment)
        self.queue: list[tuple[datetime, int, Callable[[], None]]] = []
        self.order = itertools.count()
        self.next_sweep: datetime | None = None
        self.residents: list[tuple[datetime, str]] = []
        self.numbers: list[str] = []
        self.ratings = self.low = self.cancelled = self.forgotten = 0

    def at(self, moment: datetime, step: Callable[[], None]) -> None:
        """Plans ``step`` (never in the past); ties keep the order they were planned in."""
        heapq.heappush(self.queue, (max(moment, self.moment), next(self.order), step))

    def run(self, end: datetime) -> None:
        """Steps and sweeps in time order up to ``end``; what was planned later stays undone (open)."""
        while self.queue or self.next_sweep is not None:
            step_at = self.queue[0][0] if self.queue else None
            sweep_due = self.next_sweep is not None and (step_at is None or self.next_sweep <= step_at)
            moment = self.next_sweep if sweep_due else step_at
            if moment is None or moment > end:
                break
            self.moment = max(self.moment, moment)
            if sweep_due:
                self.next_sweep = None
                self.sweep()
            else:
                heapq.heappop(self.queue)[2]()
        self.moment = max(self.moment, end)
        self.sweep()
        self.deliver()

    def sweep(self) -> None:
        report = self.desk.watch()
        for number in report.followed_up:
            if self.rng.random() < 0.6:  # most residents answer the follow-up question
                came_back = self.rng.random() < 0.15
                self.at(self._later(1, 48), lambda n=number, back=came_back: self.answer(n, back))
        self._wake_at(report.next_check)

    def deliver(self) -> None:
        """Settles the outbox as the notifier would have, each sent when written: left pending, the sandbox
        would send a month of cards at its next start. Once at the end: the watcher never reads it."""
        outbox = self.desk.store.outbox
        while True:
            batch = outbox.claim(self.moment, _LEASE, limit=_BATCH)
            for notification in batch:
                outbox.mark_sent(notification.id, notification.created_at)
            if len(batch) < _BATCH:
                return

    def _wake_at(self, moment: datetime | None) -> None:
        if moment is not None and self.moment < moment < (self.next_sweep or _NEVER):
            self.next_sweep = moment

    def _wake(self, case: CaseRecord | None) -> None:
        """Asks for a sweep when the changed case next needs the watcher (its reminder, its promise, or
        its follow-up): the watcher's own next_check only knows the cases it saw."""
        if case is None:
            return
        if case.awaits_response:
            self._wake_at(reminder_moment(case, self.desk.settings.policy.remind_at))
            self._wake_at(case.promise_due_at)
        elif case.state is CaseState.CLOSED and case.closed_at is not None and case.followed_up_at is None:
            self._wake_at(case.closed_at + FOLLOW_UP_AFTER)

    def _later(self, low_hours: float, high_hours: float) -> datetime:
        return self.moment + timedelta(hours=self.rng.uniform(low_hours, high_hours))

    def report(self, danger: bool, forget_after: timedelta | None) -> None:
        """A resident reports a matter (``danger``: with violence or a threat, mostly at home); the
        officer's handling is planned from the promise they got."""
        rng, lang = self.rng, "en" if self.rng.random() < 0.2 else "zh"
        resident = self._resident()
        category = rng.choices(list(CATEGORIES), [weight for weight, _, _ in CATEGORIES.values()])[0]
        if danger:
            category = rng.choice(_DANGER)
        summary = CATEGORIES[category][1 if lang == "zh" else 2]
        areas = self.desk.settings.station.areas
        area = rng.choice(areas) if rng.random() > 0.06 else None
        harm = rng.choice(("afraid", "hurt")) if danger or rng.random() < 0.12 else "none"
        try:
            if danger and rng.random() < 0.15:  # a danger message before any dispute was described
                said = "【演示】有人威胁我" if lang == "zh" else "[demo] someone is threatening me"
                outcome = self.desk.open_urgent_case(resident, lang, said, ("threat",))
            else:
                outcome = self.desk.open_case(
                    Report(
                        resident_id=resident,
                        language=lang,
                        category=category,
                        summary=summary,
                        area_id=area.id if area else None,
                        area_text=getattr(area.name, lang) if area else None,
                        parties=rng.choice(_OTHERS[lang]),
                        duration=rng.choice(_DURATIONS[lang]),
                        harm=harm,
                        risk_flags=(rng.choice(("violence", "threat")),) if danger else (),
                        new_matter=True,
                    )
                )
        except LimitReached:
            return
        case = outcome.case
        self.numbers.append(case.number)
        now, desk = self.moment, self.desk
        self.residents.append((now, resident))
        self._wake(case)
        if forget_after is not None:
            self.at(now + forget_after, lambda: self._try(desk.forget_resident, resident))
        roll = rng.random()
        if case.is_danger and roll < 0.25:
            soon = now + timedelta(minutes=rng.uniform(5, 30))
            self.at(soon, lambda: self._try(desk.say_safe, resident, case.number))
        if not case.is_danger and roll < 0.06:  # withdrawn before anyone called
            later = now + (case.promise_due_at - now) * rng.uniform(0.05, 0.5)
            self.at(later, lambda: self._try(desk.cancel, resident, case.number))
        elif roll > 0.98:  # nobody ever calls: the promise breaks through every escalation level
            return
        else:
            self.work(case, late=rng.random() < 0.14, round_=0)

    def _resident(self) -> str:
        """A new demo resident, or now and then one who reported something else days ago."""
        earlier = [rid for moment, rid in self.residents if self.moment - moment > timedelta(days=2)]
        if earlier and self.rng.random() < 0.07:
            return self.rng.choice(earlier)
        self.next_id += 1
        return f"{PREFIX}{self.next_id:05d}"

    def _try(self, act: Callable[..., object], *args: str) -> None:
        """A resident's withdrawal, "I am safe now" or /forget; counted when the desk took it."""
        try:
            done = act(*args)
        except _SKIPPED:
            return
        name = getattr(act, "__name__", "")
        self.cancelled += name == "cancel"
        self.forgotten += name == "forget_resident" and bool(done)

    def rate(self, number: str, round_: int) -> None:
        case = self.desk.store.get(number)
        if case is None or case.is_erased or case.state is not CaseState.RESOLVED:
            return
        choices = _FIRST_RATINGS if round_ == 0 else _LATER_RATINGS
        rating = self.rng.choices([r for r, _ in choices], [w for _, w in choices])[0]
        comment = _COMMENTS.get(case.language) if self.rng.random() < 0.3 else None
        try:
            result = self.desk.rate(case.resident_id, number, rating, comment)
        except _SKIPPED:
            return
        self.ratings += 1
        self._wake(result.case)
        if result.reopened:  # a low rating: the supervisor takes the case with a fresh promise
            self.low += 1
            self.work(result.case, late=self.rng.random() < 0.15, round_=round_ + 1)

    def answer(self, number: str, came_back: bool) -> None:
        case = self.desk.store.get(number)
        if case is None or case.is_erased:
            return
        try:
            case = self.desk.follow_up_answer(case.resident_id, number, came_back)
        except _SKIPPED:
            return
        self._wake(case)
        if case.state is CaseState.REOPENED:
            self.work(case, late=False, round_=1)

    def work(self, case: CaseRecord, late: bool, round_: int) -> None:
        """Plans first contact in time (on the officer's duty) or late (after the promise broke), then
        the resolution; the rating is planned when the case is resolved."""
        now, rng = self.moment, self.rng
        window = case.promise_due_at - now
        if late:
            # Mostly within hours of the broken promise; now and then past its renewal too.
            contact = case.promise_due_at + min(max(window * rng.uniform(0.05, 0.3), _LATE_MIN), _LATE_MAX)
        else:
            contact = self._on_duty(case.officer_id, now + window * 0.05, now + window * 0.85)
        if rng.random() < 0.55:
            acknowledge = now + (contact - now) * rng.uniform(0.1, 0.5)
            self.at(acknowledge, lambda: self.press(case.number, "acknowledge"))
        self.at(contact, lambda: self.contacted(case.number, round_))

    def _on_duty(self, officer_id: str, earliest: datetime, latest: datetime) -> datetime:
        """A moment in the window when the officer works: people call residents back from their shift."""
        officer = self.desk.settings.roster.officer(officer_id)
        moments = [earliest + (latest - earliest) * self.rng.random() for _ in range(12)]
        for moment in moments:
            if officer is not None and on_duty(officer, moment, self.desk.calendar, self.desk.tz):
                return moment
        return moments[0]

    def press(self, number: str, verb: str, note: str | None = None) -> CaseRecord | None:
        """The button as whoever may press it now: the officer holding the case, else the supervisor."""
        case = self.desk.store.get(number)
        if case is None or not case.is_active:
            return None
        officer = case.officer_id
        if not self.desk.may_act(case, officer):
            officer = self.desk.settings.roster.supervisor
        try:
            changed = self.desk.officer_act(number, officer, verb, note=note).case
        except _SKIPPED:
            return None
        self._wake(changed)
        return changed

    def contacted(self, number: str, round_: int) -> None:
        case = self.press(number, "contacted")
        if case is None:
            return
        low, high = _RESOLVE_HOURS[case.priority.value]
        if self.rng.random() < 0.05:  # a matter that drags on for weeks
            low, high = 240, 480
        self.at(self._later(low, high), lambda: self.resolve(number, round_))

    def resolve(self, number: str, round_: int) -> None:
        note = "【演示】已调解" if self.rng.random() < 0.5 else "[demo] mediated between the parties"
        case = self.press(number, "resolve", note)
        if case is not None and self.rng.random() < (0.85 if round_ == 0 else 0.7):
            self.at(self._later(0.5, 36), lambda: self.rate(number, round_))


def _openings(rng: random.Random, start: datetime, end: datetime, tz: tzinfo) -> list[datetime]:
    """When residents report: more on working days, mostly in the evening, inside [start, end)."""
    moments: list[datetime] = []
    day = start.astimezone(tz).date()
    while day <= end.astimezone(tz).date():
        count = rng.randint(6, 11) if day.weekday() < 5 else rng.randint(4, 8)
        for _ in range(count):
            hour = rng.choices(range(24), _HOUR_WEIGHTS)[0]
            local = datetime.combine(day, time(hour, rng.randrange(60), rng.randrange(60)), tzinfo=tz)
            moment = local.astimezone(timezone.utc)
            if start <= moment < end:
                moments.append(moment)
        day += timedelta(days=1)
    return sorted(moments)


def seed(
    desk: Desk, days: int = 30, seed: int = DEFAULT_SEED, *, append: bool = False, where: str = ""
) -> Seeded:
    """Seeds ``days`` of cases ending at ``desk``'s now; :class:`DemoRefused` or
    :class:`~hemu.store.purpose.WrongDatabase` before anything is written when the store is not for it."""
    if not 1 <= days <= 366:
        raise ValueError(f"--days must be between 1 and 366, got {days}")
    engine = desk.store.engine
    prepare(engine, where or "the case store", append)
    end = desk.now().astimezone(timezone.utc)
    start = end - timedelta(days=days)
    # Marked before the first case, so a run stopped half-way still leaves the store marked as demo.
    _mark(engine, f"seeding {days} days up to {end:%Y-%m-%dT%H:%M:%SZ} (unfinished)")
    month = Month(desk, start, seed, _count(engine))  # all cases are demo ones: new ids follow them
    rng = month.rng
    openings = _openings(rng, start, end, desk.tz)
    # A fixed share rather than a coin per case: every month has its danger cases and forgotten residents.
    early = len(openings) * 2 // 3
    forgetting = set(rng.sample(range(early), min(2, early)))
    dangers = set(rng.sample(range(len(openings)), min(len(openings), max(1, len(openings) // 20))))
    for index, moment in enumerate(openings):
        forget = timedelta(days=rng.uniform(2, 10)) if index in forgetting else None
        month.at(moment, lambda danger=index in dangers, forget=forget: month.report(danger, forget))
    month.run(end)
    over = f"over {days} days" if not append else f"(the latest {len(month.numbers)} over {days} days)"
    _mark(engine, f"seeded {end:%Y-%m-%dT%H:%M:%SZ}: {_count(engine)} cases {over} (seed {seed})")
    still_open = sum(bool(case and case.is_active) for case in map(desk.store.get, month.numbers))
    counts = (month.ratings, month.low, month.cancelled, month.forgotten, still_open)
    return Seeded(len(month.numbers), start, end, days, seed, *counts)
