"""The one place that builds the dispatcher and the bot; main.py and the tests both call it."""

from __future__ import annotations

import asyncio
import sys
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.base import BaseSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.fsm.storage.base import BaseEventIsolation, BaseStorage, DefaultKeyBuilder
from aiogram.fsm.storage.memory import DisabledEventIsolation
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.answer_types import KeepAnswerTypes
from bot.fsm.isolation import ChatIsolation, ChatLock
from bot.fsm.redis_gate import RedisGate
from bot.fsm.steps import SaveStepAfterHandling, StepStorage, underlying
from bot.fsm.storage import DatabaseStorage
from bot.handlers import routers
from bot.i18n import UserLanguageMiddleware, create_i18n
from bot.inline_filters import (
    route_callbacks_by_prefix,
    route_messages_by_state,
    run_sync_filters_inline,
)
from bot.json_session import JsonSession
from bot.menu import MenuTexts
from bot.middlewares.callback_answer import AnswerAfterHandler
from bot.middlewares.database import DatabaseMiddleware, StepKey, UpdateSession
from bot.middlewares.idempotency import Inbox, OncePerUpdate, RedisInbox
from bot.middlewares.not_modified import NotModifiedIsDone
from bot.middlewares.throttling import Buckets, MemoryBuckets, RedisBuckets, ThrottlingMiddleware
from bot.polling import CabinetDispatcher
from bot.retry import RetryAfterMiddleware
from core.billing.provider import PaymentProvider
from core.clinics.index import ClinicDirectory
from core.clock import Clock
from core.config import Settings
from core.dialog_state import DialogStateStore
from core.inbox import LEASE, DatabaseInbox
from core.mail import Mailer, MailSender

if TYPE_CHECKING:
    from aiogram.fsm.storage.redis import RedisStorage


def redis_storage(storage: BaseStorage) -> RedisStorage | None:
    """The storage, if it is aiogram's Redis one (whose module is imported only with Redis)."""
    module = sys.modules.get("aiogram.fsm.storage.redis")
    if module is not None and isinstance(storage, module.RedisStorage):
        return storage
    return None


def create_storage(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession], clock: Clock
) -> BaseStorage:
    """Redis when REDIS_URL is set (several workers), otherwise the application database."""
    if settings.redis_url:
        from aiogram.fsm.storage.redis import RedisStorage  # only then: redis is heavy

        ttl = timedelta(days=settings.fsm_ttl_days)  # an abandoned dialog is forgotten then
        return RedisStorage.from_url(
            settings.redis_url,
            key_builder=DefaultKeyBuilder(with_destiny=True),
            state_ttl=ttl,
            data_ttl=ttl,
        )
    return DatabaseStorage(DialogStateStore(session_factory, clock))


def create_isolation(storage: BaseStorage) -> BaseEventIsolation:
    """One update at a time per user and chat, in order; across workers with Redis."""
    if (redis := redis_storage(storage)) is not None:
        # A dead worker's chat lock expires as its update claim does (core/inbox.py LEASE).
        return ChatIsolation(
            redis.create_isolation(lock_kwargs={"timeout": LEASE.total_seconds()}),
            gate=RedisGate(redis, lock_timeout=LEASE.total_seconds()),
        )
    return ChatIsolation()


def create_buckets(settings: Settings, storage: BaseStorage) -> Buckets | None:
    """Per-user flood limits: in Redis when the workers share it, else in this process."""
    rate, burst = settings.throttle_rate, settings.throttle_burst
    if rate <= 0:
        return None
    if (redis := redis_storage(storage)) is not None:
        return RedisBuckets(redis.redis, rate, burst)
    return MemoryBuckets(rate, burst)


def create_inbox(
    storage: BaseStorage, session_factory: async_sessionmaker[AsyncSession], clock: Clock
) -> Inbox:
    """Which updates were handled: in Redis beside the FSM state, else in the database."""
    if (redis := redis_storage(underlying(storage))) is not None:
        return RedisInbox(redis.redis)
    return DatabaseInbox(session_factory, clock)


