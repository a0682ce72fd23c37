"""``python -m hemu report``: the same report from the command line, in every format, and clear refusals."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from hemu import admin
from hemu.desk import Desk
from hemu.report import charts
from tests.conftest import Clock
from tests.hemu.report.station_week import station_week


def run(desk: Desk, *argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = admin.main(["report", *argv], out=out, desk=lambda: desk)
    return code, out.getvalue()


def test_html_csv_and_pdf_for_a_range(case_desk: Desk, clock: Clock, tmp_path: Path) -> None:
    station_week(case_desk, clock)
    code, page = run(case_desk, "--from", "2026-11-30", "--to", "2026-12-06")
    assert code == 0 and page.startswith("<!DOCTYPE html>") and "2026-11-30 – 2026-12-06" in page
    code, table = run(case_desk, "--period", "week", "--format", "csv")
    assert code == 0 and "total,,2026-11-30,2026-12-06,opened,6" in table
    target = tmp_path / "week.pdf"
    code, _ = run(case_desk, "--period", "2026-12", "--format", "pdf", "--language", "en", "-o", str(target))
    assert code == 0 and target.read_bytes().startswith(b"%PDF")


def test_the_default_is_last_week(case_desk: Desk) -> None:
    code, page = run(case_desk, "--language", "en")  # the clock: Wednesday 2 December 2026
    assert code == 0 and "2026-11-23 – 2026-11-29" in page


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["--from", "2026-11-30"], "give both --from and --to"),
        (["--from", "2026-11-30", "--to", "2026-11-01"], "cannot end"),
        (["--from", "30/11/2026", "--to", "2026-12-06"], "is not a day"),
        (["--period", "fortnight"], "is not a period"),
        (["--format", "pdf"], "a PDF needs --output"),
    ],
)
def test_bad_input_is_refused_with_a_reason(
    case_desk: Desk, argv: list[str], said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run(case_desk, *argv)
    assert code == 1 and out == "" and said in capsys.readouterr().err


def test_no_cjk_font_is_said_and_nothing_is_written(
    case_desk: Desk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(charts, "cjk_family", lambda: None)
    target = tmp_path / "r.html"
    code, _ = run(case_desk, "--period", "week", "-o", str(target))
    assert code == 1 and "fonts-noto-cjk" in capsys.readouterr().err and not target.exists()
