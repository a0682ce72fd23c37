"""Shared pieces for the end-to-end tests that run all of Hemu as real processes (``start_all``).

One stack per test module (Rasa's cold start dominates), each with its own temporary SQLite store and
clock file shared by the action server, the gateway and the test itself, so a test can move time forward
for everyone at once and read the case store the processes write. People are played through the local
Bot API server's control API only (:class:`Chat`); the store is read for checks.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest

from bot import languages
from hemu import clock
from hemu.roster import Officer
from hemu.settings import Settings, load_settings
from hemu.store import CaseRecord, Store
from scripts.run import OFFICERS_FILE, officer_invites, write_officers_file
from scripts.stack import Hemu, start_all
from scripts.train import model_path

T = TypeVar("T")

# The gateway's loops, fast enough for tests: the watcher sweeps twice a second, the notifier five times.
GATEWAY_ENV = {
    "HEMU_WATCH_INTERVAL": "0.5",
    "HEMU_NOTIFY_INTERVAL": "0.2",
    "HEMU_REPLAY_INTERVAL": "0.5",
    "HEMU_PER_CHAT_PACE": "0",
    "HEMU_RASA_TIMEOUT": "30",
}
WAIT = 30.0  # seconds for anything to show up; a healthy stack needs well under one


def eventually(check: Callable[[], T], timeout: float = WAIT, what: str = "condition") -> T:
    """Polls ``check`` until it returns something truthy; the processes work asynchronously."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.1)


def buttons_of(message: dict[str, Any]) -> list[dict[str, Any]]:
    markup = message.get("reply_markup") or {}
    return [button for row in markup.get("inline_keyboard") or [] for button in row]


