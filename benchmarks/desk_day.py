"""A scripted day at the desk: 50 people file appeals between 09:00 and 18:00 (Moscow) through
the chat; two operators take, answer and close them in the group at human delays; people rate
the closed ones, a few reopen and some write a follow-up after the answer (both wait for the
desk again); at 21:00 an operator asks for /stats, which is printed.
Everything goes through the real dispatcher (the dialog tests' recording bot), so /stats counts
what the chat and the group did, not numbers written into the database.

.venv/bin/python -m benchmarks.desk_day [--appeals 50] [--seed 17]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.enums import ParseMode
from pydantic import SecretStr
from sqlalchemy import select

from bot.factory import create_dispatcher
from core.accounts.crypto import Vault, generate_key
from core.appeals.models import Appeal
from core.clock import FrozenClock
from core.config import Settings
from core.db import create_engine, create_session_factory, migrate
from core.demo import register_demo_person
from tests.dialog import ChatClient, RecordingMailer, RecordingSession

GROUP, OPERATORS = -1001000000001, (9001, 9002)
START = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)  # 09:00 in Moscow, a Monday
FIRST_PERSON = 700_000


async def day(appeals: int, seed: int) -> str:
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'desk.sqlite3'}"
        await migrate(url)
        engine = create_engine(url)
        sessions = create_session_factory(engine)
        key = generate_key()
        settings = Settings(
            _env_file=None,
            database_url=url,
            throttle_rate=0,
            data_encryption_key=SecretStr(key),
            operators_chat_id=GROUP,
            operator_ids=list(OPERATORS),
            appeals_per_day=appeals,
        )
        clock = FrozenClock(START)
        dp = create_dispatcher(settings, sessions, clock, mailer=RecordingMailer())
        bot = Bot(
            "7000000001:desk-day",
            session=RecordingSession(),
            default=DefaultBotProperties(parse_mode=ParseMode.HTML),
        )
        operators = [
            ChatClient(dp, bot, user_id=o, first_name=n, group_id=GROUP)
            for o, n in zip(OPERATORS, ("Ольга", "Игорь"), strict=True)
        ]
        events: list[tuple[datetime, int, Callable[[], Awaitable[None]]]] = []
        order = iter(range(10**6))

        def at(moment: datetime, action: Callable[[], Awaitable[None]]) -> None:
            events.append((moment, next(order), action))

        for n in range(appeals):
            person = ChatClient(dp, bot, user_id=FIRST_PERSON + n, first_name="Анна")
            await register_demo_person(
                sessions,
                Vault(key.encode()),
                person.user.id,
                now=START,
                phone=f"+7916{FIRST_PERSON + n:07d}",
                email=f"p{n}@example.org",
                document=f"45{n:02d} {100000 + n}",
            )
            filed = START + timedelta(minutes=rng.randint(0, 9 * 60))
            operator = operators[n % 2]
            plan = rng.random()
            at(filed, file_other(person, f"Вопрос номер {n}: как получить справку?"))
            if plan < 0.9:  # 45 of 50 answered
                taken = filed + timedelta(minutes=rng.randint(2, 40))
                answered = taken + timedelta(minutes=rng.randint(3, 90))
                at(taken, tap_card(operator, person, "🙋 Взять"))
                at(answered, answer(operator, person, f"Ответ на вопрос {n}."))
                if plan < 0.75:  # closed by the desk, then rated
                    closed = answered + timedelta(minutes=rng.randint(5, 60))
                    at(closed, tap_card(operator, person, "✅ Закрыть"))
                    if rng.random() < 0.8:
                        stars = rng.choice([5, 5, 5, 4, 4, 3, 2])
                        at(closed + timedelta(minutes=30), rate(person, stars))
                    if rng.random() < 0.1:  # a few reopen it in the evening: waiting again
                        at(closed + timedelta(minutes=rng.randint(60, 180)), write(person, True))
                elif rng.random() < 0.5:  # a follow-up after the answer, not answered yet
                    at(answered + timedelta(minutes=rng.randint(10, 120)), write(person, False))
        events.sort(key=lambda e: (e[0], e[1]))
        started = time.perf_counter()
        for moment, _n, action in events:
            clock.at = moment
            await action()
        elapsed = time.perf_counter() - started
        clock.at = START + timedelta(hours=12)  # 21:00
        await operators[0].send("/stats")
        stats = operators[0].text
        async with sessions() as session:
            rows = (await session.scalars(select(Appeal))).all()
            stored = len(rows)
            never = sum(1 for a in rows if a.first_answer_at is None)
            again = sum(1 for a in rows if a.first_answer_at is not None and a.waiting_since)
        await dp.storage.close()
        await bot.session.close()
        await engine.dispose()
    return (
        f"{stored} appeals stored, {len(events)} chat and desk steps in {elapsed:.1f} s\n"
        f"waiting for the desk at 21:00: {never} never answered, {again} answered before and "
        f"written to again (a follow-up or a reopening)\n{stats}"
    )


THREADS: dict[int, int] = {}  # person -> the topic of their appeal
CARDS: dict[int, str] = {}


def file_other(person: ChatClient, text: str) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        await person.send("/appeals")
        await person.tap("➕ Новое обращение")
        await person.tap("Другое")
        await person.send(text)
        await person.tap("Готово")
        await person.tap("✅ Отправить")
        card = next(
            c
            for c in person.calls
            if c.__api_method__ == "sendMessage" and getattr(c, "chat_id", None) == GROUP
        )
        THREADS[person.user.id] = int(card.message_thread_id)  # type: ignore[attr-defined]
        CARDS[person.user.id] = str(card.reply_markup.inline_keyboard[0][0].callback_data)  # type: ignore[attr-defined]

    return run


def tap_card(
    operator: ChatClient, person: ChatClient, button: str
) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        take = CARDS[person.user.id]  # dk:<id>:take
        appeal = take.split(":")[1]
        action = {"🙋 Взять": "take", "✅ Закрыть": "close"}[button]
        await operator.callback(f"dk:{appeal}:{action}")

    return run


def answer(operator: ChatClient, person: ChatClient, text: str) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        await operator.send_in_topic(text, THREADS[person.user.id])

    return run


def rate(person: ChatClient, stars: int) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        appeal = CARDS[person.user.id].split(":")[1]
        await person.callback(f"al:rate:{appeal}:{stars}:0")

    return run


def write(person: ChatClient, reopening: bool) -> Callable[[], Awaitable[None]]:
    """The person writes more to their appeal: a follow-up, or reopening the closed one."""

    async def run() -> None:
        appeal = CARDS[person.user.id].split(":")[1]
        await person.callback(f"al:{'reopen' if reopening else 'reply'}:{appeal}:0:0")
        await person.send("И ещё один вопрос по той же справке.")

    return run


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--appeals", type=int, default=50)
    parser.add_argument("--seed", type=int, default=17)
    args = parser.parse_args()
    print(asyncio.run(day(args.appeals, args.seed)))


if __name__ == "__main__":
    main()
