"""This process's web server: health, payment notifications, integrators' imports, the Telegram
webhook."""

from __future__ import annotations

from aiogram import Bot, Dispatcher
from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web

from bot.devclock import ClockControl
from bot.integration_web import MAX_BODY, IntegrationImports
from bot.payments_web import PaymentNotifications


async def health(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


def create_web_app(
    dp: Dispatcher | None,
    bot: Bot,
    *,
    webhook_path: str | None = None,
    webhook_secret: str | None = None,
    payments: PaymentNotifications | None = None,
    payments_path: str = "/payments/notifications",
    clock_control: ClockControl | None = None,
    imports: IntegrationImports | None = None,
) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY if imports else 1024**2)
    app.router.add_get("/health", health)
    if imports is not None:
        imports.register(app)
    if clock_control is not None:  # sandbox mode only
        clock_control.register(app)
    if payments is not None:
        app.router.add_post(payments_path, payments.handle)
    if dp is not None and webhook_path is not None:
        # The secret token is compared on every request; a request without it gets 401. Telegram
        # gets its 200 only once the update is handled: a worker that dies midway gets none,
        # and Telegram sends the update again (to another worker, behind a load balancer).
        SimpleRequestHandler(
            dp, bot, secret_token=webhook_secret, handle_in_background=False
        ).register(app, path=webhook_path)
        setup_application(app, dp, bot=bot)
    return app
