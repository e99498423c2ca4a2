"""What one update costs (issue 19): no thread hop per filter, few database round trips, no
write when nothing changed. The figures themselves come from `benchmarks/updates.py`."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

import pytest
from aiogram.dispatcher.event.handler import HandlerObject
from aiogram.filters.callback_data import CallbackData
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.ext.asyncio import session as session_module

from bot import routing
from core.accounts.models import Account
from core.config import Settings
from tests.dialog import ChatClient, RecordingMailer
from tests.test_dialog_clinics import with_policies


async def test_filters_run_without_a_thread_hop(
    chat: ChatClient, registered: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    hops: list[Any] = []
    to_thread = asyncio.to_thread

    async def counted(function: Any, /, *args: Any, **kwargs: Any) -> Any:
        hops.append(function)
        return await to_thread(function, *args, **kwargs)

    await chat.send("/start")  # the first update may load what is loaded once
    monkeypatch.setattr(asyncio, "to_thread", counted)
    await chat.send("☎️ Контакты")
    assert "медицинский пульт, круглосуточно" in chat.text
    await chat.send("📋 Мои полисы")
    assert "пока нет полисов" in chat.text
    await chat.send("что-то непонятное")
    await chat.send("/help")
    assert "/menu" in chat.text
    assert hops == [], "aiogram ran a synchronous filter in a thread"


async def test_an_update_that_changes_nothing_writes_only_its_ledger_entry(
    chat: ChatClient,
    registered: Account,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    engine = sessions.kw["bind"]
    await chat.send("/start")
    await chat.send("/help")
    written: list[str] = []
    commits: list[int] = []

    def statement(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        if not sql.lstrip().upper().startswith("SELECT"):
            written.append(sql.split("(")[0].split(" SET")[0].strip())

    event.listen(engine.sync_engine, "before_cursor_execute", statement)
    event.listen(engine.sync_engine, "commit", lambda _conn: commits.append(1))
    try:
        await chat.send("/help")
        assert "/menu" in chat.text
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", statement)
    # Only "done" in the update's one commit (on SQLite the live claim stays in the one
    # process): the user row, the unchanged dialog step and the language are not written
    # again. With Redis the ledger and the step live there: the database is only read.
    if settings.redis_url:
        assert (written, commits) == ([], [])
    elif engine.dialect.name == "sqlite":
        assert written == ["INSERT INTO processed_updates"], written
        assert len(commits) == 1
    else:  # workers share the ledger: the claim is committed before the update is handled
        assert written == ["INSERT INTO processed_updates", "UPDATE processed_updates"], written
        assert len(commits) == 2


async def test_an_update_reads_the_dialog_state_once(
    chat: ChatClient,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    mailbox: RecordingMailer,
) -> None:
    if settings.redis_url:
        pytest.skip("the dialog state is in Redis")
    engine = sessions.kw["bind"]
    await chat.send("/start")
    reads: list[str] = []

    def statement(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        if sql.lstrip().upper().startswith("SELECT") and "dialog_states" in sql:
            reads.append(sql)

    event.listen(engine.sync_engine, "before_cursor_execute", statement)
    try:
        # aiogram reads the state for its filters, the steps read the state and the data.
        per_update = []

        async def counted(step: Awaitable[Any]) -> None:
            reads.clear()
            await step
            per_update.append(len(reads))

        await counted(chat.tap("📝 Регистрация"))
        await counted(chat.share_contact("+79161234567"))
        await counted(chat.send("anna@example.org"))
        assert "a***@example.org" in chat.text
        await counted(chat.send(mailbox.last_code("anna@example.org")))
        assert "Почта подтверждена" in chat.text
        await counted(chat.send("/help"))
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", statement)
    assert "/menu" in chat.text
    # Once to know the step (it was four times: aiogram's filters, the step's state and data,
    # and the write), in the statement that reads the user (the first two steps: on its own,
    # the person has no row yet when the update starts). The write starts from what the
    # update read, a missing row included. On PostgreSQL the write locks the row, which is a
    # read of its own.
    if engine.dialect.name == "sqlite":
        assert per_update == [1, 1, 1, 1, 1], per_update
    else:  # the four steps that move write; /help does not
        assert per_update == [2, 2, 2, 2, 1], per_update


async def test_a_tap_is_matched_by_its_prefix_not_by_every_routers_filters(
    chat: ChatClient,
    registered: Account,
    sessions: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await with_policies(chat, sessions)
    await chat.share_location(55.7558, 37.6173)
    unpacked: list[str] = []
    unpack = CallbackData.unpack.__func__  # type: ignore[attr-defined]

    def counted(cls: type[CallbackData], value: str) -> CallbackData:
        unpacked.append(cls.__prefix__)
        return unpack(cls, value)  # type: ignore[no-any-return]

    monkeypatch.setattr(CallbackData, "unpack", classmethod(counted))
    await chat.tap("👁 Показать и недоступные")  # the clinics router, near the end
    assert "⛔ Медицинский центр «Сокол»" in chat.text
    # Only the handlers of routers that take this prefix try to unpack it (some 60 before).
    assert 0 < len(unpacked) <= 12, unpacked
    await chat.tap("🏠 Меню")  # a button without fields: its data is the bare prefix
    assert chat.text == "Главное меню." and "📋 Мои полисы" in chat.reply_keyboard
    await chat.callback("zz:1")  # nobody's: the fallback says the button no longer works
    assert "больше не действует" in chat.text


async def test_a_text_in_no_step_passes_the_dialog_routers_with_one_look_each(
    chat: ChatClient, registered: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    checked: list[str] = []
    check = routing._check

    async def counted(handler: HandlerObject, *args: Any) -> Any:
        checked.append(getattr(handler.callback, "__name__", "?"))
        return await check(handler, *args)

    monkeypatch.setattr(routing, "_check", counted)
    await chat.send("что-то непонятное")  # nobody's: it reaches the last router
    assert "Не удалось понять сообщение" in chat.text
    # Each router's own filters once; no dialog step's handler is tried (some 65 checks before).
    for step_handler in ("phone_contact", "email_code", "number_typed", "typed", "name_typed"):
        assert step_handler not in checked, checked
    assert len(checked) <= 35, checked
    await chat.send("📋 Мои полисы")
    await chat.tap("➕ Добавить полис")
    await chat.tap("По номеру полиса")
    checked.clear()
    await chat.send("привет")  # in the number step: the policies router still takes it
    assert "number_typed" in checked
    assert "Не удалось понять сообщение" not in chat.text


async def test_a_step_in_redis_costs_two_round_trips(
    chat: ChatClient, settings: Settings, mailbox: RecordingMailer, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not settings.redis_url:
        pytest.skip("the dialog state is in the database: TEST_REDIS_URL is not set")
    from redis.asyncio import connection as redis_connection

    sent: list[bytes] = []
    send = redis_connection.AbstractConnection.send_packed_command

    async def counted(self: Any, command: Any, *args: Any, **kwargs: Any) -> Any:
        packed = command if isinstance(command, bytes | str) else b"".join(command)
        sent.append(packed if isinstance(packed, bytes) else packed.encode())
        return await send(self, command, *args, **kwargs)

    await chat.send("/start")
    await chat.tap("📝 Регистрация")
    monkeypatch.setattr(redis_connection.AbstractConnection, "send_packed_command", counted)
    await chat.share_contact("+79161234567")
    assert "Шаг 2 из 8" in chat.text
    # The way in (the chat's lock, the update's claim, the step's state and data, the flood
    # bucket) is one script, the way out (the new step, the update done, the lock let go)
    # another: two round trips, seven before (bot/fsm/redis_gate.py).
    assert len(sent) == 2, sent
    assert b":lock" in sent[0] and b":state" in sent[0] and b":data" in sent[0]
    assert b":lock" in sent[1] and b"dms:update:" in sent[1] and b'"phone"' in sent[1]
    await chat.send("anna@example.org")  # the step and its data were stored: the dialog goes on
    assert "a***@example.org" in chat.text
    await chat.send(mailbox.last_code("anna@example.org"))
    assert "Почта подтверждена" in chat.text


async def test_a_policy_card_reads_its_regions_once(
    chat: ChatClient, registered: Account, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """The card's regions line and its «🗺 Regions» button each read the person's regions: one
    query for both now (two before)."""
    await with_policies(chat, sessions)
    await chat.send("📋 Мои полисы")
    engine = sessions.kw["bind"]
    reads: list[str] = []

    def statement(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        if "FROM service_regions" in sql:
            reads.append(sql)

    event.listen(engine.sync_engine, "before_cursor_execute", statement)
    try:
        await chat.tap("DMS-K-2026-0001 · Анна")
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", statement)
    assert "DMS-K-2026-0001" in chat.text and "🗺 Регионы" in chat.inline_buttons
    assert len(reads) == 1, reads


async def test_an_sqlite_update_that_changes_nothing_costs_two_database_calls(
    chat: ChatClient,
    registered: Account,
    sessions: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each call of an async SQLAlchemy session runs in a greenlet of its own, whose frames the
    interpreter puts on a 16 KB stack it maps and unmaps (about 6 µs of system time each). On
    SQLite an update that changes nothing makes two: the user with the dialog step, and the
    ledger's "done", the commit and the close together (before: five, the step, the "done",
    the commit and the close each alone)."""
    if sessions.kw["bind"].dialect.name != "sqlite":
        pytest.skip("SQLite's way: PostgreSQL's session closes as SQLAlchemy does")
    spawned: list[str] = []
    spawn = session_module.greenlet_spawn

    def counted(fn: Any, *args: Any, **kwargs: Any) -> Awaitable[Any]:
        spawned.append(getattr(fn, "__name__", repr(fn)))
        return spawn(fn, *args, **kwargs)

    await chat.send("/start")
    await chat.send("/help")
    monkeypatch.setattr(session_module, "greenlet_spawn", counted)
    await chat.send("/help")
    assert "/menu" in chat.text
    assert spawned == ["_run", "_final"], spawned  # core.fast_rows's read, then the commit
