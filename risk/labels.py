"""The ``risk`` entity values of the classification contract (SPEC §5)."""

from __future__ import annotations

RISK_ENTITY = "risk"
RISK_LABELS = ("violence", "weapon", "threat", "self_harm")
