"""`make bench`: how well and how fast Hemu understands, measured through the real Rasa server.

Starts Rasa and the action server on loopback with the current model and prints:
  * cold start (launch → /status answers) and resident memory of both processes;
  * /model/parse latency (median, p95) over the held-out messages;
  * held-out intent macro-F1 per language (all intents; the nine report intents);
  * danger recall on the held-out danger messages and false alarms on risky-looking harmless ones;
  * the outside set (tests/nlu_outside): danger recall, urgent pages and danger questions on harmless
    messages, report macro-F1, long reports misread (scripts/nlu_scores.py, the same as `make eval`);
  * with --train, the wall time of a full `rasa train` (into a temporary folder).
Numbers only: nothing here passes or fails.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hemu.guidance import REPORT_INTENTS  # noqa: E402
from scripts import nlu_scores  # noqa: E402
from scripts.processes import REPO_ROOT, rss_mb  # noqa: E402
from scripts.stack import start_stack  # noqa: E402
from scripts.train import model_path  # noqa: E402


def parse(url: str, text: str) -> tuple[dict, float]:
    """``url``: Rasa's /model/parse with the run's API token (``Stack.rasa_api``)."""
    body = json.dumps({"text": text}).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=30) as response:
        result = json.loads(response.read())
    return result, (time.perf_counter() - started) * 1000


def timed(base: str, text: str, latencies: list[float]) -> dict:
    result, ms = parse(base, text)
    latencies.append(ms)
    return result


def bench_train() -> float:
    with tempfile.TemporaryDirectory() as out:
        started = time.monotonic()
        subprocess.run(
            [str(Path(sys.executable).parent / "rasa"), "train", "--out", out, "--force", "--quiet"],
            cwd=REPO_ROOT,
            env={**os.environ, "RASA_TELEMETRY_ENABLED": "false"},
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        return time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--train", action="store_true", help="also time a full rasa train (minutes)")
    parser.add_argument("--show-errors", action="store_true", help="list misclassified held-out messages")
    args = parser.parse_args()

    model = model_path()
    if not model.is_file():
        print(f"no model at {model}: run `make train`", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as logs, start_stack(model, Path(logs)) as stack:
        base = stack.rasa_api("/model/parse")
        print(
            f"cold start  rasa {stack.rasa.ready_after:.1f} s, "
            f"action server {stack.actions.ready_after:.1f} s"
        )
        parse(base, "热身 warm-up")
        latencies: list[float] = []
        for language in ("zh", "en"):
            pairs = []
            for text, gold in ((ex.text, ex.intent) for ex in nlu_scores.holdout_intent_set(language)):
                result, ms = parse(base, text)
                latencies.append(ms)
                pairs.append((gold, result["intent"]["name"]))
                if args.show_errors and gold != result["intent"]["name"]:
                    print(f"    {gold} → {result['intent']['name']}: {text}")
            labels = sorted({gold for gold, _ in pairs})
            accuracy = sum(gold == pred for gold, pred in pairs) / len(pairs)
            print(
                f"[{language}] held-out intents: macro-F1 {nlu_scores.macro_f1(pairs, labels):.3f}, "
                f"nine reports {nlu_scores.macro_f1(pairs, list(REPORT_INTENTS)):.3f}, "
                f"accuracy {accuracy:.3f} "
                f"({len(pairs)} messages)"
            )
            # Danger in two tiers: urgent pages and danger questions on harmless lines, counted apart.
            for line in nlu_scores.holdout_danger_report(
                language, lambda text: timed(base, text, latencies), show=args.show_errors
            ):
                print(line)
        for language in ("zh", "en"):
            for line in nlu_scores.outside_report(language, lambda text: timed(base, text, latencies)):
                print(line)
        latencies.sort()
        print(
            f"/model/parse latency over {len(latencies)} messages: "
            f"median {statistics.median(latencies):.1f} ms,"
            f" p95 {latencies[int(len(latencies) * 0.95)]:.1f} ms"
        )
        print(f"RSS  rasa {rss_mb(stack.rasa.pid):.0f} MB, action server {rss_mb(stack.actions.pid):.0f} MB")
    if args.train:
        print(f"rasa train (full, --force): {bench_train():.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
