"""Floods, crashes and restarts: the person is told what happens and loses nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aiogram import Bot, Dispatcher
from aiogram.fsm.storage.base import StorageKey
from sqlalchemy import func, select

from bot.factory import create_dispatcher, create_storage
from bot.middlewares.throttling import MemoryBuckets, Verdict
from core.clinics.index import ClinicDirectory
from core.clinics.models import Clinic
from core.clock import FrozenClock
from core.config import Settings
from core.db import create_engine, create_session_factory
from core.mail import Mailer, SmtpConfig
from tests.conftest import REDIS_URL
from tests.dialog import BOT_ID, ChatClient
from tests.live import live_system


async def test_flooding_user_is_told_once_then_served_again(
    settings: Settings,
    sessions,
    clock: FrozenClock,
    bot: Bot,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = [1000.0]
    monkeypatch.setattr("bot.middlewares.throttling._seconds", lambda: now[0])
    dp = create_dispatcher(
        settings.model_copy(update={"throttle_rate": 1.0, "throttle_burst": 2}), sessions, clock
    )
    chat = ChatClient(dp, bot)

    await chat.send("/help")
    await chat.send("/help")
    assert "/menu" in chat.text
    await chat.send("/help")
    assert chat.texts == ["Слишком часто: подождите немного и повторите."]
    await chat.send("/help")
    assert chat.calls == [], "the warning is said once, not an error storm"

    now[0] += 1.0
    await chat.send("/help")
    assert "/menu" in chat.text
    await dp.storage.close()


async def test_throttling_forgets_a_bucket_once_it_is_full_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = [0.0]
    monkeypatch.setattr("bot.middlewares.throttling._seconds", lambda: now[0])
    buckets = MemoryBuckets(rate=1.0, burst=2)  # full again 2 s after the last update
    for user in range(3):
        await buckets.take(user)
        now[0] += 1
    await buckets.take(0)  # user 0 is the most recent again
    assert list(buckets.buckets) == [1, 2, 0]
    now[0] += 1.5  # 3.5 s after user 1, 2.5 s after user 2, 1.5 s after user 0
    await buckets.take(99)
    assert list(buckets.buckets) == [0, 99]
    # a person coming back after their bucket was forgotten has a full one, as before
    for _ in range(2):
        assert await buckets.take(1) is Verdict.PASS
    assert await buckets.take(1) is Verdict.WARN


async def test_a_crash_apologises_in_the_users_language_and_keeps_the_state(
    dp: Dispatcher, chat: ChatClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = StorageKey(bot_id=BOT_ID, chat_id=chat.chat.id, user_id=chat.user.id)
    await dp.storage.set_data(key, {"draft": "kept"})

    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("database is on fire")

    monkeypatch.setattr(ClinicDirectory, "index", broken)
    await chat.share_location(55.75, 37.61)
    assert "Что-то пошло не так" in chat.text
    assert (await dp.storage.get_data(key))["draft"] == "kept"


async def test_restart_keeps_dialog_state_demo_data_and_chat_history(
    settings: Settings, clock: FrozenClock, tmp_path: Path
) -> None:
    state_dir = tmp_path / "sandbox"
    async with live_system(settings, clock, state_dir) as first:
        anna = first.user(700)
        await anna.send("/start")
        await anna.replies()
        await first.handled(anna.last_update_id)  # /start saves its own step after replying
        key = StorageKey(bot_id=7000000001, chat_id=700, user_id=700)
        await first.dp.storage.set_state(key, "Registration:email")
        await first.dp.storage.set_data(key, {"phone": "+79991234567"})
        shown = {m["message_id"]: m["html"] for m in (await anna.history())["messages"]}
        assert "<b>" in shown[max(shown)], "the greeting's bold words shown as such"
        mail = SmtpConfig(host="127.0.0.1", port=first.sandbox.config.smtp_port, sender="b@x.org")
        mailer = Mailer(mail)
        await mailer.send("anna@example.org", "Код", "Ваш код: 123456")
        await mailer.close()
    # Saved with each message's HTML made (the web chat's view waits until first asked).
    saved = json.loads((state_dir / "telegram.json").read_text(encoding="utf-8"))
    assert {m["message_id"]: m["html"] for m in saved["messages"]} == shown

    async with live_system(settings, clock, state_dir) as second:
        assert await second.dp.storage.get_state(key) == "Registration:email"
        assert await second.dp.storage.get_data(key) == {"phone": "+79991234567"}
        history = await second.user(700).history()
        assert history["messages"][0]["text"] == "/start"
        assert {m["message_id"]: m["html"] for m in history["messages"]} == shown
        # The letter sent before the restart is still in the mailbox (a walker found it empty
        # while the chat still asked for the code it held); the next letter is numbered on.
        [kept] = second.sandbox.mailbox.find("anna@example.org")
        assert (kept["id"], kept["subject"], kept["text"].strip()) == (1, "Код", "Ваш код: 123456")
        mail = SmtpConfig(host="127.0.0.1", port=second.sandbox.config.smtp_port, sender="b@x.org")
        mailer = Mailer(mail)
        await mailer.send("anna@example.org", "Код", "Ваш код: 654321")
        await mailer.close()
        assert [m["id"] for m in second.sandbox.mailbox.find("anna@example.org")] == [1, 2]
        anna = second.user(700)
        anna.last_id = history["messages"][-1]["message_id"]
        await anna.send("/help")  # the dialog step sees unknown text, the command still works
        [reply] = await anna.replies()
        assert "/menu" in reply["text"]

    engine = create_engine(settings.database_url)
    async with create_session_factory(engine)() as session:
        assert await session.scalar(select(func.count()).select_from(Clinic)) == 18
    await engine.dispose()


@pytest.mark.skipif(
    not REDIS_URL, reason="TEST_REDIS_URL is not set: Redis FSM storage test skipped"
)
async def test_redis_storage_is_used_when_configured(
    settings: Settings, sessions, clock: FrozenClock
) -> None:
    storage = create_storage(settings.model_copy(update={"redis_url": REDIS_URL}), sessions, clock)
    key = StorageKey(bot_id=BOT_ID, chat_id=5, user_id=5)
    try:
        await storage.set_state(key, "Registration:phone")
        await storage.set_data(key, {"a": 1})
        assert type(storage).__name__ == "RedisStorage"
        assert await storage.get_state(key) == "Registration:phone"
        assert await storage.get_data(key) == {"a": 1}
    finally:
        await storage.set_state(key, None)
        await storage.set_data(key, {})
        await storage.close()
