"""The report's charts as PNG images (matplotlib, no display): the weekly trend of satisfaction and
promises kept, cases by category, the first-response distribution, the per-officer table, and the
Monday digest's one image that holds all four.

Chinese labels need a CJK font; without one matplotlib draws empty boxes and says nothing, so the font
is looked for first and its absence is a :class:`FontMissing` that names the package to install.
"""

from __future__ import annotations

import io
import threading
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import List, Sequence, Tuple

import matplotlib
from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from hemu.errors import ConfigError
from hemu.report.figures import StationReport
from hemu.report.words import Words

# Families tried in order for Chinese; Debian's fonts-noto-cjk provides the first.
CJK_FAMILIES = (
    "Noto Sans CJK SC",
    "Noto Sans CJK JP",
    "Noto Sans SC",
    "WenQuanYi Zen Hei",
    "Source Han Sans SC",
)
WAIT_BUCKETS: Tuple[Tuple[str, timedelta | None], ...] = (
    ("wait_0_1h", timedelta(hours=1)),
    ("wait_1_4h", timedelta(hours=4)),
    ("wait_4_8h", timedelta(hours=8)),
    ("wait_8_24h", timedelta(hours=24)),
    ("wait_over_24h", None),
)
CJK_FILE_MARKS = ("cjk", "wqy", "sourcehansans", "notosanssc")
_COLOURS = ("#2f6f9f", "#d9822b", "#4f9a5a", "#a84848")
_DPI = 110
# Figures are made without pyplot (no global figure list to leak from a long-running gateway), but the
# font is chosen through matplotlib's global rcParams: one drawing at a time (the notifier's digest and
# an officer's /stats are both drawn in threads).
_DRAWING = threading.Lock()


class FontMissing(ConfigError):
    """No CJK font: Chinese labels would come out as empty boxes."""


@lru_cache(maxsize=1)
def cjk_family() -> str | None:
    """The first CJK family matplotlib can use. Its font list is cached on disk when first built, so a
    font installed after that (apt-get install fonts-noto-cjk on a running machine) is looked for among
    the system's font files and added."""
    found = _known_cjk()
    if found is None:
        for path in font_manager.findSystemFonts():
            if any(mark in Path(path).name.lower() for mark in CJK_FILE_MARKS):
                try:
                    font_manager.fontManager.addfont(path)
                except (OSError, RuntimeError, ValueError):
                    continue  # a broken font file: the next one may do
        found = _known_cjk()
    return found


def _known_cjk() -> str | None:
    installed = {entry.name for entry in font_manager.fontManager.ttflist}
    return next((family for family in CJK_FAMILIES if family in installed), None)


def _family(language: str) -> str:
    if language != "zh":
        return "DejaVu Sans"
    family = cjk_family()
    if family is None:
        raise FontMissing(
            "Chinese chart labels need a CJK font and none is installed: install Debian's fonts-noto-cjk "
            "(apt-get install fonts-noto-cjk), or write the report in English (--language en)"
        )
    return family


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=_DPI, bbox_inches="tight")
    return buffer.getvalue()


def _empty(axes: Axes, words: Words) -> None:
    axes.text(0.5, 0.5, words("no_data"), ha="center", va="center", transform=axes.transAxes, color="grey")
    axes.set_xticks([])
    axes.set_yticks([])


def draw_trend(axes: Axes, report: StationReport, words: Words) -> None:
    labels = [week.first.strftime("%m-%d") for week, _ in report.trend]
    series = [
        (words("satisfaction"), [figures.satisfaction_rate for _, figures in report.trend]),
        (words("promises_kept"), [figures.promise_kept_rate for _, figures in report.trend]),
    ]
    axes.set_title(words("chart_trend"))
    if all(value is None for _, values in series for value in values):
        _empty(axes, words)
        return
    for (name, values), colour in zip(series, _COLOURS, strict=False):
        points = [(x, 100 * value) for x, value in enumerate(values) if value is not None]
        axes.plot([x for x, _ in points], [y for _, y in points], marker="o", label=name, color=colour)
    axes.set_xticks(range(len(labels)))
    axes.set_xticklabels(labels)
    axes.set_xlabel(words("week"))
    axes.set_ylabel(words("axis_percent"))
    axes.set_ylim(0, 105)
    axes.legend(loc="lower left")
    axes.grid(axis="y", alpha=0.3)


