"""The sandbox answers like Telegram: aiogram parses its objects and gets Telegram's errors."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramRetryAfter,
    TelegramUnauthorizedError,
)
from aiogram.types import (
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)
from aiohttp import ClientSession, FormData, web

from sandbox.app import Sandbox, SandboxConfig, running_sandbox
from tests.live import PATIENCE, eventually, receiving, serving

TOKEN = "7000000001:botapi-test"
USER = 42


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with running_sandbox(SandboxConfig(port=0, smtp_port=0, bot_token=TOKEN)) as running:
        yield running


@pytest.fixture
async def http() -> AsyncIterator[ClientSession]:
    async with ClientSession() as session:
        yield session


@pytest.fixture
async def bot(sandbox: Sandbox) -> AsyncIterator[Bot]:
    session = AiohttpSession(api=TelegramAPIServer.from_base(sandbox.url))
    bot = Bot(TOKEN, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML))
    yield bot
    await bot.session.close()


async def say(
    http: ClientSession, sandbox: Sandbox, body: dict[str, Any], user: int = USER
) -> dict[str, Any]:
    async with http.post(f"{sandbox.url}/sandbox/api/users/{user}/messages", json=body) as response:
        assert response.status == 200
        return await response.json()


async def test_get_me_and_a_wrong_token(sandbox: Sandbox) -> None:
    async with Bot(
        TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(sandbox.url))
    ) as bot:
        me = await bot.get_me()
    assert me.is_bot and me.username == "dms_cabinet_bot"
    async with Bot(
        "1:wrong", session=AiohttpSession(api=TelegramAPIServer.from_base(sandbox.url))
    ) as other:
        with pytest.raises(TelegramUnauthorizedError):
            await other.get_me()


async def test_updates_long_poll_and_offset(
    bot: Bot, sandbox: Sandbox, http: ClientSession
) -> None:
    waiting = asyncio.create_task(bot.get_updates(timeout=30))  # ends when the update comes
    await asyncio.sleep(0)  # let the long poll start
    await say(
        http, sandbox, {"text": "первое", "from": {"first_name": "Анна", "language_code": "ru"}}
    )
    [first] = await waiting
    assert first.message is not None and first.message.text == "первое"
    assert first.message.from_user is not None and first.message.from_user.language_code == "ru"

    await say(http, sandbox, {"text": "второе"})
    again = await bot.get_updates(offset=first.update_id, timeout=0)
    assert [u.message.text for u in again if u.message] == ["первое", "второе"]
    confirmed = await bot.get_updates(offset=first.update_id + 1, timeout=0)
    assert [u.message.text for u in confirmed if u.message] == ["второе"]
    assert await bot.get_updates(offset=confirmed[-1].update_id + 1, timeout=0) == []


async def test_telegram_errors(bot: Bot, sandbox: Sandbox, http: ClientSession) -> None:
    await say(http, sandbox, {"text": "hi"})
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(999, "x")
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(USER, "я" * 4097)
    await bot.send_message(USER, "я" * 4096)
    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await bot.send_message(USER, "<b>bold")
    with pytest.raises(TelegramBadRequest, match="Unsupported start tag"):
        await bot.send_message(USER, "<div>x</div>")
    with pytest.raises(TelegramBadRequest, match="message text is empty"):
        await bot.send_message(USER, " ")
    wide = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="x", callback_data="d" * 65)]]
    )
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(USER, "x", reply_markup=wide)


async def test_html_becomes_text_and_entities(
    bot: Bot, sandbox: Sandbox, http: ClientSession
) -> None:
    await say(http, sandbox, {"text": "hi"})
    sent = await bot.send_message(
        USER, "<b>Долг</b>: 544 ₽ &lt;ok&gt; <a href='https://example.org'>оплатить</a>"
    )
    assert sent.text == "Долг: 544 ₽ <ok> оплатить"
    assert sent.entities is not None
    assert [(e.type, e.offset, e.length) for e in sent.entities] == [
        ("bold", 0, 4),
        ("text_link", 17, 8),
    ]


async def test_keyboards_edits_and_callback_answers(
    bot: Bot, sandbox: Sandbox, http: ClientSession
) -> None:
    await say(http, sandbox, {"text": "hi"})
    reply = ReplyKeyboardMarkup(
        keyboard=[[KeyboardButton(text="📍", request_location=True)]], resize_keyboard=True
    )
    await bot.send_message(USER, "menu", reply_markup=reply)
    assert sandbox.state.chats[USER].reply_keyboard is not None
    await bot.send_message(USER, "gone", reply_markup=ReplyKeyboardRemove())
    assert sandbox.state.chats[USER].reply_keyboard is None

    markup = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="Да", callback_data="yes")]]
    )
    sent = await bot.send_message(USER, "вопрос", reply_markup=markup)
    async with http.post(
        f"{sandbox.url}/sandbox/api/users/{USER}/callbacks",
        json={"message_id": sent.message_id, "button": "Да"},
    ) as response:
        tapped = await response.json()
    updates = await bot.get_updates(timeout=0)
    query = updates[-1].callback_query
    assert query is not None and query.data == "yes" and query.id == tapped["callback_query_id"]
    assert await bot.answer_callback_query(query.id, text="Принято")
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query(query.id)

    edited = await bot.edit_message_text("ответ", chat_id=USER, message_id=sent.message_id)
    assert (
        not isinstance(edited, bool)
        and edited.edit_date is not None
        and edited.reply_markup is None
    )
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text("ответ", chat_id=USER, message_id=sent.message_id)
    assert await bot.delete_message(USER, sent.message_id)
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text("x", chat_id=USER, message_id=sent.message_id)


async def test_documents_round_trip(bot: Bot, sandbox: Sandbox, http: ClientSession) -> None:
    await say(http, sandbox, {"text": "hi"})
    sent = await bot.send_document(
        USER, BufferedInputFile(b"%PDF-1.4 policy", filename="policy.pdf"), caption="Полис"
    )
    assert sent.document is not None and sent.document.file_name == "policy.pdf"
    assert sent.document.mime_type == "application/pdf"
    downloaded = await bot.download(sent.document.file_id)
    assert downloaded is not None and downloaded.read() == b"%PDF-1.4 policy"
    again = await bot.send_document(USER, sent.document.file_id)  # resend by file_id
    assert again.document is not None and again.document.file_id == sent.document.file_id

    data = FormData()
    data.add_field("document", b"\x89PNG fake", filename="scan.png", content_type="image/png")
    async with http.post(f"{sandbox.url}/sandbox/api/users/{USER}/messages", data=data) as response:
        assert response.status == 200
    [update] = [u for u in await bot.get_updates(timeout=0) if u.message and u.message.document]
    assert update.message is not None and update.message.document is not None
    uploaded = await bot.download(update.message.document.file_id)
    assert uploaded is not None and uploaded.read() == b"\x89PNG fake"


async def test_blocked_user_gives_403_and_a_member_update(
    bot: Bot, sandbox: Sandbox, http: ClientSession
) -> None:
    await say(http, sandbox, {"text": "hi"})
    async with http.post(f"{sandbox.url}/sandbox/api/users/{USER}/block", json={"blocked": True}):
        pass
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(USER, "x")
    updates = await bot.get_updates(timeout=0)
    member = updates[-1].my_chat_member
    assert member is not None and member.new_chat_member.status == "kicked"


async def test_flood_limits_answer_429(bot: Bot, sandbox: Sandbox, http: ClientSession) -> None:
    await say(http, sandbox, {"text": "hi"})
    async with http.post(f"{sandbox.url}/sandbox/api/settings", json={"flood_limits": True}):
        pass
    await bot.send_message(USER, "one")
    with pytest.raises(TelegramRetryAfter) as error:
        await bot.send_message(USER, "two")  # 1 message per second per chat
    assert error.value.retry_after == 1


async def test_forum_topics_in_the_operators_group(
    bot: Bot, sandbox: Sandbox, http: ClientSession
) -> None:
    group = -1001234
    async with http.post(
        f"{sandbox.url}/sandbox/api/groups",
        json={"id": group, "title": "Operators", "is_forum": True},
    ):
        pass
    topic = await bot.create_forum_topic(group, "Обращение № 1")
    sent = await bot.send_message(
        group, "Новое обращение", message_thread_id=topic.message_thread_id
    )
    assert sent.message_thread_id == topic.message_thread_id and sent.chat.is_forum
    with pytest.raises(TelegramBadRequest, match="message thread not found"):
        await bot.send_message(group, "x", message_thread_id=9999)

    body = {
        "from": {"id": 77, "first_name": "Оператор"},
        "text": "Ответ",
        "message_thread_id": topic.message_thread_id,
    }
    async with http.post(
        f"{sandbox.url}/sandbox/api/groups/{group}/messages", json=body
    ) as response:
        assert response.status == 200
    [update] = await bot.get_updates(timeout=0)
    assert (
        update.message is not None and update.message.message_thread_id == topic.message_thread_id
    )
    async with http.get(
        f"{sandbox.url}/sandbox/api/groups/{group}/messages",
        params={"thread": topic.message_thread_id},
    ) as response:
        texts = [m["text"] for m in (await response.json())["messages"]]
    assert texts == [None, "Новое обращение", "Ответ"]

    thread = topic.message_thread_id
    assert await bot.edit_forum_topic(group, thread, name="✅ Обращение № 1")
    with pytest.raises(TelegramBadRequest, match="TOPIC_NOT_MODIFIED"):
        await bot.edit_forum_topic(group, thread, name="✅ Обращение № 1")
    assert await bot.close_forum_topic(group, thread)
    with pytest.raises(TelegramBadRequest, match="TOPIC_NOT_MODIFIED"):
        await bot.close_forum_topic(group, thread)
    async with http.get(f"{sandbox.url}/sandbox/api/groups") as response:
        [shown] = [g for g in (await response.json())["groups"] if g["id"] == group]
    assert shown["topics"] == {str(thread): "✅ Обращение № 1"}
    assert shown["closed_topics"] == [thread]
    assert await bot.reopen_forum_topic(group, thread)
    with pytest.raises(TelegramBadRequest, match="TOPIC_ID_INVALID"):
        await bot.reopen_forum_topic(group, 9999)
    async with http.get(
        f"{sandbox.url}/sandbox/api/groups/{group}/messages", params={"thread": thread}
    ) as response:
        events = [m for m in (await response.json())["messages"] if m["text"] is None]
    assert any(m.get("forum_topic_edited") == {"name": "✅ Обращение № 1"} for m in events)
    assert any("forum_topic_closed" in m for m in events)
    assert any("forum_topic_reopened" in m for m in events)


async def test_webhook_push_with_secret_and_conflict(
    bot: Bot, sandbox: Sandbox, http: ClientSession
) -> None:
    async with receiving("/hook") as (url, received):
        await bot.set_webhook(url, secret_token="s3cret")
        with pytest.raises(TelegramConflictError):
            await bot.get_updates()
        await say(http, sandbox, {"text": "через вебхук"})
        headers, update = await asyncio.wait_for(received.get(), timeout=PATIENCE)
        assert headers["X-Telegram-Bot-Api-Secret-Token"] == "s3cret"
        assert update["message"]["text"] == "через вебхук"
        info = await bot.get_webhook_info()
        assert info.url.endswith("/hook")
        await bot.delete_webhook()
        assert await bot.get_updates(timeout=0) == []


async def test_webhook_push_is_parallel_across_chats_ordered_within_one_and_retried(
    bot: Bot, sandbox: Sandbox, http: ClientSession
) -> None:
    seen: list[str] = []
    flying = {"now": 0, "most": 0}
    failed_once: set[str] = set()

    async def hook(request: web.Request) -> web.Response:
        text = (await request.json())["message"]["text"]
        if text == "a2" and text not in failed_once:
            failed_once.add(text)  # the bot died on it: no 2xx, Telegram sends it again
            return web.Response(status=500)
        flying["now"] += 1
        flying["most"] = max(flying["most"], flying["now"])
        await asyncio.sleep(0.2)
        flying["now"] -= 1
        seen.append(text)
        return web.Response()

    app = web.Application()
    app.router.add_post("/hook", hook)
    async with serving(app) as base:
        await bot.set_webhook(f"{base}/hook")
        for n in (1, 2, 3):
            await say(http, sandbox, {"text": f"a{n}"}, user=USER)
            await say(http, sandbox, {"text": f"b{n}"}, user=USER + 1)
        await eventually(lambda: len(seen) == 6)
        await bot.delete_webhook()
    assert [t for t in seen if t[0] == "a"] == ["a1", "a2", "a3"], (
        "in order: a3 waited for a2's retry"
    )
    assert [t for t in seen if t[0] == "b"] == ["b1", "b2", "b3"]
    assert flying["most"] == 2, "two chats side by side, never two updates of one chat"
