"""A TCP server on 127.0.0.1 that lets clients connect and never says a word.

What a database or an API behind a network partition, or a hung one, looks like to a client: the
connection is up (the kernel completes the handshake from the listening socket's backlog, nobody ever
calls ``accept``), whatever is sent is taken, and no answer comes. A client without a timeout waits for
ever; the tests prove each one gives up in time.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager

HOST = "127.0.0.1"


@contextmanager
def silent_server() -> Iterator[int]:
    """Yields the port; every connection is dropped when the block ends."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind((HOST, 0))
        listener.listen(64)
        yield listener.getsockname()[1]


@contextmanager
def full_server() -> Iterator[int]:
    """Yields a port where connecting itself hangs, as to an address a partition cut off.

    The listening socket's backlog is full (one connection nobody accepts), and Linux then drops further
    SYNs instead of refusing them, so a client waits for the handshake until its connect timeout.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind((HOST, 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        with socket.create_connection((HOST, port), timeout=5):
            yield port
