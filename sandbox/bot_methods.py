"""The Bot API methods the gateway calls (``/bot<token>/<method>``), answered the way Telegram answers
them, and webhook delivery. A mixin of :class:`sandbox.server.LocalBotApi`, whose state it uses."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from typing import Any

from sandbox.markup import MAX_TEXT_LENGTH, ParseError, parse_html, utf16_len
from sandbox.protocol import (
    CHAT_ACTIONS,
    DEFAULT_UPDATE_TYPES,
    NOT_MODIFIED,
    POLL_CONFLICT,
    QUERY_TOO_OLD,
    WEBHOOK_CONFLICT,
    ApiError,
    as_int,
    bad_request,
    check_reply_markup,
    check_webhook_url,
    int_param,
    number_param,
)
from sandbox.state import ChatState, StoredMessage, Webhook, as_reply, inline_keyboard, set_or_drop

log = logging.getLogger(__name__)


def apply_parse_mode(
    text: str, params: dict[str, Any], entities_key: str
) -> tuple[str, list[dict[str, Any]], str | None]:
    """``text`` as the reader sees it, with its entities, from ``parse_mode`` or the explicit entities
    parameter (``entities`` for a message, ``caption_entities`` for a caption): one parser for both, so
    a caption is refused for exactly the markup a message would be."""
    parse_mode = params.get("parse_mode") or None
    entities: list[dict[str, Any]] = []
    if parse_mode is not None:
        mode = str(parse_mode).lower()
        if mode == "html":
            try:
                text, entities = parse_html(text)
            except ParseError as error:
                raise bad_request(f"can't parse entities: {error}") from None
        elif mode not in ("markdown", "markdownv2"):
            raise bad_request(f"unsupported parse_mode {parse_mode}")
        # Markdown is accepted as plain text: Hemu sends HTML, so a full Markdown parser buys nothing.
    elif params.get(entities_key) is not None:
        if not isinstance(params[entities_key], list):
            raise bad_request("can't parse entities JSON object")
        entities = params[entities_key]
    return text, entities, str(parse_mode) if parse_mode else None


class BotMethods:
    """``getMe``, ``getUpdates``, ``sendMessage`` and the rest (``LocalBotApi._methods`` maps the names)."""

    def _scripted_failure(self, method: str, params: dict[str, Any]) -> None:
        for rule in self._fail_rules:
            if rule.method != method.lower():
                continue
            if rule.chat_id is not None and str(params.get("chat_id")) != str(rule.chat_id):
                continue
            rule.times -= 1
            if rule.times <= 0:
                self._fail_rules.remove(rule)
            raise ApiError(rule.error_code, rule.description, rule.retry_after)

    # ----------------------------------------------------------------- Bot API methods

    async def _true(self, params: dict[str, Any]) -> bool:
        return True

    async def _get_me(self, params: dict[str, Any]) -> dict[str, Any]:
        return self.bot_user(params["_token"])

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        if self._webhook is not None:
            raise ApiError(409, WEBHOOK_CONFLICT)
        offset = int_param(params, "offset", 0)
        limit = min(max(int_param(params, "limit", 100), 1), 100)
        timeout = max(number_param(params, "timeout", 0.0), 0.0)
        allowed = params.get("allowed_updates")
        if allowed is not None:
            if not isinstance(allowed, list) or not all(isinstance(a, str) for a in allowed):
                raise bad_request("can't parse allowed updates")
            self._allowed_updates = frozenset(allowed) if allowed else DEFAULT_UPDATE_TYPES
        if offset < 0:
            self.updates = self.updates[offset:]
        elif offset > 0:
            self.updates = [u for u in self.updates if u["update_id"] >= offset]
        self._poll_generation += 1
        generation = self._poll_generation
        self._notify()  # an earlier long poll still waiting is now superseded
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            if generation != self._poll_generation:
                raise ApiError(409, POLL_CONFLICT)
            if self.updates or self._closing:
                return self.updates[:limit]
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                return []
            await self._wait_change(remaining)

    async def _set_webhook(self, params: dict[str, Any]) -> bool:
        url = str(params.get("url") or "")
        if not url:
            return await self._delete_webhook(params)
        check_webhook_url(url)
        secret = params.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            raise bad_request("secret token contains unallowed characters")
        allowed = params.get("allowed_updates")
        if allowed is not None and not isinstance(allowed, list):
            raise bad_request("can't parse allowed updates")
        if params.get("drop_pending_updates"):
            self.updates.clear()
        self._webhook = Webhook(
            url=url,
            secret_token=str(secret) if secret else None,
            max_connections=int_param(params, "max_connections", 40),
            allowed_updates=list(allowed) if allowed else None,
        )
        if allowed:
            self._allowed_updates = frozenset(allowed)
        self._poll_generation += 1  # a long poll in progress ends (with 409)
        self._notify()
        return True

    async def _delete_webhook(self, params: dict[str, Any]) -> bool:
        self._webhook = None
        if params.get("drop_pending_updates"):
            self.updates.clear()
        self._notify()
        return True

    async def _get_webhook_info(self, params: dict[str, Any]) -> dict[str, Any]:
        hook = self._webhook
        info: dict[str, Any] = {
            "url": hook.url if hook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self.updates),
        }
        if hook:
            info["ip_address"] = "127.0.0.1"
            info["max_connections"] = hook.max_connections
            if hook.allowed_updates:
                info["allowed_updates"] = hook.allowed_updates
            if hook.last_error_date:
                info["last_error_date"] = hook.last_error_date
                info["last_error_message"] = hook.last_error_message
        return info

    def _formatted(self, params: dict[str, Any]) -> tuple[str, list[dict[str, Any]], str | None]:
        """Text + entities after parse_mode, with Telegram's checks (empty, bad markup, too long)."""
        text = params.get("text")
        if text is None or not str(text).strip():
            raise bad_request("message text is empty")
        text, entities, parse_mode = apply_parse_mode(str(text), params, "entities")
        if not text.strip():
            raise bad_request("message text is empty")
        # Telegram measures what the reader sees (tags gone, &amp; one character) in UTF-16 code units, so
        # an emoji costs two: counting Python characters would pass 4,000 emoji that Telegram refuses.
        if utf16_len(text) > MAX_TEXT_LENGTH:
            raise bad_request("message is too long")
        return text, entities, parse_mode

    def _reply_fields(self, chat: ChatState, params: dict[str, Any]) -> dict[str, Any]:
        """``reply_to_message`` for a sent message (any send method), refused like Telegram refuses it."""
        reply_to = params.get("reply_to_message_id")
        parameters = params.get("reply_parameters")
        if isinstance(parameters, dict):
            reply_to = parameters.get("message_id")
        if reply_to is None:
            return {}
        original = chat.messages.get(as_int(reply_to, "reply_to_message_id"))
        if original is not None:
            return {"reply_to_message": as_reply(original.message)}
        if (isinstance(parameters, dict) and parameters.get("allow_sending_without_reply")) or params.get(
            "allow_sending_without_reply"
        ):
            return {}
        raise bad_request("message to be replied not found")

    async def _send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._lookup_chat(params.get("chat_id"))
        text, entities, parse_mode = self._formatted(params)
        markup = check_reply_markup(params.get("reply_markup"))
        self._writable(chat)
        message: dict[str, Any] = {
            "message_id": chat.take_message_id(),
            "from": self.bot_user(params["_token"]),
            "chat": chat.chat,
            "date": int(time.time()),
            "text": text,
        }
        if entities:
            message["entities"] = entities
        message.update(self._reply_fields(chat, params))
        if inline_keyboard(markup):
            message["reply_markup"] = markup
        chat.messages[message["message_id"]] = StoredMessage(
            message=message,
            from_bot=True,
            parse_mode=parse_mode,
            source=str(params.get("text")),
            keyboard=markup,
        )
        self._notify()
        return message

    def _bot_message(self, params: dict[str, Any], verb: str) -> tuple[ChatState, StoredMessage]:
        if params.get("inline_message_id"):
            raise bad_request(f"message to {verb} not found")
        chat = self._lookup_chat(params.get("chat_id"))
        if params.get("message_id") is None:
            raise bad_request("message identifier is not specified")
        stored = chat.messages.get(as_int(params["message_id"], "message_id"))
        if stored is None:
            raise bad_request(f"message to {verb} not found")
        if not stored.from_bot:
            raise bad_request(f"message can't be {'edited' if verb == 'edit' else 'deleted'}")
        return chat, stored

    async def _edit_message_text(self, params: dict[str, Any]) -> dict[str, Any]:
        chat, stored = self._bot_message(params, "edit")
        if "text" not in stored.message:
            raise bad_request("there is no text in the message to edit")
        text, entities, parse_mode = self._formatted(params)
        inline = inline_keyboard(check_reply_markup(params.get("reply_markup")))
        message = stored.message
        if (
            message.get("text") == text
            and message.get("entities", []) == entities
            and message.get("reply_markup") == inline
        ):
            raise bad_request(NOT_MODIFIED)
        self._writable(chat)
        message["text"] = text
        set_or_drop(message, "entities", entities or None)
        stored.parse_mode = parse_mode
        stored.source = str(params.get("text"))
        # As on Telegram: editing the text without reply_markup removes the inline keyboard.
        return self._edited(stored, inline)

    async def _edit_message_reply_markup(self, params: dict[str, Any]) -> dict[str, Any]:
        chat, stored = self._bot_message(params, "edit")
        inline = inline_keyboard(check_reply_markup(params.get("reply_markup")))
        if stored.message.get("reply_markup") == inline:
            raise bad_request(NOT_MODIFIED)
        self._writable(chat)
        return self._edited(stored, inline)

    def _edited(self, stored: StoredMessage, inline: dict[str, Any] | None) -> dict[str, Any]:
        """What every edit does last: the new inline keyboard (or none) and the edit_date that marks it."""
        message = stored.message
        set_or_drop(message, "reply_markup", inline)
        message["edit_date"] = int(time.time())
        stored.keyboard = inline
        self._notify()
        return message

    async def _delete_message(self, params: dict[str, Any]) -> bool:
        chat, stored = self._bot_message(params, "delete")
        del chat.messages[stored.message["message_id"]]
        self._notify()
        return True

    async def _answer_callback_query(self, params: dict[str, Any]) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        known = self._queries.pop(query_id, None)
        if known is None or time.monotonic() - known[0] > self.callback_ttl:
            raise bad_request(QUERY_TOO_OLD)
        text = params.get("text")
        if text is not None and len(str(text)) > 200:
            raise bad_request("MESSAGE_TOO_LONG")
        self.callback_answers.append(
            {
                "callback_query_id": query_id,
                "chat_id": known[1],
                "text": text,
                "show_alert": bool(params.get("show_alert", False)),
                "url": params.get("url"),
                "at": time.time(),
            }
        )
        self._notify()
        return True

    async def _send_chat_action(self, params: dict[str, Any]) -> bool:
        chat = self._lookup_chat(params.get("chat_id"))
        if params.get("action") not in CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        self._writable(chat)
        return True

    @staticmethod
    def _commands_key(params: dict[str, Any]) -> str:
        scope = params.get("scope") or {"type": "default"}
        if not isinstance(scope, dict) or "type" not in scope:
            raise bad_request("can't parse BotCommandScope JSON object")
        language = params.get("language_code") or ""
        return json.dumps(scope, sort_keys=True) + "|" + str(language)

    async def _set_my_commands(self, params: dict[str, Any]) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise bad_request("can't parse commands JSON object")
        if len(commands) > 100:
            raise bad_request("too many commands")
        for command in commands:
            if not isinstance(command, dict):
                raise bad_request("can't parse BotCommand JSON object")
            if not re.fullmatch(r"[a-z0-9_]{1,32}", str(command.get("command", ""))):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", "")).strip()) <= 256:
                raise bad_request(
                    "command description is empty"
                    if not command.get("description")
                    else "BOT_COMMAND_DESCRIPTION_INVALID"
                )
        key = self._commands_key(params)
        self.commands[key] = [{"command": c["command"], "description": c["description"]} for c in commands]
        return True

    async def _get_my_commands(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        return self.commands.get(self._commands_key(params), [])

    async def _delete_my_commands(self, params: dict[str, Any]) -> bool:
        self.commands.pop(self._commands_key(params), None)
        return True

    # ----------------------------------------------------------------- webhook delivery

    async def _deliver_webhooks(self) -> None:
        """Posts pending updates, oldest first, to the webhook; a failed delivery is retried with backoff."""
        backoff = 0.1
        while not self._closing:
            hook = self._webhook
            if hook is None or not self.updates or self._session is None:
                await self._wait_change(5.0)
                continue
            update = self.updates[0]
            headers = {"Content-Type": "application/json"}
            if hook.secret_token:
                headers["X-Telegram-Bot-Api-Secret-Token"] = hook.secret_token
            error: str | None = None
            try:
                async with self._session.post(
                    hook.url,
                    data=json.dumps(update, ensure_ascii=False),
                    headers=headers,
                    allow_redirects=False,
                ) as response:
                    await response.read()
                    if not 200 <= response.status < 300:
                        error = f"Wrong response from the webhook: {response.status} {response.reason}"
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # any transport failure is a delivery error Telegram would report
                error = f"Connection error: {type(exc).__name__}: {exc}"
            if error is None:
                if self.updates and self.updates[0] is update:
                    self.updates.pop(0)
                backoff = 0.1
                self._notify()
                continue
            hook.last_error_date = int(time.time())
            hook.last_error_message = error
            log.info("sandbox webhook delivery failed (retry in %.1fs): %s", backoff, error)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 5.0)
