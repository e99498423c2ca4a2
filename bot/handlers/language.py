"""/language: the interface language, stored per user."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import LanguageCallback
from bot.keyboards.menu import language_choice, main_menu
from bot.screens import with_nav
from core.accounts.models import Account, User
from core.accounts.users import set_language


async def choose(message: Message, user: User) -> None:
    await message.answer(
        _("Choose the language of the cabinet:"),
        reply_markup=with_nav(language_choice(user.language)),
    )


async def chosen(
    query: CallbackQuery,
    callback_data: LanguageCallback,
    user: User,
    account: Account | None,
    session: AsyncSession,
    i18n: I18n,
    callback_answer: CallbackAnswer,
) -> None:
    if callback_data.code.value == user.language:
        await set_language(session, user, user.language)  # chosen now, no longer guessed
        callback_answer.text = _("This language is chosen already.")
        return  # a harmless repeat: the screen stays as it is
    await set_language(session, user, callback_data.code.value)
    with i18n.use_locale(user.language):
        if isinstance(query.message, Message):  # the picker itself speaks the new language
            await query.message.edit_text(
                _("Choose the language of the cabinet:"),
                reply_markup=with_nav(language_choice(user.language)),
            )
        callback_answer.text = _("Language changed.")
        if query.message is not None:
            await query.bot.send_message(  # type: ignore[union-attr]
                query.message.chat.id,
                _("The cabinet now speaks English."),
                reply_markup=main_menu(registered=account is not None),
            )


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(F.chat.type == "private")
    router.callback_query.register(chosen, LanguageCallback.filter())
    return router
