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

from hemu.desk.base import utc_now
from hemu.desk.intake import DANGER_CATEGORY, Intake
from hemu.desk.officers import OFFICER_VERBS, OfficerDesk
from hemu.desk.residents import LOW_RATING, ResidentDesk
from hemu.desk.results import (
    ActResult,
    CaseRefused,
    LimitReached,
    NotAllowed,
    Outcome,
    RateResult,
    Report,
)
from hemu.watch import WatchReport


class Desk(Intake, OfficerDesk, ResidentDesk):
    """The station's desk: reports in (:mod:`hemu.desk.intake`), officers' buttons
    (:mod:`hemu.desk.officers`), residents' answers (:mod:`hemu.desk.residents`), on what they share
    (:mod:`hemu.desk.base`: the station, the roster's choice, hand-overs, the permission rule)."""


__all__ = [
    "DANGER_CATEGORY",
    "LOW_RATING",
    "OFFICER_VERBS",
    "ActResult",
    "CaseRefused",
    "Desk",
    "LimitReached",
    "NotAllowed",
    "Outcome",
    "RateResult",
    "Report",
    "WatchReport",
    "utc_now",
]
