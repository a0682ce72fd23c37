"""Database rows → the frozen records callers get (callers never see a row)."""

from __future__ import annotations

from dataclasses import fields

from sqlalchemy.engine import Row

from hemu.cases import CaseState, Priority
from hemu.store.records import (
    CaseRecord,
    EventRecord,
    InboundRecord,
    InboundStatus,
    Invite,
    NotificationRecord,
    OfficerAccount,
    OutboxStatus,
)

_CASE_FIELDS = tuple(f.name for f in fields(CaseRecord))


def case_record(row: Row) -> CaseRecord:
    values = {name: row._mapping[name] for name in _CASE_FIELDS}
    values["priority"] = Priority(values["priority"])
    values["state"] = CaseState(values["state"])
    values["risk_flags"] = tuple(values["risk_flags"] or ())
    values["contact_consent"] = bool(values["contact_consent"])
    if values["promise_kept"] is not None:
        values["promise_kept"] = bool(values["promise_kept"])
    return CaseRecord(**values)


def event_record(row: Row) -> EventRecord:
    return EventRecord(
        id=row.id,
        case_id=row.case_id,
        at=row.at,
        actor=row.actor,
        kind=row.kind,
        from_state=CaseState(row.from_state) if row.from_state else None,
        to_state=CaseState(row.to_state) if row.to_state else None,
        reason=row.reason,
        detail=dict(row.detail or {}),
    )


def notification_record(row: Row) -> NotificationRecord:
    return NotificationRecord(
        id=row.id,
        case_id=row.case_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
        recipient=row.recipient,
        kind=row.kind,
        payload=dict(row.payload or {}),
        status=OutboxStatus(row.status),
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        sent_at=row.sent_at,
        last_error=row.last_error,
        failures=row.failures,
        give_up_at=row.give_up_at,
    )


def inbound_record(row: Row) -> InboundRecord:
    values = row._mapping
    return InboundRecord(
        id=values["id"],
        sender=values["sender"],
        chat_id=values["chat_id"],
        text=values["text"],
        metadata=dict(values["metadata"] or {}),
        created_at=values["created_at"],
        attempts=values["attempts"],
        status=InboundStatus(values["status"]),
        last_error=values["last_error"],
        delivered_at=values["delivered_at"],
        answers=list(values["answers"]) if values["answers"] is not None else None,
        source=values["source"],
        owner=values["owner"],
    )


def invite_record(row: Row) -> Invite:
    return Invite(
        id=row.id,
        officer_id=row.officer_id,
        created_at=row.created_at,
        expires_at=row.expires_at,
        used_at=row.used_at,
        used_by_chat_id=row.used_by_chat_id,
        revoked_at=row.revoked_at,
    )


def account_record(row: Row) -> OfficerAccount:
    return OfficerAccount(
        officer_id=row.officer_id,
        telegram_chat_id=row.telegram_chat_id,
        active=bool(row.active),
        linked_at=row.linked_at,
        deactivated_at=row.deactivated_at,
        language=row.language,
    )
