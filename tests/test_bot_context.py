"""Telegram objects take their bot in one call (bot/bot_context.py, issue 19)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiogram import Bot
from aiogram.client.context_controller import BotContextController
from aiogram.methods import SendMessage
from aiogram.types import InlineKeyboardButton, Message, Update

from bot import bot_context

MESSAGE: dict[str, Any] = {
    "message_id": 5,
    "date": datetime(2026, 12, 7, 12, 0, tzinfo=UTC),
    "chat": {"id": 1, "type": "private"},
    "from": {"id": 2, "is_bot": False, "first_name": "Анна"},
    "text": "hello",
    "reply_markup": {"inline_keyboard": [[{"text": "Open", "callback_data": "cl:1:0"}]]},
}


def test_every_telegram_type_and_method_takes_the_short_path() -> None:
    family = set(bot_context._family(BotContextController))
    assert len(family) > 600  # aiogram's types and methods
    slow = [c for c in family if c.model_post_init is not bot_context._post_init]
    assert slow == []  # a new private attribute in aiogram would show here
    assert bot_context.install() == len(family)  # again: nothing changes


def test_nested_objects_know_the_bot_they_were_validated_for() -> None:
    bot = Bot("1:test")
    update = Update.model_validate({"update_id": 1, "message": MESSAGE}, context={"bot": bot})
    message = update.message
    assert message is not None and message.reply_markup is not None
    assert update.bot is bot and message.bot is bot and message.chat.bot is bot
    assert message.from_user is not None and message.from_user.bot is bot
    assert message.reply_markup.inline_keyboard[0][0].bot is bot
    # what aiogram's shortcuts rely on: the method made by `answer` carries the bot
    assert message.answer("hi").bot is bot
    assert message.answer("hi").chat_id == 1


def test_objects_made_directly_have_no_bot_until_bound() -> None:
    bot = Bot("1:test")
    button = InlineKeyboardButton(text="Open", callback_data="cl:1:0")
    assert button.bot is None
    assert button.as_(bot).bot is bot
    assert button.model_copy().bot is bot  # a copy keeps it
    method = SendMessage(chat_id=1, text="hi")
    assert method.bot is None
    assert Message.model_validate(MESSAGE).bot is None
    assert Message.model_construct(**MESSAGE).bot is None
    # the private attribute is pydantic's as before: dumps leave it out, equality counts it
    assert button.model_dump(exclude_none=True) == {"text": "Open", "callback_data": "cl:1:0"}
    twin = InlineKeyboardButton(text="Open", callback_data="cl:1:0")
    assert twin == InlineKeyboardButton(text="Open", callback_data="cl:1:0")
    assert twin != button
