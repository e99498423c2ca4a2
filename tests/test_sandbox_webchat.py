"""What the web chat reads from the sandbox's user API: edits as Telegram clients mark them, a
long poll that wakes for a callback answer, the bot's username for deep links."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiohttp import ClientSession

import sandbox as sandbox_package
from sandbox.app import Sandbox, SandboxConfig, running_sandbox
from tests.live import eventually

TOKEN = "7000000001:webchat-test"
USER = 77


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
    bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(sandbox.url)))
    yield bot
    await bot.session.close()


def markup(text: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=text, callback_data="x")]]
    )


async def shown(http: ClientSession, sandbox: Sandbox, message_id: int) -> dict[str, Any]:
    async with http.get(f"{sandbox.url}/sandbox/api/users/{USER}/messages") as r:
        messages = (await r.json())["messages"]
    return next(m for m in messages if m["message_id"] == message_id)


async def test_only_an_edit_of_the_text_is_marked_edited(
    sandbox: Sandbox, http: ClientSession, bot: Bot
) -> None:
    async with http.post(
        f"{sandbox.url}/sandbox/api/users", json={"id": USER, "first_name": "Анна"}
    ):
        pass
    sent = await bot.send_message(USER, "Согласия", reply_markup=markup("☐ Данные"))
    await bot.edit_message_reply_markup(
        chat_id=USER, message_id=sent.message_id, reply_markup=markup("✅ Данные")
    )
    ticked = await shown(http, sandbox, sent.message_id)
    assert ticked["reply_markup"]["inline_keyboard"][0][0]["text"] == "✅ Данные"
    assert ticked["edited"] is False, "a tick on a button is not an edit a person sees"

    await bot.edit_message_text(
        "Согласия получены",
        chat_id=USER,
        message_id=sent.message_id,
        reply_markup=markup("✅ Данные"),
    )
    assert (await shown(http, sandbox, sent.message_id))["edited"] is True
    await bot.edit_message_reply_markup(chat_id=USER, message_id=sent.message_id)
    assert (await shown(http, sandbox, sent.message_id))["edited"] is True, "once edited, stays"


async def test_the_web_chats_long_poll_wakes_for_a_callback_answer(
    sandbox: Sandbox, http: ClientSession, bot: Bot
) -> None:
    async with http.post(
        f"{sandbox.url}/sandbox/api/users", json={"id": USER, "first_name": "Анна"}
    ):
        pass
    sent = await bot.send_message(USER, "Продолжить?", reply_markup=markup("Продолжить"))
    async with http.post(
        f"{sandbox.url}/sandbox/api/users/{USER}/callbacks",
        json={"message_id": sent.message_id, "button": "Продолжить"},
    ) as r:
        query_id = (await r.json())["callback_query_id"]
    async with http.get(f"{sandbox.url}/sandbox/api/users/{USER}/messages") as r:
        revision = (await r.json())["revision"]

    async def poll() -> dict[str, Any]:
        async with http.get(
            f"{sandbox.url}/sandbox/api/users/{USER}/messages",
            params={"changed_since": revision, "wait": 25},
        ) as r:
            return dict(await r.json())

    started = time.monotonic()
    waiting = asyncio.create_task(poll())
    await eventually(lambda: bool(sandbox.state.changed._waiters))  # the poll waits
    await bot.answer_callback_query(query_id, text="Дайте все три согласия", show_alert=True)
    answered = await waiting
    assert time.monotonic() - started < 5, "the answer is news at once, not after 25 s"
    [answer] = answered["callback_answers"]
    assert answer["text"] == "Дайте все три согласия" and answer["show_alert"] is True


async def test_health_names_the_bot_for_deep_links(sandbox: Sandbox, http: ClientSession) -> None:
    async with http.get(f"{sandbox.url}/sandbox/api/health") as r:
        health = await r.json()
    assert health["bot_username"] == "dms_cabinet_bot"


async def test_a_topics_service_messages_are_stored_in_no_language_for_the_viewer_to_word(
    sandbox: Sandbox, http: ClientSession, bot: Bot
) -> None:
    """Telegram words "the topic was renamed / closed / reopened" in each client's language; the
    sandbox keeps the event and a neutral line, and the web chat words it (chat.js)."""
    group = -1009000000777
    async with http.post(
        f"{sandbox.url}/sandbox/api/groups", json={"id": group, "title": "Пульт", "is_forum": True}
    ) as r:
        assert r.status == 201
    topic = await bot.create_forum_topic(group, "🆕 О-26-000001 · Благодарность")
    thread = topic.message_thread_id
    await bot.edit_forum_topic(group, thread, name="✅ О-26-000001 · Благодарность")
    await bot.close_forum_topic(group, thread)
    await bot.reopen_forum_topic(group, thread)
    async with http.get(f"{sandbox.url}/sandbox/api/groups/{group}/messages") as r:
        messages = (await r.json())["messages"]
    events = [m for m in messages if m.get("message_thread_id") == thread][1:]
    assert [next(k for k in m if k.startswith("forum_topic_")) for m in events] == [
        "forum_topic_edited",
        "forum_topic_closed",
        "forum_topic_reopened",
    ]
    assert events[0]["forum_topic_edited"]["name"] == "✅ О-26-000001 · Благодарность"
    for event in events:
        assert not re.search(r"[A-Za-z]{3,}", event["html"].replace("<i>", "").replace("</i>", ""))
    script = (Path(sandbox_package.__file__).parent / "static" / "chat.js").read_text()
    assert "Тема переименована в" in script and "The topic is renamed to" in script
