"""`make bench-thresholds`: the danger thresholds seen on training data only (a second view).

config/policy.yml's uncertain threshold is chosen on the development sets (`make eval-dev` prints the
curve); this shows the same trade-off on lines the classifier was not trained on but that were
written with the training data.

The evaluation sets (held-out, outside) must not choose thresholds: they would stop being evidence.
So this holds back a fifth of the *training* lines (risk/train_*.yml and the NLU examples, stratified
by danger / harmless), trains the danger classifier on the rest exactly as `rasa train` does, and
prints, for a grid of thresholds, the recall on held-back danger lines (rules or classifier) and the
share of held-back harmless lines that would page (clear tier) or be asked the danger question
(uncertain tier). Numbers only: nothing here passes or fails.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rasa.engine.graph import ExecutionContext, GraphSchema  # noqa: E402
from rasa.engine.storage.local_model_storage import LocalModelStorage  # noqa: E402
from rasa.engine.storage.resource import Resource  # noqa: E402
from rasa.shared.nlu.training_data.loading import load_data  # noqa: E402
from rasa.shared.nlu.training_data.message import Message  # noqa: E402
from rasa.shared.nlu.training_data.training_data import TrainingData  # noqa: E402

from components.risk import RiskEntityExtractor, load_examples  # noqa: E402
from risk.rules import default_screen  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def split(seed: int) -> tuple[list[tuple[str, list[str]]], list[tuple[str, list[str]]], TrainingData]:
    rng = random.Random(seed)
    lines = [line for path in sorted((ROOT / "risk").glob("train_*.yml")) for line in load_examples(path)]
    nlu = load_data(str(ROOT / "data" / "nlu"))
    ordinary = [(m.get("text"), []) for m in nlu.intent_examples if not str(m.get("text")).startswith("/")]
    everything = lines + ordinary
    rng.shuffle(everything)
    dev = everything[: len(everything) // 5]
    train = everything[len(everything) // 5 :]
    return train, dev, nlu


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--architecture", default=None, help="override the component's architecture")
    parser.add_argument("--epochs", type=int, default=None, help="override the component's epochs")
    parser.add_argument("--positive-weight", type=int, default=None, help="override positive_weight")
    args = parser.parse_args()
    train, dev, _ = split(args.seed)
    with tempfile.TemporaryDirectory() as folder:
        train_file = Path(folder) / "train_split.yml"
        import yaml

        train_file.write_text(
            yaml.safe_dump(
                {"examples": [{"text": t, "labels": labels} for t, labels in train]}, allow_unicode=True
            ),
            encoding="utf-8",
        )
        # The component's settings from config.yml, so the classifier is the one `rasa train` builds.
        pipeline = yaml.safe_load((ROOT / "config.yml").read_text(encoding="utf-8"))["pipeline"]
        settings = next(c for c in pipeline if c["name"] == "components.risk.RiskEntityExtractor")
        config = {k: v for k, v in settings.items() if k != "name"}
        config.update({"examples": [str(train_file)], "nlu_examples_as_negatives": False})
        for key, value in (
            ("architecture", args.architecture),
            ("epochs", args.epochs),
            ("positive_weight", args.positive_weight),
        ):
            if value is not None:
                config[key] = value
        (Path(folder) / "model").mkdir()
        storage = LocalModelStorage.create(Path(folder) / "model")
        context = ExecutionContext(GraphSchema({}), "thresholds")
        component = RiskEntityExtractor.create(config, storage, Resource("risk"), context)
        started = time.monotonic()
        component.train(TrainingData([Message(data={"text": "占位", "intent": "greet"})]))
        print(f"classifier trained on {len(train)} lines in {time.monotonic() - started:.0f} s")
        rules = default_screen()
        scored = []
        for text, labels in dev:
            findings = rules.find(text)
            rule_tier = (
                "clear" if any(f.tier == "clear" for f in findings) else ("uncertain" if findings else None)
            )
            best = max(component.scores(text).values(), default=0.0)
            scored.append((bool(labels), rule_tier, best))
    danger = [s for s in scored if s[0]]
    harmless = [s for s in scored if not s[0]]
    print(f"held back: {len(danger)} danger, {len(harmless)} harmless lines")
    print("clear  uncertain  recall  pages  questions")
    for clear in (0.8, 0.85, 0.9, 0.95):
        for low in (0.2, 0.3, 0.35, 0.4, 0.5, 0.6):
            if low > clear:
                continue

            def tier(rule: str | None, score: float, clear: float = clear, low: float = low) -> str | None:
                if rule == "clear" or score >= clear:
                    return "clear"
                if rule == "uncertain" or score >= low:
                    return "uncertain"
                return None

            recall = sum(tier(r, s) is not None for _, r, s in danger) / len(danger)
            pages = sum(tier(r, s) == "clear" for _, r, s in harmless) / len(harmless)
            questions = sum(tier(r, s) == "uncertain" for _, r, s in harmless) / len(harmless)
            print(f"{clear:5.2f}  {low:9.2f}  {recall:6.3f}  {pages:5.3f}  {questions:9.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