@dataclass
class Chat:
    """One person in a private chat with the bot, played through the control API.

    ``mark`` is the newest message id before the last thing this person did, so "the bot's answer" means
    the bot messages after it — Telegram message ids only grow within a chat.
    """

    control: Any  # sandbox.client.ControlClient
    user_id: int
    language_code: str = "zh-hans"
    mark: int = 0
    log: list[str] = field(default_factory=list)

    @property
    def chat_id(self) -> int:
        return self.user_id  # private chat

    def messages(self) -> list[dict[str, Any]]:
        return self.control.messages(self.chat_id)

    def bot_messages(self) -> list[dict[str, Any]]:
        return [message for message in self.messages() if message.get("from_bot")]

    def set_mark(self) -> None:
        self.mark = max((message["message_id"] for message in self.messages()), default=0)

    def new(self) -> list[dict[str, Any]]:
        return [message for message in self.bot_messages() if message["message_id"] > self.mark]

    def new_text(self) -> str:
        return "\n".join(message.get("text") or "" for message in self.new())

    def send(self, text: str) -> None:
        self.set_mark()
        self.log.append(f"> {text}")
        self.control.send_text(self.user_id, text, self.language_code)

    def send_media(self, kind: str, caption: str | None = None) -> None:
        """A photo, voice message or document (with its caption), as the resident's app sends it."""
        self.set_mark()
        self.log.append(f"[{kind}] {caption or ''}")
        self.control.media(self.user_id, kind, caption=caption)

    def expect(self, *needles: str, timeout: float = WAIT) -> str:
        """All ``needles`` in the bot's messages since the mark (together); returns their text."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.new_text()
            if all(needle in text for needle in needles):
                return text
            if time.monotonic() > deadline:
                seen = "\n".join(f"  [{m['message_id']}] {m.get('text')!r}" for m in self.messages()[-12:])
                raise AssertionError(
                    f"chat {self.chat_id}: no {needles!r} after message {self.mark} within {timeout:.0f} s;"
                    f" this person did: {self.log[-8:]}; the chat ends with:\n{seen}"
                )
            time.sleep(0.1)

    def find_button(self, match: Callable[[dict[str, Any]], bool]) -> tuple[int, str] | None:
        """Newest bot message with a matching inline button → (message id, callback data)."""
        for message in reversed(self.bot_messages()):
            for button in buttons_of(message):
                if "callback_data" in button and match(button):
                    return message["message_id"], button["callback_data"]
        return None

    def wait_button(self, prefix: str, timeout: float = WAIT) -> tuple[int, str]:
        return eventually(
            lambda: self.find_button(lambda b: b["callback_data"].startswith(prefix)),
            timeout,
            f"a button {prefix}… in chat {self.chat_id}",
        )

    def press(self, message_id: int, data: str) -> dict[str, Any]:
        self.set_mark()
        self.log.append(f"[{data}]")
        return self.control.press(self.user_id, message_id, data)

    def press_button(self, prefix: str, timeout: float = WAIT) -> dict[str, Any]:
        """Presses the newest button whose callback data starts with ``prefix`` (waiting for it)."""
        message_id, data = self.wait_button(prefix, timeout)
        return self.press(message_id, data)

    def press_payload(self, payload: str, timeout: float = WAIT) -> dict[str, Any]:
        """A button from a Rasa reply: ``r:<payload>`` (payloads over 62 bytes would be ``rk:<hash>``)."""
        return self.press_button(f"r:{payload}", timeout)

    def answer(self, pressed: dict[str, Any], timeout: float = WAIT) -> dict[str, Any]:
        """How the bot answered a press (the toast or alert Telegram shows): ``{text, show_alert}``."""
        query_id = pressed["callback_query_id"]
        return eventually(
            lambda: next(
                (a for a in self.control.callback_answers() if a["callback_query_id"] == query_id), None
            ),
            timeout,
            f"the answer to press {query_id}",
        )

    def count(self, needle: str) -> int:
        return sum(needle in (message.get("text") or "") for message in self.bot_messages())


@dataclass
class E2E:
    """What a test module shares: the running processes, the store they write, the people in the chats."""

    hemu: Hemu
    store: Store
    settings: Settings
    control: Any
    clock_file: Path
    database: str
    officers: dict[str, Chat] = field(default_factory=dict)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(8_100_001))

    def resident(self, language_code: str = "zh-hans") -> Chat:
        return Chat(self.control, next(self._ids), language_code)

    def wait_case(self, number: str, check: Callable[[CaseRecord], object], what: str) -> CaseRecord:
        """The case as soon as ``check`` holds for it (the processes change it asynchronously)."""

        def changed() -> CaseRecord | None:
            case = self.store.get(number)
            return case if check(case) else None

        return eventually(changed, what=what)

    def officer_language(self, officer_id: str) -> str:
        """The language the gateway writes to this officer in."""

        default = self.settings.station.station.default_language
        return languages.officer(self.settings, officer_id, default)


def register_officer(e2e: E2E, officer: Officer, user_id: int) -> Chat:
    """The officer links a chat with a fresh invite (``/register CODE``), as on their phone."""
    chat = Chat(e2e.control, user_id, "zh-hans")
    code = e2e.store.officers.create_invite(
        officer.id, clock.now(), timedelta(days=e2e.settings.roster.invite_valid_days)
    )
    chat.send(f"/register {code}")
    eventually(
        lambda: e2e.store.officers.chat_for_officer(officer.id) == chat.chat_id,
        what=f"{officer.id} linked to chat {chat.chat_id}",
    )
    eventually(
        lambda: officer.name.zh in chat.new_text() or officer.name.en in chat.new_text(),
        what=f"{officer.id} welcomed by name",
    )
    return chat


def register_all_officers(e2e: E2E, first_user_id: int) -> None:
    """Every active roster officer, because who gets a case depends on the time of day (duty hours)."""
    for offset, officer in enumerate(e2e.settings.roster.active_officers()):
        e2e.officers[officer.id] = register_officer(e2e, officer, first_user_id + offset)


@contextmanager
def running_hemu(work: Path, page_officers: bool = False) -> Iterator[E2E]:
    """All of Hemu in ``work`` (store, clock file, logs); stopped when the block ends, whatever happened.

    ``page_officers``: invite codes for every active officer go to the sandbox page (``--officers``), as
    `make run` does, so officers can be registered by clicking; otherwise nobody is registered here.
    """
    from sandbox.client import ControlClient

    model = model_path()
    if not model.is_file():
        pytest.fail(f"no trained model at {model}: run `make train`")
    database = f"sqlite:///{work / 'hemu.sqlite3'}"
    clock_file = work / "clock"
    clock_file.write_text("0\n", encoding="utf-8")
    store = Store.from_url(database)
    store.migrate()
    settings = load_settings()
    # This process reads the same clock and store as the servers (hemu.clock.now, the desk's default clock).
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(clock.ENV, str(clock_file))
        patch.setenv("DATABASE_URL", database)
        patch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
        officers_file = None
        if page_officers:
            officers_file = write_officers_file(work / OFFICERS_FILE, officer_invites(settings, store))
        try:
            with start_all(
                model,
                work / "logs",
                env={"DATABASE_URL": database, clock.ENV: str(clock_file)},
                gateway_env=GATEWAY_ENV,
                officers_file=officers_file,
            ) as running:
                assert running.bot_api_url is not None
                yield E2E(
                    hemu=running,
                    store=store,
                    settings=settings,
                    control=ControlClient(running.bot_api_url),
                    clock_file=clock_file,
                    database=database,
                )
        finally:
            store.close()


@pytest.fixture(scope="module")
def e2e(tmp_path_factory: pytest.TempPathFactory) -> Iterator[E2E]:
    """All of Hemu for one test module, every active officer registered through the chat."""
    with running_hemu(tmp_path_factory.mktemp("hemu")) as shared:
        register_all_officers(shared, 7_100_001)
        yield shared


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """On a failed end-to-end test, show the tail of every service's log: the cause is usually there."""
    report = yield
    if report.failed and call.when in ("setup", "call"):
        funcargs = getattr(item, "funcargs", {})
        running = funcargs.get("e2e") or funcargs.get("e2e_page")
        if isinstance(running, E2E):
            for name, service in running.hemu.services.items():
                report.sections.append((f"{name} log ({service.log_path})", service.log_tail(30)))
    return report
