"""The insurer's 24/7 medical desk: always reachable, also without registration."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import Message
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.handlers.guide import add_more, contacts_pages, contracts_of, guide_keyboard
from bot.screens import with_nav
from core.accounts.models import User
from core.clock import Clock
from core.config import Settings


async def contacts(
    message: Message, session: AsyncSession, user: User, clock: Clock, settings: Settings
) -> None:
    pages = contacts_pages(settings, await contracts_of(session, user, clock))
    builder = InlineKeyboardBuilder()
    add_more(builder, pages, 0)  # first, on its own row: the rest of this screen
    builder.attach(InlineKeyboardBuilder.from_markup(guide_keyboard("contacts")))
    await message.answer(pages[0], reply_markup=with_nav(builder.as_markup()))


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(F.chat.type == "private")
    return router
