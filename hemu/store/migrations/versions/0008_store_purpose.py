"""What a database is for: a station's real cases, or the offline sandbox's play.

``make run`` without a Telegram token used the default database production uses, and gave every officer
a fresh invite in it each time. The sandbox now has a database of its own, and each database records
what it is for the first time Hemu starts against it (``store_meta``: key ``purpose``), so neither can
be started against the other's by mistake.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "store_meta",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_store_meta"),
    )


def downgrade() -> None:
    op.drop_table("store_meta")
