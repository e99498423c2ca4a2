"""Delivering the outbox through the sandbox with Telegram's limits enforced (30 messages/s
overall, 1/s per chat): achieved rate as a share of the limit, 429s received, delivered count;
then with 1% of the people having blocked the bot; then a sender process killed (SIGKILL)
midway and started again: delivered and duplicated counts.

.venv/bin/python -m benchmarks.notify [--messages 5000] [--only-kill]

`--send DATABASE_URL API_BASE NOW` is the sender process of the kill scenario (and of the
crash test in tests/test_delivery_crash.py): it drains the outbox until it is killed.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiohttp import ClientSession
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.factory import create_bot
from bot.notify import telegram_send
from core.accounts.models import User
from core.config import Settings
from core.db import create_engine, create_session_factory, migrate
from core.notifications.delivery import LEASE, Courier, Send
from core.notifications.outbox import OutboxMessage, OutboxStatus, message_row
from sandbox.app import Sandbox, SandboxConfig, running_sandbox

TOKEN = "7000000001:benchmark"
NOW = datetime(2026, 11, 22, 9, tzinfo=UTC)
FIRST_ID = 500_000_000
ROOT = Path(__file__).resolve().parent.parent  # the sender runs `-m benchmarks.notify` here


async def prepare(
    sessions: async_sessionmaker[AsyncSession],
    sandbox: Sandbox,
    count: int,
    blocked: int,
    *,
    flood_limits: bool = True,
    now: datetime = NOW,
) -> None:
    async with ClientSession() as http:
        for n in range(count):
            await http.post(
                f"{sandbox.url}/sandbox/api/users", json={"id": FIRST_ID + n, "first_name": "Анна"}
            )
        for n in range(blocked):
            await http.post(
                f"{sandbox.url}/sandbox/api/users/{FIRST_ID + n * 100}/block",
                json={"blocked": True},
            )
        await http.post(f"{sandbox.url}/sandbox/api/settings", json={"flood_limits": flood_limits})
    async with sessions() as session:
        ids = (
            await session.scalars(
                insert(User).returning(User.id),
                [
                    {
                        "telegram_id": FIRST_ID + n,
                        "first_name": "Анна",
                        "language": "ru",
                        "created_at": now,
                        "last_seen_at": now,
                    }
                    for n in range(count)
                ],
            )
        ).all()
        await session.execute(
            insert(OutboxMessage),
            [
                message_row(
                    user_id=user_id,
                    kind="appeal_closed",
                    dedupe_key=f"bench:{user_id}",
                    now=now,
                    number=f"О-26-{user_id:06d}",
                )
                for user_id in ids
            ],
        )
        await session.commit()


async def drain(
    sessions: async_sessionmaker[AsyncSession],
    send: Send,
    courier: Courier,
    now: datetime = NOW,
) -> None:
    while True:
        await courier.run(sessions, send, now)
        async with sessions() as session:
            left = await session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .join(User, User.id == OutboxMessage.user_id)
                .where(
                    OutboxMessage.status.in_([OutboxStatus.PENDING, OutboxStatus.SENDING]),
                    User.blocked_bot_at.is_(None),
                )
            )
        if not left:
            return


def received(sandbox: Sandbox) -> Counter[int]:
    """Messages the sandbox holds per person, as Telegram would have delivered them."""
    return Counter(
        {
            chat_id: len(messages)
            for chat_id, messages in sandbox.state.messages.items()
            if chat_id >= FIRST_ID
        }
    )


def flood_errors(sandbox: Sandbox) -> int:
    return sum(1 for call in sandbox.state.calls if "Too Many" in str(call.get("error", "")))


async def send_forever(url: str, api_base: str, now: datetime, per_second: float) -> None:
    """The sender process: drains the outbox until it is killed."""
    engine = create_engine(url)
    sessions = create_session_factory(engine)
    bot = create_bot(Settings(), token=TOKEN, api_base=api_base)
    courier = Courier(quiet=None, per_second=per_second)
    while True:
        await drain(sessions, telegram_send(bot), courier, now)
        await asyncio.sleep(0.1)


async def kill_midway(
    url: str, sandbox: Sandbox, now: datetime, *, after: int, per_second: float = 30.0
) -> None:
    """Start the sender as its own process and SIGKILL it once `after` messages arrived."""
    sender = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "benchmarks.notify",
        "--send",
        url,
        sandbox.url,
        now.isoformat(),
        str(per_second),
        cwd=ROOT,
    )
    try:
        while sum(received(sandbox).values()) < after:
            if sender.returncode is not None:
                raise RuntimeError(f"the sender exited early with {sender.returncode}")
            await asyncio.sleep(0.02)
    finally:
        sender.kill()  # SIGKILL: no cleanup, no last commit
        await sender.wait()


async def scenario(count: int, blocked: int, kill: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'notify.db'}"
        await migrate(url)
        engine = create_engine(url)
        sessions = create_session_factory(engine)
        async with running_sandbox(SandboxConfig(port=0, smtp_port=0, bot_token=TOKEN)) as sandbox:
            await prepare(sessions, sandbox, count, blocked)
            settings = Settings()
            bot = create_bot(settings, token=TOKEN, api_base=sandbox.url)
            send = telegram_send(bot)
            started = time.perf_counter()
            if kill:
                await kill_midway(url, sandbox, NOW, after=count // 2)
                # Started again a little later: the message in flight at the kill is leased
                # for a minute, then sent again if it was not marked.
                await drain(sessions, send, Courier(quiet=None), NOW + LEASE + timedelta(seconds=1))
            else:
                await drain(sessions, send, Courier(quiet=None))
            elapsed = time.perf_counter() - started
            got = received(sandbox)
            floods = flood_errors(sandbox)
            await bot.session.close()
        await engine.dispose()
    delivered = sum(1 for n in got.values() if n >= 1)
    duplicated = sum(n - 1 for n in got.values() if n > 1)
    rate = delivered / elapsed
    title = (
        f"{count:,} messages"
        + (f", {blocked} blocked" if blocked else "")
        + (", sender killed midway" if kill else "")
    )
    print(f"{title}:")
    print(f"  delivered {delivered:,} (expected {count - blocked:,}), duplicated {duplicated}")
    print(f"  429s received: {floods}")
    print(f"  {elapsed:.1f} s, {rate:.1f} messages/s = {rate / 30:.0%} of the 30/s limit")


async def main(count: int, only_kill: bool) -> None:
    if not only_kill:
        await scenario(count, 0, kill=False)
        await scenario(count, count // 100, kill=False)
    await scenario(count, 0, kill=True)


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--only-kill", action="store_true", help="only the kill-and-restart run")
    parser.add_argument("--send", nargs=4, metavar=("DATABASE_URL", "API_BASE", "NOW", "RATE"))
    args = parser.parse_args()
    if args.send:
        url, api_base, now, rate = args.send
        asyncio.run(send_forever(url, api_base, datetime.fromisoformat(now), float(rate)))
    else:
        asyncio.run(main(args.messages, args.only_kill))
