"""The outbox courier: quiet hours, one message a second per chat, and Telegram's answers:
a 429 pauses the bot without losing the message, a 403 holds the person's messages until
they come back, a 400 is dead-lettered; the last part runs against the sandbox over HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, time, timedelta

import pytest
from aiohttp import ClientSession
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.factory import create_bot
from bot.notify import telegram_send
from core.accounts.models import Account, User
from core.accounts.users import TelegramProfile, touch_user
from core.accounts.zones import zone_of
from core.clock import FrozenClock
from core.config import Settings
from core.notifications.delivery import Courier, RetryAfter, quiet_until
from core.notifications.outbox import OutboxMessage, OutboxStatus, enqueue
from sandbox.app import Sandbox, SandboxConfig, running_sandbox
from tests.conftest import register_anna
from tests.live import TOKEN, SandboxUser


async def people(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock, *ids: int
) -> list[User]:
    async with sessions() as session:
        users = [
            await touch_user(
                session,
                TelegramProfile(i, "Анна", language_code="ru"),
                now=clock.now(),
                default_language="ru",
            )
            for i in ids
        ]
        await session.commit()
        return users


async def post(
    sessions: async_sessionmaker[AsyncSession],
    users: list[User],
    clock: FrozenClock,
    kind: str,
    **more: str,
) -> None:
    async with sessions() as session:
        for n, user in enumerate(users):
            await enqueue(
                session,
                user_id=user.id,
                kind=kind,
                dedupe_key=f"{kind}:{n}:{user.id}",
                now=clock.now(),
                number="ONDL-500001",
                name="Анна",
                **more,
            )
        await session.commit()


async def statuses(sessions: async_sessionmaker[AsyncSession]) -> list[str]:
    async with sessions() as session:
        return list(await session.scalars(select(OutboxMessage.status).order_by(OutboxMessage.id)))


def test_quiet_hours_are_moscow_evenings_and_nights() -> None:
    quiet = (time(22), time(9))
    evening = datetime(2026, 11, 21, 20, 30, tzinfo=UTC)  # 23:30 in Moscow
    assert quiet_until(evening, *quiet) == datetime(2026, 11, 22, 6, 0, tzinfo=UTC)
    assert quiet_until(datetime(2026, 11, 22, 3, 0, tzinfo=UTC), *quiet) == datetime(
        2026, 11, 22, 6, 0, tzinfo=UTC
    )
    assert quiet_until(datetime(2026, 11, 22, 9, 0, tzinfo=UTC), *quiet) is None


def test_quiet_hours_follow_the_person_s_time_zone() -> None:
    quiet = (time(22), time(9))
    moment = datetime(2026, 11, 22, 1, 0, tzinfo=UTC)  # 04:00 in Moscow, 11:00 in Vladivostok
    assert quiet_until(moment, *quiet, zone_of("Asia/Vladivostok")) is None
    assert quiet_until(moment, *quiet, zone_of(None)) == datetime(2026, 11, 22, 6, tzinfo=UTC)
    # 23:00 in Kaliningrad is midnight in Moscow; the morning there is 07:00 UTC.
    late = datetime(2026, 11, 22, 21, 0, tzinfo=UTC)
    assert quiet_until(late, *quiet, zone_of("Europe/Kaliningrad")) == datetime(
        2026, 11, 23, 7, tzinfo=UTC
    )


async def test_the_morning_comes_earlier_in_vladivostok(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    moscow, vladivostok = await people(sessions, clock, 803, 804)
    async with sessions() as session:
        far = await session.get(User, vladivostok.id)
        assert far is not None
        far.time_zone = "Asia/Vladivostok"
        await session.commit()
    clock.advance(timedelta(hours=16))  # 04:00 in Moscow, 11:00 in Vladivostok
    await post(sessions, [moscow, vladivostok], clock, "new_services")
    sent: list[int] = []

    async def send(chat_id: int, text: str, actions: object = ()) -> None:
        sent.append(chat_id)

    courier = Courier(per_chat_interval=0)
    assert await courier.run(sessions, send, clock.now()) == 1 and sent == [804]
    clock.advance(timedelta(hours=5))  # 09:00 in Moscow
    assert await courier.run(sessions, send, clock.now()) == 1 and sent == [804, 803]


async def test_messages_that_can_wait_wait_for_the_morning_the_urgent_go(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    [anna] = await people(sessions, clock, 801)
    clock.advance(timedelta(hours=11, minutes=30))  # 23:30 in Moscow
    await post(sessions, [anna], clock, "new_services")
    await post(sessions, [anna], clock, "appeal_closed")
    sent: list[str] = []

    async def send(chat_id: int, text: str, actions: object = ()) -> None:
        sent.append(text)

    courier = Courier(per_chat_interval=0)
    assert await courier.run(sessions, send, clock.now()) == 1
    assert "закрыто" in sent[0]
    clock.advance(timedelta(hours=9))  # 08:30: still quiet
    assert await courier.run(sessions, send, clock.now()) == 0
    clock.advance(timedelta(hours=1))
    assert await courier.run(sessions, send, clock.now()) == 1 and "Новые услуги" in sent[1]


async def test_one_message_a_second_per_chat_and_a_429_pauses_without_losing(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    users = await people(sessions, clock, 811, 812)
    await post(sessions, users, clock, "appeal_closed")
    await post(sessions, users, clock, "new_services")
    ticks = iter(range(1000))
    moments = {"now": 100.0}
    sent: list[int] = []
    flood = {"left": 1}

    async def send(chat_id: int, text: str, actions: object = ()) -> None:
        if flood["left"]:
            flood["left"] -= 1
            raise RetryAfter(5)
        sent.append(chat_id)

    courier = Courier(quiet=None, monotonic=lambda: moments["now"] + next(ticks) * 0.001)
    assert await courier.run(sessions, send, clock.now()) == 0, "paused by the 429"
    assert await courier.run(sessions, send, clock.now()) == 0, "still paused"
    moments["now"] += 6
    assert await courier.run(sessions, send, clock.now()) == 2, "one per chat in a run"
    moments["now"] += 2
    assert await courier.run(sessions, send, clock.now()) == 2
    assert sorted(sent) == [811, 811, 812, 812]
    assert await statuses(sessions) == ["sent"] * 4


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with running_sandbox(SandboxConfig(port=0, smtp_port=0, bot_token=TOKEN)) as running:
        yield running


async def test_against_the_sandbox_a_block_holds_and_a_400_is_dead_lettered(
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    sandbox: Sandbox,
) -> None:
    users = await people(sessions, clock, 821, 822, 823)
    async with ClientSession() as http:
        for user in users:
            await SandboxUser(http, sandbox.url, user.telegram_id).send("/start")
        await http.post(f"{sandbox.url}/sandbox/api/users/822/block", json={"blocked": True})
        await post(sessions, users, clock, "appeal_closed")
        bot = create_bot(settings, token=TOKEN, api_base=sandbox.url)
        send = telegram_send(bot)
        courier = Courier(quiet=None, per_chat_interval=0)
        assert await courier.run(sessions, send, clock.now()) == 2
        assert await statuses(sessions) == ["sent", "pending", "sent"]
        async with sessions() as session:
            blocked = await session.scalar(select(User).where(User.telegram_id == 822))
            assert blocked is not None and blocked.blocked_bot_at is not None
        assert await courier.run(sessions, send, clock.now()) == 0, "held while blocked"

        await SandboxUser(http, sandbox.url, 822).send("/start")  # back: Telegram unblocks
        await people(sessions, clock, 822)  # the bot sees the update (touch_user)
        await http.post(
            f"{sandbox.url}/sandbox/api/faults",
            json={
                "method": "sendMessage",
                "error_code": 400,
                "description": "Bad Request: message is too long",
            },
        )
        await post(sessions, users[:1], clock, "new_services")
        assert await courier.run(sessions, send, clock.now()) == 1
        # The held message goes first and meets the injected 400; the new one goes through.
        assert await statuses(sessions) == ["sent", "dead", "sent", "sent"]
        async with sessions() as session:
            dead = await session.scalar(
                select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.DEAD)
            )
        assert dead is not None and "too long" in (dead.last_error or "")
        await bot.session.close()


async def test_against_the_sandbox_a_429_pauses_the_bot_and_loses_nothing(
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    sandbox: Sandbox,
) -> None:
    users = await people(sessions, clock, 824, 825)
    async with ClientSession() as http:
        for user in users:
            await SandboxUser(http, sandbox.url, user.telegram_id).send("/start")
        await http.post(  # longer than the bot session waits by itself: the courier pauses
            f"{sandbox.url}/sandbox/api/faults", json={"method": "sendMessage", "retry_after": 90}
        )
    await post(sessions, users, clock, "appeal_closed")
    bot = create_bot(settings, token=TOKEN, api_base=sandbox.url)
    moments = {"now": 1000.0}
    courier = Courier(quiet=None, per_chat_interval=0, monotonic=lambda: moments["now"])
    send = telegram_send(bot)
    assert await courier.run(sessions, send, clock.now()) == 0
    assert await statuses(sessions) == ["pending", "pending"]
    calls = [c for c in sandbox.state.calls if c["method"] == "sendMessage"]
    assert [c.get("error") for c in calls] == ["Too Many Requests: retry after 90"]
    moments["now"] += 60
    assert await courier.run(sessions, send, clock.now()) == 0, "the whole bot waits"
    assert len([c for c in sandbox.state.calls if c["method"] == "sendMessage"]) == 1
    moments["now"] += 31
    assert await courier.run(sessions, send, clock.now()) == 2
    assert await statuses(sessions) == ["sent", "sent"]
    assert [len(sandbox.state.messages[u.telegram_id]) for u in users] == [2, 2]  # /start too
    await bot.session.close()


async def test_two_couriers_racing_send_each_message_once(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    users = await people(sessions, clock, *range(831, 851))
    await post(sessions, users, clock, "appeal_closed")
    sent: list[int] = []

    async def send(chat_id: int, text: str, actions: object = ()) -> None:
        await asyncio.sleep(0.001)  # let the other courier run in between
        sent.append(chat_id)

    first, second = (Courier(quiet=None, per_chat_interval=0, per_second=10_000) for _ in range(2))
    await asyncio.gather(
        first.run(sessions, send, clock.now()), second.run(sessions, send, clock.now())
    )
    assert sorted(sent) == list(range(831, 851))
    assert await statuses(sessions) == ["sent"] * 20


async def test_reminders_turned_off_in_the_profile_are_skipped_money_messages_are_not(
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
) -> None:
    account = await register_anna(sessions, settings, clock, 861)
    async with sessions() as session:
        row = await session.get(Account, account.id)
        assert row is not None
        row.notify_reminders = False
        user = await session.get(User, account.user_id)
        assert user is not None
        await enqueue(
            session,
            user_id=user.id,
            kind="policy_expiring",
            dedupe_key="e",
            now=clock.now(),
            number="ONDL-500001",
            valid_to="2026-12-31",
        )
        await enqueue(
            session,
            user_id=user.id,
            kind="debt_reminder",
            dedupe_key="d",
            now=clock.now(),
            amount=54400,
            count=2,
        )
        await session.commit()
    sent: list[str] = []

    async def send(chat_id: int, text: str, actions: object = ()) -> None:
        sent.append(text)

    assert await Courier(quiet=None).run(sessions, send, clock.now()) == 1
    assert "544 ₽" in sent[0]
    assert await statuses(sessions) == ["skipped", "sent"]


async def test_a_message_that_cannot_be_rendered_is_dead_lettered_not_retried(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    [anna] = await people(sessions, clock, 871)
    await post(sessions, [anna], clock, "no_such_kind")
    sent: list[str] = []

    async def send(chat_id: int, text: str, actions: object = ()) -> None:
        sent.append(text)

    assert await Courier(quiet=None).run(sessions, send, clock.now()) == 0
    async with sessions() as session:
        dead = await session.scalar(select(OutboxMessage))
    assert dead is not None and dead.status == OutboxStatus.DEAD and sent == []
    assert (dead.last_error or "").startswith("render: unknown outbox message kind")


async def test_a_policys_end_and_the_start_of_its_cover_wait_for_the_morning(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    """A walker's «📅 Полис … действует до 31.12.2026» came at 01:15: a notice weeks ahead
    waits for the morning as the other routine messages do."""
    [anna] = await people(sessions, clock, 803)
    clock.advance(timedelta(hours=13, minutes=15))  # 01:15 in Moscow
    for kind in ("policy_expiring", "coverage_started"):
        await post(sessions, [anna], clock, kind, valid_to="2026-12-31")
    sent: list[str] = []

    async def send(chat_id: int, text: str, actions: object = ()) -> None:
        sent.append(text)

    courier = Courier(per_chat_interval=0)
    assert await courier.run(sessions, send, clock.now()) == 0
    clock.advance(timedelta(hours=8))  # 09:15
    assert await courier.run(sessions, send, clock.now()) == 2
    assert "📅 Полис ONDL-500001 (Анна) действует до 31.12.2026" in sent[0]
