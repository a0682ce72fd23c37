"""The gateway's texts: every key the code uses exists in both languages; broken files stop start-up."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import texts
from bot.__main__ import main
from bot.app import all_text_keys
from hemu.errors import ConfigError


def test_every_key_the_gateway_uses_is_written_in_both_languages() -> None:
    keys = ["internal_error", *all_text_keys()]
    texts.check_keys(keys)
    catalogue = texts.load_texts()
    for key in keys:
        entry = catalogue.entries[key]
        assert entry.zh.strip() and entry.en.strip(), key


def write(folder: Path, name: str, body: str) -> None:
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(body, encoding="utf-8")


def test_a_key_defined_twice_names_both_files(tmp_path: Path) -> None:
    write(tmp_path, "a.yml", "hello: {zh: 你好, en: Hello}\n")
    write(tmp_path, "b.yml", "hello: {zh: 您好, en: Hi}\n")
    with pytest.raises(ConfigError, match=r"b\.yml: hello: already defined in .*a\.yml"):
        texts.load_texts(tmp_path)


def test_missing_keys_are_listed(tmp_path: Path) -> None:
    write(tmp_path, "a.yml", "hello: {zh: 你好, en: Hello}\n")
    with pytest.raises(ConfigError, match="bye, welcome: text missing"):
        texts.check_keys(["hello", "welcome", "bye"], tmp_path)


def test_placeholders_must_match_between_languages(tmp_path: Path) -> None:
    write(tmp_path, "a.yml", "due: {zh: '{when}前', en: 'by {time}'}\n")
    with pytest.raises(ConfigError, match="due"):
        texts.load_texts(tmp_path)


def test_check_command_reports_a_broken_text_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--check"]) == 0
    (tmp_path / "bot").mkdir()
    write(tmp_path / "bot", "only.yml", "internal_error: {zh: 出错了, en: Error}\n")
    monkeypatch.setenv("HEMU_CONTENT_DIR", str(tmp_path))
    texts.load_texts.cache_clear()
    try:
        assert main(["--check"]) == 2
    finally:
        texts.load_texts.cache_clear()
    assert "text missing" in capsys.readouterr().err


def test_the_language_question_is_asked_in_both_languages() -> None:
    """Someone asking for the other language may not read the current one (issue 10)."""
    for language in ("zh", "en"):
        asked = texts.render("language_choose", language).text
        assert "语言" in asked and "language" in asked
