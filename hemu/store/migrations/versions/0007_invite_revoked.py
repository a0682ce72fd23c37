"""Invites can be revoked: a new invite for an officer revokes their older unused ones, and the admin
command line revokes any (``python -m hemu officers revoke``). Before, every unexpired code stayed
valid until used, so a code sent to the wrong person could not be taken back.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("invites", sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("invites") as batch:
        batch.drop_column("revoked_at")
