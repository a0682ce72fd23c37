"""The station's report (issue 16): figures per period, category, area and officer
(:mod:`.figures`, where every figure is defined), periods on the station's clock (:mod:`.periods`), charts
(:mod:`.charts`) and the report as HTML, PDF and CSV (:mod:`.render`)."""

from __future__ import annotations

from datetime import datetime

from hemu.report.figures import Figures, StationReport, build, earliest_shown
from hemu.report.periods import Period, PeriodError, parse_period, week_of
from hemu.store import Store


def station_report(store: Store, period: Period, now: datetime) -> StationReport:
    """The report of ``period`` as known at ``now``: one read of the store, then pure arithmetic. Cases
    over before the earliest week it shows (the period before, the trend's first week) are not read."""
    return build(store.report_facts.cases(period.end, since=earliest_shown(period)), period, now)


__all__ = ["Figures", "Period", "PeriodError", "StationReport", "parse_period", "station_report", "week_of"]
