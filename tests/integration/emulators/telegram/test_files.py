"""Files: uploads as multipart, file_id reuse, media groups, getFile and downloads."""

from __future__ import annotations

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import BufferedInputFile, InputMediaDocument, InputMediaPhoto
from aiohttp import ClientSession

from okdesk_bot.emulators.telegram import DEFAULT_TOKEN, EmulatedUser, TelegramEmulator
from okdesk_bot.emulators.telegram.users import SAMPLE_PHOTO

ALICE = 1001


async def test_photo_upload_round_trips_through_get_file_and_download(
    bot: Bot, alice: EmulatedUser
) -> None:
    sent = await bot.send_photo(
        ALICE,
        BufferedInputFile(SAMPLE_PHOTO, "chart.png"),
        caption="<i>График</i>",
        parse_mode="HTML",
    )

    assert sent.photo is not None
    assert sent.caption == "График"
    file = await bot.get_file(sent.photo[-1].file_id)
    assert file.file_path is not None
    downloaded = await bot.download_file(file.file_path)
    assert downloaded is not None
    assert downloaded.read() == SAMPLE_PHOTO
    [seen] = alice.bot_messages()
    assert (seen.caption, seen.source) == ("График", "<i>График</i>")


JPEG_800X600 = (
    bytes.fromhex("FFD8FFE000104A46494600010100000100010000")  # SOI, JFIF header
    + bytes.fromhex("FFC00011080258032003012200021101031101")  # SOF0: 600 x 800
    + bytes.fromhex("FFD9")
)


@pytest.mark.parametrize(("picture", "size"), [(SAMPLE_PHOTO, (2, 2)), (JPEG_800X600, (800, 600))])
async def test_photo_sizes_are_read_from_the_image(
    bot: Bot, alice: EmulatedUser, picture: bytes, size: tuple[int, int]
) -> None:
    sent = await bot.send_photo(ALICE, BufferedInputFile(picture, "picture"))

    assert sent.photo is not None
    assert (sent.photo[-1].width, sent.photo[-1].height) == size


async def test_document_upload_keeps_name_and_type_and_can_be_resent_by_file_id(
    bot: Bot, alice: EmulatedUser
) -> None:
    first = await bot.send_document(ALICE, BufferedInputFile(b"id;title\n1;x\n", "issues.csv"))
    assert first.document is not None

    again = await bot.send_document(ALICE, first.document.file_id, caption="ещё раз")

    assert (first.document.file_name, first.document.mime_type) == ("issues.csv", "text/csv")
    assert again.document is not None
    assert again.document.file_id == first.document.file_id
    with pytest.raises(TelegramBadRequest, match="wrong file identifier"):
        await bot.send_document(ALICE, "no-such-file-id")


async def test_caption_is_limited_to_1024_characters(bot: Bot, alice: EmulatedUser) -> None:
    photo = BufferedInputFile(SAMPLE_PHOTO, "p.png")

    with pytest.raises(TelegramBadRequest, match="message caption is too long"):
        await bot.send_photo(ALICE, photo, caption="x" * 1025)
    assert (await bot.send_photo(ALICE, photo, caption="x" * 1024)).caption == "x" * 1024


async def test_media_group_sends_one_message_per_item_with_a_shared_group_id(
    bot: Bot, alice: EmulatedUser
) -> None:
    messages = await bot.send_media_group(
        ALICE,
        [
            InputMediaPhoto(media=BufferedInputFile(SAMPLE_PHOTO, "a.png"), caption="Фото"),
            InputMediaPhoto(media=BufferedInputFile(SAMPLE_PHOTO, "b.png")),
        ],
    )

    assert len(messages) == 2
    assert messages[0].media_group_id == messages[1].media_group_id is not None
    assert [m.caption for m in alice.bot_messages()] == ["Фото", None]
    with pytest.raises(TelegramBadRequest, match="can't be mixed"):
        await bot.send_media_group(
            ALICE,
            [
                InputMediaPhoto(media=BufferedInputFile(SAMPLE_PHOTO, "a.png")),
                InputMediaDocument(media=BufferedInputFile(b"doc", "a.txt")),
            ],
        )


async def test_files_over_20_mb_cannot_be_downloaded_by_bots(
    bot: Bot, alice: EmulatedUser
) -> None:
    big = await alice.send_document(bytes(20 * 1024 * 1024 + 1), "video.mp4")

    with pytest.raises(TelegramBadRequest, match="file is too big"):
        await bot.get_file(big.media["document"]["file_id"])


async def test_download_needs_a_valid_token_and_an_existing_path(
    emulator: TelegramEmulator, alice: EmulatedUser
) -> None:
    await alice.send_photo()
    base = emulator.base_url
    async with ClientSession() as http:
        good = await http.get(f"{base}/file/bot{DEFAULT_TOKEN}/photos/file_1.jpg")
        content = await good.read()
        missing = await http.get(f"{base}/file/bot{DEFAULT_TOKEN}/photos/file_9.jpg")
        stranger = await http.get(f"{base}/file/bot1:other/photos/file_1.jpg")

    assert (good.status, content) == (200, SAMPLE_PHOTO)
    assert missing.status == 404
    assert stranger.status == 401
