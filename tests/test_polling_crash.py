"""Polling loses no update when the process dies mid-update (issue 20, item 2): a real
`main.py run --role bot` long-polls the sandbox; the first answer meets a 429 (retry after
30 s: long enough that a loaded machine still kills it while it waits), and the process is SIGKILLed while it waits; started again, it answers the person once
and the dialog moves on. Before the fix the update had been confirmed to Telegram as soon as
it was received: it was never sent again and its claim stayed `working`."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from aiogram.fsm.storage.base import StorageKey
from aiohttp import ClientSession
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.factory import create_storage
from bot.fsm.registration import DRAFT_KEY, Registration
from core.clock import FrozenClock
from core.config import Settings
from core.inbox import ProcessedUpdate
from sandbox.app import Sandbox, SandboxConfig, free_port, running_sandbox
from tests.conftest import TEST_KEY
from tests.live import PATIENCE, STARTUP, SandboxUser, eventually

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "7000000042:polling-crash-token"
PERSON = 4242


@asynccontextmanager
async def poller(
    database_url: str, sandbox: Sandbox, log: Path
) -> AsyncIterator[asyncio.subprocess.Process]:
    env = {
        **os.environ,
        "BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE": sandbox.url,
        "DATABASE_URL": database_url,
        "DATA_ENCRYPTION_KEY": TEST_KEY,
        "REDIS_URL": "",
        "WEB_PORT": str(free_port()),
        "THROTTLE_RATE": "0",
    }
    with log.open("ab") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "main.py", "run", "--role", "bot",
            cwd=ROOT, env=env, stdout=out, stderr=out,
        )  # fmt: skip
    try:
        yield process
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(process.wait(), PATIENCE)


def polls(sandbox: Sandbox) -> int:
    return sum(1 for call in sandbox.state.calls if call["method"] == "getUpdates")


def refused(sandbox: Sandbox) -> bool:
    return any(
        call["method"] == "sendMessage" and "Too Many" in str(call.get("error", ""))
        for call in sandbox.state.calls
    )


async def ledger(sessions: async_sessionmaker[AsyncSession]) -> dict[int, str]:
    async with sessions() as session:
        rows = await session.execute(select(ProcessedUpdate.update_id, ProcessedUpdate.state))
        return {update_id: state for update_id, state in rows}


async def ledger_is(sessions: async_sessionmaker[AsyncSession], states: list[str]) -> bool:
    return list((await ledger(sessions)).values()) == states


async def until(condition: Callable[[], Awaitable[bool]], within: float = PATIENCE) -> None:
    deadline = time.monotonic() + within
    while not await condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_a_poller_killed_mid_update_answers_it_after_the_restart(
    settings: Settings,
    database_url: str,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    tmp_path: Path,
) -> None:
    # The person is at the surname step of the registration (kept in the database).
    storage = create_storage(settings.model_copy(update={"redis_url": None}), sessions, clock)
    key = StorageKey(bot_id=int(TOKEN.split(":")[0]), chat_id=PERSON, user_id=PERSON)
    draft = {"phone": "+79161234567", "email": "anna@example.org", "email_confirmed": True}
    await storage.set_data(key, {DRAFT_KEY: draft})
    await storage.set_state(key, Registration.surname)
    log = tmp_path / "bot.log"
    config = SandboxConfig(port=0, smtp_port=0, bot_token=TOKEN)
    async with running_sandbox(config) as sandbox, ClientSession() as http:
        anna = SandboxUser(http, sandbox.url, PERSON)
        async with http.post(
            f"{sandbox.url}/sandbox/api/users", json={"id": PERSON, "first_name": "Анна"}
        ):
            pass
        async with poller(database_url, sandbox, log) as first:
            await eventually(lambda: polls(sandbox) > 0 or first.returncode is not None, STARTUP)
            assert first.returncode is None, log.read_text()
            async with http.post(
                f"{sandbox.url}/sandbox/api/faults",
                json={"method": "sendMessage", "error_code": 429, "retry_after": 30, "times": 1},
            ) as response:
                assert response.status == 200
            await anna.send("Иванова")
            await eventually(lambda: refused(sandbox))  # the bot now waits out the 30 s
            first.kill()
            await first.wait()
        # Killed mid-update: on PostgreSQL its claim is in the ledger; on SQLite the one
        # process kept it in memory (core/inbox.py), so the ledger has nothing of it.
        mid_update = [] if database_url.startswith("sqlite") else ["working"]
        assert await ledger_is(sessions, mid_update), "killed mid-update"
        assert await storage.get_state(key) == Registration.surname.state, "no half step"

        async with poller(database_url, sandbox, log) as second:
            [reply] = await anna.wait_for(lambda found: len(found) >= 1, within=STARTUP)
            assert reply["text"] == "Шаг 3 из 8. Ваше имя — как в паспорте."
            await until(lambda: ledger_is(sessions, ["done"]))
            history = await anna.history()
        assert second.returncode == 0, "a clean stop on SIGTERM"
    assert [m["from"] for m in history["messages"]] == ["user", "bot"], "answered once"
    assert await storage.get_state(key) == Registration.first_name.state
    assert (await storage.get_data(key))[DRAFT_KEY]["surname"] == "Иванова"
