"""How fast the real dispatcher handles updates, next to a bare aiogram echo bot.

    .venv/bin/python -m benchmarks.updates [--updates 5000] [--users 200] [--dialogs 100]

Both dispatchers get the same updates through `feed_update` with a bot session that answers
every Bot API call at once, so the figures are the bot's own cost: middlewares, the database
(a fresh SQLite file, migrated), FSM storage, i18n and the handlers. The session builds each
answer as aiogram does from Telegram's reply (a validated `Message`), but does not check
Telegram's rules as the test suite's does (HTML parsing, lengths, unchanged edits: the suite's
assertions, not the bot's cost) unless `--telegram-rules` is given.

Two mixes: the commands mix (/start, /help, menu texts, a location, unknown text, spread over
`--users` people) and the dialog mix (`--dialogs` rounds; each round a new person registers up
to their name (contact, e-mail, code, surname, first name), and a registered person opens their
policies and a policy card, shares a location and switches the clinic list twice). The echo bot
then gets the very updates the dialog mix produced; for both only `feed_update` is timed (the
dialog's person making their messages and taps is not the bot's cost). The two take turns
(100 updates of the commands mix, or one dialog round, each), so that a machine slowed down for
a while by other work (this one is shared) weighs on both figures alike. CPU per update is this
process's CPU time (every thread) over the updates: unlike the wall-clock figures it hardly
moves when the machine is busy with other work. Statements per update are the SQL statements the database
driver ran (including BEGIN/COMMIT/ROLLBACK as the driver sends them) over the updates;
context switches per update count this process's voluntary ones (every thread).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import itertools
import resource
import statistics
import tempfile
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

from aiogram import Bot, Dispatcher, F
from aiogram.types import Message, Update
from pydantic import SecretStr
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.factory import create_dispatcher
from core.accounts.crypto import Vault, generate_key
from core.clock import SystemClock
from core.config import Settings
from core.db import create_engine, create_session_factory, migrate
from core.demo import register_demo_person, seed_demo_data
from tests.dialog import UPDATE_IDS, ChatClient, RecordingMailer, RecordingSession

Sessions = async_sessionmaker[AsyncSession]

MIX = [
    {"text": "/start"},
    {"text": "/help"},
    {"text": "☎️ Контакты"},
    {"text": "📄 Документы"},
    {"location": {"latitude": 55.75, "longitude": 37.61}},
    {"text": "что-то непонятное"},
]


def make_updates(count: int, users: int) -> list[Update]:
    ids = UPDATE_IDS  # one sequence with the dialog mix: a repeated id would be skipped
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


# wall seconds, CPU seconds, latencies, SQL statements, context switches
Measured = tuple[float, float, list[float], int, int]


def switches() -> int:
    """The process's voluntary context switches so far (every thread waiting for another: a
    thread hop costs two or more). Preemptions are left out: they measure the machine's load."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_nvcsw


class StatementCounter:
    """Counts what the engine sends to the database (statements and transaction ends)."""

    def __init__(self) -> None:
        self.count = 0

    def attach(self, engine: AsyncEngine) -> None:
        def counted(*_: object) -> None:
            self.count += 1

        event.listen(engine.sync_engine, "before_cursor_execute", counted)
        event.listen(engine.sync_engine, "commit", counted)
        event.listen(engine.sync_engine, "rollback", counted)


STATEMENTS = StatementCounter()


async def measure(dp: Dispatcher, bot: Bot, updates: list[Update]) -> Measured:
    session: RecordingSession = bot.session  # type: ignore[assignment]
    latencies = []
    statements, switched = STATEMENTS.count, switches()
    cpu, started = time.process_time(), time.perf_counter()
    for update in updates:
        begin = time.perf_counter()
        await dp.feed_update(bot, update)
        latencies.append(time.perf_counter() - begin)
        session.calls.clear()
    spent, elapsed = time.process_time() - cpu, time.perf_counter() - started
    return elapsed, spent, latencies, STATEMENTS.count - statements, switches() - switched


class TimedChat(ChatClient):
    """A person whose every update is timed and kept (to feed the echo bot the same ones).
    Only the dispatcher's handling is timed, as for the echo: not the person's side (making
    each message and tap, finding the button, reading the code in the mailbox)."""

    log: list[tuple[Update, float, float]]  # the update, its wall time and its CPU time

    async def _feed_update(self, update: Update) -> ChatClient:
        cpu, begin = time.process_time(), time.perf_counter()
        await super()._feed_update(update)
        self.log.append((update, time.perf_counter() - begin, time.process_time() - cpu))
        if len(self.session.calls) > 200:
            del self.session.calls[:-50]  # the latest messages still hold the buttons to tap
        return self


def person(
    dp: Dispatcher, bot: Bot, user_id: int, log: list[tuple[Update, float, float]]
) -> TimedChat:
    chat = TimedChat(dp, bot, user_id=user_id)
    chat.log = log
    return chat


async def dialog_round(
    dp: Dispatcher, bot: Bot, mailbox: RecordingMailer, anna: TimedChat, n: int
) -> None:
    newcomer = person(dp, bot, 500_000 + n, anna.log)
    email = f"person{n}@example.org"
    await newcomer.send("/start")
    await newcomer.tap("📝 Регистрация")
    await newcomer.share_contact(f"+7916{1_000_000 + n:07d}")
    await newcomer.send(email)
    await newcomer.send(mailbox.last_code(email))
    await newcomer.send("Иванова")
    await newcomer.send("Анна")
    await anna.send("📋 Мои полисы")
    await anna.tap("DMS-K-2026-0001 · Анна")
    await anna.share_location(55.7558, 37.6173)
    await anna.tap("👁 Показать и недоступные")
    await anna.tap("✅ Только доступные мне")


