"""The crash test of the outbox at a small size: a sender process is killed (SIGKILL) in the
middle of its run and another starts; every message arrives, and at most the one in flight at
the kill arrives twice. The same code, at 5,000 messages, is `benchmarks/notify.py`'s third
scenario."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from benchmarks.notify import NOW, TOKEN, drain, kill_midway, prepare, received
from bot.factory import create_bot
from bot.notify import telegram_send
from core.config import Settings
from core.notifications.delivery import LEASE, Courier
from core.notifications.outbox import OutboxMessage
from sandbox.app import SandboxConfig, running_sandbox

COUNT = 200


async def test_a_sender_killed_mid_run_loses_nothing_and_repeats_at_most_one(
    database_url: str, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with running_sandbox(SandboxConfig(port=0, smtp_port=0, bot_token=TOKEN)) as sandbox:
        await prepare(sessions, sandbox, COUNT, 0, flood_limits=False)
        # Killed early and at 20 messages/s (9 s to the end): a loaded machine may keep this
        # process from running for seconds, and the sender must not finish before the kill.
        await kill_midway(database_url, sandbox, NOW, after=COUNT // 10, per_second=20)
        before = sum(received(sandbox).values())
        assert COUNT // 10 <= before < COUNT, "killed in the middle of the run"

        bot = create_bot(Settings(), token=TOKEN, api_base=sandbox.url)
        # The new sender starts after the dead one's lease (a minute) has run out.
        restarted = Courier(quiet=None, per_second=1000, per_chat_interval=0)
        await drain(sessions, telegram_send(bot), restarted, NOW + LEASE + timedelta(seconds=1))
        await bot.session.close()
        got = received(sandbox)
    assert len(got) == COUNT, "every person got their message"
    assert sum(n - 1 for n in got.values()) <= 1, "at most the one in flight twice"
    async with sessions() as session:
        statuses = set(await session.scalars(select(OutboxMessage.status)))
    assert statuses == {"sent"}
