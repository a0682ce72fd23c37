"""``python -m hemu``: the station admin's command line (see :mod:`hemu.admin`)."""

from __future__ import annotations

import sys

from hemu.admin import main

if __name__ == "__main__":
    sys.exit(main())
