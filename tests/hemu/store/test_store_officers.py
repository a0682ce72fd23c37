"""Officer accounts: joining by invite code, one chat per officer, deactivation."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from hemu.store import InviteError, Store
from hemu.store.tables import invites
from tests.hemu.store.support import NOW

DAY = timedelta(days=1)
WANG_CHAT = 1_234_567_890_123  # Telegram ids do not fit in 32 bits
ZHANG_CHAT = 555


def test_an_invite_links_the_officers_chat(store: Store) -> None:
    code = store.officers.create_invite("wang_li", NOW, DAY)
    assert re.fullmatch(r"[a-z2-9]{10}", code) and not set(code) & set("01ilo")
    assert store.officers.officer_for_chat(WANG_CHAT) is None
    assert store.officers.redeem_invite(code, WANG_CHAT, NOW + timedelta(hours=1)) == "wang_li"
    assert store.officers.officer_for_chat(WANG_CHAT) == "wang_li"
    assert store.officers.chat_for_officer("wang_li") == WANG_CHAT
    (account,) = store.officers.accounts()
    assert (account.officer_id, account.telegram_chat_id, account.active, account.linked_at) == (
        "wang_li",
        WANG_CHAT,
        True,
        NOW + timedelta(hours=1),
    )


def test_only_a_hash_of_the_code_is_stored(store: Store) -> None:
    code = store.officers.create_invite("wang_li", NOW, DAY)
    with store.engine.connect() as conn:
        stored = conn.execute(select(invites)).one()
    assert code not in repr(tuple(stored))
    assert stored.code_hash == hashlib.sha256(code.encode()).hexdigest()
    assert (stored.officer_id, stored.created_at, stored.expires_at, stored.used_at) == (
        "wang_li",
        NOW,
        NOW + DAY,
        None,
    )


def test_codes_are_read_forgivingly(store: Store) -> None:
    code = store.officers.create_invite("wang_li", NOW, DAY)
    typed = f"  {code[:5].upper()} {code[5:]}\n"
    assert store.officers.redeem_invite(typed, WANG_CHAT, NOW) == "wang_li"


def test_refused_codes(store: Store) -> None:
    with pytest.raises(InviteError, match="this invite code is not known"):
        store.officers.redeem_invite("abcdefghjk", WANG_CHAT, NOW)

    used = store.officers.create_invite("wang_li", NOW, DAY)
    store.officers.redeem_invite(used, WANG_CHAT, NOW)
    with pytest.raises(InviteError, match="already been used"):
        store.officers.redeem_invite(used, ZHANG_CHAT, NOW)

    expired = store.officers.create_invite("zhang_wei", NOW, DAY)
    with pytest.raises(
        InviteError, match="expired at 2026-03-03 09:30 UTC; ask the station admin for a new code"
    ):
        store.officers.redeem_invite(expired, ZHANG_CHAT, NOW + DAY)
    assert store.officers.officer_for_chat(ZHANG_CHAT) is None

    with pytest.raises(ValueError, match="must live"):
        store.officers.create_invite("zhang_wei", NOW, timedelta(0))


def test_deactivated_officers(store: Store) -> None:
    assert store.officers.is_active("zhang_wei")  # no account yet: the roster decides
    code = store.officers.create_invite("zhang_wei", NOW, DAY)
    store.officers.deactivate("zhang_wei", NOW)
    assert not store.officers.is_active("zhang_wei")
    with pytest.raises(InviteError, match="officer zhang_wei's account is deactivated"):
        store.officers.redeem_invite(code, ZHANG_CHAT, NOW)
    with pytest.raises(InviteError, match="deactivated"):
        store.officers.create_invite("zhang_wei", NOW, DAY)

    store.officers.reactivate("zhang_wei", NOW)
    assert store.officers.redeem_invite(code, ZHANG_CHAT, NOW) == "zhang_wei"
    store.officers.deactivate("zhang_wei", NOW + DAY)
    # Locked out of the console and of case details, but the link is kept for a later reactivation.
    assert (
        store.officers.officer_for_chat(ZHANG_CHAT) is None
        and store.officers.chat_for_officer("zhang_wei") is None
    )
    (account,) = store.officers.accounts()
    assert (account.active, account.telegram_chat_id, account.deactivated_at) == (
        False,
        ZHANG_CHAT,
        NOW + DAY,
    )
    store.officers.reactivate("zhang_wei")
    assert store.officers.officer_for_chat(ZHANG_CHAT) == "zhang_wei" and store.officers.is_active(
        "zhang_wei"
    )


def test_one_chat_per_officer(store: Store) -> None:
    store.officers.redeem_invite(store.officers.create_invite("wang_li", NOW, DAY), WANG_CHAT, NOW)
    # A code, even a valid one, does not move a linked officer to another chat (a leaked code would
    # hand a stranger their cases); it is not spent either.
    code = store.officers.create_invite("wang_li", NOW, DAY)
    with pytest.raises(InviteError, match="linked to another Telegram chat") as refused:
        store.officers.redeem_invite(code, 777, NOW)
    assert refused.value.reason == "linked_elsewhere"
    assert store.officers.chat_for_officer("wang_li") == WANG_CHAT
    # A new phone: the admin unlinks the old chat, then the same code links the new one.
    assert store.officers.unlink("wang_li") == WANG_CHAT
    assert store.officers.unlink("wang_li") is None
    assert store.officers.officer_for_chat(WANG_CHAT) is None
    store.officers.redeem_invite(code, 777, NOW)
    assert (
        store.officers.chat_for_officer("wang_li") == 777
        and store.officers.officer_for_chat(WANG_CHAT) is None
    )
    # Another active officer cannot take over Wang Li's chat...
    code = store.officers.create_invite("zhang_wei", NOW, DAY)
    with pytest.raises(InviteError, match="already linked to officer wang_li"):
        store.officers.redeem_invite(code, 777, NOW)
    assert store.officers.chat_for_officer("wang_li") == 777
    # ...but a chat left behind by a deactivated officer can be reused, and the code was not spent.
    store.officers.deactivate("wang_li", NOW)
    assert store.officers.redeem_invite(code, 777, NOW) == "zhang_wei"
    accounts = {a.officer_id: a.telegram_chat_id for a in store.officers.accounts()}
    assert accounts == {"wang_li": None, "zhang_wei": 777}


def test_a_new_invite_revokes_the_older_ones_and_any_can_be_revoked(store: Store) -> None:
    officers = store.officers
    first = officers.create_invite("wang_li", NOW, DAY)
    second = officers.create_invite("wang_li", NOW + timedelta(minutes=1), DAY)
    other = officers.create_invite("zhang_wei", NOW, DAY)
    with pytest.raises(InviteError, match="revoked or replaced") as refused:
        officers.redeem_invite(first, WANG_CHAT, NOW)
    assert refused.value.reason == "revoked"
    listed = officers.invites("wang_li")
    assert [i.status(NOW) for i in listed] == ["valid", "revoked"]  # newest first
    assert listed[1].revoked_at == NOW + timedelta(minutes=1)
    assert [i.status(NOW + 2 * DAY) for i in officers.invites()] == ["expired", "expired", "revoked"]
    # Revoked by id, or all of an officer's; a used or revoked one is not counted again.
    assert officers.revoke(NOW, invite_id=listed[0].id) == 1
    assert officers.revoke(NOW, invite_id=listed[0].id) == 0
    with pytest.raises(InviteError, match="revoked"):
        officers.redeem_invite(second, WANG_CHAT, NOW)
    assert officers.revoke(NOW, officer_id="zhang_wei") == 1
    with pytest.raises(InviteError, match="revoked"):
        officers.redeem_invite(other, ZHANG_CHAT, NOW)
    with pytest.raises(ValueError, match="one of them"):
        officers.revoke(NOW)
    # A used code stays "used", whatever comes after.
    used = officers.create_invite("wang_li", NOW, DAY)
    officers.redeem_invite(used, WANG_CHAT, NOW)
    officers.create_invite("wang_li", NOW, DAY)
    assert officers.invites("wang_li")[1].status(NOW) == "used"
    assert officers.chat_for_officer("wang_li") == WANG_CHAT


def test_the_app_language_of_the_last_register_is_kept_with_the_account(store: Store) -> None:
    officers = store.officers
    officers.redeem_invite(officers.create_invite("wang_li", NOW, DAY), WANG_CHAT, NOW, language="en")
    account = officers.account_for_chat(WANG_CHAT)
    assert account is not None and (account.officer_id, account.language) == ("wang_li", "en")
    reachable = officers.reachable("wang_li")
    assert reachable is not None and (reachable.telegram_chat_id, reachable.language) == (WANG_CHAT, "en")
    # Registering again says it afresh, an app in neither language included.
    officers.redeem_invite(officers.create_invite("wang_li", NOW, DAY), WANG_CHAT, NOW, language="zh")
    assert officers.reachable("wang_li").language == "zh"  # type: ignore[union-attr]
    officers.redeem_invite(officers.create_invite("wang_li", NOW, DAY), WANG_CHAT, NOW)
    assert officers.reachable("wang_li").language is None  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="language"):
        officers.redeem_invite(officers.create_invite("wang_li", NOW, DAY), WANG_CHAT, NOW, language="fr")
    # Nobody is reached through a deactivated or unlinked account.
    officers.deactivate("wang_li", NOW)
    assert officers.account_for_chat(WANG_CHAT) is None and officers.reachable("wang_li") is None
    assert officers.account("wang_li").language is None  # type: ignore[union-attr]
    assert officers.account("zhang_wei") is None
    assert officers.reachable("zhang_wei") is None
