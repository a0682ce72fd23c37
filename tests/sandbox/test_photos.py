"""``sendPhoto`` as python-telegram-bot sends it (multipart upload, or a file_id) and as Telegram answers it:
the report's charts reach an officer this way, so the sandbox must refuse what Telegram refuses."""

from __future__ import annotations

import struct
import zlib

import httpx
import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import BadRequest

from sandbox.client import AsyncControlClient, ControlError
from sandbox.photos import PhotoStore, image_size
from sandbox.server import LocalBotApi
from tests.sandbox.conftest import RESIDENT, TOKEN


def png(width: int, height: int) -> bytes:
    """A real (decodable) PNG: white, 8-bit greyscale; the page test shows it in a browser."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\xff" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    body = chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + body


def jpeg_header(width: int, height: int) -> bytes:
    """SOI, an APP0 segment, then SOF0 with the size: what the sandbox reads of a JPEG."""
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof0 = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + app0 + sof0 + b"\xff\xd9"


async def test_an_uploaded_png_comes_back_as_a_photo_with_its_caption_and_keyboard(
    bot: Bot, control: AsyncControlClient
) -> None:
    await control.send_text(RESIDENT, "报表")
    picture = png(64, 48)
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("下一张 next", callback_data="s:next")]])
    sent = await bot.send_photo(
        RESIDENT,
        picture,
        caption="<b>本周</b> 趋势 😀 <i>trend</i>",
        parse_mode=ParseMode.HTML,
        reply_markup=keyboard,
    )
    largest = sent.photo[-1]
    assert (largest.width, largest.height, largest.file_size) == (64, 48, len(picture))
    assert largest.file_id and largest.file_unique_id
    assert sent.caption == "本周 趋势 😀 trend"
    assert [(e.type, e.offset, e.length) for e in sent.caption_entities] == [
        ("bold", 0, 2),
        ("italic", 9, 5),
    ]  # the emoji counts 2 (UTF-16)
    assert sent.text is None and sent.reply_markup == keyboard
    [_, shown] = await control.messages(RESIDENT)
    assert (shown["kind"], shown["photo"], shown["text"]) == ("photo", largest.file_id, sent.caption)
    assert shown["entities"][0]["type"] == "bold"
    assert await control.photo(largest.file_id) == ("image/png", picture)


async def test_a_jpeg_is_measured_from_its_header_and_a_file_id_sends_it_again(
    bot: Bot, control: AsyncControlClient
) -> None:
    await control.send_text(RESIDENT, "hi")
    first = await bot.send_photo(RESIDENT, jpeg_header(1280, 720))
    assert (first.photo[-1].width, first.photo[-1].height) == (1280, 720)
    again = await bot.send_photo(RESIDENT, first.photo[-1].file_id, caption="again")
    assert again.photo[-1].file_unique_id == first.photo[-1].file_unique_id
    assert again.caption == "again" and not again.caption_entities
    content_type, _ = await control.photo(first.photo[-1].file_id)
    assert content_type == "image/jpeg"
    with pytest.raises(BadRequest, match="Wrong file identifier/http url specified"):
        await bot.send_photo(RESIDENT, "SANDBOX-photo-nothing-like-this")


async def test_a_caption_over_1024_utf16_units_is_refused(bot: Bot, control: AsyncControlClient) -> None:
    await control.send_text(RESIDENT, "hi")
    assert (await bot.send_photo(RESIDENT, png(2, 2), caption="x" * 1024)).caption == "x" * 1024
    for caption in ("x" * 1025, "😀" * 513, "<b>" + "x" * 1025 + "</b>"):
        with pytest.raises(BadRequest, match="Message caption is too long"):
            await bot.send_photo(RESIDENT, png(2, 2), caption=caption, parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match="Can't parse entities"):
        await bot.send_photo(RESIDENT, png(2, 2), caption="<b>open", parse_mode=ParseMode.HTML)


async def test_what_is_not_a_png_or_jpeg_is_refused_like_telegram(
    bot: Bot, api: LocalBotApi, control: AsyncControlClient
) -> None:
    await control.send_text(RESIDENT, "hi")
    for data in (b"%PDF-1.7 not a picture", b"\x89PNG\r\n\x1a\n", b"GIF89a" + b"\x00" * 20):
        with pytest.raises(BadRequest, match="Image_process_failed"):
            await bot.send_photo(RESIDENT, data)
    async with httpx.AsyncClient(trust_env=False) as client:
        response = await client.post(
            f"{api.url}/bot{TOKEN}/sendPhoto",
            data={"chat_id": str(RESIDENT)},
            files={"photo": ("evil.png", b"<script>alert(1)</script>", "image/png")},
        )
    assert response.status_code == 400
    assert response.json() == {
        "ok": False,
        "error_code": 400,
        "description": "Bad Request: IMAGE_PROCESS_FAILED",
    }
    assert len(await control.messages(RESIDENT, from_bot=True)) == 0
    with pytest.raises(BadRequest, match="Photo_invalid_dimensions"):
        await bot.send_photo(RESIDENT, png(400, 10))  # a ratio over 20


async def test_the_call_log_shows_the_upload_not_its_bytes(bot: Bot, control: AsyncControlClient) -> None:
    await control.send_text(RESIDENT, "hi")
    await bot.send_photo(RESIDENT, png(3, 3), caption="c")
    [call] = await control.calls("sendPhoto")
    assert call["params"]["photo"]["bytes"] == len(png(3, 3))
    assert call["params"]["caption"] == "c" and call["params"]["chat_id"] == RESIDENT


async def test_a_photo_message_has_no_text_to_edit_and_unknown_photos_are_404(
    bot: Bot, control: AsyncControlClient
) -> None:
    await control.send_text(RESIDENT, "hi")
    sent = await bot.send_photo(RESIDENT, png(4, 4))
    with pytest.raises(BadRequest, match="There is no text in the message to edit"):
        await bot.edit_message_text("new", RESIDENT, sent.message_id)
    with pytest.raises(ControlError) as missing:
        await control.photo("SANDBOX-photo-unknown")
    assert missing.value.status == 404


def test_the_photo_store_keeps_the_newest_within_both_bounds() -> None:
    store = PhotoStore(max_photos=2, max_bytes=10_000)
    first, second, third = (store.add(png(n, n), n, n, "image/png") for n in (5, 6, 7))
    assert store.get(first.file_id) is None and store.get(third.file_id) is third and len(store) == 2
    assert store.add(png(6, 6), 6, 6, "image/png").file_id == second.file_id  # same bytes, same file
    big = store.add(b"x" * 9_990, 1, 1, "image/png")  # with either of the others: over 10,000 bytes
    assert len(store) == 1 and store.get(big.file_id) is big and store.total_bytes == 9_990


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (png(7, 3), (7, 3, "image/png")),
        (jpeg_header(30, 20), (30, 20, "image/jpeg")),
        (jpeg_header(30, 20)[:8], None),  # cut off before the frame
        (b"\xff\xd8\xff\xe0\x00\x01", None),  # a segment length that would loop forever
        (b"", None),
    ],
)
def test_image_size_reads_png_and_jpeg_headers(data: bytes, expected: tuple[int, int, str] | None) -> None:
    assert image_size(data) == expected
