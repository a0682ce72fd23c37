"""1 vs N Rasa workers under the same load (`make bench-gateway` runs it after bench/gateway_bench.py).

Each stack is started as `make run WORKERS=N` starts it — conversations in PostgreSQL (a fresh database of
one throwaway server), Redis locks for N > 1 — and 100 residents talk at once through the gateway, then
straight to Rasa's REST channel (resident n to worker n mod N). Counts are alternated (``1,2,1,2,…``)
and medians compared, as this machine's speed varies between runs. Printed per run: turns/s, latency,
the CPU one turn costs each process (/proc: Rasa, gateway, local Bot API server, PostgreSQL, action
server, the benchmark's own threads) and memory; optionally py-spy's view of one service (``--profile``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.gateway_bench import (  # noqa: E402
    GATEWAY_ENV,
    SCRIPT,
    bench_rest_throughput,
    bench_throughput,
    gateway_counts,
    prepare,
    rest_turn,
)
from bench.pyspy import record  # noqa: E402
from sandbox.client import ControlClient  # noqa: E402
from scripts.endpoints import tracker_store  # noqa: E402
from scripts.pgserver import PgServer, PgUnavailable, start_server  # noqa: E402
from scripts.processes import cpu_seconds  # noqa: E402
from scripts.stack import Hemu, start_all  # noqa: E402


def cpu_by_process(hemu: Hemu, server: PgServer) -> dict[str, float]:
    """CPU seconds so far of every service, of PostgreSQL (all its processes) and of this benchmark
    (the 100 residents' threads): where a turn's CPU goes on this machine."""
    spent = {name: service.cpu_seconds for name, service in hemu.services.items()}
    spent["postgresql"] = postgres_cpu_seconds(server)
    own = os.times()
    spent["benchmark (the residents)"] = own.user + own.system
    return spent


def postgres_cpu_seconds(server: PgServer) -> float:
    pid_file = server.datadir / "postmaster.pid"
    try:
        postmaster = int(pid_file.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0.0
    return cpu_seconds(postmaster)  # its backends are its children


def bench_workers(model: Path, workers: list[int], residents: int, profile: str = "") -> None:
    """1 vs N Rasa workers under the same load through the gateway, each stack on its own fresh database
    of one PostgreSQL server (tracker store and cases, as `make run WORKERS=N` runs them)."""
    try:
        server = start_server()
    except PgUnavailable as error:
        print(f"workers: skipped, {error}")
        return
    results: dict[int, list[float]] = {}
    direct: dict[int, list[float]] = {}
    try:
        for round_, count in enumerate(workers):
            database = server.create_database(f"bench_workers_{round_}_{count}")
            with (
                tempfile.TemporaryDirectory() as work,
                start_all(
                    model,
                    Path(work) / "logs",
                    env={"DATABASE_URL": database},
                    gateway_env=GATEWAY_ENV,
                    trackers=tracker_store(database),
                    workers=count,
                ) as hemu,
            ):
                assert hemu.bot_api_url is not None
                control = ControlClient(hemu.bot_api_url, timeout=60)
                for url in hemu.rasa_urls:  # every worker has loaded and run its model once
                    rest_turn(url, f"bench-warm-up-{url}", "热身 warm-up")
                counts = gateway_counts(control, 8_999_001)
                label = f", {count} Rasa worker{'s' if count > 1 else ''} on PostgreSQL"
                before = cpu_by_process(hemu, server)
                spy = record(hemu.services[profile].pid, gil=True) if profile and round_ == 0 else None
                rate, _ = bench_throughput(control, counts, residents, 30_000_000 + count * 100_000, label)
                results.setdefault(count, []).append(rate)
                after = cpu_by_process(hemu, server)
                if spy is not None:
                    spy.report(("bot/", "hemu/", "sandbox/"), top=10, indent="  ")
                turns = residents * len(SCRIPT)
                spent = {name: (after[name] - before[name]) * 1000 / turns for name in before}
                print(
                    f"  CPU per turn through the gateway: {sum(spent.values()):.0f} ms in all — "
                    + ", ".join(f"{name} {ms:.0f}" for name, ms in sorted(spent.items(), key=lambda i: -i[1]))
                )
                direct.setdefault(count, []).append(
                    bench_rest_throughput(hemu.rasa_urls, residents, 40_000_000 + round_ * 100_000, label)
                )
                print("  RSS: " + ", ".join(f"{name} {mb:.0f} MB" for name, mb in hemu.rss().items()))
    finally:
        server.stop()
    if 1 in results:
        # This machine's speed varies from run to run (a shared VM): alternate the counts (--workers
        # 1,2,1,2) and compare medians.
        for count, rates in results.items():
            if count != 1:
                gateway = statistics.median(rates) / statistics.median(results[1])
                rest = statistics.median(direct[count]) / statistics.median(direct[1])
                print(
                    f"{count} workers / 1 worker (medians of {len(rates)} and {len(results[1])} runs): "
                    f"{gateway:.2f}x turns/s through the gateway, {rest:.2f}x straight to Rasa"
                )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workers", default="1,2,1,2,1,2", help="Rasa workers per run, in this order")
    parser.add_argument("--residents", type=int, default=100, help="residents talking at once")
    parser.add_argument("--profile", default="", help="py-spy one service (e.g. gateway) in the first run")
    args = parser.parse_args()
    model = prepare()
    if model is None:
        return 1
    os.environ.pop("TELEGRAM_BOT_TOKEN", None)
    bench_workers(model, [int(n) for n in args.workers.split(",") if n.strip()], args.residents, args.profile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
