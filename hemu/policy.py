"""The response-time policy (``config/policy.yml``): how fast each priority must be answered, and how a
case's priority follows from what the resident told us.

The promise a resident is given is computed from this file and the officer's duty hours; it is never
a fixed string (SPEC §4).
"""

from __future__ import annotations

from datetime import time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Dict, List, Literal, get_args

from pydantic import Field, root_validator, validator

from hemu import LANGUAGES
from hemu.cases import Priority
from hemu.config import RISK_KINDS, PhoneLine, _Strict, config_dir, load_model
from hemu.guidance import REPORT_INTENTS
from hemu.intake import HARM_VALUES

PRIORITY_ORDER = (Priority.URGENT, Priority.HIGH, Priority.NORMAL, Priority.LOW)


class ResponseTime(_Strict):
    """Exactly one of minutes, hours or working_days; ``counted_in`` says which clock runs."""

    minutes: int | None = Field(None, gt=0, le=7 * 24 * 60)
    hours: int | None = Field(None, gt=0, le=24 * 30)
    working_days: int | None = Field(None, gt=0, le=30)
    # wall_clock: exactly the amount, day or night (urgent cases); wall_clock_on_duty: at most the amount,
    # ending while the officer is on duty (README, "What a promise is"); duty_time: only while the
    # assigned officer is on duty.
    counted_in: Literal["duty_time", "wall_clock", "wall_clock_on_duty"] = "duty_time"

    @root_validator(skip_on_failure=True)
    def _one_amount(cls, values: Dict[str, object]) -> Dict[str, object]:
        given = [key for key in ("minutes", "hours", "working_days") if values.get(key) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of minutes, hours or working_days")
        if values.get("working_days") is not None and values.get("counted_in") != "duty_time":
            raise ValueError("working_days are counted on the station calendar, not on the wall clock")
        return values

    @property
    def duration(self) -> timedelta | None:
        """The amount as time; None for ``working_days`` (counted in days, not hours)."""
        if self.minutes is not None:
            return timedelta(minutes=self.minutes)
        if self.hours is not None:
            return timedelta(hours=self.hours)
        return None


class DangerPolicy(_Strict):
    """How sure the danger screening must be before it pages an officer (SPEC §6, two tiers).

    A clear signal pages an urgent case at once; an uncertain one gives the emergency numbers at once
    and asks "is anyone in danger right now?". The reasons for each number are in config/policy.yml.
    """

    # Classifier probability at or above which a label is a clear signal.
    clear_threshold: float = Field(0.9, gt=0, le=1)
    # Classifier probability at or above which (and below clear_threshold) a label is uncertain.
    uncertain_threshold: float = Field(0.3, gt=0, le=1)
    # A classifier-only hit on an answer this short, given while a form question is open, is uncertain.
    short_answer_chars: int = Field(30, ge=0, le=500)
    # No answer to the danger question within this many minutes counts as "yes, now".
    answer_minutes: int = Field(10, gt=0, le=24 * 60)
    # Whether a classifier-only signal may page when the rules blanked a look-alike or a negation in
    # the same message (the classifier then reads a mutilated sentence); False: it asks instead.
    classifier_pages_after_look_alike: bool = False

    @root_validator(skip_on_failure=True)
    def _ordered(cls, values: Dict[str, object]) -> Dict[str, object]:
        if float(values["uncertain_threshold"]) > float(values["clear_threshold"]):  # type: ignore[arg-type]
            raise ValueError("uncertain_threshold must not be above clear_threshold")
        return values

    def tier_for_score(self, score: float) -> str | None:
        """ "clear", "uncertain" or None for one classifier probability."""
        if score >= self.clear_threshold:
            return "clear"
        if score >= self.uncertain_threshold:
            return "uncertain"
        return None


# Who a level of escalation tells: the officer who has the case, their backup, the supervisor, every
# officer on duty at that moment.
EscalationRole = Literal["assigned", "backup", "supervisor", "on_duty"]
ESCALATION_ROLES: tuple[str, ...] = get_args(EscalationRole)


class EscalationLevel(_Strict):
    """One step of the escalation of a broken promise: who is told, and whether the station's call list
    goes with it (Hemu cannot telephone; the people told are asked to ring the numbers)."""

    tell: List[EscalationRole] = Field(..., min_items=1)
    call_list: bool = False


class Escalation(_Strict):
    """Like an on-call tool: the first broken promise is level 1, the renewed promise breaking too is
    level 2, and so on, each level sent once; past the last level no case message is repeated — the
    supervisor gets one summary a day of every case still waiting (README, "What a promise is")."""

    levels: List[EscalationLevel] = Field(
        default_factory=lambda: [
            EscalationLevel(tell=["assigned", "backup"]),
            EscalationLevel(tell=["assigned", "supervisor"]),
            EscalationLevel(tell=["supervisor", "on_duty"]),
        ],
        min_items=1,
        max_items=10,
    )
    # The numbers a level with ``call_list: true`` asks to ring (duty desk, station head).
    call_list: List[PhoneLine] = []
    # Station time of the daily summary to the supervisor.
    daily_summary_at: time = time(8, 30)

    @root_validator(skip_on_failure=True)
    def _numbers_to_call(cls, values: Dict[str, object]) -> Dict[str, object]:
        levels = values["levels"]
        if any(level.call_list for level in levels) and not values.get("call_list"):  # type: ignore[attr-defined]
            raise ValueError("a level has call_list: true, so give the call_list numbers to ring")
        return values

    def level(self, number: int) -> EscalationLevel | None:
        """Level ``number`` (1 = the first broken promise); None past the last."""
        return self.levels[number - 1] if 1 <= number <= len(self.levels) else None


class KeeperDuty(_Strict):
    """Who may be given a case: an officer on duty for ``share`` of its promise window, or for
    ``enough_hours`` of it if that is less (a 24-hour promise needs two hours of duty in it, not twelve),
    so a case never goes to someone whose shift ends minutes after it arrives. Urgent promises (counted
    on the wall clock) need the whole window."""

    share: float = Field(0.5, gt=0, le=1)
    enough_hours: float = Field(2, gt=0, le=24)

    def needed(self, window: timedelta) -> timedelta:
        return min(window * self.share, timedelta(hours=self.enough_hours))


class Delivery(_Strict):
    """How long the notifier keeps trying one message (a case card, a breach alert, a safety reply)
    before it gives up and tells the supervisor: hours, so a Telegram outage of an afternoon loses
    nothing. Retries back off up to ``retry_cap_minutes`` apart."""

    give_up_after_hours: float = Field(24, gt=0, le=24 * 14)
    retry_cap_minutes: float = Field(5, gt=0, le=60)
    # A resident's message Rasa fails on this many times while both servers answer is a dead letter:
    # set aside (the resident told) instead of blocking every later message of theirs.
    inbound_max_failures: int = Field(5, ge=1, le=100)
    # ... and only once it has waited this long: a Rasa overloaded for a minute sets nothing aside.
    inbound_dead_after_minutes: float = Field(10, ge=0, le=24 * 60)

    @property
    def give_up_after(self) -> timedelta:
        return timedelta(hours=self.give_up_after_hours)

    @property
    def retry_cap(self) -> timedelta:
        return timedelta(minutes=self.retry_cap_minutes)


class ResidentLimits(_Strict):
    """How much one resident may ask of the station, so that one person (or a script with their account)
    cannot crowd out everyone else or wear out the officer on duty. Danger is never limited (SPEC §6):
    a dangerous message always goes through and always gets the emergency numbers; past the page limit
    its words go onto the resident's case instead of paging again. A day is the station's calendar day."""

    # Messages read per resident in any 60 seconds; more are not read, and the resident is told once.
    messages_per_minute: int = Field(20, ge=1, le=10_000)
    # New cases a resident may open in a day; further reports are refused politely.
    cases_per_day: int = Field(5, ge=1, le=1_000)
    # New urgent cases (each one pages an officer) a resident may open in a day.
    urgent_pages_per_day: int = Field(3, ge=1, le=1_000)


class Retention(_Strict):
    """How long residents' words are kept once their case is over. After ``personal_details_days`` from
    closing (or cancelling), the promise watcher erases a case's personal details as /forget would —
    words, place, parties, contact, comments, notes, the officers' copies in Telegram — and keeps its
    figures (category, area, times, rating). Delivered messages' texts go after the same time, and so
    does the resident's conversation in Rasa (its tracker) once nothing of theirs is newer."""

    personal_details_days: int = Field(180, ge=1, le=3_650)


class Reporting(_Strict):
    """The station report's Monday digest to the supervisor (hemu/report): last week's figures and chart,
    sent at this station time on Mondays; ``weekly_digest: false`` stops it (/stats still answers)."""

    weekly_digest: bool = True
    weekly_digest_at: time = time(8, 30)


class Policy(_Strict):
    response_times: Dict[Priority, ResponseTime]
    # The starting priority of each kind of dispute; the answers below can only raise it.
    category_priority: Dict[str, Priority]
    # What the resident answered to "is anyone hurt or afraid?".
    harm_priority: Dict[str, Priority] = {}
    # Words in the resident's own description that say it cannot wait ("right now", "马上"), per language.
    urgency_words: Dict[str, List[str]] = {}
    urgency_priority: Priority = Priority.HIGH
    # A danger signal anywhere in the conversation (violence, weapon, threat, self_harm).
    risk_priority: Priority = Priority.URGENT
    # Officers are reminded when this share of the promised time has passed.
    remind_at: float = Field(0.75, gt=0, lt=1)
    # A broken promise is renewed with this priority's response time.
    breach_priority: Priority = Priority.HIGH
    # Danger screening tiers and the danger question.
    danger: DangerPolicy = DangerPolicy()
    # Escalation of broken promises, level by level, then a daily summary.
    escalation: Escalation = Escalation()
    # How much duty inside a promise's window makes an officer someone who can keep it.
    keeper_duty: KeeperDuty = KeeperDuty()
    # Retrying messages to Telegram and residents' messages to Rasa.
    delivery: Delivery = Delivery()
    # What one resident may ask for per minute and per day.
    resident_limits: ResidentLimits = ResidentLimits()
    # A danger that "happened, not now" (answer to the danger question) opens a case this priority.
    past_danger_priority: Priority = Priority.HIGH
    # How long residents' words are kept after their case is over.
    retention: Retention = Retention()
    # The Monday digest of the station report.
    reporting: Reporting = Reporting()

    @validator("response_times")
    def _every_priority(cls, value: Dict[Priority, ResponseTime]) -> Dict[Priority, ResponseTime]:
        missing = [priority.value for priority in PRIORITY_ORDER if priority not in value]
        if missing:
            raise ValueError(f"missing response time for {', '.join(missing)}")
        return value

    @validator("category_priority")
    def _known_categories(cls, value: Dict[str, Priority]) -> Dict[str, Priority]:
        unknown = [key for key in value if key not in REPORT_INTENTS]
        if unknown:
            raise ValueError(f"unknown category {unknown[0]!r}; use {', '.join(REPORT_INTENTS)}")
        missing = [intent for intent in REPORT_INTENTS if intent not in value]
        if missing:
            raise ValueError(f"missing priority for {', '.join(missing)}")
        return value

    @validator("harm_priority")
    def _known_harm(cls, value: Dict[str, Priority]) -> Dict[str, Priority]:
        unknown = [key for key in value if key not in HARM_VALUES]
        if unknown:
            raise ValueError(f"unknown answer {unknown[0]!r}; use {', '.join(HARM_VALUES)}")
        return value

    @validator("urgency_words")
    def _languages(cls, value: Dict[str, List[str]]) -> Dict[str, List[str]]:
        unknown = [key for key in value if key not in LANGUAGES]
        if unknown:
            raise ValueError(f"unknown language {unknown[0]!r}; use {', '.join(LANGUAGES)}")
        return {
            language: [word.strip() for word in words if word.strip()] for language, words in value.items()
        }

    def sounds_urgent(self, text: str) -> bool:
        lowered = (text or "").casefold()
        return any(word.casefold() in lowered for words in self.urgency_words.values() for word in words)

    def priority_for(
        self,
        category: str | None,
        harm: str | None,
        risk_flags: list[str] | tuple[str, ...],
        text: str = "",
    ) -> Priority:
        """The highest of: category default, what the resident said about harm and urgency, any danger."""
        candidates = [self.category_priority.get(category or "", Priority.NORMAL)]
        if harm in self.harm_priority:
            candidates.append(self.harm_priority[harm])
        if self.sounds_urgent(text):
            candidates.append(self.urgency_priority)
        if any(flag in RISK_KINDS for flag in risk_flags):
            candidates.append(self.risk_priority)
        return min(candidates, key=PRIORITY_ORDER.index)

    def response_time(self, priority: Priority) -> ResponseTime:
        return self.response_times[priority]


@lru_cache(maxsize=4)
def load_policy(directory: Path | None = None) -> Policy:
    return load_model((directory or config_dir()) / "policy.yml", Policy)
