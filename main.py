"""Command line: `python main.py [run [--role R]|migrate|import-clinics FILE|announce-news ...]`.

`run` (the default) picks the mode from the settings:
  no BOT_TOKEN              -> sandbox mode: local Telegram, bank and mail, SQLite, demo data
  BOT_TOKEN                 -> long polling against Telegram (or TELEGRAM_API_BASE)
  BOT_TOKEN and WEBHOOK_URL -> webhook mode on this process's web server
and the role (`--role` or ROLE) what this process does: all, bot, scheduler or web.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import secrets
import signal
import sys
from collections.abc import AsyncIterator, Callable
from datetime import time, timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from bot import lazy_types  # noqa: F401  (first of all: aiogram types build on first use)

# isort: split
from aiogram import Bot, Dispatcher
from aiohttp import web
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.commands import set_bot_commands
from bot.devclock import ClockControl
from bot.factory import create_bot, create_dispatcher, finish_updates
from bot.handlers.desk import topic_keeper
from bot.i18n import create_i18n
from bot.integration_web import IntegrationImports
from bot.notify import telegram_send
from bot.payments_web import PaymentNotifications
from bot.web import create_web_app
from core.accounts.crypto import load_or_create_key
from core.billing.yookassa import YooKassa
from core.clock import Clock, ShiftedClock, SystemClock
from core.config import VAR_DIR, Settings
from core.db import create_engine, create_session_factory, migrate
from core.demo import refresh_demo_slots, seed_demo_data
from core.importers.bills import seal_diagnosis_codes
from core.importers.files import read_rows
from core.importers.load import KINDS, import_kind
from core.jobs import scheduled_ticks
from core.leadership import lead, leader_lock
from core.notifications.delivery import Courier
from core.notifications.news import NewsRejected, announce_news
from core.notifications.scheduler import Tick, create_scheduler
from core.rotation import DigestsKeyedOtherwise, Rotated, rotate_keys

if TYPE_CHECKING:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    from sandbox.app import Sandbox

log = logging.getLogger("main")
SANDBOX_TOKEN = "7000000001:sandbox-token-not-a-secret"
SANDBOX_OPERATOR_ID = 9001  # the web chat's default "From id" in the operators' group


@contextlib.asynccontextmanager
async def sandbox_running(settings: Settings) -> AsyncIterator[Sandbox]:
    from sandbox.app import Sandbox, SandboxConfig  # sandbox mode only: aiosmtpd and the rest

    sandbox = Sandbox(
        SandboxConfig(
            host=settings.sandbox_host,
            port=settings.sandbox_port,
            smtp_port=settings.sandbox_smtp_port,
            state_dir=VAR_DIR / "sandbox",
            bot_token=SANDBOX_TOKEN,
            bank_shop_id=settings.payment_shop_id,
            bank_secret_key=settings.payment_secret_key.get_secret_value(),
            bank_shop_name=settings.insurer.name,
            groups=[
                {"id": settings.sandbox_operators_chat_id, "title": "Operators", "is_forum": True}
            ],
        )
    )
    await sandbox.start()
    try:
        yield sandbox
    finally:
        await sandbox.stop()


async def serve_web(app: web.Application, host: str, port: int) -> web.AppRunner:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner


def _stop_event() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    return stop


class Role(StrEnum):
    """What one process does; `all` is everything in one process (the sandbox, small sites)."""

    ALL = "all"
    BOT = "bot"  # the dispatcher: polling (one process) or webhook (any number)
    SCHEDULER = "scheduler"  # the ticks and the outbox courier; one leader, the others standby
    WEB = "web"  # payment notifications and health

    def has(self, part: Role) -> bool:
        return self is Role.ALL or self is part


def _configure_sandbox(settings: Settings, sandbox: Sandbox) -> None:
    settings.smtp_host, settings.smtp_port = sandbox.config.host, sandbox.config.smtp_port
    settings.payment_provider_url = sandbox.url
    settings.payment_return_url = f"{sandbox.url}/"
    settings.payment_notification_networks = ["127.0.0.0/8"]
    sandbox.bank.notification_url = (
        f"http://{settings.web_host}:{settings.web_port}{settings.payment_notification_path}"
    )
    settings.operators_chat_id = settings.operators_chat_id or settings.sandbox_operators_chat_id
    settings.operator_ids = settings.operator_ids or [SANDBOX_OPERATOR_ID]
    if settings.data_encryption_key is None:
        key = load_or_create_key(VAR_DIR / "data-encryption.key")
        settings.data_encryption_key = SecretStr(key)


SANDBOX_CLOCK = "sandbox-clock"  # the time travel's offset, in seconds, under VAR_DIR


def _clock(settings: Settings) -> Clock:
    """Sandbox mode: the time-travelled clock, kept in `var/` (the bot and the commands share
    it); otherwise the system's."""
    return ShiftedClock(path=VAR_DIR / SANDBOX_CLOCK) if settings.sandbox_mode else SystemClock()


