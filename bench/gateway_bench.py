"""`make bench-gateway`: what the Telegram gateway costs, measured end to end on real processes.

Starts everything as `make run` does (``start_all``: Rasa, action server, local Bot API server, gateway;
temporary SQLite store) and prints:
  * per-turn latency (p50, p95) through the gateway — a resident's message injected into the local Bot
    API server until all of the bot's replies to it are visible there — against the same turns sent
    straight to Rasa's REST channel in the same run, and the ratio;
  * sustained turns/s with 20 and 100 residents talking at once (each waits for its answers, as people do);
  * case-to-officer-card delay: a case opened at the desk until its card is in the officer's chat;
  * cold start of `make run` (launch until every service printed its ready line), measured first, alone;
  * resident memory of each process after the load.
1 vs 2 Rasa workers under the same load: bench/workers_bench.py (also run by `make bench-gateway`).
Numbers only: nothing here passes or fails.

Per-chat pacing (HEMU_PER_CHAT_PACE, 1 s in production: Telegram's limit per chat) is switched off here so
the numbers show the gateway's own cost; the gateway's global rate limiter (Telegram's ~30 messages/s per
bot) stays on, and bounds the many-resident throughput as it would in production.

    PYTHONPATH=. .venv/bin/python bench/gateway_bench.py [--residents 20,100] [--latency-residents 10]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.texts import text  # noqa: E402
from hemu import clock  # noqa: E402
from hemu.bootstrap import open_desk  # noqa: E402
from hemu.desk import Report  # noqa: E402
from hemu.settings import load_settings  # noqa: E402
from hemu.store import Store  # noqa: E402
from sandbox.client import ControlClient  # noqa: E402
from scripts.processes import REPO_ROOT, free_port  # noqa: E402
from scripts.stack import Hemu, start_all  # noqa: E402
from scripts.train import model_path  # noqa: E402

# One resident's typed turns (no buttons, so both paths see exactly the same text): a report and the
# form's first answers. Varied a little per resident so Rasa's caches do not flatter the numbers.
SCRIPT = (
    "楼上那家天天半夜拖椅子，咚咚咚的根本睡不着{n}",
    "滨河社区3栋2单元",
    "楼上602的住户",
    "半年多了",
)
GATEWAY_ENV = {"HEMU_PER_CHAT_PACE": "0"}
# The first line of the gateway's "received, the answer is coming" notice, in both languages.
SLOW_NOTICE = tuple(
    text("assistant_slow", language, emergency="110").splitlines()[0] for language in ("zh", "en")
)
# Loopback only: an HTTP proxy from the environment must not sit in the measured path.
LOCAL = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def describe(values: list[float]) -> str:
    return (
        f"p50 {statistics.median(values):6.1f} ms, p95 {percentile(values, 0.95):6.1f} ms (n={len(values)})"
    )


def rest_turn(rasa_url: str, sender: str, text: str) -> tuple[int, float]:
    """One turn straight to Rasa: (number of replies, milliseconds)."""
    body = json.dumps({"sender": sender, "message": text, "metadata": {"language": "zh"}}).encode()
    request = urllib.request.Request(
        f"{rasa_url}/webhooks/rest/webhook", body, {"Content-Type": "application/json"}
    )
    started = time.perf_counter()
    with LOCAL.open(request, timeout=120) as response:
        replies = json.loads(response.read())
    return len(replies), (time.perf_counter() - started) * 1000


class Resident:
    """A resident in the local Bot API server; counts the bot's messages to know when a turn is answered."""

    def __init__(self, control: ControlClient, user_id: int) -> None:
        self.control = control
        self.user_id = user_id
        self.seen = len(control.messages(user_id, from_bot=True))

    def turn(self, text: str, replies: int) -> float:
        """Milliseconds from the message reaching Telegram until ``replies`` bot messages answer it.

        Under load the gateway first says "the answer is coming" (relay.SLOW_AFTER): that notice is not
        an answer, so it is not counted as one (it would end the turn early and flatter the numbers)."""
        started = time.perf_counter()
        self.control.send_text(self.user_id, text)
        slow = 0
        while True:
            messages = self.control.wait_for(self.user_id, self.seen + replies + slow, timeout=300)
            slow = sum(1 for m in messages[self.seen :] if (m.get("text") or "").startswith(SLOW_NOTICE))
            if len(messages) - self.seen - slow >= replies:
                break
        self.seen += replies + slow
        return (time.perf_counter() - started) * 1000


