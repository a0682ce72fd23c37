"""py-spy for the benchmarks: record one process while a load runs, then print where its time went.

``--gil`` counts only samples holding Python's GIL (CPU spent in Python, not threads waiting in a pool):
what the gateway needs; Rasa's time in TensorFlow is outside the GIL, so it is profiled without.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Recording:
    process: subprocess.Popen[bytes]
    out: Path

    def report(self, ours: tuple[str, ...], top: int = 12, indent: str = "  ") -> None:
        """Stops py-spy (it writes what it has on Ctrl-C) and prints the functions with most own time,
        then the most inclusive ones among ``ours`` (path prefixes: "bot/", "rasa/core/"…)."""
        self.process.send_signal(signal.SIGINT)
        self.process.wait(60)
        own: Counter[str] = Counter()
        inclusive: Counter[str] = Counter()
        lines = self.out.read_text().splitlines() if self.out.exists() else []
        for line in lines:
            frames, _, count = line.rpartition(" ")
            stack = frames.split(";")
            own[stack[-1]] += int(count)
            for frame in set(stack):
                inclusive[frame] += int(count)
        total = sum(own.values())
        if not total:
            print(f"{indent}(py-spy recorded nothing)")
            return
        print(f"{indent}py-spy, {total} samples; own time, top {top}:")
        for frame, samples in own.most_common(top):
            print(f"{indent}  {100 * samples / total:5.1f} %  {frame}")
        print(f"{indent}inclusive, functions under {', '.join(ours)}, top 15:")
        mine = Counter({f: n for f, n in inclusive.items() if f.rpartition("(")[2].startswith(ours)})
        for frame, samples in mine.most_common(15):
            print(f"{indent}  {100 * samples / total:5.1f} %  {frame}")


def record(pid: int, gil: bool = False) -> Recording | None:
    """py-spy recording ``pid`` until :meth:`Recording.report`; None (said) when py-spy is not installed."""
    spy = Path(sys.executable).parent / "py-spy"
    if not spy.exists():
        print("  (no profile: py-spy is not installed in the venv)")
        return None
    out = Path(tempfile.mkdtemp()) / f"{pid}.txt"
    command = [
        str(spy),
        "record",
        "--pid",
        str(pid),
        "--format",
        "raw",
        "--output",
        str(out),
        "--nonblocking",
    ]
    process = subprocess.Popen(
        [*command, *(["--gil"] if gil else [])], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    return Recording(process, out)
