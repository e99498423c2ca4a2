"""How fast the real dispatcher handles updates, next to a bare aiogram echo bot.

    .venv/bin/python -m benchmarks.updates [--updates 5000] [--users 200]

Both dispatchers get the same updates through `feed_update` with a bot session that answers
every Bot API call at once, so the figures are the bot's own cost: middlewares, the database
(a fresh SQLite file, migrated), FSM storage, i18n and the handlers.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from aiogram import Bot, Dispatcher, F
from aiogram.types import Message, Update
from pydantic import SecretStr

from bot.factory import create_dispatcher
from core.accounts.crypto import Vault, generate_key
from core.clock import SystemClock
from core.config import Settings
from core.db import create_engine, create_session_factory, migrate
from core.demo import seed_demo_data
from tests.dialog import RecordingSession

MIX = [
    {"text": "/start"},
    {"text": "/help"},
    {"text": "☎️ Контакты"},
    {"text": "📄 Документы"},
    {"location": {"latitude": 55.75, "longitude": 37.61}},
    {"text": "что-то непонятное"},
]


def make_updates(count: int, users: int) -> list[Update]:
    ids = itertools.count(1)
    updates = []
    for number, content in zip(range(count), itertools.cycle(MIX), strict=False):
        user_id = 10_000 + number % users
        person = {"id": user_id, "is_bot": False, "first_name": "Анна", "language_code": "ru"}
        message = {
            "message_id": number + 1,
            "date": int(datetime.now(UTC).timestamp()),
            "chat": {"id": user_id, "type": "private", "first_name": "Анна"},
            "from": person,
            **content,
        }
        updates.append(Update.model_validate({"update_id": next(ids), "message": message}))
    return updates


def echo_dispatcher() -> Dispatcher:
    dp = Dispatcher()

    @dp.message(F.text)
    async def echo(message: Message) -> None:
        await message.answer(message.text or "")

    @dp.message()
    async def other(message: Message) -> None:
        await message.answer("?")

    return dp


async def measure(dp: Dispatcher, bot: Bot, updates: list[Update]) -> tuple[float, list[float]]:
    session: RecordingSession = bot.session  # type: ignore[assignment]
    latencies = []
    started = time.perf_counter()
    for update in updates:
        begin = time.perf_counter()
        await dp.feed_update(bot, update)
        latencies.append(time.perf_counter() - begin)
        session.calls.clear()
    return time.perf_counter() - started, latencies


def report(name: str, elapsed: float, latencies: list[float]) -> float:
    rate = len(latencies) / elapsed
    q = statistics.quantiles(latencies, n=100)
    print(
        f"{name:<22} {rate:>9.0f} updates/s   p50 {q[49] * 1000:6.2f} ms   p99 {q[98] * 1000:6.2f} ms"
    )
    return rate


async def main(count: int, users: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'bench.sqlite3'}"
        await migrate(url)
        engine = create_engine(url)
        sessions = create_session_factory(engine)
        key = generate_key()
        await seed_demo_data(sessions, Vault(key.encode()), now=SystemClock().now())
        settings = Settings(
            _env_file=None, database_url=url, throttle_rate=0, data_encryption_key=SecretStr(key)
        )
        updates = make_updates(count, users)
        async with Bot("1:bench", session=RecordingSession()) as bot:
            app = create_dispatcher(settings, sessions, SystemClock())
            await measure(app, bot, make_updates(200, users))  # warm-up: users exist, caches filled
            app_elapsed, app_latencies = await measure(app, bot, updates)
            echo = echo_dispatcher()
            await measure(echo, bot, updates[:200])
            echo_elapsed, echo_latencies = await measure(echo, bot, updates)
        await engine.dispose()
    print(
        f"{count} updates from {users} users, mix: /start, /help, contacts, documents, location, unknown text"
    )
    app_rate = report("cabinet dispatcher", app_elapsed, app_latencies)
    echo_rate = report("bare echo dispatcher", echo_elapsed, echo_latencies)
    print(f"ratio: the cabinet handles {app_rate / echo_rate:.2f}x the echo bot's rate")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--updates", type=int, default=5000)
    parser.add_argument("--users", type=int, default=200)
    args = parser.parse_args()
    asyncio.run(main(args.updates, args.users))
