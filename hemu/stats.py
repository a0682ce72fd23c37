"""The rating scale's marks, shared by the desk (a low rating reopens the case) and the station report
(:mod:`hemu.report.figures`, where every figure is defined): one place, so a report never counts as
"satisfied" what the desk treats otherwise."""

from __future__ import annotations

# A rating counts as satisfied from this value up (of 1–5).
SATISFIED_FROM = 4
# A rating at or below this reopens the case to the supervisor (SPEC §4: "a low rating reopens the case").
LOW_RATING = 2
# How cases without a known area are grouped.
UNKNOWN_AREA = "unknown"

__all__ = ["LOW_RATING", "SATISFIED_FROM", "UNKNOWN_AREA"]
