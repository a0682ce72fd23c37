"""``python -m hemu outbox``: given-up notifications are listed (no resident words) and requeued with a
fresh deadline."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest

from hemu import admin
from hemu.desk import Desk, Report
from hemu.store import OutboxStatus


def _run(desk: Desk, *argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = admin.main(list(argv), out=out, desk=lambda: desk)
    return code, out.getvalue()


def _give_up_the_card(desk: Desk) -> tuple[str, int]:
    report = Report(
        resident_id="7", language="zh", category="report_noise", summary="我的电话是13800000000，邻居吵"
    )
    case = desk.open_case(report).case
    [card] = desk.store.outbox.notifications(case.number)
    now = desk.now()
    desk.store.outbox.claim(now, timedelta(seconds=90))
    desk.store.outbox.mark_failed(card.id, now, "NetworkError: Bad Gateway", None, failures=7)
    return case.number, card.id


def test_list_shows_what_was_given_up_without_residents_words(case_desk: Desk) -> None:
    desk = case_desk
    number, card_id = _give_up_the_card(desk)
    code, text = _run(desk, "outbox", "list")
    assert code == 0
    assert "failed: 1" in text and number in text and str(card_id) in text and "Bad Gateway" in text
    assert "13800000000" not in text and "邻居" not in text


def test_requeue_puts_it_back_with_a_fresh_deadline(case_desk: Desk) -> None:
    desk = case_desk
    _, card_id = _give_up_the_card(desk)
    code, text = _run(desk, "outbox", "requeue", "--all-failed")
    assert code == 0 and "requeued 1" in text
    [card] = [n for n in desk.store.outbox.notifications() if n.id == card_id]
    assert card.status is OutboxStatus.PENDING and card.failures == 0
    assert card.give_up_at is not None and card.give_up_at > desk.now() + timedelta(hours=23)
    assert desk.store.outbox.claim(desk.now(), timedelta(seconds=90))  # due at once


def test_requeue_without_ids_says_what_to_do(case_desk: Desk, capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = _run(case_desk, "outbox", "requeue")
    assert code == 1 and "--all-failed" in capsys.readouterr().err
