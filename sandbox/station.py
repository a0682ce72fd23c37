"""The sandbox page's station tab: the station's report (:mod:`hemu.report`) for a chosen period, made from
the sandbox's case store, served at ``GET /station/report.html?period=last-week&language=zh``.

So a person playing residents and officers can see at once what the station head would see of it. The
store is only read (never migrated: ``make run`` owns its schema) and a station's database is refused,
as the sandbox refuses it everywhere (:mod:`hemu.store.purpose`). Whatever goes wrong — no store named,
no schema yet, bad settings — the tab says so in a page of its own, with a status the browser shows; the
Bot API beside it keeps answering, because the report (matplotlib, about a second) is made in a thread.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from html import escape
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

log = logging.getLogger(__name__)

LANGUAGES = ("zh", "en")
MAX_PERIOD_TEXT = 64
# The report is one self-contained page (inline style, data: images); nothing else may load or run in it.
CSP = (
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
    "frame-ancestors 'self'; base-uri 'none'; form-action 'none'"
)
HEADERS = {"Cache-Control": "no-store", "Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff"}


class Unavailable(Exception):
    """The report cannot be made here and now; ``status`` is the HTTP answer (503: come back later)."""

    def __init__(self, message: str, status: int = 503) -> None:
        super().__init__(message)
        self.status = status


def shown_url(url: str) -> str:
    """The URL as the page may show it: no password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # a URL SQLAlchemy cannot parse is shown as nothing rather than leaked
        return "(unreadable database URL)"


def message_page(title: str, message: str, status: int) -> web.Response:
    """A small page the iframe shows instead of the report; everything in it escaped."""
    body = (
        '<!DOCTYPE html><html><head><meta charset="utf-8"><title>'
        f"{escape(title)}</title><style>body{{font-family:sans-serif;margin:2em;color:#333}}"
        ".why{color:#a33}</style></head><body>"
        f'<h1 id="unavailable">{escape(title)}</h1>'
        f'<p class="why" id="reason">{escape(message)}</p></body></html>'
    )
    return web.Response(text=body, status=status, content_type="text/html", charset="utf-8", headers=HEADERS)


class StationReports:
    """The report route of one sandbox; ``database_url`` None: the tab says the report is unavailable."""

    def __init__(self, database_url: str | None, settings_dir: Path | None = None) -> None:
        self.database_url = database_url or None
        self.settings_dir = settings_dir
        self._store: Any = None  # hemu.store.Store, opened on first use (the import is heavy)
        self._settings: Any = None
        self._opening = threading.Lock()  # two first requests at once open one store, not two

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    async def report(self, request: web.Request) -> web.Response:
        language = request.query.get("language", "zh")
        period = request.query.get("period", "week")
        if language not in LANGUAGES:
            return message_page("报表 Report", f"language must be one of {', '.join(LANGUAGES)}", 400)
        if len(period) > MAX_PERIOD_TEXT:
            return message_page("报表 Report", "period: too long", 400)
        if self.database_url is None:
            return message_page(
                "报表不可用 · Report unavailable",
                "The sandbox was started without a case store: start it with `python -m sandbox "
                "--database URL` (or DATABASE_URL); `make run` gives it the sandbox's store.",
                503,
            )
        try:
            page = await asyncio.to_thread(self._page, period, language)
        except Unavailable as error:
            title = "报表 Report" if error.status == 400 else "报表不可用 · Report unavailable"
            return message_page(title, str(error), error.status)
        except Exception as error:  # never let the tab take the Bot API server down
            log.exception("sandbox: the station report failed")
            return message_page("报表出错 · Report failed", f"{type(error).__name__}: {error}", 500)
        return web.Response(text=page, content_type="text/html", charset="utf-8", headers=HEADERS)

    # ----------------------------------------------------------------- in the worker thread

    def _open(self) -> Any:
        """The store and settings, opened once; a SQLite file that is not there yet is not created."""
        from hemu.errors import ConfigError
        from hemu.settings import load_settings
        from hemu.store import Store

        assert self.database_url is not None
        where = shown_url(self.database_url)
        if self._settings is None:
            try:
                self._settings = load_settings(self.settings_dir)
            except ConfigError as error:
                raise Unavailable(f"the station's settings cannot be read: {error}") from None
        if self._store is None:
            try:
                url = make_url(self.database_url)
            except Exception:
                raise Unavailable(f"{where}: not a database URL") from None
            missing = url.database and not Path(url.database).expanduser().exists()
            if url.get_backend_name() == "sqlite" and missing:
                raise Unavailable(f"no case store at {where} yet: `make run` creates it") from None
            try:
                self._store = Store.from_url(self.database_url)
            except (ValueError, SQLAlchemyError) as error:
                raise Unavailable(f"{where}: {error}") from None
        return self._store

    def _page(self, period_text: str, language: str) -> str:
        from hemu import clock
        from hemu.demo_data import is_demo
        from hemu.errors import ConfigError
        from hemu.report import PeriodError, parse_period, station_report
        from hemu.report.render import html
        from hemu.report.words import Words
        from hemu.store.purpose import Purpose, recorded

        with self._opening:
            store = self._open()
        settings = self._settings
        now = clock.now()
        try:
            period = parse_period(period_text, now, settings.station.station.tz)
        except PeriodError as error:
            raise Unavailable(str(error), 400) from None
        where = shown_url(self.database_url or "")
        try:
            if recorded(store.engine) is Purpose.STATION:
                raise Unavailable(f"{where} is a station's database: the sandbox shows only its own store")
            report = station_report(store, period, now)
            demo = is_demo(store.engine)
        except SQLAlchemyError as error:
            raise Unavailable(
                f"the case store {where} cannot be read (has `make run` set it up?): {type(error).__name__}"
            ) from None
        try:  # hemu.report.charts draws one chart at a time, whoever asks
            return html(report, Words(language, settings), demo=demo)
        except ConfigError as error:  # a missing report word or CJK font: said, as `make check-config` would
            raise Unavailable(str(error)) from None
