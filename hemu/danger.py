"""The danger question of the uncertain tier (SPEC §6): its answers and what each one means.

Shared by the safety policy (components/safety_policy.py), which routes the answer, and the actions
(actions/danger.py), which carry it out, so both read the same names.
"""

from __future__ import annotations

from enum import Enum

# The entity a danger-question button carries ("/inform{"danger_answer":"now"}"), and the slot that
# says the question is waiting for its answer.
ANSWER_ENTITY = "danger_answer"
PENDING_SLOT = "danger_question"
PENDING = "pending"
# The slot that keeps the uncertain message itself, so the case it may lead to has the resident's words.
TEXT_SLOT = "danger_text"
# The reminder that answers for a resident who does not answer in time.
REMINDER_NAME = "danger_question_unanswered"


class DangerAnswer(str, Enum):
    NOW = "now"  # someone is in danger right now → urgent case
    PAST = "past"  # it happened, not now → high-priority case with injury and evidence advice
    NONE = "none"  # no one is in danger → the conversation goes on
    UNANSWERED = "unanswered"  # no answer in time → treated as NOW

    @property
    def pages_now(self) -> bool:
        return self in (DangerAnswer.NOW, DangerAnswer.UNANSWERED)


def parse_answer(value: object) -> DangerAnswer | None:
    try:
        return DangerAnswer(str(value))
    except ValueError:
        return None