def draw_categories(axes: Axes, report: StationReport, words: Words) -> None:
    rows = sorted(
        (
            (words.category(name), figures.opened)
            for name, figures in report.by_category.items()
            if figures.opened
        ),
        key=lambda row: row[1],
    )
    axes.set_title(words("chart_categories"))
    if not rows:
        _empty(axes, words)
        return
    axes.barh([name for name, _ in rows], [count for _, count in rows], color=_COLOURS[0])
    axes.set_xlabel(words("axis_cases"))
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    for y, (_, count) in enumerate(rows):
        axes.text(count, y, f" {count}", va="center")


def wait_counts(waits: Sequence[timedelta]) -> List[int]:
    counts = [0] * len(WAIT_BUCKETS)
    for wait in waits:
        counts[next(i for i, (_, below) in enumerate(WAIT_BUCKETS) if below is None or wait < below)] += 1
    return counts


def draw_response(axes: Axes, report: StationReport, words: Words) -> None:
    axes.set_title(words("chart_response"))
    if not report.waits:
        _empty(axes, words)
        return
    counts = wait_counts(report.waits)
    names = [words(key) for key, _ in WAIT_BUCKETS]
    axes.bar(names, counts, color=_COLOURS[2])
    axes.set_ylabel(words("axis_cases"))
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    for x, count in enumerate(counts):
        axes.text(x, count, str(count), ha="center", va="bottom")


def officer_rows(report: StationReport, words: Words) -> List[List[str]]:
    """The per-officer table (the same rows in the chart and the HTML page)."""
    return [
        [
            words.officer(officer),
            str(figures.opened),
            words.duration(figures.first_response.median),
            words.share(figures.promises_kept, figures.promises_due),
            words.share(figures.satisfied, figures.rated),
            str(figures.open_at_end),
        ]
        for officer, figures in report.by_officer.items()
    ]


def officer_columns(words: Words) -> List[str]:
    keys = ("column_officer", "column_opened", "column_first_response", "column_promises")
    return [words(key) for key in (*keys, "column_satisfaction", "column_open")]


def draw_officers(axes: Axes, report: StationReport, words: Words) -> None:
    axes.set_title(words("chart_officers"))
    axes.axis("off")
    rows = officer_rows(report, words)
    if not rows:
        _empty(axes, words)
        return
    table = axes.table(cellText=rows, colLabels=officer_columns(words), loc="center", cellLoc="center")
    table.auto_set_font_size(False)
    table.set_fontsize(8)
    table.auto_set_column_width(list(range(len(rows[0]))))
    table.scale(1, 1.4)


def chart(kind: str, report: StationReport, words: Words) -> bytes:
    """One chart: ``trend``, ``categories``, ``response`` or ``officers``."""
    draw = {
        "trend": draw_trend,
        "categories": draw_categories,
        "response": draw_response,
        "officers": draw_officers,
    }
    family = _family(words.language)
    with _DRAWING, matplotlib.rc_context({"font.family": family, "axes.unicode_minus": False}):
        figure = Figure(figsize=(7.5, 3.6))
        draw[kind](figure.subplots(), report, words)
        return _png(figure)


def digest_image(report: StationReport, words: Words) -> bytes:
    """The Monday digest's picture: the four charts on one image a phone shows whole."""
    family = _family(words.language)
    style = {"font.family": family, "axes.unicode_minus": False, "font.size": 9}
    with _DRAWING, matplotlib.rc_context(style):
        figure = Figure(figsize=(12, 7.5))
        grid = figure.subplots(2, 2)
        draw_trend(grid[0][0], report, words)
        draw_categories(grid[0][1], report, words)
        draw_response(grid[1][0], report, words)
        draw_officers(grid[1][1], report, words)
        figure.suptitle(f"{words('title')} · {report.period.label()}", fontsize=12)
        figure.tight_layout()
        return _png(figure)


CHARTS = ("trend", "categories", "response", "officers")

__all__ = [
    "CHARTS",
    "FontMissing",
    "WAIT_BUCKETS",
    "chart",
    "cjk_family",
    "digest_image",
    "officer_columns",
    "officer_rows",
    "wait_counts",
]
