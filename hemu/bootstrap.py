"""How every Hemu process builds its domain: the action server, the gateway and the admin command line
all call :func:`open_desk`, so they read the same settings, the same store and the same clock."""

from __future__ import annotations

from hemu import clock
from hemu.desk import Desk
from hemu.settings import Settings, load_settings
from hemu.store import Store


def open_desk(settings: Settings | None = None, store: Store | None = None, *, migrate: bool = True) -> Desk:
    """The desk over ``settings`` (default: the configuration files) and ``store`` (default: the
    ``DATABASE_URL`` database, or the local SQLite file).

    The clock is :mod:`hemu.clock`'s: system time unless the sandbox or a test moved it forward, so
    every process agrees on "now". ``migrate`` brings the schema up to date first; the gateway does
    that in ``post_init`` instead, once the event loop runs.
    """
    settings = settings or load_settings()
    store = store or Store.from_url()
    if migrate:
        store.migrate()
    return Desk(settings, store, clock=clock.now)
