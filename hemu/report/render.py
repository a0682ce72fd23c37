"""The report for the station's meeting: one self-contained HTML page (charts embedded, no network),
a PDF printed from that page by headless Chromium, and CSV for a spreadsheet.

Everything shown is a count, a rate, a duration, a case number or a configured name; nothing a resident
wrote is read (:mod:`hemu.store.report_facts`), and every configured name is escaped all the same.
"""

from __future__ import annotations

import base64
import csv
import io
import shutil
import subprocess
import tempfile
from dataclasses import fields
from datetime import timedelta
from html import escape
from pathlib import Path
from typing import Any, Dict, Iterator, List, Sequence, Tuple

from hemu.errors import ConfigError
from hemu.report.figures import AFTER_LOW, AGE_BUCKETS, PRIORITIES, Figures, StationReport, Waits
from hemu.report.words import Words
from hemu.times import station_minutes

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
PDF_TIMEOUT_S = 120

_STYLE = """
body{font-family:"Noto Sans CJK SC","Noto Sans",sans-serif;margin:2em auto;max-width:60em;color:#222}
h1{font-size:1.6em;margin-bottom:.2em}h2{border-bottom:2px solid #2f6f9f;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;margin:.6em 0;width:100%}
th,td{border:1px solid #ccc;padding:.3em .5em;text-align:right}
th:first-child,td:first-child{text-align:left}th{background:#eef3f7}.meta{color:#555;margin:.1em 0}
.demo{background:#fff3cd;border:2px solid #d9822b;padding:.6em;font-weight:bold}
img{max-width:100%;display:block;margin:.5em 0}
@media print{h2{break-after:avoid}img,table{break-inside:avoid}}
"""


class ReportError(ConfigError):
    """The report cannot be written as asked (a missing browser for PDF, an unknown format)."""


def _img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{escape(alt)}" src="data:image/png;base64,{data}">'


