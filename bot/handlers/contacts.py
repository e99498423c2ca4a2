"""The insurer's 24/7 medical desk: always reachable, also without registration."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from bot.keyboards.menu import CONTACTS
from core.config import Settings


async def contacts(message: Message, settings: Settings) -> None:
    insurer = settings.insurer
    await message.answer(
        _(
            "<b>{insurer}: medical desk, 24/7</b>\n"
            "Free call in Russia: {federal}\n"
            "Moscow: {moscow}\n"
            "Saint Petersburg: {spb}\n"
            "E-mail: {email}\n\n"
            "Call the desk before a visit if you are unsure which clinic to go to, "
            "and at once in an emergency."
        ).format(
            insurer=insurer.name,
            federal=insurer.phone_federal,
            moscow=insurer.phone_moscow,
            spb=insurer.phone_spb,
            email=insurer.email,
        )
    )


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(F.chat.type == "private")
    router.message.register(contacts, Command("contacts"))
    router.message.register(contacts, F.text == CONTACTS)
    return router
