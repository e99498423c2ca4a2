"""Scheduler fail-over: two `main.py run --role scheduler` processes on one database; the
first takes the lock and delivers the outbox, the second stands by; the first is killed
(SIGKILL) midway and the second takes over within a tick. Nothing is delivered twice: the
message the dead leader had in flight stays leased to it for a minute (it may already have
reached the person: delivery is at least once only across a lease that expires).
Runs on SQLite (flock) and on PostgreSQL (advisory lock) when TEST_DATABASE_URL is set."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from benchmarks.notify import TOKEN, prepare, received
from core.notifications.outbox import OutboxMessage
from sandbox.app import Sandbox, SandboxConfig, running_sandbox
from tests.conftest import TEST_KEY
from tests.live import STARTUP, eventually

ROOT = Path(__file__).resolve().parent.parent
COUNT = 150
LEADS = "this process now runs the scheduler"
# Deadlines are for a machine that is busy with other work: each wait ends as soon as its
# condition holds, so a generous deadline costs nothing when all goes well.
LOADED = STARTUP


async def statuses(sessions: async_sessionmaker[AsyncSession]) -> list[str]:
    async with sessions() as session:
        return list(await session.scalars(select(OutboxMessage.status)))


async def all_but_the_leased_one_sent(
    sessions: async_sessionmaker[AsyncSession], within: float = LOADED
) -> None:
    deadline = time.monotonic() + within
    while True:
        now = await statuses(sessions)
        if now.count("sent") == COUNT or (now.count("sent") == COUNT - 1 and "sending" in now):
            return
        assert time.monotonic() < deadline, f"not delivered: {Counter(now)}"
        await asyncio.sleep(0.1)


class Scheduler:
    """One scheduler process; its log is read to see what it does."""

    def __init__(self, process: asyncio.subprocess.Process, log: Path) -> None:
        self.process, self.log = process, log

    def said(self, text: str) -> bool:
        return text in self.log.read_text(errors="replace")

    async def wait_until_it_says(self, text: str, within: float = LOADED) -> float:
        def said_or_died() -> bool:
            assert self.process.returncode is None, self.log.read_text()
            return self.said(text)

        return await eventually(said_or_died, within)


@asynccontextmanager
async def scheduler(database_url: str, sandbox: Sandbox, log: Path) -> AsyncIterator[Scheduler]:
    env = {
        **os.environ,
        "BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE": sandbox.url,
        "DATABASE_URL": database_url,
        "DATA_ENCRYPTION_KEY": TEST_KEY,
        "SCHEDULER_STANDBY_POLL": "0.5",
        "NOTIFY_PER_SECOND": "20",  # 7.5 s for all: time to kill the leader midway
        "QUIET_HOURS": "null",
        "REDIS_URL": "",
    }
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "main.py", "run", "--role", "scheduler",
            cwd=ROOT, env=env, stdout=out, stderr=out,
        )  # fmt: skip
    try:
        yield Scheduler(process, log)
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(process.wait(), LOADED)


async def test_the_standby_takes_over_when_the_leader_dies_and_sends_nothing_twice(
    database_url: str, sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    now = datetime.now(UTC) - timedelta(minutes=1)
    async with running_sandbox(SandboxConfig(port=0, smtp_port=0, bot_token=TOKEN)) as sandbox:
        async with (
            scheduler(database_url, sandbox, tmp_path / "a.log") as a,
            scheduler(database_url, sandbox, tmp_path / "b.log") as b,
        ):
            # Starting a process takes long on a loaded machine (imports, migrations).
            await eventually(lambda: a.said(LEADS) or b.said(LEADS), within=LOADED)
            leader, standby = (a, b) if a.said(LEADS) else (b, a)
            await standby.wait_until_it_says("standing by")
            # The outbox fills only now: a leader that started long before its standby (a
            # loaded machine) must not have sent everything before the kill.
            await prepare(sessions, sandbox, COUNT, 0, flood_limits=False, now=now)
            # Early, so that a test process kept from running for seconds still kills the
            # leader before it has sent everything.
            await eventually(lambda: sum(received(sandbox).values()) >= COUNT // 10, LOADED)
            leader.process.kill()  # SIGKILL: its lock goes with its connection or file
            await leader.process.wait()
            assert sum(received(sandbox).values()) < COUNT, "killed midway"
            took = await standby.wait_until_it_says(LEADS)
            # It polls the lock every 0.5 s; a loaded machine may keep it from running for
            # seconds, so the bound is loose: a standby that never retried would never lead.
            assert took < 30, f"the standby took {took:.1f} s to take over"
            await all_but_the_leased_one_sent(sessions)
        assert standby.process.returncode == 0, "a clean stop on SIGTERM"
        got = received(sandbox)
    assert max(got.values()) == 1, "nothing delivered twice"
    # At least once, at its boundary: the message the dead leader had in flight stays leased
    # to it for a minute. The leader may have been killed before sending it (not delivered
    # yet) or after Telegram took it but before the row was marked (delivered once, recorded
    # as in flight). Either way it reached the person at most once; every other one is marked.
    final = Counter(await statuses(sessions))
    assert final["sent"] + final["sending"] == COUNT, final
    assert final["sent"] <= len(got) <= final["sent"] + final["sending"], (len(got), final)
