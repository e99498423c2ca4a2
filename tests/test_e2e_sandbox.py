"""End to end: the bot polls the sandbox over real HTTP; the test acts only as a person would."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import ClientSession

from bot.factory import create_bot, create_dispatcher
from bot.web import create_web_app
from core.clock import FrozenClock
from core.config import Settings
from core.db import create_engine, create_session_factory
from sandbox.app import SandboxConfig, running_sandbox
from tests.live import TOKEN, Live, SandboxUser, buttons, live_system, serving
from tests.pdf_layout import pdf_text


@pytest.fixture
async def live(settings: Settings, clock: FrozenClock, tmp_path: Path) -> AsyncIterator[Live]:
    async with live_system(settings, clock, tmp_path / "sandbox") as system:
        yield system


async def test_start_reaches_the_main_menu(live: Live) -> None:
    anna = live.user(501)
    await anna.send("/start")
    [reply] = await anna.replies()
    assert "Здравствуйте" in reply["text"]
    assert "<b>Демо Страхование</b>" in reply["html"]
    keyboard = [b["text"] for row in reply["reply_keyboard"]["keyboard"] for b in row]
    assert keyboard[:2] == ["📝 Регистрация", "📍 Ближайшие клиники"]
    assert reply["reply_keyboard"]["keyboard"][1][0]["request_location"] is True


async def test_commands_are_set_per_language(live: Live) -> None:
    async with live.http.get(
        f"{live.url}/sandbox/api/commands", params={"language_code": "en"}
    ) as r:
        english = (await r.json())["commands"]
    async with live.http.get(
        f"{live.url}/sandbox/api/commands", params={"language_code": "ru"}
    ) as r:
        russian = (await r.json())["commands"]
    assert {"command": "menu", "description": "Main menu"} in english
    assert {"command": "menu", "description": "Главное меню"} in russian


async def test_language_switch_through_a_callback_button(live: Live) -> None:
    anna = live.user(502)
    await anna.send("/language")
    [choice] = await anna.replies()
    tapped = await anna.tap(choice["message_id"], "🇬🇧 English")
    assert "callback_query_id" in tapped

    replies = await anna.wait_for(
        lambda found: any("now speaks English" in (m["text"] or "") for m in found)
    )
    [ticked] = [m for m in replies if m["message_id"] == choice["message_id"]]
    assert "✓ 🇬🇧 English" in [b["text"] for b in buttons(ticked)], "ticked in place"
    assert ticked["text"] == "Choose the language of the cabinet:", "the picker speaks English"
    assert (await anna.callback_answer("Language changed."))["show_alert"] is False
    history = await anna.history()
    menu = [b["text"] for row in history["reply_keyboard"]["keyboard"] for b in row]
    assert "☎️ Contacts" in menu


async def test_location_gets_nearest_clinics_and_a_venue(live: Live) -> None:
    anna = live.user(503)
    await anna.share_location(55.7558, 37.6173)  # Moscow, Red Square
    [listing] = await anna.replies()
    buttons = [b["text"] for row in listing["reply_markup"]["inline_keyboard"] for b in row]
    assert buttons[0].startswith("Клиника «Здоровье на Тверской»")

    await anna.tap(listing["message_id"], buttons[0])
    found = await anna.wait_for(lambda ms: any("venue" in m for m in ms) and len(ms) >= 3)
    venue = next(m["venue"] for m in found if "venue" in m)
    assert venue["title"] == "Клиника «Здоровье на Тверской»"
    assert venue["location"]["latitude"] == pytest.approx(55.7652)


async def test_document_sent_by_the_bot_can_be_downloaded(live: Live) -> None:
    anna = live.user(504)
    await anna.send("📄 Документы")
    [choice] = await anna.replies()
    await anna.tap(choice["message_id"], "Политика обработки персональных данных")
    found = await anna.wait_for(lambda ms: any("document" in m for m in ms))
    document = next(m["document"] for m in found if "document" in m)
    assert document["file_name"] == "personal_data_policy_ru.pdf"
    assert document["mime_type"] == "application/pdf"
    message = next(m for m in found if "document" in m)
    assert message["text"] == "📄 Политика обработки персональных данных", "the caption names it"

    async with live.http.get(live.url + document["url"]) as response:
        assert response.status == 200
        content = pdf_text(await response.read())
    assert "ПОЛИТИКА ОБРАБОТКИ ПЕРСОНАЛЬНЫХ ДАННЫХ" in content
    assert "152-ФЗ" in content


async def test_bot_waits_out_a_429_and_delivers(live: Live) -> None:
    anna = live.user(505)
    await anna.send("/start")
    await anna.replies()
    async with live.http.post(
        f"{live.url}/sandbox/api/faults",
        json={"method": "sendMessage", "error_code": 429, "retry_after": 1},
    ) as response:
        assert response.status == 200

    await anna.send("/help")
    [reply] = await anna.replies()
    assert "/cancel" in reply["text"]
    async with live.http.get(
        f"{live.url}/sandbox/api/calls", params={"method": "sendMessage"}
    ) as r:
        calls = (await r.json())["calls"]
    assert calls[-2]["error"] == "Too Many Requests: retry after 1"
    assert calls[-1]["ok"] is True
    assert calls[-1]["at"] - calls[-2]["at"] >= 1.0


async def test_a_user_who_blocked_the_bot_is_unblocked_by_writing(live: Live) -> None:
    anna = live.user(506)
    await anna.send("/start")
    await anna.replies()
    async with live.http.post(f"{anna._url}/block", json={"blocked": True}) as response:
        assert (await response.json())["blocked_bot"] is True

    await anna.send("/help")  # writing again unblocks, as in Telegram
    [reply] = await anna.replies()
    assert "/menu" in reply["text"]


async def test_webhook_mode_checks_the_secret_on_every_request(
    settings: Settings, clock: FrozenClock
) -> None:
    engine = create_engine(settings.database_url)
    sessions = create_session_factory(engine)
    config = SandboxConfig(port=0, smtp_port=0, bot_token=TOKEN)
    async with running_sandbox(config) as sandbox, ClientSession() as http:
        bot = create_bot(settings, token=TOKEN, api_base=sandbox.url)
        dp = create_dispatcher(settings, sessions, clock)
        app = create_web_app(
            dp, bot, webhook_path="/telegram/webhook", webhook_secret="s3cret-token"
        )
        try:
            async with serving(app) as base:
                hook = f"{base}/telegram/webhook"
                async with http.post(hook, json={"update_id": 1}) as response:
                    assert response.status == 401, "no secret, no entry"
                await bot.set_webhook(hook, secret_token="s3cret-token")

                anna = SandboxUser(http, sandbox.url, 801)
                await anna.send("/start")
                [reply] = await anna.replies()
                assert "Здравствуйте" in reply["text"]
        finally:
            await bot.session.close()
            await dp.storage.close()
            await engine.dispose()
