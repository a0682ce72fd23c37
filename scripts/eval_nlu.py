"""`make eval`: `rasa test nlu` on the held-out set of each language, summarised.

Prints macro-F1 per language (all intents, and the nine report intents alone) and every confusion
(gold → predicted, confidence, text). Rasa's full reports stay in results/<language>/.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hemu.guidance import REPORT_INTENTS  # noqa: E402
from scripts.train import ROOT, model_path  # noqa: E402

LANGUAGES = ("zh", "en")


def run_rasa_test(language: str, model: Path) -> Path:
    out = ROOT / "results" / language
    subprocess.run(
        [
            str(Path(sys.executable).parent / "rasa"),
            "test",
            "nlu",
            "--model",
            str(model),
            "--nlu",
            f"tests/nlu_holdout/{language}.yml",
            "--out",
            str(out),
            "--quiet",
        ],
        cwd=ROOT,
        env={**os.environ, "RASA_TELEMETRY_ENABLED": "false"},
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return out


def summarise(language: str, out: Path) -> dict[str, float]:
    report = json.loads((out / "intent_report.json").read_text(encoding="utf-8"))
    reports = [report[intent]["f1-score"] for intent in REPORT_INTENTS if intent in report]
    summary = {
        "macro_f1": report["macro avg"]["f1-score"],
        "report_macro_f1": sum(reports) / len(reports),
        "accuracy": report["accuracy"],
    }
    print(
        f"[{language}] macro-F1 {summary['macro_f1']:.3f} "
        f"(nine report intents {summary['report_macro_f1']:.3f}),"
        f" accuracy {summary['accuracy']:.3f}"
    )
    errors_path = out / "intent_errors.json"
    errors = json.loads(errors_path.read_text(encoding="utf-8")) if errors_path.is_file() else []
    for error in sorted(errors, key=lambda e: (e["intent"], e["intent_prediction"]["name"])):
        predicted = error["intent_prediction"]
        print(
            f"  {error['intent']:<24} → {predicted['name']:<24} "
            f"{predicted['confidence']:.2f}  {error['text']}"
        )
    return summary


def main() -> int:
    model = model_path()
    if not model.is_file():
        print(f"no model at {model}: run `make train`", file=sys.stderr)
        return 1
    for language in LANGUAGES:
        summarise(language, run_rasa_test(language, model))
    print("Rasa's reports: results/<language>/ (intent_report.json, intent_errors.json, confusion matrix)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
