from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from hemu.__main__ import main
from hemu.errors import ConfigError
from hemu.guidance import REPORT_INTENTS, load_content
from hemu.messages import load_messages, placeholders

CONTENT = Path(__file__).resolve().parents[2] / "content"
TELEGRAM_LIMIT = 4096


@pytest.mark.parametrize("category", REPORT_INTENTS)
@pytest.mark.parametrize("language", ["zh", "en"])
def test_guidance_fits_one_telegram_message(category: str, language: str) -> None:
    text = load_content(CONTENT).guidance_text(category, language)
    assert 100 < len(text) < TELEGRAM_LIMIT - 300


@pytest.mark.parametrize("category", REPORT_INTENTS)
def test_guidance_after_violence_contains_no_mediation(category: str) -> None:
    content = load_content(CONTENT)
    assert "调解" not in content.guidance_text(category, "zh", ["violence"])
    assert "mediat" not in content.guidance_text(category, "en", ["weapon"]).lower()


def test_guidance_cites_laws_and_says_it_is_not_legal_advice() -> None:
    content = load_content(CONTENT)
    rules = content.guidance_section("report_boundary_dispute", "en", "rules")
    assert "Civil Code" in rules or "Land Administration Law" in rules
    assert "not legal advice" in content.guidance_text("report_boundary_dispute", "en")


@pytest.mark.parametrize("category", REPORT_INTENTS)
@pytest.mark.parametrize("language", ["zh", "en"])
def test_the_first_guidance_is_what_to_do_now_and_the_rest_is_a_tap_away(
    category: str, language: str
) -> None:
    """One 25-line block was too much on a phone (issue 10): the first message is the calm advice."""
    content = load_content(CONTENT)
    first = content.guidance_text(category, language)
    assert first.startswith(getattr(content.guidance[category], language).calm.strip())
    assert len(first.splitlines()) <= 10
    for section in ("rules", "mediation", "evidence"):
        text = content.guidance_section(category, language, section)
        assert text and text not in first


def test_safety_text_puts_the_weapon_advice_first() -> None:
    text = load_content(CONTENT).safety_text(["threat", "weapon"], "en")
    weapon = load_content(CONTENT).safety.weapon.en.strip()
    assert text.startswith(weapon)


def test_messages_use_the_same_placeholders_in_both_languages() -> None:
    for key, entry in load_messages(CONTENT / "messages.yml").entries.items():
        assert placeholders(entry.zh) == placeholders(entry.en), key


def test_a_missing_guidance_file_is_a_config_error(tmp_path: Path) -> None:
    broken = tmp_path / "content"
    shutil.copytree(CONTENT, broken)
    (broken / "guidance" / "report_noise.yml").unlink()
    with pytest.raises(ConfigError, match="report_noise.yml: cannot be read"):
        load_content(broken)


def test_a_guidance_section_left_empty_is_a_config_error(tmp_path: Path) -> None:
    broken = tmp_path / "content"
    shutil.copytree(CONTENT, broken)
    path = broken / "guidance" / "report_pet_dispute.yml"
    path.write_text(path.read_text(encoding="utf-8").replace("  evidence: |", "  evidence: ''\n  old: |", 1))
    with pytest.raises(ConfigError, match="report_pet_dispute.yml: zh"):
        load_content(broken)


def test_check_command_passes_on_the_shipped_files(capsys) -> None:
    assert main(["check"]) == 0
    assert "Riverside Police Station" in capsys.readouterr().out


def test_check_command_fails_with_the_problem(monkeypatch, tmp_path: Path, capsys) -> None:
    (tmp_path / "station.yml").write_text("station: {}\n", encoding="utf-8")
    monkeypatch.setenv("HEMU_CONFIG_DIR", str(tmp_path))
    from hemu.config import load_station

    load_station.cache_clear()
    try:
        assert main(["check"]) == 1
        assert "station.yml: station.name: field required" in capsys.readouterr().err
    finally:
        load_station.cache_clear()
