"""Which countries' public holidays Hemu can follow: the ones the ``holidays`` library knows.

Its own module because both the configuration (to refuse an unknown ``calendar.country`` when the
files are read) and the working-day calendar (:mod:`hemu.workcal`) ask, and the calendar is built
from the configuration.
"""

from __future__ import annotations

import warnings
from datetime import date

with warnings.catch_warnings():
    # holidays 0.x announces its future versioning scheme on every import; we pin it below 0.60.
    warnings.simplefilter("ignore")
    import holidays


def is_supported_country(country: str) -> bool:
    return country in holidays.list_supported_countries()


def days_off(country: str, year: int) -> tuple[frozenset[date], frozenset[int]]:
    """The country's public holidays in ``year`` and its weekend (weekday numbers), without make-up
    working days: the library does not know them."""
    public = holidays.country_holidays(country, years=year)
    return frozenset(public), frozenset(public.weekend)
