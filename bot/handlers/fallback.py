"""Whatever no other router took. Must be the last router."""

from __future__ import annotations

import logging

from aiogram import F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _

from bot.callbacks import stale_text
from bot.fsm.registration import DRAFT_KEY
from bot.keyboards.menu import main_menu
from core.accounts.models import Account

log = logging.getLogger(__name__)


async def not_understood(message: Message, account: Account | None, state: FSMContext) -> None:
    text = _("I did not understand that. Please choose a section in the menu.")
    if account is None and (await state.get_data()).get(DRAFT_KEY):
        # A registration left midway (say, a code typed after a menu tap): say where it waits.
        text = "\n".join(
            (
                _("I did not understand that."),
                _("Registration is paused; what you entered is kept. «📝 Registration» continues."),
            )
        )
    await message.answer(text, reply_markup=main_menu(registered=account is not None))


async def unexpected_in_dialog(message: Message) -> None:
    await message.answer(
        _("Please answer the question above, or send /cancel to stop this action.")
    )


async def stale_button(
    query: CallbackQuery, callback_answer: CallbackAnswer, raw_state: str | None = None
) -> None:
    """A button of a step the person is not at, or data that does not parse (bot/callbacks.py)."""
    log.info("stale or malformed callback data %r", (query.data or "")[:64])
    callback_answer.text = stale_text(in_step=raw_state is not None)
    callback_answer.show_alert = True


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(F.chat.type == "private")
    router.message.register(not_understood, StateFilter(None))
    router.message.register(unexpected_in_dialog)
    router.callback_query.register(stale_button)
    return router
