"""The suite's numbers: each scenario records its figures, whether its goals held and the evidence of
every failure; the session prints one table at the end and writes ``results/chaos.json`` (the smoke run
writes ``results/chaos-smoke.json``, so a quick ``make test`` never overwrites the long run's figures).

Figures are recorded before a scenario's checks are asserted, so a failing scenario still reports what
it measured — the numbers are the point of the suite, pass or fail.
"""

from __future__ import annotations

import json
import os
import platform
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from scripts.processes import REPO_ROOT

RESULTS = REPO_ROOT / "results"


@dataclass
class Result:
    scenario: str
    size: str  # "smoke" or "full"
    seconds: float
    goals_met: bool
    figures: dict[str, Any]
    goals: dict[str, str] = field(default_factory=dict)  # figure → the goal it is held to
    evidence: list[str] = field(default_factory=list)


_results: list[Result] = []
_meta: dict[str, Any] = {"started": time.strftime("%Y-%m-%d %H:%M:%S")}


def note(key: str, value: Any) -> None:
    """Run-wide facts (the seed, the stack's start-up time) for the JSON file's header."""
    _meta[key] = value


def record(result: Result) -> Result:
    _results.append(result)
    print("\n" + table([result]), flush=True)
    for line in result.evidence[:40]:
        print(f"  evidence: {line}", flush=True)
    if len(result.evidence) > 40:
        print(f"  … {len(result.evidence) - 40} more lines of evidence in the JSON file", flush=True)
    return result


def results() -> list[Result]:
    return list(_results)


def _shown(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.2f}"
    if isinstance(value, dict):
        return ", ".join(f"{k} {_shown(v)}" for k, v in value.items())
    return str(value)


def table(rows: list[Result]) -> str:
    """One line per figure: scenario, figure, value, goal, and whether the scenario's goals held."""
    lines = [f"{'scenario':<34} {'figure':<40} {'value':>14}  goal"]
    lines.append("-" * len(lines[0]) + "-" * 12)
    for result in rows:
        verdict = "ok" if result.goals_met else "FAILED"
        head = f"{result.scenario} [{result.size}, {result.seconds:.0f} s, {verdict}]"
        first = True
        for name, value in result.figures.items():
            shown = _shown(value)
            goal = result.goals.get(name, "")
            if len(shown) > 14:
                lines.append(f"{head if first else '':<34} {name:<40}  {shown}  {goal}")
            else:
                lines.append(f"{head if first else '':<34} {name:<40} {shown:>14}  {goal}")
            first = False
        if first:
            lines.append(f"{head:<34} (no figures)")
    return "\n".join(lines)


def write(size: str) -> Path | None:
    """``results/chaos.json`` (full) or ``results/chaos-smoke.json``; None when nothing ran."""
    if not _results:
        return None
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / ("chaos.json" if size == "full" else "chaos-smoke.json")
    body = {
        **_meta,
        "finished": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "scenarios": [asdict(result) for result in _results],
    }
    path.write_text(json.dumps(body, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    return path
