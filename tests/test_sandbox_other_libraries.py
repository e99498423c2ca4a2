"""An integrator points another library at the sandbox: python-telegram-bot 22 drives it.

Each call here once broke under python-telegram-bot or pyTelegramBotAPI (issue 18, item 9):
getChat's gift types, the Markdown parse modes, forwarding, copying, albums, pins, reactions,
the bot's name, an unknown method, the sizes of a photo; and the people's API answering 500.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from typing import Any

import pytest
import telegram
from aiohttp import ClientSession
from PIL import Image
from telegram import (
    InputMediaDocument,
    InputMediaPhoto,
    MessageEntity,
    MessageOriginUser,
    ReactionTypeEmoji,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.request import HTTPXRequest

from sandbox.app import Sandbox, SandboxConfig, running_sandbox

TOKEN = "7000000001:other-library"
ANNA, BORIS = 42, 43


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with running_sandbox(SandboxConfig(port=0, smtp_port=0, bot_token=TOKEN)) as running:
        yield running


@pytest.fixture
async def http(sandbox: Sandbox) -> AsyncIterator[ClientSession]:
    async with ClientSession() as session:
        for user in (ANNA, BORIS):
            async with session.post(
                f"{sandbox.url}/sandbox/api/users", json={"id": user, "first_name": f"U{user}"}
            ) as response:
                assert response.status == 201
        yield session


@pytest.fixture
async def ptb(sandbox: Sandbox, http: ClientSession) -> AsyncIterator[telegram.Bot]:
    """python-telegram-bot as an integrator would set it up (no proxies from the environment)."""
    request = HTTPXRequest(httpx_kwargs={"trust_env": False})
    bot = telegram.Bot(
        TOKEN,
        base_url=f"{sandbox.url}/bot",
        base_file_url=f"{sandbox.url}/file/bot",
        request=request,
        get_updates_request=HTTPXRequest(httpx_kwargs={"trust_env": False}),
    )
    async with bot:  # initialize() calls getMe
        yield bot


def picture(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (30, 120, 200)).save(buffer, "PNG")
    return buffer.getvalue()


async def test_get_chat_parses_in_python_telegram_bot(ptb: telegram.Bot) -> None:
    chat = await ptb.get_chat(ANNA)
    assert chat.id == ANNA and chat.type == "private"
    assert chat.accepted_gift_types.gifts_from_channels is False
    assert chat.pinned_message is None


async def test_markdown_v2_and_markdown_become_entities(ptb: telegram.Bot) -> None:
    sent = await ptb.send_message(
        ANNA,
        r"*Долг* _544 ₽_ __до 1\.12__ ~старый~ ||код|| [оплатить](https://pay.example/1) `id\`1`",
        parse_mode=ParseMode.MARKDOWN_V2,
    )
    assert sent.text == "Долг 544 ₽ до 1.12 старый код оплатить id`1"
    assert [(e.type, e.offset, e.length) for e in sent.entities] == [
        (MessageEntity.BOLD, 0, 4),
        (MessageEntity.ITALIC, 5, 5),
        (MessageEntity.UNDERLINE, 11, 7),
        (MessageEntity.STRIKETHROUGH, 19, 6),
        (MessageEntity.SPOILER, 26, 3),
        (MessageEntity.TEXT_LINK, 30, 8),
        (MessageEntity.CODE, 39, 4),
    ]
    assert sent.entities[5].url == "https://pay.example/1"
    quoted = await ptb.send_message(
        ANNA, ">цитата\n>дальше\nпосле", parse_mode=ParseMode.MARKDOWN_V2
    )
    assert quoted.text == "цитата\nдальше\nпосле"
    assert [(e.type, e.offset, e.length) for e in quoted.entities] == [
        (MessageEntity.BLOCKQUOTE, 0, 13)
    ]
    code = await ptb.send_message(
        ANNA,
        "```python\nprint(1)```\n**>скрыто\n>ещё||\n*a _b_ c*",
        parse_mode=ParseMode.MARKDOWN_V2,
    )
    assert code.text == "print(1)\nскрыто\nещё\na b c"
    assert [(e.type, e.offset, e.length, e.language) for e in code.entities] == [
        (MessageEntity.PRE, 0, 8, "python"),
        (MessageEntity.EXPANDABLE_BLOCKQUOTE, 9, 10, None),
        (MessageEntity.BOLD, 20, 5, None),
        (MessageEntity.ITALIC, 22, 1, None),
    ]
    with pytest.raises(BadRequest, match=r"(?i)character '\.' is reserved"):
        await ptb.send_message(ANNA, "Итого 1.5", parse_mode=ParseMode.MARKDOWN_V2)
    with pytest.raises(BadRequest, match=r"(?i)can't find end of bold entity at byte offset 0"):
        await ptb.send_message(ANNA, "*жирный", parse_mode=ParseMode.MARKDOWN_V2)

    legacy = await ptb.send_message(
        ANNA, "*bold* _italic_ [link](https://example.org) snake\\_case 1.5", parse_mode="Markdown"
    )
    assert legacy.text == "bold italic link snake_case 1.5"
    assert [e.type for e in legacy.entities] == ["bold", "italic", "text_link"]
    caption = await ptb.send_document(
        ANNA, b"%PDF-1.4", filename="a.pdf", caption="*Полис*", parse_mode="MarkdownV2"
    )
    assert caption.caption == "Полис" and caption.caption_entities[0].type == "bold"


async def test_forward_copy_pin_and_react(
    ptb: telegram.Bot, sandbox: Sandbox, http: ClientSession
) -> None:
    original = await ptb.send_message(ANNA, "<b>Полис</b> ONDL-500001", parse_mode="HTML")
    forwarded = await ptb.forward_message(BORIS, from_chat_id=ANNA, message_id=original.id)
    assert forwarded.chat.id == BORIS and forwarded.text == "Полис ONDL-500001"
    assert isinstance(forwarded.forward_origin, MessageOriginUser)
    assert forwarded.forward_origin.sender_user.id == ptb.id
    assert forwarded.entities[0].type == "bold"

    document = await ptb.send_document(ANNA, b"%PDF-1.4", filename="p.pdf", caption="старый")
    copied = await ptb.copy_message(
        BORIS, from_chat_id=ANNA, message_id=document.id, caption="новый"
    )
    stored = sandbox.state.message(BORIS, copied.message_id)
    assert stored is not None and stored.api["caption"] == "новый"
    assert stored.api["document"]["file_id"] == document.document.file_id
    assert "forward_origin" not in stored.api
    with pytest.raises(BadRequest, match=r"(?i)message to copy not found"):
        await ptb.copy_message(BORIS, from_chat_id=ANNA, message_id=9999)

    assert await ptb.pin_chat_message(ANNA, original.id)
    chat = await ptb.get_chat(ANNA)
    assert chat.pinned_message is not None and chat.pinned_message.id == original.id
    assert await ptb.unpin_chat_message(ANNA)
    assert (await ptb.get_chat(ANNA)).pinned_message is None

    assert await ptb.set_message_reaction(ANNA, original.id, [ReactionTypeEmoji("👍")])
    assert sandbox.state.message(ANNA, original.id).reactions == [  # type: ignore[union-attr]
        {"type": "emoji", "emoji": "👍"}
    ]
    with pytest.raises(BadRequest, match=r"(?i)reaction_invalid"):
        await ptb.set_message_reaction(ANNA, original.id, "🦖")

    async def seen_by(user: int) -> dict[int, dict[str, Any]]:  # what the web chat shows
        async with http.get(f"{sandbox.url}/sandbox/api/users/{user}/messages") as response:
            return {m["message_id"]: m for m in (await response.json())["messages"]}

    assert (await seen_by(ANNA))[original.id]["reactions"] == [{"type": "emoji", "emoji": "👍"}]
    assert (await seen_by(BORIS))[forwarded.id]["forward_origin"]["sender_user"]["id"] == ptb.id


async def test_albums_and_photo_sizes(ptb: telegram.Bot, sandbox: Sandbox) -> None:
    caption_document = await ptb.send_document(ANNA, b"%PDF-1.4", filename="a.pdf")
    photo = await ptb.send_photo(ANNA, picture(1000, 750), caption="скан")
    sizes = [(size.width, size.height) for size in photo.photo]
    assert sizes == [(90, 68), (320, 240), (800, 600), (1000, 750)]
    assert len({size.file_id for size in photo.photo}) == 4
    largest = await (await ptb.get_file(photo.photo[-1].file_id)).download_as_bytearray()
    with Image.open(io.BytesIO(bytes(largest))) as image:
        assert image.size == (1000, 750)
    again = await ptb.send_photo(BORIS, photo.photo[-1].file_id)  # by file_id: the same sizes
    assert [s.file_id for s in again.photo] == [s.file_id for s in photo.photo]
    small = await ptb.send_photo(ANNA, picture(60, 40))
    assert [(s.width, s.height) for s in small.photo] == [(60, 40)]
    with pytest.raises(BadRequest, match=r"(?i)image_process_failed"):
        await ptb.send_photo(ANNA, b"not a picture")
    # A photo kept by an older sandbox as one file: resent with its one real size.
    old = sandbox.state.store_file(picture(640, 480), "old.png", "image/png", "photo")
    resent = await ptb.send_photo(ANNA, old.file_id)
    assert [(s.file_id, s.width, s.height) for s in resent.photo] == [(old.file_id, 640, 480)]
    with pytest.raises(BadRequest, match=r"(?i)can't use file of type document as photo"):
        await ptb.send_photo(ANNA, caption_document.document.file_id)

    album = await ptb.send_media_group(
        ANNA,
        [
            InputMediaPhoto(picture(400, 300), caption="*раз*", parse_mode="MarkdownV2"),
            InputMediaPhoto(photo.photo[-1].file_id),
        ],
    )
    assert len(album) == 2 and album[0].media_group_id == album[1].media_group_id
    assert album[0].caption == "раз" and album[0].caption_entities[0].type == "bold"
    assert (album[0].photo[-1].width, album[0].photo[-1].height) == (400, 300)
    files = await ptb.send_media_group(
        ANNA,
        [
            InputMediaDocument(b"%PDF-1.4 a", filename="a.pdf"),
            InputMediaDocument(b"%PDF-1.4 b", filename="b.pdf"),
        ],
    )
    assert [m.document.file_name for m in files] == ["a.pdf", "b.pdf"]
    with pytest.raises(BadRequest, match=r"(?i)can't be mixed"):
        await ptb.send_media_group(
            ANNA,
            [InputMediaPhoto(picture(10, 10)), InputMediaDocument(b"x", filename="x.pdf")],
        )


async def test_the_bots_name_and_an_unknown_method(
    ptb: telegram.Bot, sandbox: Sandbox, http: ClientSession
) -> None:
    assert (await ptb.get_my_name()).name == "ДМС Кабинет"
    assert await ptb.set_my_name("DMS cabinet", language_code="en")
    assert (await ptb.get_my_name(language_code="en")).name == "DMS cabinet"
    assert (await ptb.get_my_name(language_code="ru")).name == "ДМС Кабинет"

    async with http.post(f"{sandbox.url}/bot{TOKEN}/sendTelepathy", json={}) as response:
        assert response.status == 404
        assert await response.json() == {"ok": False, "error_code": 404, "description": "Not Found"}


@pytest.mark.parametrize("message_id", [None, "abc", True, [1]])
async def test_the_peoples_api_answers_400_for_a_bad_message_id(
    ptb: telegram.Bot, sandbox: Sandbox, http: ClientSession, message_id: Any
) -> None:
    await ptb.send_message(ANNA, "вопрос")
    async with http.post(
        f"{sandbox.url}/sandbox/api/users/{ANNA}/callbacks",
        json={"message_id": message_id, "data": "yes"},
    ) as response:
        assert response.status == 400
        assert await response.json() == {"error": "message_id must be an integer"}


async def test_a_person_sends_a_photo_in_its_real_sizes(
    ptb: telegram.Bot, sandbox: Sandbox, http: ClientSession
) -> None:
    from aiohttp import FormData

    form = FormData()
    form.add_field("photo", picture(1600, 1200), filename="scan.png", content_type="image/png")
    async with http.post(f"{sandbox.url}/sandbox/api/users/{ANNA}/messages", data=form) as response:
        assert response.status == 200
    [update] = await ptb.get_updates(timeout=0)
    assert update.message is not None
    assert [(s.width, s.height) for s in update.message.photo] == [
        (90, 68),
        (320, 240),
        (800, 600),
        (1280, 960),
    ]