def gateway_counts(control: ControlClient, user_id: int, quiet: float = 1.5) -> list[int]:
    """How many Telegram messages answer each scripted turn through the gateway (it joins Rasa's replies
    into as few messages as Telegram allows, so Rasa's reply count is not it). Learnt once, slowly: the
    turn is over when nothing new arrived for ``quiet`` seconds; the conversation is deterministic."""
    counts = []
    seen = len(control.messages(user_id, from_bot=True))
    for line in SCRIPT:
        control.send_text(user_id, line.format(n=""))
        control.wait_for(user_id, seen + 1, timeout=120)
        total, last_change = seen + 1, time.monotonic()
        while time.monotonic() - last_change < quiet:
            time.sleep(0.1)
            now = len(control.messages(user_id, from_bot=True))
            if now != total:
                total, last_change = now, time.monotonic()
        counts.append(total - seen)
        seen = total
    return counts


def bench_latency(hemu: Hemu, control: ControlClient, counts: list[int], residents: int) -> None:
    direct: list[float] = []
    through: list[float] = []
    for n in range(residents):  # interleaved, so both paths see the same machine state
        for line in SCRIPT:
            direct.append(rest_turn(hemu.rasa_url, f"bench-rest-{n}", line.format(n=f" {n}"))[1])
        resident = Resident(control, 9_000_000 + n)
        for line, replies in zip(SCRIPT, counts, strict=True):
            through.append(resident.turn(line.format(n=f" {n}"), replies))
    ratio = statistics.median(through) / statistics.median(direct)
    print(f"per turn, Rasa REST directly:    {describe(direct)}")
    print(f"per turn, through the gateway:   {describe(through)}")
    tail = percentile(through, 0.95) / percentile(direct, 0.95)
    print(f"gateway / direct: p50 {ratio:.2f}x, p95 {tail:.2f}x")


def all_at_once(residents: int, conversation: Callable[[int], list[float]]) -> tuple[list[float], float]:
    """Every resident's conversation in its own thread: (every turn's milliseconds, wall seconds)."""
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=residents) as pool:
        latencies = [ms for result in pool.map(conversation, range(residents)) for ms in result]
    return latencies, time.perf_counter() - started


def bench_throughput(
    control: ControlClient, counts: list[int], residents: int, base: int, label: str = ""
) -> tuple[float, float]:
    def conversation(n: int) -> list[float]:
        resident = Resident(control, base + n)
        return [
            resident.turn(line.format(n=f" {base + n}"), replies)
            for line, replies in zip(SCRIPT, counts, strict=True)
        ]

    latencies, elapsed = all_at_once(residents, conversation)
    print(
        f"{residents:3d} residents at once{label}: {len(latencies) / elapsed:5.1f} turns/s sustained "
        f"({len(latencies)} turns in {elapsed:.1f} s); per turn {describe(latencies)}"
    )
    return len(latencies) / elapsed, percentile(latencies, 0.95)


def bench_rest_throughput(rasa_urls: list[str], residents: int, base: int, label: str = "") -> float:
    """The same load straight to Rasa: shows whether the gateway or Rasa bounds the throughput. With
    several workers resident n talks to worker n mod N (as the gateway keeps a resident on one)."""

    def conversation(n: int) -> list[float]:
        url = rasa_urls[n % len(rasa_urls)]
        return [rest_turn(url, f"bench-load-{base + n}", line.format(n=f" {base + n}"))[1] for line in SCRIPT]

    latencies, elapsed = all_at_once(residents, conversation)
    print(
        f"{residents:3d} residents at once, Rasa REST directly{label}: {len(latencies) / elapsed:5.1f} "
        f"turns/s; per turn {describe(latencies)}"
    )
    return len(latencies) / elapsed


def register_officer(store: Store, control: ControlClient, officer_id: str, user_id: int) -> None:
    code = store.officers.create_invite(officer_id, clock.now(), timedelta(days=1))
    control.send_text(user_id, f"/register {code}")
    deadline = time.monotonic() + 30
    while store.officers.chat_for_officer(officer_id) != user_id:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{officer_id} could not register")
        time.sleep(0.05)


def bench_case_cards(hemu: Hemu, control: ControlClient, store: Store, cases: int) -> None:
    settings = load_settings()
    chats: dict[str, int] = {}
    for offset, officer in enumerate(settings.roster.active_officers()):
        register_officer(store, control, officer.id, 9_500_000 + offset)
        chats[officer.id] = 9_500_000 + offset
    desk = open_desk(settings, store, migrate=False)
    delays: list[float] = []
    for n in range(cases):
        outcome = desk.open_case(
            Report(
                resident_id=f"bench-card-{n}",
                language="zh",
                category="report_noise",
                summary=f"楼上装修电钻声 {n}",
                area_id="binhe",
                harm="none",
            )
        )
        opened = time.perf_counter()
        chat = chats[outcome.case.officer_id]
        deadline = time.monotonic() + 60
        while not any(outcome.case.number in (m.get("text") or "") for m in control.messages(chat, True)):
            if time.monotonic() > deadline:
                raise RuntimeError(f"no card for {outcome.case.number}")
            time.sleep(0.01)
        delays.append((time.perf_counter() - opened) * 1000)
    interval = hemu.gateway_env.get("HEMU_NOTIFY_INTERVAL", "0.25 (default)")
    print(f"case opened → officer's card visible: {describe(delays)}; notifier interval {interval} s")