def _use_sandbox_key(settings: Settings) -> None:
    """Sandbox mode without DATA_ENCRYPTION_KEY: the key file the bot made in `var/`."""
    if settings.data_encryption_key is None and settings.sandbox_mode:
        key = load_or_create_key(VAR_DIR / "data-encryption.key")
        settings.data_encryption_key = SecretStr(key)


def _ticks(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
    bot: Bot,
    provider: YooKassa | None,
) -> dict[str, tuple[Tick, float]]:
    quiet = settings.quiet_hours

    async def desk(thread: int | None, text: str) -> None:
        if settings.operators_chat_id is not None:
            await bot.send_message(settings.operators_chat_id, text, message_thread_id=thread)

    ticks = scheduled_ticks(
        sessions,
        clock,
        provider=provider,
        rules=settings.billing(),
        send=telegram_send(bot),
        desk=desk,
        answer_within=timedelta(hours=settings.appeal_answer_hours),
        desk_locale=settings.desk_locale,
        debt_every=timedelta(days=settings.debt_reminder_days),
        desk_topics=topic_keeper(bot, settings, sessions),
        courier=Courier(
            per_second=settings.notify_per_second,
            quiet=(time(quiet[0]), time(quiet[1])) if quiet else None,
        ),
    )
    if settings.sandbox_mode:  # time travel never empties the demo's booking slots

        async def demo_slots() -> None:
            await refresh_demo_slots(sessions, clock.now())

        ticks["demo_slots"] = (demo_slots, 3600.0)
    return ticks


def _imports(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], clock: Clock
) -> IntegrationImports | None:
    if settings.integration_token is None:
        return None
    return IntegrationImports(
        sessions,
        settings.vault(),
        settings.billing(),
        clock,
        settings.integration_token.get_secret_value(),
    )


async def _lead_scheduler(
    engine: AsyncEngine, ticks: dict[str, tuple[Tick, float]], stop: asyncio.Event, poll: float
) -> None:
    """Tick only while this process holds the scheduler lock (see core/leadership.py)."""
    running: list[AsyncIOScheduler] = []

    async def start() -> None:
        scheduler = create_scheduler(ticks)
        scheduler.start()
        running.append(scheduler)

    async def halt() -> None:
        while running:
            running.pop().shutdown(wait=False)

    await lead(leader_lock(engine), start, halt, stop, poll=poll)


async def _serve(
    settings: Settings,
    role: Role,
    app: web.Application,
    stop: asyncio.Event,
    dp: Dispatcher | None,
    bot: Bot,
) -> None:
    """The web server (unless this is only a scheduler) and polling, until asked to stop."""
    runner = None
    if role is not Role.SCHEDULER:
        runner = await serve_web(app, settings.web_host, settings.web_port)
        log.info("web server on %s:%s (%s)", settings.web_host, settings.web_port, role)
    polling = None
    if dp is not None and settings.webhook_mode:
        assert settings.webhook_url is not None and settings.webhook_secret is not None
        url = settings.webhook_url.rstrip("/") + settings.webhook_path
        # Every worker sets the same URL and secret: idempotent, so any of them may start first.
        await bot.set_webhook(
            url,
            secret_token=settings.webhook_secret.get_secret_value(),
            max_connections=settings.webhook_max_connections,
            drop_pending_updates=False,
        )
        log.info("webhook mode: %s", url)
    elif dp is not None:
        await bot.delete_webhook(drop_pending_updates=False)
        polling = asyncio.create_task(
            dp.start_polling(bot, handle_signals=False, close_bot_session=False)
        )
    waiter = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({waiter, *([polling] if polling else [])}, return_when="FIRST_COMPLETED")
    finally:
        waiter.cancel()
        if polling is not None:
            if not polling.done():
                await dp.stop_polling()  # type: ignore[union-attr]
            await polling
            await finish_updates(dp)  # type: ignore[arg-type]
        if runner is not None:
            await runner.cleanup()


