"""A case and its rules: what each change does to it, which events record it and who is told.

Every change to a case is decided here, on the case as it is now, and returned as a :class:`Change`
(the values to set, the audit events, the notices). The store only loads the case, applies the change
in one transaction with its events and notices, and retries on a lost race; it decides nothing. So
"when does a promise count as kept?", "what is the first response?" and "who gets the card after a
hand-over?" each have one answer, in this package: :mod:`.base` (the first promise, who is told
how), :mod:`.changes` (each change), :mod:`.acts` (what officers and residents do),
:mod:`.watcher` (the promise watcher's bookkeeping).

The promise is first contact with the resident (README, "What a promise is"): an officer pressing
"acknowledge" has the case but has not answered the resident, so the promise, its reminder and its
breach go on until "contacted" (or "resolved", which answered them too).
"""

from __future__ import annotations

from dataclasses import dataclass

from hemu.case.acts import CaseActs
from hemu.case.base import RESPONDED, Change
from hemu.case.watcher import WatcherBookkeeping


@dataclass(frozen=True)
class Case(CaseActs, WatcherBookkeeping):
    """A case and every rule for changing it."""


__all__ = ["RESPONDED", "Case", "Change"]