def bench_cold_start() -> None:
    """`make run` from launch until every ready line, on free ports and a throwaway store, then Ctrl-C."""
    with tempfile.TemporaryDirectory() as work:
        env = {
            **os.environ,
            "HEMU_RASA_PORT": str(free_port()),
            "HEMU_ACTIONS_PORT": str(free_port()),
            "HEMU_SANDBOX_PORT": str(free_port()),
            "HEMU_LOG_DIR": str(Path(work) / "logs"),
            "DATABASE_URL": f"sqlite:///{Path(work) / 'hemu.sqlite3'}",
        }
        env.pop("TELEGRAM_BOT_TOKEN", None)
        started = time.perf_counter()
        make = subprocess.Popen(
            ["make", "--no-print-directory", "run"],
            cwd=REPO_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        assert make.stdout is not None
        ready: list[str] = []
        total = services_launched = None
        try:
            for line in make.stdout:
                if line.startswith("starting ") and services_launched is None:
                    services_launched = time.perf_counter() - started  # make's own checks are done
                if " ready in " in line and not line.startswith("all"):
                    ready.append(" ".join(line.split()[:5]))
                if line.startswith("all ready in"):
                    total = time.perf_counter() - started
                    break
        finally:
            os.killpg(make.pid, signal.SIGTERM)  # as Ctrl-C would: run.py stops its services
            make.stdout.read()  # EOF once run.py has stopped everything and exited
            make.wait(60)
        if total is None:
            print("cold start of `make run`: did not become ready (see its output)")
            return
        print(
            f"cold start of `make run` (launch → all ready): {total:.1f} s, of which make's checks "
            f"{services_launched or 0:.1f} s; " + "; ".join(ready)
        )


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def prepare() -> Path | None:
    """The trained model, with telemetry off and SIGTERM unwinding like Ctrl-C (so the servers a
    benchmark started are stopped, not orphaned); None, said, when there is no model."""
    model = model_path()
    if not model.is_file():
        print(f"no model at {model}: run `make train`", file=sys.stderr)
        return None
    os.environ["RASA_TELEMETRY_ENABLED"] = "false"
    signal.signal(signal.SIGTERM, _interrupt)
    return model


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--residents", default="20,100", help="concurrent residents to try, comma-separated")
    parser.add_argument("--latency-residents", type=int, default=10, help="sequential residents for latency")
    parser.add_argument("--cards", type=int, default=10, help="cases for the officer-card delay")
    parser.add_argument("--no-cold-start", action="store_true", help="skip timing `make run`")
    args = parser.parse_args()
    model = prepare()
    if model is None:
        return 1
    if not args.no_cold_start:
        bench_cold_start()
    with tempfile.TemporaryDirectory() as work:
        database = f"sqlite:///{Path(work) / 'hemu.sqlite3'}"
        os.environ["DATABASE_URL"] = database
        os.environ.pop("TELEGRAM_BOT_TOKEN", None)
        store = Store.from_url(database)
        store.migrate()
        with start_all(
            model, Path(work) / "logs", env={"DATABASE_URL": database}, gateway_env=GATEWAY_ENV
        ) as hemu:
            ready = ", ".join(f"{name} {s.ready_after:.1f} s" for name, s in hemu.services.items())
            print(f"started (launch → ready): {ready}")
            assert hemu.bot_api_url is not None
            control = ControlClient(hemu.bot_api_url, timeout=60)
            rest_turn(hemu.rasa_url, "bench-warm-up", "热身 warm-up")
            Resident(control, 8_999_999).turn("你好", 1)
            counts = gateway_counts(control, 8_999_001)
            print(f"Telegram messages per scripted turn: {counts}")
            bench_latency(hemu, control, counts, args.latency_residents)
            for index, residents in enumerate(int(n) for n in args.residents.split(",") if n.strip()):
                bench_throughput(control, counts, residents, 10_000_000 + index * 100_000)
                bench_rest_throughput([hemu.rasa_url], residents, 20_000_000 + index * 100_000)
            bench_case_cards(hemu, control, store, args.cards)
            print(
                "RSS after the load: " + ", ".join(f"{name} {mb:.0f} MB" for name, mb in hemu.rss().items())
            )
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
