"""The report as the station head reads it: the charts render (in both languages, and fail clearly without
a CJK font), the HTML page is self-contained and shows no resident's words, the CSV holds the same
figures, and the PDF is printed from the page."""

from __future__ import annotations

import csv
import io
import os
import re
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from hemu.desk import Desk
from hemu.report import Period, StationReport, charts, station_report
from hemu.report.render import ReportError, browser, csv_text, html, pdf
from hemu.report.words import Words
from tests.conftest import Clock
from tests.hemu.report.station_week import station_week

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Monday 30 November – Sunday 6 December 2026: the week station_week plays in.
WEEK = Period(date(2026, 11, 30), date(2026, 12, 6), SHANGHAI)
PNG = b"\x89PNG\r\n\x1a\n"
# Everything residents, and officers about them, wrote in station_week.
THEIR_WORDS = (
    "楼上半夜拖椅子",
    "谢谢王警官",
    "滨河小区3栋",
    "138 0000 0000",
    "楼上邻居",
    "两个月",
    "劝了",
    "好了",
)


@pytest.fixture
def played(case_desk: Desk, clock: Clock) -> StationReport:
    station_week(case_desk, clock)
    return station_report(case_desk.store, WEEK, clock.moment)


def png_size(image: bytes) -> tuple[int, int]:
    assert image.startswith(PNG)
    return int.from_bytes(image[16:20], "big"), int.from_bytes(image[20:24], "big")


@pytest.mark.parametrize("language", ["zh", "en"])
@pytest.mark.parametrize("kind", charts.CHARTS)
def test_each_chart_renders(played: StationReport, case_desk: Desk, kind: str, language: str) -> None:
    width, height = png_size(charts.chart(kind, played, Words(language, case_desk.settings)))
    assert width > 300 and height > 150


def test_the_digest_image_is_one_picture_a_phone_shows_whole(played: StationReport, case_desk: Desk) -> None:
    width, height = png_size(charts.digest_image(played, Words("zh", case_desk.settings)))
    assert 900 < width < 2000 and 500 < height < 1200


def test_an_empty_period_still_draws(case_desk: Desk, clock: Clock) -> None:
    empty = station_report(case_desk.store, WEEK, clock.moment)
    for language in ("zh", "en"):
        assert png_size(charts.digest_image(empty, Words(language, case_desk.settings)))[0] > 900


def test_without_a_cjk_font_chinese_charts_refuse_and_say_what_to_install(
    played: StationReport, case_desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(charts, "cjk_family", lambda: None)
    with pytest.raises(charts.FontMissing, match="fonts-noto-cjk"):
        charts.chart("trend", played, Words("zh", case_desk.settings))
    assert png_size(charts.chart("trend", played, Words("en", case_desk.settings)))[0] > 300


def test_the_page_is_self_contained_and_holds_no_residents_words(
    played: StationReport, case_desk: Desk
) -> None:
    for language in ("zh", "en"):
        page = html(played, Words(language, case_desk.settings))
        assert page.count('src="data:image/png;base64,') == 3
        assert not re.search(r"""(src|href)=["']?(https?:|//)""", page)
        for words in THEIR_WORDS:
            assert words not in page
        assert "demo-banner" not in page
    assert "满意率" in html(played, Words("zh", case_desk.settings))
    assert "Satisfaction" in html(played, Words("en", case_desk.settings))


def test_demo_data_is_marked_on_the_page(played: StationReport, case_desk: Desk) -> None:
    page = html(played, Words("en", case_desk.settings), demo="seeded 2026-12-01")
    assert 'id="demo-banner"' in page and "DEMO DATA" in page


def test_names_are_escaped(played: StationReport, case_desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Words, "officer", lambda self, officer: "<script>alert(1)</script>")
    page = html(played, Words("en", case_desk.settings))
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_csv_holds_the_same_figures(played: StationReport) -> None:
    rows = list(csv.DictReader(io.StringIO(csv_text(played))))
    total = {row["figure"]: row["value"] for row in rows if row["scope"] == "total"}
    assert total["opened"] == str(played.total.opened)
    assert total["rated"] == str(played.total.rated)
    assert total["promises_due"] == str(played.total.promises_due)
    assert total["first_response.median_minutes"] == str(
        round(played.total.first_response.median.total_seconds() / 60, 1)  # type: ignore[union-attr]
    )
    officers = {row["group"] for row in rows if row["scope"] == "officer"}
    assert officers == set(played.by_officer)
    assert {row["first_day"] for row in rows if row["scope"] == "total"} == {"2026-11-30"}
    for words in THEIR_WORDS:
        assert words not in csv_text(played)


def test_the_pdf_is_printed_from_the_page(played: StationReport, case_desk: Desk, tmp_path: Path) -> None:
    try:
        browser()
    except ReportError:
        if os.environ.get("CI"):
            raise  # .ci/run installs Chromium: missing there is a failure, not a skip
        pytest.skip("no Chromium here (CI installs it: .ci/run)")
    target = tmp_path / "report.pdf"
    pdf(html(played, Words("zh", case_desk.settings)), target)
    content = target.read_bytes()
    assert content.startswith(b"%PDF") and len(content) > 20_000


def test_without_a_browser_the_pdf_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr("shutil.which", lambda name: None)
    with pytest.raises(ReportError, match="apt-get install chromium"):
        pdf("<html></html>", tmp_path / "x.pdf")
    assert not (tmp_path / "x.pdf").exists()
