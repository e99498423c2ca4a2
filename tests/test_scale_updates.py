"""Telegram may send an update again; several workers may receive it. Each is handled once:
on SQLite through the database ledger, on PostgreSQL through Redis (the scale-out set-up)."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest
from aiogram import Dispatcher
from aiogram.fsm.storage.base import StorageKey
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.factory import create_inbox
from bot.fsm.isolation import ChatIsolation
from bot.fsm.steps import underlying
from bot.middlewares.idempotency import UpdateInProgress
from core.accounts.models import Account
from core.clock import FrozenClock
from core.config import Settings
from core.db import create_engine, create_session_factory
from core.inbox import LEASE, Claim, DatabaseInbox, ProcessedUpdate, purge_inbox
from tests.dialog import UPDATE_IDS, ChatClient


async def reminders(sessions: async_sessionmaker[AsyncSession]) -> bool:
    async with sessions() as session:
        account = await session.scalar(select(Account))
    assert account is not None
    return account.notify_reminders


async def test_a_tap_sent_again_is_not_handled_again(
    chat: ChatClient, registered: Account, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await chat.send("/profile")
    await chat.tap("🔔 Уведомления")
    await chat.tap("✅ Напоминания")
    assert await reminders(sessions) is False
    await chat.replay()  # handled twice, the switch would flip back on
    assert chat.calls == []
    assert await reminders(sessions) is False


async def test_a_copy_arriving_while_another_worker_has_it_is_refused_for_now(
    dp: Dispatcher,
    chat: ChatClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    inbox = create_inbox(dp.storage, sessions, clock)  # the other worker's view of the ledger
    update_id = next(UPDATE_IDS)
    assert await inbox.claim(update_id) is Claim.MINE
    with pytest.raises(UpdateInProgress):  # the webhook answers 500: Telegram tries again
        await chat.send("/help", update_id=update_id)
    assert chat.calls == [], "no apology for a copy"
    await inbox.release(update_id)  # the other worker failed: the next copy does the work
    await chat.replay()
    assert "/menu" in chat.text
    assert await inbox.claim(update_id) is Claim.DONE


async def test_a_dead_worker_s_claim_expires_and_old_updates_are_forgotten(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    inbox = DatabaseInbox(sessions, clock)
    assert await inbox.claim(1) is Claim.MINE
    assert await inbox.claim(1) is Claim.BUSY
    clock.advance(LEASE * 2)  # its worker died: the lease runs out
    assert await inbox.claim(1) is Claim.MINE
    await inbox.finish(1)
    assert await inbox.claim(1) is Claim.DONE
    async with sessions() as session:
        assert await purge_inbox(session, clock.now()) == 0
        clock.advance(LEASE * 10_000)  # past the two days Telegram could still send it
        assert await purge_inbox(session, clock.now()) == 1
        assert await session.scalar(select(ProcessedUpdate)) is None


async def test_a_chat_s_updates_are_handled_in_arrival_order_and_its_lock_is_dropped(
    dp: Dispatcher,
) -> None:
    isolation = dp.chat_lock.isolation  # type: ignore[attr-defined]  # with Redis (PostgreSQL runs): Redis's lock inside
    assert isinstance(isolation, ChatIsolation)
    key = StorageKey(bot_id=1, chat_id=5, user_id=5)
    order: list[int] = []

    async def handle(n: int) -> None:
        async with isolation.lock(key):
            await asyncio.sleep(0.01 * (5 - n))  # the first is the slowest
            order.append(n)

    await asyncio.gather(*(handle(n) for n in range(5)))
    assert order == [0, 1, 2, 3, 4]
    assert isolation.entries == {}, "no lock left behind for an idle chat"


async def test_stopping_while_an_update_holds_its_chat_lock_ends_it_cleanly() -> None:
    """Polling stops (aiogram closes the isolation) before the last updates finish."""
    isolation = ChatIsolation()
    key = StorageKey(bot_id=1, chat_id=6, user_id=6)
    async with isolation.lock(key):
        await isolation.close()
    assert isolation.entries == {}
    async with isolation.lock(key):  # and the chat is served again afterwards
        assert key in isolation.entries
    assert isolation.entries == {}


async def test_on_sqlite_the_ledger_is_read_only_for_updates_the_process_cannot_vouch_for(
    tmp_path: Path, sqlite_template: Path, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "ledger.sqlite3"
    shutil.copy(sqlite_template, path)
    reads: list[str] = []

    def started(url: str) -> tuple[AsyncEngine, DatabaseInbox]:
        engine = create_engine(url)
        event.listen(
            engine.sync_engine,
            "before_cursor_execute",
            lambda _c, _cur, sql, *_: reads.append(sql) if "processed_updates" in sql else None,
        )
        return engine, DatabaseInbox(create_session_factory(engine), clock)

    url = f"sqlite+aiosqlite:///{path}"
    engine, inbox = started(url)  # the process before a restart
    for update_id in (100, 101):
        assert await inbox.claim(update_id) is Claim.MINE
        await inbox.finish(update_id)
    await engine.dispose()

    monkeypatch.setattr("core.inbox.RECENT", 2)
    engine, inbox = started(url)  # the restarted process
    reads.clear()
    assert await inbox.claim(101) is Claim.DONE  # handled before the restart: looked up
    assert await inbox.claim(102) is Claim.MINE  # newer than the ledger was: not looked up
    assert [sql.split()[1] for sql in reads] == [
        "max(processed_updates.update_id)",
        "processed_updates.state,",
    ]
    reads.clear()
    await inbox.finish(102)
    assert await inbox.claim(102) is Claim.DONE  # remembered
    for update_id in (103, 104):  # the oldest remembered one is forgotten past RECENT
        assert await inbox.claim(update_id) is Claim.MINE
        await inbox.finish(update_id)
    assert [sql.split()[0] for sql in reads] == ["INSERT"] * 3, "no read for new updates"
    reads.clear()
    assert await inbox.claim(102) is Claim.DONE  # forgotten in the process: looked up
    assert await inbox.claim(104) is Claim.DONE
    assert len(reads) == 1
    await engine.dispose()


async def test_with_redis_an_update_waits_for_a_chat_lock_another_worker_holds(
    dp: Dispatcher, chat: ChatClient, settings: Settings
) -> None:
    """The way in takes the chat's lock, claims the update and reads the step at once
    (bot/fsm/redis_gate.py); with the lock held elsewhere it changes nothing and waits."""
    if not settings.redis_url:
        pytest.skip("no Redis: one process, one lock (TEST_REDIS_URL is not set)")
    redis = underlying(dp.storage).redis  # type: ignore[attr-defined]
    lock = f"fsm:{chat.user.id}:{chat.user.id}:default:lock"
    await redis.set(lock, "another-worker", px=400)
    update_id = next(UPDATE_IDS)
    waited = asyncio.get_running_loop().time()
    await chat.send("/help", update_id=update_id)
    assert asyncio.get_running_loop().time() - waited >= 0.3
    assert "/menu" in chat.text
    assert await redis.get(f"dms:update:{update_id}") == b"done"
    assert await redis.get(lock) is None, "let go once the update is done"
    await chat.replay()  # and handled once
    assert chat.calls == []


async def test_with_redis_a_worker_gone_before_the_way_out_leaves_the_step_where_it_was(
    dp: Dispatcher, chat: ChatClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The new step and the update's "done" go in the one script that lets the chat's lock go:
    a worker that dies before it neither moved the dialog on nor marked the update, so the
    update, sent again, is handled again from the step it was meant for."""
    if not settings.redis_url:
        pytest.skip("no Redis: the step is saved with the update's commit (TEST_REDIS_URL unset)")
    redis = underlying(dp.storage).redis  # type: ignore[attr-defined]
    gate = dp.chat_lock.isolation.gate  # type: ignore[attr-defined]
    prefix = f"fsm:{chat.user.id}:{chat.user.id}:default"
    await chat.send("/start")
    await chat.tap("📝 Регистрация")
    assert await redis.get(f"{prefix}:state") == b"Registration:phone"

    async def worker_gone(**_: object) -> None:
        raise ConnectionError("the worker died before its way out")

    monkeypatch.setattr(gate, "_leave", worker_gone)
    await chat.share_contact("+79160000001")  # the error is logged (bot/handlers/errors.py)
    assert any("Шаг 2 из 8" in text for text in chat.texts)  # answered, then gone
    assert await redis.get(f"{prefix}:state") == b"Registration:phone"
    update = f"dms:update:{chat.last_update.update_id}"  # type: ignore[union-attr]
    assert await redis.get(update) == b"working"
    monkeypatch.undo()
    await redis.delete(update, f"{prefix}:lock")  # the claim's lease and the lock ran out
    await chat.replay()
    assert "Шаг 2 из 8" in chat.text
    assert await redis.get(f"{prefix}:state") == b"Registration:email"
    assert b"+79160000001" in await redis.get(f"{prefix}:data")
    assert await redis.get(update) == b"done"
