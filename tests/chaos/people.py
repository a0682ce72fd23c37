"""Residents and officers as people behave, for trials where a service dies at any moment.

A scripted "send, expect, send" would resend or fail the moment the bot's answer is late or changed. The
people here read what the bot last said and answer *that*: the form's questions, its buttons, the case
card. Above all they never repeat themselves unasked: a resident told "your message is saved, we'll
answer later" waits for the answer, and a message that got no answer at all is not sent again either —
silence is what the suite is looking for. Two things a resident does do, once each and counted: send
the same words again when the bot says "something went wrong, please send it again", and tell the story
again when the bot plainly lost the thread (it answers as if the conversation had just begun).

Every wait has the trial's deadline; running past it raises :class:`Stalled` with what the chat shows.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot import languages, texts
from hemu.settings import load_settings
from tests.e2e.conftest import Chat, buttons_of

POLL = 0.1
# How long a person reads before deciding the bot has finished and said nothing they can answer.
QUIET = 4.0


@dataclass
class Deadline:
    """A trial's deadline, extended by the time a killed service took to start again (a slow cold start
    must not eat the time the flow has to recover in)."""

    at: float  # time.monotonic()

    def passed(self) -> bool:
        return time.monotonic() > self.at

    def extend(self, seconds: float) -> None:
        self.at += seconds


class Stalled(Exception):
    """The flow could not go on before its deadline: ``step`` names where, the message says why."""

    def __init__(self, step: str, detail: str) -> None:
        super().__init__(f"stalled at {step}: {detail}")
        self.step = step


@dataclass(frozen=True)
class Step:
    """A question the bot may ask (any of ``markers`` in its message) and the resident's answer."""

    markers: tuple[str, ...]
    say: str | None = None
    press: str | None = None  # a Rasa button's payload

    def asks(self, text: str) -> bool:
        return any(marker in text for marker in self.markers)


@dataclass(frozen=True)
class Script:
    """One report, as the end-to-end tests make it through the form up to an officer."""

    name: str
    language_code: str
    language: str
    opening: str
    steps: tuple[Step, ...]
    opened: tuple[str, ...]  # in the reply that names the new case

    def step_for(self, text: str) -> Step | None:
        # Later questions first: the summary repeats the earlier answers' words ("受伤").
        return next((step for step in reversed(self.steps) if step.asks(text)), None)


ZH_NOISE = Script(
    name="zh-noise",
    language_code="zh-hans",
    language="zh",
    opening="楼上那家天天半夜拖椅子，吵得睡不着",
    steps=(
        Step(("发生在哪里",), say="柳岸花园7栋"),
        Step(("涉及哪些人",), say="楼上602的住户"),
        Step(("持续多久",), say="三个月"),
        Step(("受伤",), press='/inform{"harm":"none"}'),
        Step(("直接联系您",), press="/deny"),
        Step(("这样对吗",), press="/affirm"),
        Step(("民警来跟进",), press="/request_officer"),
    ),
    opened=("案件编号",),
)

EN_PET = Script(
    name="en-pet",
    language_code="en",
    language="en",
    opening="someone lets their dog poop in the lift and never cleans it",
    steps=(
        Step(("Where is this happening",), say="Donghu Court 5-702"),
        Step(("Who is involved",), say="no idea"),
        Step(("How long",), say="about three weeks"),
        Step(("Is anyone hurt",), press='/inform{"harm":"none"}'),
        Step(("contact you directly",), press="/deny"),
        Step(("Is this correct",), press="/affirm"),
        Step(("officer to follow it up",), press="/request_officer"),
    ),
    opened=("I've opened case",),
)

SCRIPTS = (ZH_NOISE, EN_PET)


@functools.lru_cache(maxsize=1)
def emergency_number() -> str:
    """The station's first emergency number (110 in the sample station), as every text carries it."""
    return load_settings().station.first_emergency_number


def resend_texts(language: str) -> tuple[str, ...]:
    """What the gateway says when it lost a message and asks for it again: a person does as told."""
    try:
        return (texts.text("internal_error", language, emergency=emergency_number()).strip(),)
    except Exception:  # noqa: BLE001 - a text renamed by the product
        return ()


def waiting_texts(language: str) -> tuple[str, ...]:
    """What the gateway says when it keeps a message for later: a person reading it waits."""
    found = []
    for key in ("assistant_unavailable", "queued_behind", "back_online"):
        try:
            found.append(texts.text(key, language, emergency=emergency_number()).strip())
        except Exception:  # noqa: BLE001 - a text renamed by the product: the others still count
            continue
    return tuple(found)


