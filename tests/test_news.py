"""The insurer's news: queued once per person who keeps news on, in their language; the news
switch in the profile holds even for news already queued."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.accounts.crypto import Vault
from core.accounts.models import Account
from core.clock import FrozenClock
from core.config import Settings
from core.demo import register_demo_person
from core.notifications.delivery import Courier
from core.notifications.news import NewsRejected, announce_news
from core.notifications.outbox import OutboxMessage

TEXTS = {"ru": "С 1 декабря — прививка от гриппа <бесплатно>.", "en": "Flu shots from 1 December."}


async def three_people(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, clock: FrozenClock
) -> list[Account]:
    assert settings.data_encryption_key is not None
    vault = Vault(settings.data_encryption_key.get_secret_value().encode())
    people = []
    for n, language in enumerate(("ru", "en", "ru")):
        people.append(
            await register_demo_person(
                sessions,
                vault,
                881 + n,
                now=clock.now(),
                language=language,
                phone=f"+7916123456{n}",
                email=f"person{n}@example.org",
                document=f"4506 98765{n}",
            )
        )
    return people


async def switch_news_off(sessions: async_sessionmaker[AsyncSession], account: Account) -> None:
    async with sessions() as session:
        row = await session.get(Account, account.id)
        assert row is not None
        row.notify_news = False
        await session.commit()


async def test_news_reach_each_person_once_in_their_language_unless_turned_off(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, clock: FrozenClock
) -> None:
    anna, ben, carl = await three_people(sessions, settings, clock)
    await switch_news_off(sessions, carl)
    async with sessions() as session:
        assert await announce_news(session, "flu-2026", TEXTS, clock.now()) == 2
        assert await announce_news(session, "flu-2026", TEXTS, clock.now()) == 0, "once"
    await switch_news_off(sessions, anna)  # after it was queued: still not sent
    sent: dict[int, str] = {}

    async def send(chat_id: int, text: str, actions: object = ()) -> None:
        sent[chat_id] = text

    assert await Courier(quiet=None, per_chat_interval=0).run(sessions, send, clock.now()) == 1
    assert sent == {882: "Flu shots from 1 December."}
    async with sessions() as session:
        statuses = dict(
            (await session.execute(select(OutboxMessage.user_id, OutboxMessage.status))).all()
        )
    assert statuses == {anna.user_id: "skipped", ben.user_id: "sent"}


async def test_news_fall_back_to_russian_and_are_escaped(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, clock: FrozenClock
) -> None:
    await three_people(sessions, settings, clock)
    async with sessions() as session:
        await announce_news(session, "flu", {"ru": TEXTS["ru"], "en": "  "}, clock.now())
        with pytest.raises(NewsRejected):
            await announce_news(session, "no-russian", {"en": "Hello"}, clock.now())
    sent: dict[int, str] = {}

    async def send(chat_id: int, text: str, actions: object = ()) -> None:
        sent[chat_id] = text

    await Courier(quiet=None, per_chat_interval=0).run(sessions, send, clock.now())
    assert sent[882] == "С 1 декабря — прививка от гриппа &lt;бесплатно&gt;."
    assert len(sent) == 3
