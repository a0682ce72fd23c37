"""The model cache: unchanged inputs never retrain, any change to them does."""

from __future__ import annotations

import shutil
from pathlib import Path

from scripts.train import INPUTS, model_hash, model_path, train

REPO = Path(__file__).resolve().parents[2]


def copy_inputs(target: Path) -> Path:
    for name in INPUTS:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


def test_same_inputs_give_the_same_model(tmp_path: Path) -> None:
    copy = copy_inputs(tmp_path)
    assert model_hash(copy) == model_hash(REPO)


def test_editing_training_data_changes_the_model(tmp_path: Path) -> None:
    copy = copy_inputs(tmp_path)
    before = model_hash(copy)
    nlu = copy / "data" / "nlu" / "en" / "report_noise.yml"
    nlu.write_text(nlu.read_text(encoding="utf-8") + "    - the drummer next door again\n", encoding="utf-8")
    assert model_hash(copy) != before


def test_editing_the_danger_training_lines_changes_the_model(tmp_path: Path) -> None:
    copy = copy_inputs(tmp_path)
    before = model_hash(copy)
    lines = copy / "risk" / "train_en.yml"
    lines.write_text(
        lines.read_text(encoding="utf-8") + "- text: he swung a rake at me\n  labels: [weapon]\n"
    )
    assert model_hash(copy) != before


def test_editing_the_danger_rules_needs_no_new_model(tmp_path: Path) -> None:
    """The rules are read at run time (components/risk.py, the gateway): a restart picks them up."""
    copy = copy_inputs(tmp_path)
    before = model_hash(copy)
    rules = copy / "risk" / "rules.yml"
    rules.write_text(rules.read_text(encoding="utf-8") + "\n# a comment\n", encoding="utf-8")
    assert model_hash(copy) == before


def test_changing_how_the_archive_is_written_retrains(tmp_path: Path) -> None:
    """rasa_addons/train.py decides what DIET's checkpoint holds: a model from before it must not be kept."""
    copy = copy_inputs(tmp_path)
    before = model_hash(copy)
    saver = copy / "rasa_addons" / "train.py"
    saver.write_text(saver.read_text(encoding="utf-8") + "\n# saved otherwise\n", encoding="utf-8")
    assert model_hash(copy) != before


def test_content_and_config_do_not_retrain(tmp_path: Path) -> None:
    """Guidance text and station settings are read at run time; editing them needs no new model."""
    assert not {"content", "config"} & set(INPUTS)


def test_model_path_names_the_hash(monkeypatch) -> None:
    monkeypatch.delenv("HEMU_MODEL", raising=False)
    assert model_path().name == f"hemu-{model_hash()}.tar.gz"
    monkeypatch.setenv("HEMU_MODEL", "/elsewhere/m.tar.gz")
    assert model_path() == Path("/elsewhere/m.tar.gz")


def test_a_model_named_outside_the_project_is_used_as_it_is(tmp_path: Path, monkeypatch, capsys) -> None:
    """``HEMU_MODEL=/tmp/x.tar.gz make eval`` must evaluate that model, not fail on printing its path."""
    model = tmp_path / "experiment.tar.gz"
    model.write_bytes(b"")
    monkeypatch.setenv("HEMU_MODEL", str(model))
    assert train() == model
    assert str(model) in capsys.readouterr().out
