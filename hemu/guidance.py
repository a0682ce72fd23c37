"""First guidance, safety advice and category names: text content kept in ``content/``.

Station staff edit the YAML; this module checks it is complete (every category, both
languages, every section) and assembles the message a resident reads. Where a danger signal
was seen, mediation advice is left out: mediation is never offered for violence (SPEC §6).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Dict, Iterable

from pydantic import BaseModel, Extra, constr

from hemu import LANGUAGES
from hemu.config import REPO_ROOT, Text, load_model
from hemu.errors import ConfigError

# The parts of the guidance behind buttons, after the first message's "what to do now".
GUIDANCE_SECTIONS = ("rules", "mediation", "evidence")

REPORT_INTENTS = (
    "report_spouse_conflict",
    "report_inlaw_conflict",
    "report_family_conflict",
    "report_boundary_dispute",
    "report_noise",
    "report_shared_space",
    "report_property_damage",
    "report_pet_dispute",
    "report_money_dispute",
)
SECTIONS = ("calm", "rules", "mediation", "evidence")
# Danger kinds in whose presence "talk it over" and mediation advice must not be given.
NO_MEDIATION_RISKS = ("violence", "weapon", "threat")

NonEmpty = constr(strip_whitespace=True, min_length=1)


class _Strict(BaseModel):
    class Config:
        extra = Extra.forbid


class Sections(_Strict):
    calm: NonEmpty  # type: ignore[valid-type]
    rules: NonEmpty  # type: ignore[valid-type]
    mediation: NonEmpty  # type: ignore[valid-type]
    evidence: NonEmpty  # type: ignore[valid-type]


class CategoryGuidance(_Strict):
    category: constr(regex="^(" + "|".join(REPORT_INTENTS) + ")$")  # type: ignore[valid-type]
    zh: Sections
    en: Sections


class Common(_Strict):
    disclaimer: Text


class Safety(_Strict):
    violence: Text
    weapon: Text
    threat: Text
    self_harm: Text
    # To a resident writing about themself, not about someone else at risk.
    self_harm_self: Text


class Categories(_Strict):
    report_spouse_conflict: Text
    report_inlaw_conflict: Text
    report_family_conflict: Text
    report_boundary_dispute: Text
    report_noise: Text
    report_shared_space: Text
    report_property_damage: Text
    report_pet_dispute: Text
    report_money_dispute: Text


class HarmLabels(_Strict):
    none: Text
    afraid: Text
    hurt: Text


class FieldLabels(_Strict):
    area: Text
    parties: Text
    duration: Text
    harm: Text
    contact: Text


class StateLabels(_Strict):
    open: Text
    acknowledged: Text
    contacted: Text
    resolved: Text
    closed: Text
    reopened: Text
    handed_over: Text
    cancelled: Text


class PriorityLabels(_Strict):
    urgent: Text
    high: Text
    normal: Text
    low: Text


class Labels(_Strict):
    harm: HarmLabels
    unknown: Text
    no_contact: Text
    fields: FieldLabels
    states: StateLabels
    priorities: PriorityLabels
    overdue: Text
    danger: Text


@dataclass(frozen=True)
class Content:
    """All resident-facing prose that is not a Rasa response, checked and ready to use."""

    guidance: Dict[str, CategoryGuidance]
    common: Common
    safety: Safety
    categories: Categories
    labels: Labels

    def category_name(self, category: str, language: str) -> str:
        if category not in REPORT_INTENTS:
            # An urgent case opened from a danger message before any dispute was described.
            return self.labels.danger.get(language)
        return getattr(self.categories, category).get(language)

    def state_name(self, state: str, language: str) -> str:
        return getattr(self.labels.states, getattr(state, "value", state)).get(language)

    def priority_name(self, priority: str, language: str) -> str:
        return getattr(self.labels.priorities, getattr(priority, "value", priority)).get(language)

    def field_name(self, field: str, language: str) -> str:
        return getattr(self.labels.fields, field).get(language)

    def answer_label(self, field: str, value: object, language: str) -> str:
        """How a stored answer is repeated back to the resident in the summary."""
        if value in (None, "", "unknown"):
            return self.labels.unknown.get(language)
        if field == "harm" and isinstance(value, str) and value in HarmLabels.__fields__:
            return getattr(self.labels.harm, value).get(language)
        return str(value)

    def guidance_text(self, category: str, language: str, risks: Iterable[str] = ()) -> str:
        """The first-guidance message: what to do now, and the disclaimer.

        Short enough to read on a phone: the rules, mediation and evidence are one tap away
        (:meth:`guidance_section`). After violence, a weapon or a threat, "calm it down" and mediation
        are wrong advice: the message is then how to stay safe, what evidence to keep and the disclaimer.
        """
        sections = self._sections(category, language)
        language = language if language in LANGUAGES else "zh"
        if self.mediation_unsafe(risks):
            parts = [self.safety_text(risks, language), sections.evidence]
        else:
            parts = [sections.calm]
        parts.append(self.common.disclaimer.get(language))
        return "\n\n".join(part.strip() for part in parts)

    def guidance_section(self, category: str, language: str, section: str) -> str:
        """One of the sections behind the first guidance's buttons: ``rules``, ``mediation``, ``evidence``."""
        if section not in GUIDANCE_SECTIONS:
            raise KeyError(f"no guidance section {section!r}; use {', '.join(GUIDANCE_SECTIONS)}")
        return str(getattr(self._sections(category, language), section)).strip()

    def _sections(self, category: str, language: str) -> Sections:
        if category not in self.guidance:
            raise KeyError(f"no guidance for category {category!r}")
        return getattr(self.guidance[category], language if language in LANGUAGES else "zh")

    @staticmethod
    def mediation_unsafe(risks: Iterable[str]) -> bool:
        return bool(set(risks) & set(NO_MEDIATION_RISKS))

    def safety_text(self, risks: Iterable[str], language: str, about_self: bool = False) -> str:
        """How to get safe, for each kind of danger seen, most severe first; self-harm advice speaks
        to the resident when they wrote about themself (``about_self``), else about the person at risk."""
        seen = set(risks)
        order = ("weapon", "violence", "threat", "self_harm")
        texts = []
        for kind in order:
            if kind in seen:
                entry = (
                    self.safety.self_harm_self
                    if kind == "self_harm" and about_self
                    else getattr(self.safety, kind)
                )
                texts.append(entry.get(language).strip())
        return "\n\n".join(texts)


def content_dir() -> Path:
    return Path(os.environ.get("HEMU_CONTENT_DIR", REPO_ROOT / "content"))


@lru_cache(maxsize=4)
def load_content(directory: Path | None = None) -> Content:
    """Loads and checks every content file; a missing or incomplete one is a ConfigError."""
    root = directory or content_dir()
    guidance = {}
    for category in REPORT_INTENTS:
        path = root / "guidance" / f"{category}.yml"
        entry = load_model(path, CategoryGuidance)
        if entry.category != category:
            raise ConfigError(f"{path}: category: says {entry.category!r}, expected {category!r}")
        guidance[category] = entry
    content = Content(
        guidance=guidance,
        common=load_model(root / "guidance" / "common.yml", Common),
        safety=load_model(root / "safety.yml", Safety),
        categories=load_model(root / "categories.yml", Categories),
        labels=load_model(root / "labels.yml", Labels),
    )
    return content
