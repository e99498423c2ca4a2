"""Whatever no other router took. Must be the last router."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import StateFilter
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _

from bot.keyboards.menu import main_menu

router = Router(name=__name__)


@router.message(StateFilter(None))
async def not_understood(message: Message) -> None:
    await message.answer(
        _("I did not understand that. Please choose a section in the menu."),
        reply_markup=main_menu(),
    )


@router.message()
async def unexpected_in_dialog(message: Message) -> None:
    await message.answer(
        _("Please answer the question above, or send /cancel to stop this action.")
    )


@router.callback_query()
async def stale_button(query: CallbackQuery, callback_answer: CallbackAnswer) -> None:
    callback_answer.text = _("This button is no longer active. Please open /menu.")
    callback_answer.show_alert = True
