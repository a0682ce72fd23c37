"""An acknowledgement is not a response: the promise is first contact with the resident.

Until now "acknowledge" counted as the first response, so an acknowledged case left the promise watcher
(no reminder, no breach) and its promise counted as kept. For every case still sitting at
"acknowledged" that nobody has contacted (no change to contacted or resolved in its audit log), this
clears the first response and, unless a breach already settled it, whether the promise was kept: the
watcher then reminds and escalates it like any case awaiting contact. Closed history is left as it was
counted. Data only; the schema is unchanged.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "UPDATE cases SET first_response_at = NULL, "
        "promise_kept = CASE WHEN breaches > 0 THEN promise_kept ELSE NULL END "
        "WHERE state = 'acknowledged' AND NOT EXISTS ("
        "SELECT 1 FROM case_events WHERE case_events.case_id = cases.id "
        "AND case_events.kind = 'state_changed' AND case_events.to_state IN ('contacted', 'resolved'))"
    )


def downgrade() -> None:
    """Nothing to undo in the schema; the cleared values are recomputed by nobody (they were wrong)."""