def create_dispatcher(
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    clock: Clock,
    *,
    storage: BaseStorage | None = None,
    i18n: I18n | None = None,
    mailer: MailSender | None = None,
    payments: PaymentProvider | None = None,
) -> Dispatcher:
    if settings.data_encryption_key is None:
        raise ValueError("DATA_ENCRYPTION_KEY is not set: personal data cannot be stored")
    i18n = i18n or create_i18n(settings.default_locale)
    storage = underlying(storage or create_storage(settings, session_factory, clock))
    isolation = create_isolation(storage)
    dp = CabinetDispatcher(
        storage=StepStorage(storage),
        events_isolation=DisabledEventIsolation(),  # ChatLock takes the chat's lock
        settings=settings,
        clock=clock,
        session_factory=session_factory,
        i18n=i18n,
        vault=settings.vault(),
        mailer=mailer or Mailer(settings.smtp()),
        payments=payments,
        billing=settings.billing(),
        directory=ClinicDirectory(),
        menu_texts=MenuTexts(i18n),
    )
    # Order matters: the chat's lock first, around the update's final commit too; then one
    # session for the whole update (the ledger, the step and the user share it and commit
    # once); a repeated update stops next; then the user (for i18n's saved language), read
    # with the dialog step when the step is in the database; aiogram's FSM middleware reads
    # the state in that session; the dialog step is written after the handler and before the
    # update counts as done.
    dp.chat_lock = ChatLock(dp.fsm, isolation)
    dp.update.outer_middleware(dp.chat_lock)
    dp.shutdown.register(isolation.close)
    dp.shutdown.register(dp["mailer"].close)
    dp.update.outer_middleware(UpdateSession(session_factory))
    dp.inbox = create_inbox(storage, session_factory, clock)
    dp.update.outer_middleware(OncePerUpdate(dp.inbox))
    dp.update.outer_middleware(
        DatabaseMiddleware(clock, settings.default_locale, step_key_of(dp, storage))
    )
    dp.update.outer_middleware.unregister(dp.fsm)
    dp.update.outer_middleware(dp.fsm)
    dp.update.outer_middleware(SaveStepAfterHandling(storage))
    UserLanguageMiddleware(i18n).setup(dp)
    buckets = create_buckets(settings, storage)
    if isinstance(isolation, ChatIsolation) and isolation.gate is not None:
        # With Redis the way in claims the update and takes the sender's token at once.
        assert isinstance(dp.inbox, RedisInbox)
        isolation.gate.ledger_prefix = dp.inbox.prefix
        isolation.gate.buckets = buckets if isinstance(buckets, RedisBuckets) else None
    throttling = ThrottlingMiddleware(buckets)
    dp.message.outer_middleware(throttling)
    dp.callback_query.outer_middleware(throttling)
    dp.callback_query.middleware(AnswerAfterHandler())
    dp.include_routers(*routers(settings))
    run_sync_filters_inline(dp)
    route_callbacks_by_prefix(dp)
    route_messages_by_state(dp)
    return dp


def step_key_of(dp: Dispatcher, storage: BaseStorage) -> StepKey | None:
    """Where an update's dialog step is in the database (None: the steps are elsewhere)."""
    if not isinstance(storage, DatabaseStorage):
        return None

    def step_key(data: dict[str, Any]) -> str | None:
        context = dp.fsm.resolve_event_context(data["bot"], data)
        return storage.row_key(context.key) if context is not None else None

    return step_key


def create_bot(settings: Settings, *, token: str, api_base: str | None = None) -> Bot:
    session: BaseSession
    base = api_base or settings.telegram_api_base
    if base:
        session = JsonSession(api=TelegramAPIServer.from_base(base.rstrip("/")))
    else:
        session = JsonSession()
    session.middleware(KeepAnswerTypes())
    session.middleware(RetryAfterMiddleware())
    session.middleware(NotModifiedIsDone())
    return Bot(token, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML))


async def finish_updates(dp: Dispatcher) -> None:
    """After polling stops: let the updates still being handled finish (aiogram runs each as
    a task and does not wait for them), so that a clean stop loses no answer."""
    running = list(getattr(dp, "_handle_update_tasks", ()))
    if running:
        await asyncio.gather(*running, return_exceptions=True)
