"""Conversation tests: the test stories in tests/stories/ through `rasa test`, and Rasa's data checks.

They use the trained model that `make test` trains (or reuses from models/ when unchanged).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from scripts.train import model_path

REPO = Path(__file__).resolve().parent.parent
RASA = str(Path(sys.executable).parent / "rasa")
ENV = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "PYTHONPATH": str(REPO)}

pytestmark = pytest.mark.rasa


@pytest.fixture(scope="module")
def model() -> Path:
    path = model_path()
    if not path.is_file():
        pytest.fail(f"no trained model at {path}: run `make train` (make test does)")
    return path


def test_data_validates_without_warnings() -> None:
    result = subprocess.run(
        [RASA, "data", "validate", "--fail-on-warnings"], cwd=REPO, env=ENV, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_stories_pass_without_prediction_errors(model: Path, tmp_path: Path) -> None:
    result = subprocess.run(
        [
            RASA,
            "test",
            "core",
            "--model",
            str(model),
            "--stories",
            "tests/stories",
            "--fail-on-prediction-errors",
            "--out",
            str(tmp_path),
        ],
        cwd=REPO,
        env=ENV,
        capture_output=True,
        text=True,
    )
    failed = tmp_path / "failed_test_stories.yml"
    details = failed.read_text(encoding="utf-8") if failed.is_file() else ""
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:] + details
    assert "# None of the test stories failed - all good!" in details or not details.strip()
