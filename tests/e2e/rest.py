"""JSON over Rasa's HTTP API for the end-to-end tests that talk to Rasa directly (no gateway)."""

from __future__ import annotations

import json
import urllib.request
from typing import Any


def request(method: str, url: str, payload: Any = None, timeout: float = 90) -> Any:
    """``method url`` with ``payload`` as JSON; the JSON answer (an HTTP error raises)."""
    body = json.dumps(payload, ensure_ascii=False).encode() if payload is not None else None
    made = urllib.request.Request(url, body, {"Content-Type": "application/json"}, method=method)
    with urllib.request.urlopen(made, timeout=timeout) as response:
        return json.loads(response.read())
