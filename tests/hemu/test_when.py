from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable
from zoneinfo import ZoneInfo

import pytest
import yaml

from hemu.errors import ConfigError
from hemu.when import describe_due, describe_overdue, load_time_words

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
CONTENT = Path(__file__).resolve().parents[2] / "content"


def sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("now", "due", "en", "zh"),
    [
        (
            sh(2026, 12, 2, 12, 30),
            sh(2026, 12, 2, 16, 30),
            "by 16:30 today (within 4 hours)",
            "今天16:30前（4小时内）",
        ),
        (
            sh(2026, 12, 2, 16, 30),
            sh(2026, 12, 3, 9, 30),
            "by 09:30 tomorrow (within 17 hours)",
            "明天09:30前（17小时内）",
        ),
        (
            sh(2026, 11, 28, 15),
            sh(2026, 12, 1, 14, 30),
            "by Tuesday 1 December, 14:30 (within 3 days)",
            "12月1日（周二）14:30前（3天内）",
        ),
        (
            sh(2026, 12, 30, 10),
            sh(2027, 1, 4, 9),
            "by Monday 4 January 2027, 09:00 (within 5 days)",
            "2027年1月4日（周一）09:00前（5天内）",
        ),
        (
            sh(2026, 12, 2, 3),
            sh(2026, 12, 2, 3, 15),
            "by 03:15 today (within 15 minutes)",
            "今天03:15前（15分钟内）",
        ),
    ],
)
def test_describe_due_in_both_languages(now: datetime, due: datetime, en: str, zh: str) -> None:
    assert describe_due(due, now, SHANGHAI, "en") == en
    assert describe_due(due, now, SHANGHAI, "zh") == zh


@pytest.mark.parametrize(
    ("remaining", "expected"),
    [
        (timedelta(seconds=20), "within 1 minute"),
        (timedelta(minutes=1), "within 1 minute"),
        (timedelta(minutes=14, seconds=1), "within 15 minutes"),
        (timedelta(minutes=59, seconds=30), "within 1 hour"),
        (timedelta(hours=1), "within 1 hour"),
        (timedelta(hours=1, seconds=1), "within 2 hours"),
        (timedelta(hours=3, minutes=10), "within 4 hours"),
        (timedelta(hours=47, minutes=30), "within 48 hours"),
        (timedelta(hours=48), "within 2 days"),
        (timedelta(days=2, minutes=1), "within 3 days"),
    ],
)
def test_the_relative_part_is_rounded_up(remaining: timedelta, expected: str) -> None:
    now = sh(2026, 12, 2, 9)
    assert describe_due(now + remaining, now, SHANGHAI, "en").endswith(f"({expected})")


def test_local_time_of_the_station_whatever_the_input_zone() -> None:
    due = datetime(2026, 12, 2, 8, 30, tzinfo=timezone.utc)  # 16:30 in Shanghai
    now = datetime(2026, 12, 2, 4, 30, tzinfo=timezone.utc)
    assert describe_due(due, now, SHANGHAI, "en") == "by 16:30 today (within 4 hours)"


def test_the_relative_part_is_real_time_across_a_clock_change() -> None:
    now = datetime(2026, 3, 28, 20, tzinfo=BERLIN)
    due = datetime(2026, 3, 29, 8, tzinfo=BERLIN)  # 11 real hours: the clocks went forward
    assert describe_due(due, now, BERLIN, "en") == "by 08:00 tomorrow (within 11 hours)"


def test_describe_overdue() -> None:
    due, now = sh(2026, 12, 2, 16, 30), sh(2026, 12, 2, 17, 5)
    assert describe_overdue(due, now, SHANGHAI, "en") == "was due by 16:30 today — overdue"
    assert describe_overdue(due, now, SHANGHAI, "zh") == "原定今天16:30前，已超时"
    assert (
        describe_overdue(sh(2026, 11, 30, 10), now, SHANGHAI, "en")
        == "was due by Monday 30 November, 10:00 — overdue"
    )


def test_a_due_time_already_passed_reads_as_overdue() -> None:
    due = sh(2026, 12, 2, 16, 30)
    assert describe_due(due, due, SHANGHAI, "zh") == "原定今天16:30前，已超时"


def test_naive_times_and_unknown_languages_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        describe_due(datetime(2026, 12, 2, 16), sh(2026, 12, 2, 12), SHANGHAI, "en")
    with pytest.raises(ValueError, match="timezone-aware"):
        describe_overdue(sh(2026, 12, 2, 16), datetime(2026, 12, 2, 17), SHANGHAI, "en")
    with pytest.raises(ValueError, match="language"):
        describe_due(sh(2026, 12, 2, 16), sh(2026, 12, 2, 12), SHANGHAI, "fr")


def broken_texts(tmp_path: Path, change: Callable[[dict], None]) -> Path:
    content = yaml.safe_load((CONTENT / "time.yml").read_text(encoding="utf-8"))
    change(content)
    path = tmp_path / "time.yml"
    path.write_text(yaml.safe_dump(content, allow_unicode=True), encoding="utf-8")
    return path


def test_the_shipped_texts_load() -> None:
    texts = load_time_words(CONTENT / "time.yml")
    assert texts.names["weekdays"]["zh"][1] == "周二"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda c: c["hours"].pop("en"), r"hours\.en: missing"),
        (lambda c: c.pop("overdue"), r"overdue: missing"),
        (lambda c: c["today"].update(zh="今天{clock}前"), r"today\.zh: unknown placeholder \{clock\}"),
        (lambda c: c["minutes"].update(en="within some minutes"), r"minutes\.en: must contain \{n\}"),
        (lambda c: c["weekdays"].update(en=["Monday"]), r"weekdays\.en: expected a list of 7"),
        (lambda c: c["due"].update(fr="{when}"), r"due\.fr: unknown language"),
        (lambda c: c.update(soon={"zh": "马上", "en": "soon"}), r"soon: unknown entry"),
    ],
)
def test_bad_texts_are_refused_naming_file_and_key(
    tmp_path: Path, change: Callable[[dict], None], message: str
) -> None:
    path = broken_texts(tmp_path, change)
    with pytest.raises(ConfigError, match=message) as error:
        load_time_words(path)
    assert str(path) in str(error.value)


def test_a_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="time.yml: cannot be read"):
        load_time_words(tmp_path / "time.yml")
