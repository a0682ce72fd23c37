"""The gateway's part of danger screening (SPEC §6: no channel and no leading "/" lets danger past).

Rasa screens every message it takes as a turn. Two things are left to the gateway:

* **What a resident types reaches Rasa as text, never as an intent payload.** Rasa 3.6 strips a message
  and, when it then starts with "/", reads it as ``/intent@confidence{entities}``
  (``RegexMessageHandler`` → ``YAMLStoryReader.unpack_regex_message``): a typed ``/affirm`` or
  ``/report_noise{"harm":"none"}`` naming a domain intent would be *executed* — no NLU, no danger screening,
  entities of the resident's choosing — and any other "/" text is passed on but skipped by the risk
  component. Payloads come only from the gateway's own side (the commands it maps, the buttons Rasa sent,
  kept in ``ButtonKeys``); everything a resident wrote goes through :func:`as_words` first.
* **Text that gets no Rasa turn now** — a rating comment, an edited message, the words after a command, a
  message kept while Rasa is down — is screened here with the rules of :mod:`risk` (no trained model,
  about a millisecond), and :mod:`bot.danger` answers it.
"""

from __future__ import annotations

from risk import default_screen, screen

# Rasa's INTENT_MESSAGE_PREFIX (rasa.shared.constants); not imported, the gateway does not load Rasa.
INTENT_PREFIX = "/"


def as_words(text: str) -> str:
    """``text`` as Rasa must read it: the resident's words, never an intent payload.

    Rasa strips whitespace before it looks for the "/", so leading whitespace and slashes go together
    ("  / /affirm" → "affirm", "/他拿着刀" → "他拿着刀"); text that does not start with "/" is returned
    unchanged. The result may be empty ("/"): there is nothing to relay then.
    """
    stripped = text.strip()
    if not stripped.startswith(INTENT_PREFIX):
        return text
    while stripped.startswith(INTENT_PREFIX):
        stripped = stripped[len(INTENT_PREFIX) :].strip()
    return stripped


def dangers(text: str) -> frozenset[str]:
    """The kinds of danger (``violence``, ``weapon``, ``threat``, ``self_harm``) the rules find in what a
    resident wrote; empty when none. Cheap enough to run in the event loop."""
    words = as_words(text)
    return screen(words) if words.strip() else frozenset()


def check() -> None:
    """Compiles the rules now, at start-up: a broken rules file stops the gateway instead of the first
    resident in danger, and that resident does not wait for the compilation either."""
    default_screen()