def _table(head: Sequence[str], rows: Sequence[Sequence[str]], css: str = "") -> str:
    cells = "".join(f"<th>{escape(cell)}</th>" for cell in head)
    body = "".join("<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in row) + "</tr>" for row in rows)
    return f'<table class="{css}"><thead><tr>{cells}</tr></thead><tbody>{body}</tbody></table>'


def summary_rows(now: Figures, before: Figures, words: Words) -> List[List[str]]:
    """The summary's figure / this period / the period before rows."""

    def both(show: Any) -> List[str]:
        return [show(now), show(before)]

    priorities = [
        [f"\u3000{words('priority_' + name)}", *both(lambda f, n=name: str(f.opened_by_priority.get(n, 0)))]
        for name in PRIORITIES
    ]
    return [
        [words("opened"), *both(lambda f: str(f.opened))],
        *priorities,
        [words("first_response_median"), *both(lambda f: words.duration(f.first_response.median))],
        [words("first_response_p90"), *both(lambda f: words.duration(f.first_response.p90))],
        [words("unanswered"), *both(lambda f: str(f.unanswered))],
        [words("promises_kept"), *both(lambda f: words.share(f.promises_kept, f.promises_due))],
        [words("settled"), *both(lambda f: words.share(f.settled, f.settle_base))],
        [words("resolved_in_period"), *both(lambda f: str(f.resolved_in_period))],
        [words("cancelled"), *both(lambda f: str(f.cancelled))],
        [words("satisfaction"), *both(lambda f: words.share(f.satisfied, f.rated))],
        [words("low_ratings"), *both(lambda f: str(f.low_ratings))],
        [words("followed_up"), *both(lambda f: str(f.followed_up))],
        [words("came_back"), *both(lambda f: str(f.came_back))],
        [words("stayed_settled"), *both(lambda f: str(f.stayed_settled))],
        [words("danger_opened"), *both(lambda f: str(f.danger_opened))],
        [words("open_at_end"), *both(lambda f: str(f.open_at_end))],
    ]


def group_rows(groups: Dict[str, Figures], name_of: Any, words: Words) -> List[List[str]]:
    return [
        [
            name_of(key),
            str(f.opened),
            words.duration(f.first_response.median),
            words.share(f.promises_kept, f.promises_due),
            words.share(f.settled, f.settle_base),
            words.share(f.satisfied, f.rated),
            str(f.low_ratings),
            str(f.open_at_end),
        ]
        for key, f in groups.items()
    ]


def _group_head(words: Words, first: str) -> List[str]:
    keys = ("column_opened", "column_first_response", "column_promises", "settled", "column_satisfaction")
    return [words(first), *(words(key) for key in keys), words("low_ratings"), words("column_open")]


def html(report: StationReport, words: Words, demo: str | None = None) -> str:
    """The whole report as one page that needs nothing but itself (charts are data: URIs)."""
    from hemu.report import charts  # matplotlib (~0.8 s to import): only when a page is drawn

    total, tz = report.total, words.settings.station.station.tz
    picture = {kind: charts.chart(kind, report, words) for kind in ("trend", "categories", "response")}
    after = [[words("after_" + name), str(total.after_low.get(name, 0))] for name in AFTER_LOW]
    ages = [[words("age_" + name), str(total.open_by_age.get(name, 0))] for name, _ in AGE_BUCKETS]
    ages.append([words("oldest_open"), words.duration(total.oldest_open)])
    danger = [
        [words("danger_opened"), str(total.danger_opened)],
        [
            words("danger_response"),
            f"{words.duration(total.danger_response.median)} / {words.duration(total.danger_response.p90)}",
        ],
        [words("danger_promises"), words.share(total.danger_promises_kept, total.danger_promises_due)],
    ]
    follow = [
        [words("followed_up"), str(total.followed_up)],
        [words("came_back"), str(total.came_back)],
        [words("stayed_settled"), str(total.stayed_settled)],
    ]
    previous = report.period.previous().label()
    lang = "zh-CN" if words.language == "zh" else "en"
    title = f"{escape(words('title'))} {escape(report.period.label())}"
    parts = [
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">',
        f"<title>{title}</title><style>{_STYLE}</style></head><body>",
        f'<p class="demo" id="demo-banner">{escape(words("demo_banner"))}</p>' if demo else "",
        f"<h1>{escape(words('title'))}</h1>",
        f'<p class="meta" id="period">{escape(words("period", period=report.period.label()))}</p>',
        f'<p class="meta">{escape(words("made_at", moment=station_minutes(report.made_at, tz)))}</p>',
        f'<p class="meta">{escape(words("privacy_line"))}</p>',
        f"<h2>{escape(words('summary'))}</h2>",
        _table(["", report.period.label(), previous], summary_rows(total, report.previous, words), "summary"),
        f"<h2>{escape(words('trend'))}</h2>",
        _img(picture["trend"], words("chart_trend")),
        f"<h2>{escape(words('by_officer'))}</h2>",
        _table(charts.officer_columns(words), charts.officer_rows(report, words), "officers"),
        f"<h2>{escape(words('by_category'))}</h2>",
        _img(picture["categories"], words("chart_categories")),
        _table(_group_head(words, "column_name"), group_rows(report.by_category, words.category, words)),
        f"<h2>{escape(words('by_area'))}</h2>",
        _table(_group_head(words, "column_name"), group_rows(report.by_area, words.area, words)),
        f"<h2>{escape(words('response_section'))}</h2>",
        _img(picture["response"], words("chart_response")),
        f"<h2>{escape(words('danger_section'))}</h2>",
        _table(["", ""], danger),
        f"<h2>{escape(words('low_section'))}</h2>",
        _table([words("low_ratings"), str(total.low_ratings)], after),
        f"<h2>{escape(words('follow_section'))}</h2>",
        _table(["", ""], follow),
        f"<h2>{escape(words('open_section'))}</h2>",
        _table([words("open_at_end"), str(total.open_at_end)], ages),
        "</body></html>",
    ]
    return "\n".join(part for part in parts if part)


def _flat(figures: Figures) -> Iterator[Tuple[str, Any]]:
    """Each figure as (name, value): durations in minutes, breakdowns as name.key, rates too."""

    def minutes(value: timedelta | None) -> Any:
        return "" if value is None else round(value.total_seconds() / 60, 1)

    for item in fields(figures):
        value = getattr(figures, item.name)
        if isinstance(value, Waits):
            yield f"{item.name}.count", value.count
            yield f"{item.name}.median_minutes", minutes(value.median)
            yield f"{item.name}.p90_minutes", minutes(value.p90)
        elif isinstance(value, dict):
            for key, count in sorted(value.items()):
                yield f"{item.name}.{key}", count
        elif isinstance(value, timedelta) or value is None:
            yield f"{item.name}_minutes", minutes(value)
        else:
            yield item.name, value
    for name in ("satisfaction_rate", "promise_kept_rate", "settle_rate"):
        value = getattr(figures, name)
        yield name, "" if value is None else round(value, 4)


def csv_text(report: StationReport) -> str:
    """One row per figure: scope (total, previous, week, category, area, officer), group id, period, value.
    Ids, not names, so the file reads the same whichever language the station uses."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["scope", "group", "first_day", "last_day", "figure", "value"])
    period = report.period
    scopes: List[Tuple[str, str, Any, Figures]] = [
        ("total", "", period, report.total),
        ("previous", "", period.previous(), report.previous),
    ]
    scopes += [("week", "", week, figures) for week, figures in report.weeks]
    for scope, groups in (
        ("category", report.by_category),
        ("area", report.by_area),
        ("officer", report.by_officer),
    ):
        scopes += [(scope, key, period, figures) for key, figures in groups.items()]
    for scope, group, span, figures in scopes:
        for name, value in _flat(figures):
            writer.writerow([scope, group, span.first.isoformat(), span.last.isoformat(), name, value])
    return out.getvalue()


def browser() -> str:
    found = next((path for path in map(shutil.which, BROWSERS) if path), None)
    if found is None:
        raise ReportError(
            "a PDF is printed from the HTML report by headless Chromium, and none is installed: "
            "apt-get install chromium (or write --format html and print it from a browser)"
        )
    return found


def pdf(page: str, target: Path) -> None:
    """Prints ``page`` to ``target`` with headless Chromium (the same page the HTML report is)."""
    command = browser()
    with tempfile.TemporaryDirectory(prefix="hemu-report-") as work:
        source = Path(work) / "report.html"
        source.write_text(page, encoding="utf-8")
        result = subprocess.run(
            [
                command,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                f"--user-data-dir={Path(work) / 'profile'}",
                "--no-pdf-header-footer",
                f"--print-to-pdf={target.resolve()}",
                source.as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=PDF_TIMEOUT_S,
            check=False,
        )
    if result.returncode != 0 or not target.exists() or target.stat().st_size == 0:
        raise ReportError(
            f"Chromium could not print the report (exit {result.returncode}): {result.stderr[-500:]}"
        )


__all__ = ["BROWSERS", "ReportError", "browser", "csv_text", "group_rows", "html", "pdf", "summary_rows"]