async def run(settings: Settings, role: Role = Role.ALL) -> None:
    if settings.sandbox_mode and role is not Role.ALL:
        raise SystemExit("roles need BOT_TOKEN: sandbox mode runs everything in one process")
    if settings.webhook_mode and role.has(Role.BOT) and settings.webhook_secret is None:
        if role is not Role.ALL:
            raise SystemExit("WEBHOOK_SECRET must be set: every bot worker checks the same one")
        settings.webhook_secret = SecretStr(secrets.token_urlsafe(32))
    stop = _stop_event()
    await migrate(settings.database_url)
    engine = create_engine(
        settings.database_url,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
    )
    sessions = create_session_factory(engine)
    _use_sandbox_key(settings)
    if (vault := settings.vault()) is not None:  # codes written in clear by older versions
        async with sessions() as session:
            await seal_diagnosis_codes(session, vault)
    clock = _clock(settings)
    i18n = create_i18n(settings.default_locale)
    async with contextlib.AsyncExitStack() as stack:
        stack.push_async_callback(engine.dispose)
        sandbox = None
        if settings.sandbox_mode:
            sandbox = await stack.enter_async_context(sandbox_running(settings))
            _configure_sandbox(settings, sandbox)
            vault = settings.vault()
            assert vault is not None
            await seed_demo_data(sessions, vault, now=clock.now(), rules=settings.billing())
            token, api_base = SANDBOX_TOKEN, sandbox.url
        else:
            assert settings.bot_token is not None
            token, api_base = settings.bot_token.get_secret_value(), settings.telegram_api_base
        bot = create_bot(settings, token=token, api_base=api_base)
        stack.push_async_callback(bot.session.close)
        provider = payments = None
        if settings.payment_provider_url:
            provider = YooKassa(
                settings.payment_provider_url,
                settings.payment_shop_id,
                settings.payment_secret_key.get_secret_value(),
            )
            stack.push_async_callback(provider.close)
            payments = PaymentNotifications(
                sessions,
                provider,
                settings.billing(),
                clock,
                networks=settings.payment_notification_networks,
                trusted_proxies=settings.payment_trusted_proxies,
            )
        dp = None
        if role.has(Role.BOT):
            dp = create_dispatcher(settings, sessions, clock, i18n=i18n, payments=provider)
            stack.push_async_callback(dp.storage.close)
            await set_bot_commands(bot, i18n)
        ticks: dict[str, tuple[Tick, float]] = {}
        leader = None
        if role.has(Role.SCHEDULER):  # the sandbox's clock control runs these too (role all)
            ticks = _ticks(settings, sessions, clock, bot, provider)
            leader = asyncio.create_task(
                _lead_scheduler(engine, ticks, stop, settings.scheduler_standby_poll)
            )
        control = None
        if sandbox is not None and isinstance(clock, ShiftedClock):
            control = ClockControl(clock, ticks)
            sandbox.clock_url = f"http://{settings.web_host}:{settings.web_port}{ClockControl.path}"
            print(
                f"\n  Web chat: {sandbox.url}/\n  Mailbox:  {sandbox.url}/sandbox/mail\n",
                flush=True,
            )
        app = create_web_app(
            dp,
            bot,
            webhook_path=settings.webhook_path if dp and settings.webhook_mode else None,
            webhook_secret=(
                settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
            ),
            payments=payments if role.has(Role.WEB) else None,
            payments_path=settings.payment_notification_path,
            clock_control=control,
            imports=_imports(settings, sessions, clock) if role.has(Role.WEB) else None,
        )
        # What start-up built lives as long as the process: the collector stops scanning it
        # (issue 19: a full collection walked some 200,000 objects, a 90 ms pause mid-update).
        gc.freeze()
        try:
            await _serve(settings, role, app, stop, dp, bot)
        finally:
            stop.set()
            if leader is not None:
                await leader
    log.info("stopped cleanly")


def _progress(total: int) -> Callable[[int], None]:
    """A text progress bar on stderr, for long files."""

    def show(done: int) -> None:
        if total >= 1000 and (done % 500 == 0 or done == total):
            filled = int(30 * done / total)
            bar = "#" * filled + "-" * (30 - filled)
            print(f"\r[{bar}] {done}/{total}", end="", file=sys.stderr, flush=True)
            if done == total:
                print(file=sys.stderr)

    return show


async def load_file(settings: Settings, what: str, path: Path) -> int:
    """`import-clinics|programs|policies|bills|slots|cases`: errors by line, then a summary."""
    await migrate(settings.database_url)
    engine = create_engine(settings.database_url)
    rows = read_rows(path, key=what)
    _use_sandbox_key(settings)  # sandbox mode: the same key file and clock as the running bot
    try:
        async with create_session_factory(engine)() as session:
            report = await import_kind(
                session,
                what,
                rows,
                vault=settings.vault(),
                rules=settings.billing(),
                now=_clock(settings).now(),
                progress=_progress(len(rows)),
            )
    except ValueError as error:
        print(error, file=sys.stderr)
        return 2
    finally:
        await engine.dispose()
    for line, reason in report.errors:
        print(f"{path}:{line}: {reason}", file=sys.stderr)
    print(
        f"{what}: {report.created} created, {report.updated} updated, {len(report.errors)} errors"
    )
    return 1 if report.errors else 0


