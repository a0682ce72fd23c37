"""The roster and the response-time policy: the sample loads, and each kind of mistake a station admin
can make is refused with the file, the entry and the problem."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

from hemu.cases import Priority
from hemu.errors import ConfigError
from hemu.policy import Policy, load_policy
from hemu.roster import Roster, load_roster
from hemu.settings import load_settings

CONFIG = Path(__file__).resolve().parents[2] / "config"


def config_copy(tmp_path: Path, name: str, change: Callable[[Any], None]) -> Path:
    """A copy of the sample config folder with ``name`` edited by ``change``."""
    folder = tmp_path / "config"
    shutil.copytree(CONFIG, folder)
    path = folder / name
    content = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(content)
    path.write_text(yaml.safe_dump(content, allow_unicode=True), encoding="utf-8")
    return folder


def officer(content: dict[str, Any], officer_id: str) -> dict[str, Any]:
    return next(entry for entry in content["officers"] if entry["id"] == officer_id)


def test_sample_roster_and_policy_load_together() -> None:
    settings = load_settings(CONFIG)
    roster = settings.roster
    assert roster.supervisor_officer.name.en == "Zhou Jian"
    assert 4 <= len(roster.active_officers()) - 1 <= 6
    assert [o.id for o in roster.responsible_for("binhe")] == ["wang_li"]
    night = roster.get("liu_yang").duty[0]
    assert night.crosses_midnight and night.days == "every_day"
    assert settings.policy.response_time(Priority.URGENT).counted_in == "wall_clock"


def test_backup_naming_an_unknown_officer(tmp_path: Path) -> None:
    folder = config_copy(tmp_path, "roster.yml", lambda c: officer(c, "wang_li").update(backup="wang_lee"))
    with pytest.raises(
        ConfigError, match=r"roster.yml: officers\[0\]\.backup: no officer with id 'wang_lee'"
    ):
        load_roster(folder)


def test_officer_cannot_back_themselves_up(tmp_path: Path) -> None:
    folder = config_copy(tmp_path, "roster.yml", lambda c: officer(c, "chen_hao").update(backup="chen_hao"))
    with pytest.raises(ConfigError, match=r"officers\[2\]\.backup: an officer cannot be their own backup"):
        load_roster(folder)


def test_duplicate_officer_id(tmp_path: Path) -> None:
    folder = config_copy(tmp_path, "roster.yml", lambda c: officer(c, "zhao_min").update(id="wang_li"))
    with pytest.raises(ConfigError, match=r"officers\[1\]\.id: 'wang_li' is used twice"):
        load_roster(folder)


def test_unknown_supervisor(tmp_path: Path) -> None:
    folder = config_copy(tmp_path, "roster.yml", lambda c: c.update(supervisor="nobody"))
    with pytest.raises(ConfigError, match="supervisor: no officer with id 'nobody'"):
        load_roster(folder)


def test_misspelt_weekday_in_a_shift(tmp_path: Path) -> None:
    folder = config_copy(
        tmp_path, "roster.yml", lambda c: officer(c, "sun_wei")["duty"][0].update(days=["sat", "sunday"])
    )
    with pytest.raises(ConfigError, match=r"officers\[3\]\.duty\[0\]\.days: .*unknown day 'sunday'"):
        load_roster(folder)


def test_impossible_clock_time(tmp_path: Path) -> None:
    folder = config_copy(
        tmp_path, "roster.yml", lambda c: officer(c, "wang_li")["duty"][0].update({"to": "25:00"})
    )
    with pytest.raises(ConfigError, match=r"officers\[0\]\.duty\[0\]\.to: "):
        load_roster(folder)


def test_unquoted_time_read_by_yaml_as_minutes_still_means_the_time(tmp_path: Path) -> None:
    folder = tmp_path / "config"
    shutil.copytree(CONFIG, folder)
    path = folder / "roster.yml"
    path.write_text(
        path.read_text(encoding="utf-8").replace('from: "08:30"', "from: 08:30", 1), encoding="utf-8"
    )
    assert str(load_roster(folder).get("wang_li").duty[0].start) == "08:30:00"


def test_officer_serving_an_area_the_station_does_not_have(tmp_path: Path) -> None:
    folder = config_copy(tmp_path, "roster.yml", lambda c: officer(c, "wang_li")["areas"].append("atlantis"))
    with pytest.raises(ConfigError, match=r"roster.yml: officers\[0\]\.areas: unknown area 'atlantis'"):
        load_settings(folder)


def test_an_area_nobody_serves(tmp_path: Path) -> None:
    folder = config_copy(tmp_path, "roster.yml", lambda c: officer(c, "sun_wei").update(active=False))
    # xincun is still served by chen_hao; removing him too leaves it uncovered.
    load_settings(folder)
    folder = config_copy(
        tmp_path / "again",
        "roster.yml",
        lambda c: [
            officer(c, "sun_wei").update(active=False),
            officer(c, "chen_hao").update(areas=["laojie"]),
        ],
    )
    with pytest.raises(ConfigError, match="no active officer serves area 'xincun'"):
        load_settings(folder)


def test_policy_missing_a_priority(tmp_path: Path) -> None:
    folder = config_copy(tmp_path, "policy.yml", lambda c: c["response_times"].pop("low"))
    with pytest.raises(ConfigError, match="policy.yml: response_times: missing response time for low"):
        load_policy(folder)


def test_policy_with_two_amounts(tmp_path: Path) -> None:
    folder = config_copy(tmp_path, "policy.yml", lambda c: c["response_times"]["high"].update(minutes=30))
    with pytest.raises(
        ConfigError, match="response_times.high: give exactly one of minutes, hours or working_days"
    ):
        load_policy(folder)


def test_policy_with_an_unknown_category(tmp_path: Path) -> None:
    folder = config_copy(
        tmp_path, "policy.yml", lambda c: c["category_priority"].update(report_parking="low")
    )
    with pytest.raises(ConfigError, match="category_priority: unknown category 'report_parking'"):
        load_policy(folder)


def test_policy_with_an_unknown_priority(tmp_path: Path) -> None:
    folder = config_copy(tmp_path, "policy.yml", lambda c: c["category_priority"].update(report_noise="asap"))
    with pytest.raises(
        ConfigError, match=r"category_priority.report_noise: value is not a valid enumeration"
    ):
        load_policy(folder)


def test_every_problem_of_every_file_is_reported_at_once(tmp_path: Path) -> None:
    folder = config_copy(tmp_path, "policy.yml", lambda c: c.pop("response_times"))
    roster = folder / "roster.yml"
    roster.write_text(roster.read_text(encoding="utf-8").replace("supervisor: zhou_jian", "supervisor: x"))
    with pytest.raises(ConfigError) as error:
        load_settings(folder)
    assert "roster.yml: supervisor: no officer with id 'x'" in str(error.value)
    assert "policy.yml: response_times: field required" in str(error.value)


@pytest.mark.parametrize(
    ("category", "harm", "risks", "expected"),
    [
        ("report_noise", "none", [], Priority.NORMAL),
        ("report_money_dispute", None, [], Priority.LOW),
        ("report_money_dispute", "afraid", [], Priority.HIGH),
        ("report_spouse_conflict", "hurt", [], Priority.HIGH),
        ("report_noise", "none", ["threat"], Priority.URGENT),
        ("danger", None, ["violence"], Priority.URGENT),
    ],
)
def test_priority_is_the_highest_of_category_answers_and_danger(category, harm, risks, expected) -> None:
    policy: Policy = load_policy(CONFIG)
    assert policy.priority_for(category, harm, risks) is expected


def test_roster_model_refuses_a_shift_list_without_days() -> None:
    with pytest.raises(ValueError, match="list at least one day"):
        Roster.parse_obj(
            {
                "supervisor": "a",
                "officers": [
                    {
                        "id": "a",
                        "name": {"zh": "甲", "en": "A"},
                        "title": {"zh": "所长", "en": "Chief"},
                        "duty": [{"days": [], "from": "08:00", "to": "17:00"}],
                    }
                ],
            }
        )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("楼上水管爆了，正在漏水，马上就要淹到我家了", Priority.HIGH),
        ("the water is pouring through my ceiling right now", Priority.HIGH),
        ("楼上装修太吵了", Priority.NORMAL),
        ("they are noisy every weekend", Priority.NORMAL),
    ],
)
def test_words_that_say_it_cannot_wait_raise_the_priority(text: str, expected: Priority) -> None:
    policy = load_policy(CONFIG)
    assert policy.priority_for("report_property_damage", "none", [], text) is expected


def test_urgency_words_in_an_unknown_language(tmp_path: Path) -> None:
    folder = config_copy(tmp_path, "policy.yml", lambda c: c["urgency_words"].update(fr=["urgent"]))
    with pytest.raises(ConfigError, match="urgency_words: unknown language 'fr'"):
        load_policy(folder)


def test_an_officer_may_read_the_bot_in_their_own_language(tmp_path: Path) -> None:
    roster = load_roster(CONFIG)
    assert roster.get("zhou_jian").language == "zh" and roster.get("wang_li").language is None
    folder = config_copy(tmp_path, "roster.yml", lambda c: officer(c, "chen_hao").update(language="en"))
    assert load_roster(folder).get("chen_hao").language == "en"
    wrong = config_copy(tmp_path / "b", "roster.yml", lambda c: officer(c, "chen_hao").update(language="fr"))
    with pytest.raises(ConfigError, match=r"officers\[2\]\.language"):
        load_roster(wrong)
