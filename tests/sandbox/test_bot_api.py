"""The local Bot API server as python-telegram-bot sees it: shapes, encodings and Telegram's errors.

PTB is the real client here (not a stub), so a divergence from what PTB expects of Telegram fails these tests.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from telegram.constants import ChatAction, ParseMode
from telegram.error import BadRequest, Forbidden, RetryAfter

from sandbox.client import AsyncControlClient
from sandbox.server import LocalBotApi
from tests.sandbox.conftest import RESIDENT, TOKEN

KEYBOARD = InlineKeyboardMarkup(
    [
        [
            InlineKeyboardButton("确认 ack", callback_data="o:ack:A-1:1"),
            InlineKeyboardButton("x", callback_data="x"),
        ]
    ]
)


async def raw(api: LocalBotApi, method: str, **kwargs: Any) -> httpx.Response:
    async with httpx.AsyncClient(trust_env=False) as client:
        return await client.post(f"{api.url}/bot{TOKEN}/{method}", **kwargs)


async def test_get_me_returns_every_field_telegram_gives_a_bot(bot: Bot, api: LocalBotApi) -> None:
    me = await bot.get_me()
    assert me.id == 123456789 and me.is_bot and me.username == "hemu_sandbox_bot"
    response = await raw(api, "getMe")
    result = response.json()["result"]
    for field in (
        "id",
        "is_bot",
        "first_name",
        "username",
        "can_join_groups",
        "can_read_all_group_messages",
        "supports_inline_queries",
        "can_connect_to_business",
        "has_main_web_app",
    ):
        assert field in result


async def test_method_names_are_case_insensitive_and_unknown_ones_are_404(api: LocalBotApi) -> None:
    assert (await raw(api, "GETME")).json()["ok"] is True
    response = await raw(api, "sendTelepathy")
    assert response.status_code == 404
    assert response.json() == {"ok": False, "error_code": 404, "description": "Not Found"}


async def test_malformed_token_is_unauthorized(api: LocalBotApi) -> None:
    async with httpx.AsyncClient(trust_env=False) as client:
        response = await client.post(f"{api.url}/botnot-a-token/getMe")
    assert response.status_code == 401
    assert response.json()["description"] == "Unauthorized"


async def test_send_message_returns_a_full_message_with_entities_and_keyboard(
    bot: Bot, control: AsyncControlClient
) -> None:
    await control.send_text(RESIDENT, "你好")
    sent = await bot.send_message(
        RESIDENT, "<b>案件</b> A-1 &lt;ok&gt; 😀 <i>x</i>", parse_mode=ParseMode.HTML, reply_markup=KEYBOARD
    )
    assert sent.message_id == 2  # the resident's message was 1: ids are per chat
    assert sent.from_user is not None and sent.from_user.is_bot
    assert sent.chat.id == RESIDENT and sent.chat.type == "private"
    assert sent.text == "案件 A-1 <ok> 😀 x"
    assert [(e.type, e.offset, e.length) for e in sent.entities] == [
        ("bold", 0, 2),
        ("italic", 15, 1),
    ]  # the emoji counts 2 (UTF-16)
    assert sent.reply_markup == KEYBOARD
    [mine, theirs] = await control.messages(RESIDENT)
    assert (mine["from_bot"], theirs["from_bot"]) == (False, True)
    assert theirs["text"] == sent.text and theirs["parse_mode"] == "HTML"
    assert theirs["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "o:ack:A-1:1"


async def test_json_and_form_bodies_are_both_understood(
    api: LocalBotApi, control: AsyncControlClient
) -> None:
    await control.send_text(RESIDENT, "hi")
    markup = {"inline_keyboard": [[{"text": "go", "callback_data": "r:/go"}]]}
    as_json = await raw(
        api, "sendMessage", json={"chat_id": RESIDENT, "text": "json", "reply_markup": markup}
    )
    as_form = await raw(
        api,
        "sendMessage",
        data={"chat_id": str(RESIDENT), "text": "form", "reply_markup": json.dumps(markup)},
    )
    as_multipart = await raw(
        api, "sendMessage", files={"chat_id": (None, str(RESIDENT)), "text": (None, "multipart")}
    )
    for response, text in ((as_json, "json"), (as_form, "form"), (as_multipart, "multipart")):
        body = response.json()
        assert body["ok"] is True, body
        assert body["result"]["text"] == text
    assert as_json.json()["result"]["reply_markup"] == markup
    assert as_form.json()["result"]["reply_markup"] == markup
    calls = await control.calls("sendMessage")
    assert calls[1]["params"]["reply_markup"] == markup  # decoded from the form's JSON string
    assert calls[1]["params"]["chat_id"] == RESIDENT


@pytest.mark.parametrize(
    ("text", "parse_mode", "description"),
    [
        ("", None, "Message text is empty"),
        ("   ", None, "Message text is empty"),
        ("x" * 4097, None, "Message is too long"),
        ("<b>" + "x" * 4097 + "</b>", ParseMode.HTML, "Message is too long"),
        ("a < b", ParseMode.HTML, "Can't parse entities: unsupported start tag"),
        ("<b>open", ParseMode.HTML, 'Can\'t find end tag corresponding to start tag "b"'),
        ("<br>", ParseMode.HTML, 'Can\'t parse entities: unsupported start tag "br"'),
        ("Tom & Jerry", ParseMode.HTML, 'Can\'t parse entities: unescaped "&"'),
    ],
    ids=["empty", "blank", "long", "long-html", "bare-lt", "unclosed", "unsupported-tag", "bare-amp"],
)
async def test_send_message_rejects_what_telegram_rejects(
    bot: Bot, control: AsyncControlClient, text: str, parse_mode: str | None, description: str
) -> None:
    await control.send_text(RESIDENT, "hi")
    with pytest.raises(BadRequest) as caught:
        await bot.send_message(RESIDENT, text, parse_mode=parse_mode)
    assert description.lower() in caught.value.message.lower()


async def test_exactly_4096_characters_after_parsing_is_fine(bot: Bot, control: AsyncControlClient) -> None:
    await control.send_text(RESIDENT, "hi")
    sent = await bot.send_message(RESIDENT, "<b>" + "字" * 4096 + "</b>", parse_mode=ParseMode.HTML)
    assert len(sent.text) == 4096


async def test_unknown_chat_and_oversized_button_data(bot: Bot, control: AsyncControlClient) -> None:
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message(424242, "hello")
    await control.send_text(RESIDENT, "hi")
    too_long = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="r:" + "字" * 21)]])  # 65 bytes
    with pytest.raises(BadRequest, match="Button_data_invalid"):
        await bot.send_message(RESIDENT, "hello", reply_markup=too_long)


async def test_blocked_user_is_forbidden_until_unblocked(bot: Bot, control: AsyncControlClient) -> None:
    await control.send_text(RESIDENT, "hi")
    await control.block(RESIDENT)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(RESIDENT, "hello")
    await control.block(RESIDENT, blocked=False)
    assert (await bot.send_message(RESIDENT, "hello")).text == "hello"


# PTB 22 itself warns when it builds RetryAfter with seconds (its int → timedelta migration).
@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_scripted_failures_raise_ptb_errors_then_stop(bot: Bot, control: AsyncControlClient) -> None:
    await control.send_text(RESIDENT, "hi")
    await control.send_text(20002, "hi")
    await control.fail("sendMessage", 429, "Too Many Requests: retry after 7", retry_after=7, times=2)
    await control.fail("sendmessage", 400, "Bad Request: chat not found", chat_id=20002)
    for _ in range(2):
        with pytest.raises(RetryAfter) as caught:
            await bot.send_message(RESIDENT, "hello")
        assert caught.value.retry_after == 7
    with pytest.raises(BadRequest):
        await bot.send_message(20002, "hello")
    await bot.send_message(RESIDENT, "hello")
    await bot.send_message(20002, "hello")


async def test_edits_follow_telegram_rules(bot: Bot, control: AsyncControlClient) -> None:
    await control.send_text(RESIDENT, "hi")
    sent = await bot.send_message(RESIDENT, "card", reply_markup=KEYBOARD)
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_text("card", RESIDENT, sent.message_id, reply_markup=KEYBOARD)
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_text("card", RESIDENT, 999)
    with pytest.raises(BadRequest, match="Message can't be edited"):
        await bot.edit_message_text("card", RESIDENT, 1)
    # As on Telegram: an edit without reply_markup removes the inline keyboard.
    edited = await bot.edit_message_text(
        "<b>card</b> v2", RESIDENT, sent.message_id, parse_mode=ParseMode.HTML
    )
    assert isinstance(edited, Message)
    assert edited.text == "card v2" and edited.reply_markup is None and edited.edit_date is not None
    again = await bot.edit_message_reply_markup(RESIDENT, sent.message_id, reply_markup=KEYBOARD)
    assert isinstance(again, Message) and again.reply_markup == KEYBOARD
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_reply_markup(RESIDENT, sent.message_id, reply_markup=KEYBOARD)
    [view] = await control.messages(RESIDENT, from_bot=True)
    assert view["edited"] is True and view["text"] == "card v2"
    assert view["reply_markup"]["inline_keyboard"][0][0]["text"] == "确认 ack"


async def test_callback_query_round_trip_and_answers(bot: Bot, control: AsyncControlClient) -> None:
    await control.send_text(RESIDENT, "hi", language_code="en", first_name="Ann")
    sent = await bot.send_message(RESIDENT, "card", reply_markup=KEYBOARD)
    pressed = await control.press(RESIDENT, sent.message_id, "o:ack:A-1:1")
    updates = await bot.get_updates(timeout=1)
    query = updates[-1].callback_query
    assert query is not None and updates[-1].update_id == pressed["update_id"]
    assert query.id == pressed["callback_query_id"] and query.data == "o:ack:A-1:1"
    assert query.from_user.id == RESIDENT and query.from_user.first_name == "Ann"
    assert query.from_user.language_code == "en"
    assert isinstance(query.message, Message) and query.message.reply_markup == KEYBOARD
    assert query.chat_instance
    assert await bot.answer_callback_query(query.id, text="已确认", show_alert=True)
    assert await control.callback_answers() == [
        {
            "callback_query_id": query.id,
            "chat_id": RESIDENT,
            "text": "已确认",
            "show_alert": True,
            "url": None,
            "at": pytest.approx((await control.callback_answers())[0]["at"]),
        }
    ]
    with pytest.raises(BadRequest, match="Query is too old"):
        await bot.answer_callback_query(query.id)  # answered already
    with pytest.raises(BadRequest, match="Query is too old"):
        await bot.answer_callback_query("123")


async def test_get_updates_offset_confirms_and_long_poll_wakes_at_once(
    bot: Bot, control: AsyncControlClient
) -> None:
    first = await control.send_text(RESIDENT, "/start", language_code="zh-hans")
    second = await control.send_text(RESIDENT, "second")
    updates = await bot.get_updates()
    assert [u.update_id for u in updates] == [first["update_id"], second["update_id"]]
    message = updates[0].message
    assert message is not None and message.text == "/start"
    assert message.from_user is not None and message.from_user.language_code == "zh-hans"
    assert message.chat.id == RESIDENT == message.from_user.id
    assert [(e.type, e.offset, e.length) for e in message.entities] == [("bot_command", 0, 6)]
    assert [u.update_id for u in await bot.get_updates(limit=1)] == [first["update_id"]]
    assert [u.update_id for u in await bot.get_updates(offset=second["update_id"])] == [second["update_id"]]
    assert await bot.get_updates(offset=second["update_id"] + 1) == ()

    loop = asyncio.get_running_loop()
    started = loop.time()
    poll = asyncio.create_task(bot.get_updates(offset=second["update_id"] + 1, timeout=20, read_timeout=30))
    await asyncio.sleep(0.3)
    assert not poll.done()
    third = await control.send_text(RESIDENT, "third")
    updates = await asyncio.wait_for(poll, 5)
    assert [u.update_id for u in updates] == [third["update_id"]]
    assert loop.time() - started < 5


async def test_allowed_updates_filter_new_updates(bot: Bot, control: AsyncControlClient) -> None:
    await control.send_text(RESIDENT, "hi")
    sent = await bot.send_message(RESIDENT, "card", reply_markup=KEYBOARD)
    updates = await bot.get_updates(allowed_updates=[Update.CALLBACK_QUERY])
    await bot.get_updates(offset=updates[-1].update_id + 1)
    await control.send_text(RESIDENT, "ignored")
    pressed = await control.press(RESIDENT, sent.message_id, "x")
    assert [u.update_id for u in await bot.get_updates()] == [pressed["update_id"]]


async def test_chat_action_and_commands(bot: Bot, control: AsyncControlClient) -> None:
    await control.send_text(RESIDENT, "hi")
    assert await bot.send_chat_action(RESIDENT, ChatAction.TYPING)
    with pytest.raises(BadRequest, match="Wrong parameter action"):
        await bot.send_chat_action(RESIDENT, "dancing")
    call = (await control.calls("sendChatAction"))[0]
    assert call["params"] == {"chat_id": RESIDENT, "action": "typing"}
    await bot.set_my_commands([BotCommand("status", "我的案件")], language_code="zh")
    await bot.set_my_commands([BotCommand("cases", "Cases")], scope=BotCommandScopeChat(RESIDENT))
    assert [c.command for c in await bot.get_my_commands(language_code="zh")] == ["status"]
    assert [c.command for c in await bot.get_my_commands(scope=BotCommandScopeChat(RESIDENT))] == ["cases"]
    assert await bot.get_my_commands() == ()
    with pytest.raises(BadRequest, match="Bot_command_invalid"):
        await bot.set_my_commands([BotCommand("Bad-Name", "x")])
    assert await bot.close() and await bot.log_out()


async def test_webhook_blocks_get_updates_until_deleted(bot: Bot) -> None:
    assert await bot.set_webhook("http://127.0.0.1:9/hook", secret_token="s3cret")
    with pytest.raises(Exception, match="Conflict: can't use getUpdates method while webhook is active"):
        await bot.get_updates()
    assert await bot.delete_webhook(drop_pending_updates=True)
    assert await bot.get_updates() == ()


async def test_a_newer_poll_ends_the_older_one_with_conflict(bot: Bot, api: LocalBotApi) -> None:
    older = asyncio.create_task(bot.get_updates(timeout=10, read_timeout=20))
    await asyncio.sleep(0.3)
    async with Bot(TOKEN, base_url=f"{api.url}/bot") as second_instance:
        assert await second_instance.get_updates() == ()
    with pytest.raises(Exception, match="terminated by other getUpdates request"):
        await asyncio.wait_for(older, 5)
