"""Danger screening (SPEC §6) that every part of Hemu shares.

``risk`` holds the rules and their word classes (:mod:`risk.rules`, ``risk/rules.yml``), the text
normalisation they read through (:mod:`risk.normalise`), the character tokenizer (:mod:`risk.tokens`)
and the classifier's training lines (``risk/train_*.yml``). The Rasa component
(:mod:`components.risk`) adds the trained classifier on top; the gateway screens with the rules alone
where no Rasa turn happens (a rating comment, a message queued while Rasa is down).
"""

from __future__ import annotations

from risk.labels import RISK_LABELS
from risk.normalise import normalise
from risk.rules import Finding, RuleScreen, default_screen


def screen(text: str) -> frozenset[str]:
    """The danger labels the rules find in ``text`` (no trained model needed; about a millisecond)."""
    return frozenset(finding.label for finding in default_screen().find(text))


__all__ = ["RISK_LABELS", "Finding", "RuleScreen", "default_screen", "normalise", "screen"]
