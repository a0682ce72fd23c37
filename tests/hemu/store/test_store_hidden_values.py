"""The store's errors carry no bound values: they end up in log files, which /forget cannot reach."""

from __future__ import annotations

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from hemu.store import Store
from hemu.store.tables import invites
from tests.hemu.store.support import NOW

PHONE = "138 0000 1234"


def test_a_database_error_carries_no_values(store: Store) -> None:
    """SQLAlchemy puts the bound values in the error's text, and so into the log's traceback."""
    row = {"code_hash": "h" * 64, "officer_id": PHONE, "created_at": NOW, "expires_at": NOW}
    with store.engine.begin() as conn:
        conn.execute(insert(invites).values(row))
    with pytest.raises(IntegrityError) as failed, store.engine.begin() as conn:
        conn.execute(insert(invites).values(row))
    assert PHONE not in str(failed.value) and "hidden" in str(failed.value)
