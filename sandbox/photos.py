"""``sendPhoto`` and the photos the bot sent: the station report's charts go to an officer as photos, so the
sandbox takes the upload as Telegram does (multipart, or the file_id of a photo it already holds), refuses
what Telegram refuses, and keeps the bytes so the sandbox page can show the picture in the chat.

The bytes live in memory, newest kept: a long play session must not grow the process without end, and a
photo dropped from the store only loses its picture on the page, never the message.
"""

from __future__ import annotations

import hashlib
import struct
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from sandbox.bot_methods import apply_parse_mode
from sandbox.markup import utf16_len
from sandbox.protocol import bad_request, check_reply_markup
from sandbox.state import StoredMessage, inline_keyboard

MAX_CAPTION_LENGTH = 1024  # UTF-16 code units after entity parsing, like a message's 4096
MAX_PHOTO_BYTES = 10 * 1024 * 1024  # Bot API: "The photo must be at most 10 MB in size"
MAX_SIDES = 10_000  # "width and height must not exceed 10000 in total"
MAX_RATIO = 20  # "Width and height ratio must be at most 20"
KEEP_PHOTOS = 200
KEEP_BYTES = 50 * 1024 * 1024
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"
# JPEG start-of-frame markers (the ones carrying the size); C4, C8 and CC are other segments.
_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_STANDALONE = frozenset(range(0xD0, 0xDA)) | {0x01}


@dataclass(frozen=True)
class Upload:
    """A file part of a multipart request. The call log shows :meth:`logged` instead: bytes in a JSON
    log would make ``/control/calls`` unreadable (and huge)."""

    filename: str | None
    content_type: str | None
    data: bytes

    def logged(self) -> dict[str, Any]:
        return {"upload": self.filename, "content_type": self.content_type, "bytes": len(self.data)}


@dataclass(frozen=True)
class StoredPhoto:
    file_id: str
    file_unique_id: str
    width: int
    height: int
    mime_type: str
    data: bytes

    def photo_size(self) -> dict[str, Any]:
        """The PhotoSize of the Bot API (every field, file_size included)."""
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "width": self.width,
            "height": self.height,
            "file_size": len(self.data),
        }


def image_size(data: bytes) -> tuple[int, int, str] | None:
    """(width, height, MIME type) from a PNG or JPEG header; None for anything else.

    Read from the header rather than trusted from the client's content type: Telegram decodes the picture
    itself and refuses what is not one, whatever the upload claims to be.
    """
    if data.startswith(PNG_MAGIC) and len(data) >= 24 and data[12:16] == b"IHDR":
        width, height = struct.unpack(">II", data[16:24])
        return (width, height, "image/png") if width and height else None
    if not data.startswith(JPEG_MAGIC):
        return None
    at = 2
    while at + 4 <= len(data):
        if data[at] != 0xFF:
            return None
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte before a marker
            at += 1
            continue
        if marker in _STANDALONE:
            at += 2
            continue
        (length,) = struct.unpack(">H", data[at + 2 : at + 4])
        if marker in _SOF:
            if at + 9 > len(data):
                return None
            height, width = struct.unpack(">HH", data[at + 5 : at + 9])
            return (width, height, "image/jpeg") if width and height else None
        if length < 2:
            return None
        at += 2 + length
    return None


class PhotoStore:
    """The bytes of photos sent to the sandbox, by file_id; the oldest go first past either bound."""

    def __init__(self, max_photos: int = KEEP_PHOTOS, max_bytes: int = KEEP_BYTES) -> None:
        self.max_photos = max_photos
        self.max_bytes = max_bytes
        self._photos: OrderedDict[str, StoredPhoto] = OrderedDict()
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._photos)

    @property
    def total_bytes(self) -> int:
        return self._bytes

    def add(self, data: bytes, width: int, height: int, mime_type: str) -> StoredPhoto:
        """Stores ``data``; the same bytes again keep their ids (one file, as on Telegram), now newest."""
        digest = hashlib.sha256(data).hexdigest()
        photo = StoredPhoto(f"SANDBOX-photo-{digest[:32]}", digest[:16], width, height, mime_type, data)
        if self._photos.pop(photo.file_id, None) is not None:
            self._bytes -= len(data)
        self._photos[photo.file_id] = photo
        self._bytes += len(data)
        while len(self._photos) > 1 and (len(self._photos) > self.max_photos or self._bytes > self.max_bytes):
            _, dropped = self._photos.popitem(last=False)
            self._bytes -= len(dropped.data)
        return photo

    def get(self, file_id: str) -> StoredPhoto | None:
        return self._photos.get(file_id)