async def dialogs(
    dp: Dispatcher, bot: Bot, mailbox: RecordingMailer, anna: TimedChat, rounds: int, first: int
) -> tuple[Measured, list[Update]]:
    anna.log = []
    statements, switched = STATEMENTS.count, switches()
    for n in range(first, first + rounds):
        await dialog_round(dp, bot, mailbox, anna, n)
    latencies = [t for _, t, _ in anna.log]
    elapsed, spent = sum(latencies), sum(c for _, _, c in anna.log)
    measured = (elapsed, spent, latencies, STATEMENTS.count - statements, switches() - switched)
    return measured, [u for u, _, _ in anna.log]


def report(name: str, measured: Measured) -> float:
    elapsed, cpu, latencies, statements, switched = measured
    rate = len(latencies) / elapsed
    q = statistics.quantiles(latencies, n=100)
    print(
        f"{name:<22} {rate:>7.0f} updates/s   p50 {q[49] * 1000:6.2f} ms   "
        f"p99 {q[98] * 1000:6.2f} ms   CPU {cpu / len(latencies) * 1000:5.2f} ms/update   "
        f"SQL {statements / len(latencies):4.1f}/update   "
        f"context switches {switched / len(latencies):5.1f}/update"
    )
    return rate


def compare(title: str, app: Measured, echo: Measured) -> None:
    print(title)
    app_rate = report("cabinet dispatcher", app)
    echo_rate = report("bare echo dispatcher", echo)
    print(f"ratio: the cabinet handles {app_rate / echo_rate:.2f}x the echo bot's rate")


def joined(a: Measured, b: Measured) -> Measured:
    return a[0] + b[0], a[1] + b[1], a[2] + b[2], a[3] + b[3], a[4] + b[4]


NOTHING: Measured = (0.0, 0.0, [], 0, 0)
CHUNK = 100  # commands-mix updates fed to one dispatcher before the other takes its turn


@contextlib.asynccontextmanager
async def demo_database() -> AsyncIterator[tuple[AsyncEngine, Sessions, Settings]]:
    """A fresh SQLite file, migrated, with the demo data and Anna (1001) registered; the
    settings of a cabinet on it (no flood limit)."""
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'bench.sqlite3'}"
        await migrate(url)
        engine = create_engine(url)
        sessions = create_session_factory(engine)
        key = generate_key()
        now = SystemClock().now()
        await seed_demo_data(sessions, Vault(key.encode()), now=now)
        await register_demo_person(sessions, Vault(key.encode()), 1001, now=now)
        settings = Settings(
            _env_file=None, database_url=url, throttle_rate=0, data_encryption_key=SecretStr(key)
        )
        try:
            yield engine, sessions, settings
        finally:
            await engine.dispose()


async def anna_with_her_policy(app: Dispatcher, bot: Bot) -> TimedChat:
    """Anna, who adds DMS-K-2026-0001: the registered person of the dialog rounds."""
    anna = person(app, bot, 1001, [])
    await anna.send("/policies")
    await anna.tap("➕ Добавить полис")
    await anna.tap("По номеру полиса")
    await anna.send("DMS-K-2026-0001")
    return anna


async def main(count: int, users: int, rounds: int, telegram_rules: bool) -> None:
    async with demo_database() as (engine, sessions, settings):
        STATEMENTS.attach(engine)
        updates = make_updates(count, users)
        mailbox = RecordingMailer()
        session = RecordingSession()
        session.enforce_telegram_rules = telegram_rules
        async with Bot("1:bench", session=session) as bot:
            app = create_dispatcher(settings, sessions, SystemClock(), mailer=mailbox)
            gc.freeze()  # as main.py does once started
            anna = await anna_with_her_policy(app, bot)
            echo = echo_dispatcher()
            await measure(app, bot, make_updates(200, users))  # warm-up: users exist, caches filled
            await dialogs(app, bot, mailbox, anna, 5, first=0)
            await measure(echo, bot, updates[:200])
            # The two dispatchers take turns (a chunk of the commands, a dialog round), so that
            # a machine slowed down for a while by other work weighs on both alike.
            app_commands = echo_commands = app_dialogs = echo_dialogs = NOTHING
            for start in range(0, len(updates), CHUNK):
                chunk = updates[start : start + CHUNK]
                app_commands = joined(app_commands, await measure(app, bot, chunk))
                echo_commands = joined(echo_commands, await measure(echo, bot, chunk))
            dialog_updates = []
            for n in range(5, 5 + rounds):
                measured, round_updates = await dialogs(app, bot, mailbox, anna, 1, first=n)
                app_dialogs = joined(app_dialogs, measured)
                echo_dialogs = joined(echo_dialogs, await measure(echo, bot, round_updates))
                dialog_updates += round_updates
    compare(
        f"commands mix: {count} updates from {users} users "
        "(/start, /help, contacts, documents, location, unknown text)",
        app_commands,
        echo_commands,
    )
    compare(
        f"dialog mix: {len(dialog_updates)} updates in {rounds} rounds "
        "(registration steps, policy card taps, clinic list taps)",
        app_dialogs,
        echo_dialogs,
    )
    compare(
        "both mixes together",
        joined(app_commands, app_dialogs),
        joined(echo_commands, echo_dialogs),
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--updates", type=int, default=5000)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--dialogs", type=int, default=100)
    parser.add_argument(
        "--telegram-rules",
        action="store_true",
        help="have the stand-in for Telegram check its rules (HTML, lengths, unchanged edits) "
        "as the test suite does; session 8's figures were taken so",
    )
    args = parser.parse_args()
    asyncio.run(main(args.updates, args.users, args.dialogs, args.telegram_rules))
