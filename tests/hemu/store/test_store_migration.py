"""Migrations on a database that already holds cases: 0002 backfills, 0003 stops counting an
acknowledgement as contact, 0004 adds the officer's app language to accounts already linked."""

from __future__ import annotations

from datetime import timedelta

from alembic import command
from alembic.config import Config
from sqlalchemy import text

from hemu.store import Store, db
from hemu.store.repository import MIGRATIONS
from tests.hemu.store.support import DUE, NOW


def upgrade(store: Store, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with store.engine.begin() as connection:
        db.take_migration_lock(connection)
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def insert_0001_case(store: Store, seq: int, first_response: object) -> None:
    with store.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO cases (number, year, seq, category, priority, state, language, resident_id,"
                " summary, risk_flags, contact_consent, officer_id, promise_due_at, opened_at, updated_at,"
                " first_response_at, version) VALUES (:number, 2026, :seq, 'report_noise', 'normal',"
                " 'acknowledged', 'zh', '42', 'noise', '[]', false, 'wang_li', :due, :opened, :opened,"
                " :first, 1)"
            ),
            {
                "number": f"HM-2026-{seq:06d}",
                "seq": seq,
                "due": _bind(store, DUE),
                "opened": _bind(store, NOW),
                "first": _bind(store, first_response) if first_response else None,
            },
        )


def _bind(store: Store, moment: object) -> object:
    # What UTCDateTime writes: naive UTC text on SQLite, aware on PostgreSQL.
    return moment.replace(tzinfo=None) if store.dialect == "sqlite" else moment  # type: ignore[union-attr]


def test_existing_cases_get_their_promise_bookkeeping(make_store) -> None:  # type: ignore[no-untyped-def]
    store = make_store()
    upgrade(store, "0001")
    insert_0001_case(store, 1, NOW + timedelta(hours=1))  # answered in time
    insert_0001_case(store, 2, DUE + timedelta(hours=1))  # answered late
    insert_0001_case(store, 3, None)  # not answered yet
    upgrade(store, "0002")
    one, two, three = (store.get(f"HM-2026-00000{seq}") for seq in (1, 2, 3))
    assert one.promise_set_at == two.promise_set_at == three.promise_set_at == NOW
    assert (one.promise_kept, two.promise_kept, three.promise_kept) == (True, False, None)
    assert {case.breaches for case in (one, two, three)} == {0}
    assert three.reminded_at is three.followed_up_at is None
    with store.engine.connect() as conn:
        nullable = conn.execute(text("SELECT count(*) FROM cases WHERE promise_set_at IS NULL")).scalar_one()
    assert nullable == 0


def insert_0002_case(store: Store, seq: int, state: str, first_response: object, kept: bool | None) -> int:
    with store.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO cases (number, year, seq, category, priority, state, language, resident_id,"
                " summary, risk_flags, contact_consent, officer_id, promise_due_at, opened_at, updated_at,"
                " first_response_at, version, promise_set_at, breaches, promise_kept) VALUES (:number, 2026,"
                " :seq, 'report_noise', 'normal', :state, 'zh', '42', 'noise', '[]', false, 'wang_li', :due,"
                " :opened, :opened, :first, 1, :opened, 0, :kept)"
            ),
            {
                "number": f"HM-2026-{seq:06d}",
                "seq": seq,
                "state": state,
                "due": _bind(store, DUE),
                "opened": _bind(store, NOW),
                "first": _bind(store, first_response) if first_response else None,
                "kept": kept,
            },
        )
        return conn.execute(text("SELECT id FROM cases WHERE seq = :seq"), {"seq": seq}).scalar_one()


def add_state_event(store: Store, case_id: int, to_state: str) -> None:
    with store.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO case_events (case_id, at, actor, kind, from_state, to_state, reason, detail)"
                " VALUES (:case_id, :at, 'officer:wang_li', 'state_changed', 'open', :to_state, '', '{}')"
            ),
            {"case_id": case_id, "at": _bind(store, NOW), "to_state": to_state},
        )


def test_an_acknowledgement_that_counted_as_contact_no_longer_does(make_store) -> None:  # type: ignore[no-untyped-def]
    store = make_store()
    upgrade(store, "0002")
    acknowledged = insert_0002_case(store, 1, "acknowledged", NOW + timedelta(minutes=5), True)
    add_state_event(store, acknowledged, "acknowledged")
    # Contacted before, handed over, acknowledged by the new officer: the first contact stands.
    contacted = insert_0002_case(store, 2, "acknowledged", NOW + timedelta(minutes=5), True)
    add_state_event(store, contacted, "contacted")
    insert_0002_case(store, 3, "closed", NOW + timedelta(minutes=5), True)  # history stays
    store.migrate()
    one, two, three = (store.get(f"HM-2026-00000{seq}") for seq in (1, 2, 3))
    assert (one.first_response_at, one.promise_kept) == (None, None)
    assert one.awaits_response  # the watcher reminds and escalates it now
    assert (two.first_response_at, two.promise_kept) == (NOW + timedelta(minutes=5), True)
    assert (three.first_response_at, three.promise_kept) == (NOW + timedelta(minutes=5), True)


def test_officers_linked_before_0004_stay_linked_with_no_app_language(make_store) -> None:  # type: ignore[no-untyped-def]
    store = make_store()
    upgrade(store, "0003")
    with store.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO officer_accounts (officer_id, telegram_chat_id, active, linked_at)"
                " VALUES ('wang_li', 7001, true, :linked)"
            ),
            {"linked": _bind(store, NOW)},
        )
    store.migrate()
    (account,) = store.officers.accounts()
    assert (account.officer_id, account.telegram_chat_id, account.language) == ("wang_li", 7001, None)
    code = store.officers.create_invite("wang_li", NOW, timedelta(days=1))
    store.officers.redeem_invite(code, 7001, NOW, language="en")
    assert store.officers.account_for_chat(7001).language == "en"  # type: ignore[union-attr]
