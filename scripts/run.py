"""`make run`: Rasa and the action server together on 127.0.0.1, stopped together with Ctrl-C.

Ports come from HEMU_RASA_PORT (default 5005) and HEMU_ACTIONS_PORT (default 5055); logs go to
logs/. The Telegram gateway joins this command when it exists (see README).
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hemu.processes import REPO_ROOT, start_stack  # noqa: E402
from scripts.train import model_path  # noqa: E402


def main() -> int:
    model = model_path()
    if not model.is_file():
        print(f"no trained model at {model}; run `make train`", file=sys.stderr)
        return 1
    rasa_port = int(os.environ.get("HEMU_RASA_PORT", "5005"))
    action_port = int(os.environ.get("HEMU_ACTIONS_PORT", "5055"))
    # Ctrl-C and a supervisor's SIGTERM both stop every service (even when started in the
    # background, where SIGINT would otherwise be ignored).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print("starting Rasa and the action server (about a minute)...", flush=True)
    try:
        with start_stack(model, REPO_ROOT / "logs", rasa_port, action_port) as stack:
            print(
                f"actions  ready in {stack.actions.ready_after:5.1f} s  http://127.0.0.1:{action_port}/webhook"
            )
            print(
                f"rasa     ready in {stack.rasa.ready_after:5.1f} s  {stack.rasa_url}/webhooks/rest/webhook"
            )
            print(
                "talk to it: curl -s -XPOST " + stack.rasa_url + "/webhooks/rest/webhook "
                '-d \'{"sender":"me","message":"楼上天天半夜拖椅子"}\''
            )
            print("Ctrl-C stops everything.", flush=True)
            while stack.rasa.process.poll() is None and stack.actions.process.poll() is None:
                time.sleep(1)
            print("a service stopped unexpectedly; see logs/", file=sys.stderr)
            return 1
    except KeyboardInterrupt:
        print("\nstopped.")
        return 0


if __name__ == "__main__":
    sys.exit(main())
