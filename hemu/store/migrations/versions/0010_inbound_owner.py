"""Which gateway is handing a kept resident message to Rasa, until when.

With several gateways on one database (issue 15), each one's replay loop saw every kept message: two
could hand the same resident's messages to Rasa at once — the same report twice, out of order. A gateway
now owns the rows it is working on for a lease (``owner``, ``lease_until``); another takes a resident's
messages only when none of them is owned by a live lease of someone else (hemu/store/inbound.py).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("inbound", sa.Column("owner", sa.String(length=32), nullable=True))
    op.add_column("inbound", sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("inbound") as batch:
        batch.drop_column("lease_until")
        batch.drop_column("owner")
