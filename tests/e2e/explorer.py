"""The dialogue explorer: random but plausible conversations against the real Rasa and action server.

Why: a handful of hand-written stories never found the lock (a typed answer to a button question →
ten "I'm not sure I understood" → every later message, a weapon threat included, ignored). A
hypothesis state machine plays residents who do anything at any point — report, answer, press a button
from an earlier message, type a command, chat, switch language, write a long story, describe danger —
and checks the invariants below after every turn. A failure shrinks to the shortest conversation that
shows it; keep each one as a regression test (tests/e2e/test_dialogue_regressions.py).

Invariants, after every turn:
  * between 1 and ``MAX_REPLIES`` Telegram messages (Rasa's replies as the gateway joins them,
    bot/replies.py), never the same reply twice in a turn;
  * the clarifying question is never the whole answer twice in a row;
  * every turn ends by listening, and Rasa never logs "Circuit breaker";
  * danger → the emergency number and an urgent case (its number in the reply) in the same turn;
  * a command (/help, /cancel, …) is answered, never with the clarifying question;
  * after /cancel no form is running;
  * no form answer holds a button payload or a danger message;
  * a danger case is never withdrawn by the resident.
"""

from __future__ import annotations

import json
import re
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from bot.replies import ButtonKeys, render
from hemu.store import Store
from scripts.stack import Stack

INPUTS = yaml.safe_load((Path(__file__).with_name("explorer_inputs.yml")).read_text(encoding="utf-8"))
LANGUAGES = ("zh", "en")
MAX_REPLIES = 4
# The gateway's commands as it relays them to Rasa (bot/resident/messages.py COMMAND_PAYLOADS).
COMMANDS = ("/greet", "/help", "/ask_status", "/ask_privacy", "/cancel")
FORM_SLOTS = ("area", "parties", "duration", "harm", "contact")
CLARIFY = ("我不太确定理解对了", "I'm not sure I understood")
EMERGENCY = "110"
CASE_NUMBER = re.compile(r"HM-\d{4}-\d{6}")


def post(url: str, payload: dict[str, Any]) -> Any:
    request = urllib.request.Request(url, json.dumps(payload).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read())


def get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=120) as response:
        return json.loads(response.read())


@dataclass
class Turn:
    said: str
    kind: str
    replies: list[dict[str, Any]]

    @property
    def texts(self) -> list[str]:
        return [reply.get("text") or "" for reply in self.replies]

    def show(self) -> str:
        return f"> [{self.kind}] {self.said}\n" + "\n".join(f"  < {t[:120]!r}" for t in self.texts)


@dataclass
class Explorer:
    """Everything the state machines share: the running stack, its store and Rasa's log."""

    stack: Stack
    store: Store
    conversations: int = 0
    turns: int = 0
    log_offset: int = 0
    keys: ButtonKeys = field(default_factory=ButtonKeys)
    tripped_senders: set[str] = field(default_factory=set)

    def tripped(self, sender: str) -> bool:
        """Whether Rasa's log says the circuit breaker stopped a turn of ``sender``'s.

        Read by sender, not by "anything new in the log": the log is written asynchronously, and a
        line can land after the next conversation has begun."""
        with open(self.stack.rasa.log_path, "rb") as log:
            log.seek(self.log_offset)
            new = log.read().decode("utf-8", errors="replace")
            self.log_offset = log.tell()
        self.tripped_senders |= set(_TRIPPED.findall(new))
        return sender in self.tripped_senders


_TRIPPED = re.compile(r"Circuit breaker tripped\. Stopped predicting more actions for sender '([^']+)'")