@dataclass
class Person:
    """One person's chat, with the trial's deadline and a hook called before every action they take."""

    chat: Chat
    deadline: Deadline
    on_action: Callable[[str], None] = lambda what: None
    actions: list[tuple[float, str]] = field(default_factory=list)

    def _acted(self, what: str) -> None:
        self.actions.append((time.time(), what))
        self.on_action(what)

    def send(self, text: str) -> None:
        self.chat.send(text)
        self._acted(f"{self.chat.chat_id} says {text!r}")

    def press(self, message_id: int, data: str) -> dict[str, Any]:
        pressed = self.chat.press(message_id, data)
        self._acted(f"{self.chat.chat_id} presses {data!r}")
        return pressed

    def stalled(self, step: str, why: str) -> Stalled:
        tail = "; ".join(
            f"[{m['message_id']}{'' if m.get('from_bot') else ' me'}] {(m.get('text') or '')[:80]!r}"
            for m in self.chat.messages()[-6:]
        )
        return Stalled(step, f"{why}; chat {self.chat.chat_id} ends with: {tail}")

    def until(self, step: str, check: Callable[[], Any], why: str) -> Any:
        while True:
            value = check()
            if value:
                return value
            if self.deadline.passed():
                raise self.stalled(step, why)
            time.sleep(POLL)

    def button(self, prefix: str, newer_than: int = 0) -> tuple[int, str] | None:
        """Newest bot message (after ``newer_than``) with a button whose data starts with ``prefix``."""
        for message in reversed(self.chat.bot_messages()):
            if message["message_id"] <= newer_than:
                break
            for button in buttons_of(message):
                if str(button.get("callback_data", "")).startswith(prefix):
                    return message["message_id"], button["callback_data"]
        return None


@dataclass
class Resident(Person):
    restated: int = 0
    resent: int = 0  # messages sent again because the bot said "something went wrong, send it again"

    def report(self, script: Script) -> None:
        """Tells the story and answers the form until the bot names a case; the case opened reply's
        arrival is the end (the store is the test's to read)."""
        waiting = waiting_texts(script.language)
        asked_again = resend_texts(script.language)
        self.send(script.opening)
        last_sent = script.opening
        answered: set[int] = set()
        seen, changed = 0, time.monotonic()
        while True:
            new = self.chat.new()
            if len(new) != seen:
                seen, changed = len(new), time.monotonic()
            said = [m.get("text") or "" for m in new]
            if any(marker in text for text in said for marker in script.opened):
                return
            did = self._answer(script, new, answered)
            if did is not None:
                last_sent = did or last_sent
                continue
            last = said[-1].strip() if said else ""
            if last and any(last.startswith(a[:20]) for a in asked_again) and not self.resent:
                # The bot lost it and says so: the person sends the same words again, once.
                self.resent += 1
                self.send(last_sent)
                seen, changed = 0, time.monotonic()
                continue
            quiet = time.monotonic() - changed > QUIET
            if new and quiet and not any(last.startswith(w[:20]) for w in waiting) and not self.restated:
                # The bot answered as if nothing had been said: the conversation was lost. Once.
                self.restated += 1
                self.send(script.opening)
                seen, changed = 0, time.monotonic()
                continue
            if self.deadline.passed():
                why = "no answer at all" if not new else "no question it could answer"
                raise self.stalled("report", why)
            time.sleep(POLL)

    def _answer(self, script: Script, new: list[dict[str, Any]], answered: set[int]) -> str | None:
        """Answers the newest question among ``new`` not answered yet: the words sent ("" for a button
        pressed), None when there was nothing to answer."""
        for message in reversed(new):
            step = script.step_for(message.get("text") or "")
            if step is None:
                continue
            if message["message_id"] in answered:
                return None
            if step.press is not None:
                wanted = f"r:{step.press}"
                button = next(
                    (
                        (m["message_id"], b["callback_data"])
                        for m in new
                        if m["message_id"] >= message["message_id"]
                        for b in buttons_of(m)
                        if b.get("callback_data") == wanted
                    ),
                    None,
                )
                if button is None:
                    return None  # the buttons come with the question or right after it
                answered.add(message["message_id"])
                self.press(*button)
                return ""
            answered.add(message["message_id"])
            assert step.say is not None
            self.send(step.say)
            return step.say
        return None

    def rate(self, number: str, rating: int) -> None:
        """The resolved update's rating buttons → the thanks naming the rating; skips the comment."""
        found = self.until(
            "rating buttons",
            lambda: self.button(f"rate:{number}:{rating}"),
            f"no rating buttons for {number}",
        )
        self.press(*found)
        self.until(
            "rating thanks",
            lambda: any(f"{rating}/5" in (m.get("text") or "") for m in self.chat.new()),
            f"the rating {rating} was not acknowledged",
        )
        skip = self.button(f"rate:skip:{number}")
        if skip is not None:
            self.press(*skip)


@dataclass
class Officer(Person):
    officer_id: str = ""

    def language(self, settings: Any) -> str:
        return languages.officer(settings, self.officer_id, settings.station.station.default_language)

    def work(self, number: str, note: str, settings: Any) -> None:
        """Card → acknowledge → (the card redrawn) resolve → the note asked for → the note → done."""
        language = self.language(settings)
        ack = self.until("the case card", lambda: self.button(f"o:ack:{number}:"), f"no card for {number}")
        before = self.button(f"o:resolve:{number}:")
        self.press(*ack)

        def redrawn() -> tuple[int, str] | None:
            # The card's buttons carry the case version: acknowledged, the resolve button is a new one.
            now = self.button(f"o:resolve:{number}:")
            return now if now is not None and now != before else None

        resolve = self.until("the card after acknowledging", redrawn, f"{number}: the card never changed")
        self.press(*resolve)
        asked = texts.text("resolve_ask_note", language, number=number)
        self.until(
            "the note question",
            lambda: any(asked in (m.get("text") or "") for m in self.chat.new()),
            f"{number}: resolve pressed, no question for the note",
        )
        self.send(note)
        done = texts.text("done_resolve", language, number=number)
        self.until(
            "the note confirmed",
            lambda: any(done in (m.get("text") or "") for m in self.chat.new()),
            f"{number}: the note got no confirmation",
        )
