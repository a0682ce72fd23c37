"""An action that runs twice for one Telegram message (Rasa finishing a turn the gateway had given up on,
then the replay) opens one case: the message id travels in the metadata to the desk."""

from __future__ import annotations

from actions.cases import ActionRequestOfficer
from tests.actions.test_cases import NOISE_REPORT
from tests.auxil.trackers import make_tracker


async def test_the_same_message_twice_opens_one_case(case_desk, dispatcher, domain, texts) -> None:
    tracker = make_tracker("需要", "affirm", slots=NOISE_REPORT, metadata={"hemu_source": "m:1001:42"})
    await ActionRequestOfficer().run(dispatcher, tracker, domain)
    await ActionRequestOfficer().run(dispatcher, tracker, domain)
    [case] = case_desk.store.cases()
    assert [n.kind for n in case_desk.store.outbox.notifications(case.number)].count("case_assigned") == 1
    assert texts().count("案件编号 HM-2026-000001") == 2  # the same confirmation both times


async def test_two_messages_are_two_changes(case_desk, dispatcher, domain, texts) -> None:
    for message in ("m:1001:1", "m:1001:2"):
        tracker = make_tracker("需要", "affirm", slots=NOISE_REPORT, metadata={"hemu_source": message})
        await ActionRequestOfficer().run(dispatcher, tracker, domain)
    [case] = case_desk.store.cases()  # the second report of the same kind goes onto the open case
    assert any(e.kind == "details_added" for e in case_desk.store.events(case.number))
