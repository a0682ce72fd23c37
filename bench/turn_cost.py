"""`make bench-turn`: the CPU one resident turn costs Rasa and the action server, and how it grows.

Starts Rasa and the action server as `make run` does (SQL tracker store: a SQLite file, or PostgreSQL with
``--postgres``), talks to Rasa's REST channel one turn at a time (nothing else runs, so each process's CPU
time — user + system from /proc, children included — divided by the turns is the cost of a turn) and
prints:
  * CPU per turn for a typical conversation (the report form's first answers), Rasa and action server;
  * CPU per turn at turn 1–5 against turns 46–50 of one long conversation: Rasa reads the whole
    conversation from the tracker store on every turn, so a long one costs more;
  * with ``--profile SECONDS``: py-spy's view of where Rasa spends its CPU during the typical turns
    (the top functions by own time), if py-spy is installed.
The per-turn CPU bounds the turns/s of a machine: cores / (Rasa CPU + actions CPU per turn).
Numbers only: nothing here passes or fails.

    PYTHONPATH=. .venv/bin/python bench/turn_cost.py [--conversations 40] [--postgres] [--profile 20]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.pyspy import record  # noqa: E402
from scripts.endpoints import tracker_store  # noqa: E402
from scripts.pgserver import start_server  # noqa: E402
from scripts.processes import cpu_seconds  # noqa: E402
from scripts.stack import Stack, start_stack  # noqa: E402
from scripts.train import model_path  # noqa: E402

LOCAL = urllib.request.build_opener(urllib.request.ProxyHandler({}))
SCRIPT = ("楼上那家天天半夜拖椅子，咚咚咚的根本睡不着{n}", "滨河社区3栋2单元", "楼上602的住户", "半年多了")
# Turns that keep a conversation going without ending it: questions the assistant answers each time.
CHATTER = ("你好", "你能做什么", "谢谢", "好的")


def turn(stack: Stack, sender: str, text: str) -> None:
    body = json.dumps({"sender": sender, "message": text, "metadata": {"language": "zh"}}).encode()
    request = urllib.request.Request(
        f"{stack.rasa_url}/webhooks/rest/webhook", body, {"Content-Type": "application/json"}
    )
    with LOCAL.open(request, timeout=120) as response:
        response.read()


def measured(stack: Stack, turns: list[tuple[str, str]]) -> tuple[float, float, float]:
    """(Rasa CPU ms per turn, actions CPU ms per turn, wall ms per turn) over ``turns``."""
    rasa, actions = stack.rasa.pid, stack.actions.pid
    before = cpu_seconds(rasa), cpu_seconds(actions), time.perf_counter()
    for sender, text in turns:
        turn(stack, sender, text)
    after = cpu_seconds(rasa), cpu_seconds(actions), time.perf_counter()
    return tuple((b - a) * 1000 / len(turns) for a, b in zip(before, after, strict=True))  # type: ignore[return-value]


def profile(stack: Stack, seconds: int, turns: list[tuple[str, str]]) -> None:
    """Rasa under ``seconds`` of typical turns, through py-spy (all its threads: TensorFlow runs outside
    Python's GIL)."""
    spy = record(stack.rasa.pid)
    if spy is None:
        return
    deadline = time.monotonic() + seconds
    index = 0
    while time.monotonic() < deadline:
        sender, text = turns[index % len(turns)]
        turn(stack, f"{sender}-p{index // len(turns)}", text)
        index += 1
    print(f"Rasa over {index} turns:")
    spy.report(("rasa/", "rasa_addons/", "components/", "hemu/"), indent="")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--conversations", type=int, default=40, help="typical conversations to measure")
    parser.add_argument("--long", type=int, default=50, help="turns in the long conversation")
    parser.add_argument("--postgres", action="store_true", help="tracker store on PostgreSQL, not SQLite")
    parser.add_argument("--profile", type=int, default=0, help="seconds of py-spy on Rasa (0: none)")
    args = parser.parse_args()
    model = model_path()
    if not model.is_file():
        print(f"no model at {model}: run `make train`", file=sys.stderr)
        return 1
    server = start_server() if args.postgres else None
    try:
        with tempfile.TemporaryDirectory() as work:
            url = server.create_database() if server else f"sqlite:///{Path(work) / 'trackers.sqlite3'}"
            database = url if server else f"sqlite:///{Path(work) / 'hemu.sqlite3'}"
            with start_stack(
                model, Path(work) / "logs", env={"DATABASE_URL": database}, trackers=tracker_store(url)
            ) as stack:
                print(f"tracker store: {'PostgreSQL' if server else 'SQLite'}")
                turn(stack, "warm-up", "热身 warm-up")
                typical = [
                    (f"typical-{n}", line.format(n=f" {n}"))
                    for n in range(args.conversations)
                    for line in SCRIPT
                ]
                rasa, actions, wall = measured(stack, typical)
                print(
                    f"typical turn ({len(typical)} turns): Rasa {rasa:.0f} ms CPU, action server "
                    f"{actions:.0f} ms CPU, {wall:.0f} ms wall; "
                    f"a core does {1000 / (rasa + actions):.1f} turns/s"
                )
                chatter = [("long", SCRIPT[0].format(n=""))] + [
                    ("long", CHATTER[n % len(CHATTER)]) for n in range(args.long - 1)
                ]
                early = measured(stack, chatter[:5])
                for sender, text in chatter[5 : args.long - 5]:
                    turn(stack, sender, text)
                late = measured(stack, chatter[args.long - 5 :])
                print(
                    f"one conversation, turns 1–5: Rasa {early[0]:.0f} ms CPU/turn; turns "
                    f"{args.long - 4}–{args.long}: Rasa {late[0]:.0f} ms CPU/turn ({late[0] / early[0]:.2f}x)"
                )
                if args.profile:
                    profile(stack, args.profile, typical)
    finally:
        if server:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
