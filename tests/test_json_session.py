"""Bot API calls go as one JSON body, files still as a form (bot/json_session.py, issue 19),
against the sandbox over real HTTP: what arrives is what the form would have carried."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiogram.types import (
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
)
from aiohttp import ClientSession

from bot.factory import create_bot
from core.config import Settings
from sandbox.app import Sandbox, SandboxConfig, running_sandbox
from tests.live import TOKEN, SandboxUser


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with running_sandbox(SandboxConfig(port=0, smtp_port=0, bot_token=TOKEN)) as running:
        yield running


async def test_a_call_goes_as_json_and_a_file_as_a_form(sandbox: Sandbox) -> None:
    async with ClientSession() as http:
        await SandboxUser(http, sandbox.url, 831).send("/start")
    bot = create_bot(Settings(_env_file=None), token=TOKEN, api_base=sandbox.url)
    try:
        keyboard = InlineKeyboardMarkup(
            inline_keyboard=[[InlineKeyboardButton(text="📋 Полис", callback_data="p:1")]]
        )
        sent = await bot.send_message(
            831,
            "<b>Полис</b> № 1 &amp; «кавычки»",
            reply_markup=keyboard,
            disable_notification=False,  # a false flag is kept, as the form keeps "false"
            link_preview_options=LinkPreviewOptions(is_disabled=True),
        )
        assert sent.text == "Полис № 1 & «кавычки»" and sent.message_id > 0
        document = await bot.send_document(
            831, BufferedInputFile(b"%PDF-1.4 test", filename="policy.pdf"), caption="PDF"
        )
        assert document.document is not None and document.document.file_name == "policy.pdf"
    finally:
        await bot.session.close()
    calls = {call["method"]: call["params"] for call in sandbox.state.calls}
    message = calls["sendMessage"]
    assert message["parse_mode"] == "HTML", "the bot's default is applied"
    assert message["reply_markup"] == {  # an object in the body, not a string in a form
        "inline_keyboard": [[{"text": "📋 Полис", "callback_data": "p:1"}]]
    }
    assert message["disable_notification"] is False
    assert message["link_preview_options"] == {"is_disabled": True}
    assert "reply_to_message_id" not in message, "what is not set is not sent"
    stored = sandbox.state.messages[831][sent.message_id]
    assert stored.api["reply_markup"]["inline_keyboard"][0][0]["text"] == "📋 Полис"
    assert isinstance(calls["sendDocument"]["caption"], str)