def checked_photo(value: Any, photos: PhotoStore) -> StoredPhoto:
    """The photo a ``sendPhoto`` names: an upload (checked and stored) or a file_id the sandbox holds."""
    if isinstance(value, Upload):
        if len(value.data) > MAX_PHOTO_BYTES:
            raise bad_request("PHOTO_SAVE_FILE_INVALID")
        size = image_size(value.data)
        if size is None:
            raise bad_request("IMAGE_PROCESS_FAILED")
        width, height, mime_type = size
        if width + height > MAX_SIDES or max(width, height) > MAX_RATIO * min(width, height):
            raise bad_request("PHOTO_INVALID_DIMENSIONS")
        return photos.add(value.data, width, height, mime_type)
    if value is None or value == "":
        raise bad_request("there is no photo in the request")
    text = str(value)
    if text.startswith(("http://", "https://")):
        # The sandbox never fetches from the network; Telegram says this when a URL cannot be read.
        raise bad_request("failed to get HTTP URL content")
    stored = photos.get(text)
    if stored is None:
        raise bad_request("wrong file identifier/HTTP URL specified")
    return stored


def caption_of(params: dict[str, Any]) -> tuple[str, list[dict[str, Any]], str | None]:
    """The caption after parse_mode (empty is allowed, unlike a message's text) and its length check."""
    raw = "" if params.get("caption") is None else str(params["caption"])
    caption, entities, parse_mode = apply_parse_mode(raw, params, "caption_entities")
    if utf16_len(caption) > MAX_CAPTION_LENGTH:
        raise bad_request("message caption is too long")
    return caption, entities, parse_mode


class PhotoMethods:
    """``sendPhoto`` and ``GET /control/photos/<file_id>``; a mixin of :class:`sandbox.server.LocalBotApi`
    (whose chats, :class:`PhotoStore` and send helpers it uses)."""

    photos: PhotoStore

    async def _send_photo(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._lookup_chat(params.get("chat_id"))  # type: ignore[attr-defined]
        caption, entities, parse_mode = caption_of(params)
        markup = check_reply_markup(params.get("reply_markup"))
        self._writable(chat)  # type: ignore[attr-defined]
        photo = checked_photo(params.get("photo"), self.photos)
        message: dict[str, Any] = {
            "message_id": chat.take_message_id(),
            "from": self.bot_user(params["_token"]),  # type: ignore[attr-defined]
            "chat": chat.chat,
            "date": int(time.time()),
            "photo": [photo.photo_size()],
        }
        if caption:
            message["caption"] = caption
            if entities:
                message["caption_entities"] = entities
            if params.get("show_caption_above_media") is True:
                message["show_caption_above_media"] = True
        if params.get("has_spoiler") is True:
            message["has_media_spoiler"] = True
        message.update(self._reply_fields(chat, params))  # type: ignore[attr-defined]
        if inline_keyboard(markup):
            message["reply_markup"] = markup
        chat.messages[message["message_id"]] = StoredMessage(
            message=message,
            from_bot=True,
            kind="photo",
            parse_mode=parse_mode,
            source=None if params.get("caption") is None else str(params["caption"]),
            keyboard=markup,
        )
        self._notify()  # type: ignore[attr-defined]
        return message

    async def _c_photo(self, request: web.Request) -> web.Response:
        """A photo's bytes for the page's ``<img>``: content-addressed, so the browser may keep them."""
        file_id = request.match_info["file_id"]
        photo = self.photos.get(file_id)
        if photo is None:
            raise web.HTTPNotFound(
                text=f"control API: no photo {file_id!r} (never sent, or dropped: the newest "
                f"{self.photos.max_photos} are kept)"
            )
        return web.Response(
            body=photo.data,
            content_type=photo.mime_type,
            headers={"Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff"},
        )