class Conversation(RuleBasedStateMachine):
    """One resident; the class attribute ``explorer`` is set by the test before running."""

    explorer: Explorer

    def __init__(self) -> None:
        super().__init__()
        self.sender = f"explore-{uuid.uuid4().hex[:10]}"
        self.language = "zh"
        self.history: list[Turn] = []
        self.buttons: list[str] = []
        self.danger_said: list[str] = []
        self.explorer.conversations += 1

    # -- talking ---------------------------------------------------------------------------------

    def say(self, text: str, kind: str) -> Turn:
        url = f"{self.explorer.stack.rasa_url}/webhooks/rest/webhook"
        replies = post(url, {"sender": self.sender, "message": text, "metadata": {"language": self.language}})
        turn = Turn(text, kind, list(replies))
        self.history.append(turn)
        self.explorer.turns += 1
        for reply in turn.replies:
            self.buttons += [b["payload"] for b in reply.get("buttons") or [] if b.get("payload")]
        self.check_turn(turn)
        return turn

    def fail(self, problem: str) -> None:
        transcript = "\n".join(turn.show() for turn in self.history)
        raise AssertionError(f"{problem}\nsender {self.sender}, language {self.language}:\n{transcript}")

    def tracker(self) -> dict[str, Any]:
        return get(self.explorer.stack.rasa_api(f"/conversations/{self.sender}/tracker"))

    # -- what a resident does ----------------------------------------------------------------------

    @rule(data=st.data())
    def report(self, data: st.DataObject) -> None:
        self.say(data.draw(st.sampled_from(INPUTS[self.language]["reports"])), "report")

    @rule(data=st.data())
    def answer(self, data: st.DataObject) -> None:
        self.say(data.draw(st.sampled_from(INPUTS[self.language]["answers"])), "answer")

    @rule(data=st.data())
    def chat(self, data: st.DataObject) -> None:
        self.say(data.draw(st.sampled_from(INPUTS[self.language]["chat"])), "chat")

    @rule(data=st.data())
    def long_story(self, data: st.DataObject) -> None:
        self.say(data.draw(st.sampled_from(INPUTS[self.language]["long"])), "long")

    @precondition(lambda self: bool(self.buttons))
    @rule(data=st.data())
    def press(self, data: st.DataObject) -> None:
        """Any button seen so far, the latest message's or a stale one."""
        self.say(data.draw(st.sampled_from(self.buttons)), "button")

    @rule(command=st.sampled_from(COMMANDS))
    def command(self, command: str) -> None:
        turn = self.say(command, "command")
        if any(text.startswith(CLARIFY) for text in turn.texts):
            self.fail(f"{command} was answered with the clarifying question")
        if command == "/cancel" and self.tracker().get("active_loop", {}).get("name"):
            self.fail("a form is still running after /cancel")

    @rule(data=st.data())
    def danger(self, data: st.DataObject) -> None:
        text = data.draw(st.sampled_from(INPUTS[self.language]["danger"]))
        self.danger_said.append(text)
        turn = self.say(text, "danger")
        joined = "\n".join(turn.texts)
        if EMERGENCY not in joined:
            self.fail("danger without the emergency number")
        cases = self.explorer.store.cases_for_resident(self.sender)
        urgent = {case.number for case in cases if case.priority == "urgent"}
        if not urgent or not set(CASE_NUMBER.findall(joined)) & urgent:
            self.fail(f"danger without an urgent case in the same turn (urgent cases: {sorted(urgent)})")

    @rule()
    def switch_language(self) -> None:
        self.language = "en" if self.language == "zh" else "zh"

    # -- invariants ----------------------------------------------------------------------------------

    def check_turn(self, turn: Turn) -> None:
        messages = render(turn.replies, self.explorer.keys)
        if not 1 <= len(messages) <= MAX_REPLIES:
            self.fail(f"{len(messages)} Telegram messages in one turn")
        texts = [t for t in turn.texts if t]
        if len(set(texts)) != len(texts):
            self.fail("the same message twice in one turn")
        if self.tracker().get("latest_action_name") != "action_listen" or self.explorer.tripped(self.sender):
            self.fail("the turn did not end by listening (Rasa's circuit breaker)")
        if len(self.history) >= 2:
            before = self.history[-2]
            if all(t.startswith(CLARIFY) for t in before.texts + turn.texts if t):
                self.fail("the clarifying question, word for word, twice in a row")

    @invariant()
    def danger_cases_stay_open(self) -> None:
        """Only the officer closes a danger case; the resident's "cancel" says they are safe now."""
        if not self.danger_said:
            return
        for case in self.explorer.store.cases_for_resident(self.sender):
            if case.is_danger and case.state == "cancelled":
                self.fail(f"danger case {case.number} was withdrawn by the resident")

    @invariant()
    def form_answers_are_answers(self) -> None:
        if not self.history:
            return
        slots = self.tracker().get("slots") or {}
        for name in FORM_SLOTS:
            value = str(slots.get(name) or "")
            if value.startswith("/"):
                self.fail(f"slot {name} holds a button payload: {value!r}")
            if value and value in self.danger_said:
                self.fail(f"slot {name} holds a danger message: {value!r}")
