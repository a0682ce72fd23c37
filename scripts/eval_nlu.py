"""`make eval`: held-out intents with `rasa test nlu`, then danger screening and the outside set.

Prints macro-F1 per language (all intents, and the nine report intents alone) and every held-out
confusion (gold → predicted, confidence, text); Rasa's full reports stay in results/<language>/.
Then, with the model loaded in this process, the scores of scripts/nlu_scores.py: danger recall,
urgent pages and danger questions on harmless messages (held-out and outside sets), the outside
set's report macro-F1 and long reports misread. The outside set's texts are printed only with
--show-outside: reading its misses invites tuning to it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hemu.guidance import REPORT_INTENTS  # noqa: E402
from hemu.policy import load_policy  # noqa: E402
from scripts import nlu_scores  # noqa: E402
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


def in_process_parser(model: Path) -> Callable[[str], dict[str, Any]]:
    """``text → parse result`` with the model loaded here, as `/model/parse` would answer."""
    import asyncio
    import logging

    from rasa.core.agent import Agent
    from rasa.utils.log_utils import configure_structlog

    # Unconfigured, Rasa's structured log prints every parse at debug level, texts included: the
    # outside set's texts must appear only with --show-outside.
    configure_structlog(logging.WARNING)
    agent = Agent.load(str(model))
    loop = asyncio.new_event_loop()

    def parse(text: str) -> dict[str, Any]:
        return loop.run_until_complete(agent.parse_message(text))

    return parse


def danger_scorer(model: Path) -> Callable[[str], tuple[bool, bool, float]]:
    """``text → (rule finding?, clear rule finding?, classifier's best score on what the rules left)``.

    The danger component exactly as the model holds it, so the development sets can show what each
    uncertain threshold would catch and ask (how config/policy.yml's threshold was chosen).
    """
    import tempfile

    from rasa.engine.graph import ExecutionContext, GraphSchema
    from rasa.engine.storage.local_model_storage import LocalModelStorage

    from components.risk import RiskEntityExtractor

    folder = Path(tempfile.mkdtemp(prefix="hemu-eval-"))
    storage, metadata = LocalModelStorage.from_model_archive(folder, model)
    node = next(node for node in metadata.predict_schema.nodes.values() if node.uses is RiskEntityExtractor)
    component = RiskEntityExtractor.load(
        node.config, storage, node.resource, ExecutionContext(GraphSchema({}), "eval")
    )

    def summary(text: str) -> tuple[bool, bool, float]:
        screening, scores = component.read(text)
        clear = any(finding.tier == "clear" for finding in screening.findings)
        return bool(screening.findings), clear, max(scores.values(), default=0.0)

    return summary


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--show-outside", action="store_true", help="print the outside set's errors too")
    parser.add_argument("--dev", action="store_true", help="only the development set, with every error")
    parser.add_argument("--skip-rasa-test", action="store_true", help="only the danger and outside scores")
    args = parser.parse_args()
    model = model_path()
    if not model.is_file():
        print(f"no model at {model}: run `make train`", file=sys.stderr)
        return 1
    if args.dev:
        parse = in_process_parser(model)
        for language in LANGUAGES:
            print("\n".join(nlu_scores.dev_report(language, parse)))
        scores = danger_scorer(model)
        clear = load_policy().danger.clear_threshold
        for language in LANGUAGES:
            print("\n".join(nlu_scores.dev_threshold_curve(language, scores, clear)))
        return 0
    if not args.skip_rasa_test:
        for language in LANGUAGES:
            summarise(language, run_rasa_test(language, model))
    parse = in_process_parser(model)
    for language in LANGUAGES:
        for line in (
            nlu_scores.holdout_danger_report(language, parse, show=True)
            + nlu_scores.holdout_intent_pages(language, parse)
            + nlu_scores.outside_report(language, parse, show=args.show_outside)
        ):
            print(line)
    print("Rasa's reports: results/<language>/ (intent_report.json, intent_errors.json, confusion matrix)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
