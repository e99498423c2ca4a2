"""One place where domain errors become friendly messages, and crashes become an apology."""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.filters import ExceptionTypeFilter
from aiogram.types import ErrorEvent
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.callbacks import StaleButton, stale_text
from bot.middlewares.idempotency import UpdateInProgress
from core.accounts.models import User
from core.errors import NotFoundError

log = logging.getLogger(__name__)


def _locale(i18n: I18n, user: User | None) -> str:
    # The i18n middleware's context is gone once the exception left the handler.
    return user.language if user is not None else i18n.default_locale


async def _tell(event: ErrorEvent, text: str) -> None:
    update = event.update
    if update.callback_query is not None:
        await update.callback_query.answer(text, show_alert=True)
    elif update.message is not None:
        await update.message.answer(text)


async def not_found(event: ErrorEvent, i18n: I18n, user: User | None = None) -> None:
    # Also another person's id in a forged button: the core never says whose it is.
    log.info("update %s: not found (%s)", event.update.update_id, event.exception)
    with i18n.use_locale(_locale(i18n, user)):
        if event.update.callback_query is not None:
            text = stale_text()  # a button: the same answer as any stale or forged one
        else:
            text = _("Not found. It may have been removed; please start again from the menu.")
    await _tell(event, text)


async def unexpected(event: ErrorEvent, i18n: I18n, user: User | None = None) -> None:
    # The FSM state is left as it was: the person can repeat the step without losing anything.
    log.error("update %s failed", event.update.update_id, exc_info=event.exception)
    with i18n.use_locale(_locale(i18n, user)):
        text = _(
            "Something went wrong on our side. What you entered is kept: "
            "please try again in a minute, or open /menu."
        )
    try:
        await _tell(event, text)
    except Exception:
        log.exception("could not tell the user about the failure")


async def stale(
    event: ErrorEvent, i18n: I18n, user: User | None = None, raw_state: str | None = None
) -> None:
    """A button from another step or a context that is gone: nothing changes, no traceback."""
    log.info("update %s: stale callback data (%s)", event.update.update_id, event.exception)
    with i18n.use_locale(_locale(i18n, user)):
        await _tell(event, stale_text(in_step=raw_state is not None))


async def busy(event: ErrorEvent) -> object:
    """A copy of an update another worker is handling: no apology to the person, and the
    webhook answers 500 so that Telegram sends it again later (the claim decides then)."""
    log.info("update %s: %s", event.update.update_id, event.exception)
    return UNHANDLED


def create_router() -> Router:
    router = Router(name=__name__)
    router.errors.register(busy, ExceptionTypeFilter(UpdateInProgress))
    router.errors.register(stale, ExceptionTypeFilter(StaleButton))
    router.errors.register(not_found, ExceptionTypeFilter(NotFoundError))
    router.errors.register(unexpected)
    return router
