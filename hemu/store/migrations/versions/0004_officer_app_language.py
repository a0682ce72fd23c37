"""An officer's Telegram app language, stored when they register.

officer_accounts: language (nullable). Officers linked before this have none until they /register again;
until then they are written to as before: the roster's language, else the station's (bot/languages.py).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("officer_accounts", sa.Column("language", sa.String(length=8), nullable=True))


def downgrade() -> None:
    op.drop_column("officer_accounts", "language")
