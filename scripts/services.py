"""How each of Hemu's servers is launched as a process on loopback, and what "ready" means for it (the first
moment the service can do its job). :mod:`scripts.stack` starts them together.

* action server: ``GET /health`` answers 200; Rasa: ``GET /status`` answers 200 (model loaded);
* local Bot API server (``python -m sandbox``): ``GET /health`` answers 200;
* gateway (``python -m bot``) has no HTTP port in polling mode, so:
    - against the local Bot API server (no ``TELEGRAM_BOT_TOKEN``): the server's ``/control/calls`` shows
      more ``getUpdates`` calls than before the gateway was launched. PTB polls only after ``post_init``
      (store migrated, notifier and watcher running), so one poll means every part of the gateway is up,
      and counting (rather than comparing timestamps) works whatever clock or format the server uses;
    - webhook mode (``HEMU_WEBHOOK_URL``): its webhook port accepts a TCP connection (PTB opens it after
      ``post_init`` too);
    - polling real Telegram: the log line ``Application started`` (PTB logs it at INFO once polling runs);
      no other signal exists there without sending a message.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from urllib.parse import urlencode

from scripts import processes
from scripts.processes import HOST, REPO_ROOT, Service, http_get, port_open, service_env
from scripts.service_secrets import RASA_TOKEN_ENV

DEFAULT_LOCAL_API = f"http://{HOST}:8081"
GATEWAY_READY_LINE = "Application started"


def worker_name(kind: str, index: int) -> str:
    """``rasa``, ``rasa-2``, ``rasa-3``…: the first worker keeps the name (and log) of a single one."""
    return kind if index == 0 else f"{kind}-{index + 1}"


def worker_of(name: str) -> tuple[str, int]:
    """:func:`worker_name` read back: ``rasa-2`` → ("rasa", 1), ``gateway`` → ("gateway", 0)."""
    kind, _, number = name.partition("-")
    return kind, int(number) - 1 if number.isdigit() else 0


def start_action_server(
    port: int,
    log_dir: Path,
    env: Mapping[str, str] | None = None,
    append: bool = False,
    name: str = "actions",
) -> Service:
    """``env`` reaches the actions' case store (``DATABASE_URL``, ``HEMU_VAR_DIR``, ``HEMU_CLOCK_FILE``)."""
    service = processes.launch(
        name,
        [sys.executable, "-m", "actions.server", "--port", str(port), "--actions", "actions"],
        log_dir,
        f"http://{HOST}:{port}/health",
        env,
        append,
    )
    service.url = f"http://{HOST}:{port}/webhook"
    return service


def start_rasa(
    port: int,
    model: Path,
    endpoints: Path,
    log_dir: Path,
    env: Mapping[str, str] | None = None,
    append: bool = False,
    name: str = "rasa",
) -> Service:
    token = {**os.environ, **(env or {})}.get(RASA_TOKEN_ENV, "")
    service = processes.launch(
        name,
        [
            sys.executable,
            "-m",
            "rasa_addons.serve",  # `rasa run`, with the API token from the environment (not argv)
            "run",
            "--model",
            str(model),
            "--enable-api",
            "--interface",
            HOST,
            "--port",
            str(port),
            "--endpoints",
            str(endpoints),
            "--credentials",
            str(REPO_ROOT / "credentials.yml"),
        ],
        log_dir,
        f"http://{HOST}:{port}/status?{urlencode({'token': token})}",
        env,
        append,
    )
    service.url = f"http://{HOST}:{port}/webhooks/rest/webhook"
    return service


def start_local_api(
    port: int,
    log_dir: Path,
    officers_file: Path | None = None,
    env: Mapping[str, str] | None = None,
    append: bool = False,
) -> Service:
    """The local Bot API server with the sandbox page; ``officers_file`` feeds the page's register buttons."""
    command = [sys.executable, "-m", "sandbox", "--host", HOST, "--port", str(port)]
    if officers_file is not None:
        command += ["--officers", str(officers_file)]
    service = processes.launch("sandbox", command, log_dir, f"http://{HOST}:{port}/health", env, append)
    service.url = f"http://{HOST}:{port}/"
    return service


def get_updates_calls(api_url: str) -> int | None:
    """How many ``getUpdates`` calls the local Bot API server has seen; None when it does not answer."""
    body = http_get(f"{api_url.rstrip('/')}/control/calls?method=getUpdates")
    try:
        calls = json.loads(body) if body is not None else None
    except ValueError:
        return None
    return len(calls) if isinstance(calls, list) else None


def start_gateway(log_dir: Path, env: Mapping[str, str], append: bool = False) -> Service:
    """``python -m bot`` with ``env`` (its settings are all environment, see bot/config.py).

    Readiness is chosen by mode (module docstring). For the local Bot API server the ``getUpdates`` count
    is read before launching, so a restarted gateway is only ready once *it* polls.
    """
    full = {**service_env(), **env}
    token = full.get("TELEGRAM_BOT_TOKEN", "").strip()
    webhook = full.get("HEMU_WEBHOOK_URL", "").strip()
    probe: Callable[[], bool]
    if webhook:
        listen = full.get("HEMU_WEBHOOK_LISTEN", HOST)
        port = int(full.get("HEMU_WEBHOOK_PORT", "8443"))
        ready_url = f"tcp://{listen}:{port}"
        shown = f"webhook {webhook}"

        def probe() -> bool:
            return port_open(listen, port)

    elif not token:
        api_url = full.get("HEMU_BOT_API_URL", "").strip() or DEFAULT_LOCAL_API
        before = get_updates_calls(api_url) or 0
        ready_url = f"{api_url}/control/calls?method=getUpdates"
        shown = f"polling {api_url}"

        def probe() -> bool:
            seen = get_updates_calls(api_url)
            return seen is not None and seen > before

    else:
        ready_url = "log: " + GATEWAY_READY_LINE
        shown = "polling Telegram"
        log_path = log_dir / "gateway.log"
        # On restart the log is appended to: only a line written after this launch counts.
        offset = log_path.stat().st_size if append and log_path.exists() else 0

        def probe() -> bool:
            try:
                with open(log_path, "rb") as log:
                    log.seek(offset)
                    return GATEWAY_READY_LINE.encode() in log.read()
            except OSError:
                return False

    service = processes.launch("gateway", [sys.executable, "-m", "bot"], log_dir, ready_url, env, append)
    service.probe = probe
    service.url = shown
    return service
