"""Promise watcher bookkeeping on cases, outbox claims, and the inbound queue of residents' messages.

cases: promise_set_at (backfilled with opened_at: for existing cases the only promise known is the
first one), reminded_at, breaches, followed_up_at, promise_kept (backfilled from first_response_at);
outbox: claimed_at; new table inbound.

SQLite cannot add a NOT NULL column without a default, and recreating ``cases`` (Alembic's batch mode)
would drop a table that case_events and outbox reference, inside the start-up transaction where
``foreign_keys`` cannot be switched off. So on SQLite promise_set_at is added NOT NULL with a
placeholder default that the backfill overwrites at once; every insert gives the column a value anyway.
PostgreSQL gets the clean sequence: add nullable, backfill, SET NOT NULL.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_SQLITE_PLACEHOLDER = "1970-01-01 00:00:00.000000"


def _when(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        op.add_column(
            "cases",
            sa.Column(
                "promise_set_at",
                sa.DateTime(timezone=True),
                nullable=False,
                server_default=sa.text(f"'{_SQLITE_PLACEHOLDER}'"),
            ),
        )
    else:
        op.add_column("cases", _when("promise_set_at"))
    op.execute("UPDATE cases SET promise_set_at = opened_at")
    if not sqlite:
        op.alter_column("cases", "promise_set_at", nullable=False)
    op.add_column("cases", _when("reminded_at"))
    op.add_column("cases", sa.Column("breaches", sa.Integer(), nullable=False, server_default=sa.text("0")))
    op.add_column("cases", _when("followed_up_at"))
    op.add_column("cases", sa.Column("promise_kept", sa.Boolean(), nullable=True))
    op.execute(
        "UPDATE cases SET promise_kept = (first_response_at <= promise_due_at) "
        "WHERE first_response_at IS NOT NULL"
    )

    op.add_column("outbox", _when("claimed_at"))

    op.create_table(
        "inbound",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sender", sa.String(length=64), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("metadata", sa.JSON(), nullable=False),
        _when("created_at", nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        _when("delivered_at"),
        sa.CheckConstraint("status IN ('pending', 'delivered', 'dropped')", name=op.f("ck_inbound_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound")),
    )
    op.create_index(op.f("ix_inbound_status_id"), "inbound", ["status", "id"])
    op.create_index(op.f("ix_inbound_sender_status"), "inbound", ["sender", "status"])


def downgrade() -> None:
    op.drop_index(op.f("ix_inbound_sender_status"), table_name="inbound")
    op.drop_index(op.f("ix_inbound_status_id"), table_name="inbound")
    op.drop_table("inbound")
    op.drop_column("outbox", "claimed_at")
    for column in ("promise_kept", "followed_up_at", "breaches", "reminded_at", "promise_set_at"):
        op.drop_column("cases", column)