async def announce(settings: Settings, key: str, texts: dict[str, str]) -> int:
    """`announce-news KEY --ru TEXT [--en TEXT]`: queue the news for everyone who keeps it on."""
    await migrate(settings.database_url)
    engine = create_engine(settings.database_url)
    try:
        async with create_session_factory(engine)() as session:
            queued = await announce_news(session, key, texts, _clock(settings).now())
    except NewsRejected as error:
        print(f"news not queued: {error}", file=sys.stderr)
        return 2
    finally:
        await engine.dispose()
    print(f"news {key}: {queued} messages queued (quiet hours and the news switch apply)")
    return 0


async def rotate_key(settings: Settings) -> int:
    """`rotate-key`: every encrypted column and file re-encrypted with DATA_ENCRYPTION_KEY."""
    vault = settings.vault()
    if vault is None:
        print("DATA_ENCRYPTION_KEY is not set", file=sys.stderr)
        return 2
    await migrate(settings.database_url)
    engine = create_engine(settings.database_url)

    def show(done: Rotated) -> None:
        unreadable = f", {done.unreadable} UNREADABLE" if done.unreadable else ""
        print(f"{done.column}: {done.rows} re-encrypted{unreadable}")

    try:
        report = await rotate_keys(
            create_session_factory(engine), vault, progress=show, redis_url=settings.redis_url
        )
    except DigestsKeyedOtherwise:
        print(
            "The stored digests were made with another key: set DATA_DIGEST_KEY (or list the "
            "first key last in DATA_ENCRYPTION_OLD_KEYS); nothing was changed.",
            file=sys.stderr,
        )
        return 2
    finally:
        await engine.dispose()
    if any(done.unreadable for done in report):
        print(
            "Some values no configured key can read: add the key they were written with "
            "to DATA_ENCRYPTION_OLD_KEYS and run again.",
            file=sys.stderr,
        )
        return 1
    if settings.data_digest_key is None and settings.data_encryption_old_keys:
        print(
            "Done. Digests (passport look-ups, codes) keep their own key: before removing "
            f"DATA_ENCRYPTION_OLD_KEYS, set DATA_DIGEST_KEY={vault.digest_key.hex()}"
        )
    else:
        print("Done.")
    return 0


def configure_logging() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("aiogram.event").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger("apscheduler.executors").setLevel(logging.WARNING)  # a tick every 2 s
    # The sandbox's SMTP server logs each exchange, recipients' addresses included (personal
    # data); the PDF fonts' subsetting logs some 200 lines per document.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    logging.getLogger("fontTools").setLevel(logging.WARNING)


def cli(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="dms-bot", description="DMS personal cabinet bot")
    commands = parser.add_subparsers(dest="command")
    runner = commands.add_parser("run", help="start the bot (the default)")
    runner.add_argument(
        "--role",
        type=Role,
        choices=list(Role),
        default=None,
        help="what this process does (default: ROLE or all)",
    )
    commands.add_parser("migrate", help="apply database migrations and exit")
    for what in KINDS:
        loader = commands.add_parser(f"import-{what}", help=f"load {what} from a CSV or JSON file")
        loader.add_argument("file", type=Path)
    news = commands.add_parser("announce-news", help="send the insurer's news to everyone")
    news.add_argument("key", help="the news' name; sending it again reaches nobody twice")
    news.add_argument("--ru", required=True, help="the text in Russian")
    news.add_argument("--en", default="", help="the text in English (else Russian)")
    commands.add_parser(
        "rotate-key",
        help="re-encrypt every encrypted column and file with DATA_ENCRYPTION_KEY, reading "
        "old data with DATA_ENCRYPTION_OLD_KEYS",
    )
    args = parser.parse_args(argv)
    configure_logging()
    settings = Settings()
    if args.command == "migrate":
        asyncio.run(migrate(settings.database_url))
        return 0
    if args.command == "rotate-key":
        return asyncio.run(rotate_key(settings))
    if args.command == "announce-news":
        return asyncio.run(announce(settings, args.key, {"ru": args.ru, "en": args.en}))
    if args.command and args.command.startswith("import-"):
        return asyncio.run(load_file(settings, args.command.removeprefix("import-"), args.file))
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run(settings, getattr(args, "role", None) or Role(settings.role)))
    return 0


if __name__ == "__main__":
    sys.exit(cli())
