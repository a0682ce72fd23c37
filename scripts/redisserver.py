"""Redis for Rasa's lock store when several Rasa workers share conversations (`make run WORKERS=N`, the
cross-worker tests): Debian's ``redis-server``, started by the project on loopback like its PostgreSQL.

The lock store only orders the turns of one conversation across workers; nothing in it outlives a
restart, so this Redis keeps nothing on disk (no snapshots, no append-only file).
"""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

from scripts import processes
from scripts.processes import HOST, Service

INSTALL_HINT = "install Redis (Debian/Ubuntu: apt-get install redis-server)"


class RedisUnavailable(RuntimeError):
    """No ``redis-server`` on this machine; the message says how to install it."""


def redis_binary() -> str:
    found = shutil.which("redis-server") or (
        "/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None
    )
    if found is None:
        raise RedisUnavailable(f"redis-server was not found on PATH: {INSTALL_HINT}")
    return found


def pings(port: int) -> bool:
    """Redis answers PING (a listening port alone is not ready: it may still be loading)."""
    try:
        with socket.create_connection((HOST, port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def start_redis(port: int, log_dir: Path, append: bool = False) -> Service:
    """``redis-server`` on ``HOST:port`` in the foreground, as one of the stack's services."""
    command = [
        redis_binary(),
        "--bind",
        HOST,
        "--port",
        str(port),
        "--save",
        "",
        "--appendonly",
        "no",
        "--protected-mode",
        "yes",
        "--dir",
        str(log_dir),
    ]
    service = processes.launch("redis", command, log_dir, f"redis://{HOST}:{port}", None, append)
    service.probe = lambda: pings(port)
    service.url = f"redis://{HOST}:{port}"
    return service
