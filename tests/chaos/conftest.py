"""The fault-injection suite's session: one stack for every scenario, the smoke/full split, the table.

``make test`` (``pytest tests``) runs the smoke tests — short versions of every scenario — and leaves out
the long runs, which carry the ``chaos`` marker: they are collected only when ``-m`` names ``chaos``
(``make chaos`` runs ``-m chaos``). With ``-m chaos`` the smoke tests are left out in turn, so each
command runs one size.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.chaos import figures
from tests.chaos.config import Sizes, sizes
from tests.chaos.stack import Chaos, running_chaos

HERE = Path(__file__).resolve().parent


def _full_run(config: pytest.Config) -> bool:
    return "chaos" in (config.getoption("markexpr", "") or "")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The long runs only when asked for by marker; the smoke tests only when they were not."""
    full = _full_run(config)
    keep, drop = [], []
    for item in items:
        if HERE not in item.path.parents:
            keep.append(item)
            continue
        long_run = item.get_closest_marker("chaos") is not None
        (keep if long_run == full else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture(scope="session")
def chaos_sizes(pytestconfig: pytest.Config) -> Sizes:
    chosen = sizes(_full_run(pytestconfig))
    figures.note("size", chosen.size)
    figures.note("seed", chosen.seed)
    print(f"\nchaos: {chosen.size} run, seed {chosen.seed} (CHAOS_SEED={chosen.seed} replays the trials)")
    return chosen


@pytest.fixture(scope="package")
def chaos_stack(tmp_path_factory: pytest.TempPathFactory, chaos_sizes: Sizes) -> Iterator[Chaos]:
    """Package-scoped: `make test` stops these processes as soon as the last chaos test is done, rather
    than keeping a second Rasa alive through the rest of the suite."""
    with running_chaos(tmp_path_factory.mktemp("chaos")) as stack:
        yield stack


@pytest.fixture
def chaos(chaos_stack: Chaos) -> Iterator[Chaos]:
    """The shared stack, whole again before each scenario (whatever the last one left stopped)."""
    chaos_stack.ensure_all_running()
    yield chaos_stack
    chaos_stack.ensure_all_running()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """A failed scenario shows the tail of every service's log: the cause is usually there."""
    report = yield
    if report.failed and call.when in ("setup", "call"):
        running = getattr(item, "funcargs", {}).get("chaos")
        if isinstance(running, Chaos):
            for name, service in running.hemu.services.items():
                report.sections.append((f"{name} log ({service.log_path})", service.log_tail(25)))
    return report


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    ran = figures.results()
    if not ran:
        return
    size = ran[0].size
    path = figures.write(size)
    terminalreporter.section(f"chaos figures ({size})")
    terminalreporter.write_line(figures.table(ran))
    if path is not None:
        terminalreporter.write_line(f"written to {path}")
