"""The cabinet's documents (agreement, personal and health data), as PDF in the user's language."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.callbacks import DocumentCallback, DocumentKind
from bot.keyboards.menu import documents_choice
from bot.legal_documents import legal_document
from bot.screens import with_nav
from core.accounts.consents import ConsentKind
from core.accounts.models import User
from core.clock import Clock
from core.config import Settings

KINDS = {
    DocumentKind.USER_AGREEMENT: ConsentKind.USER_AGREEMENT,
    DocumentKind.PERSONAL_DATA: ConsentKind.PERSONAL_DATA,
    DocumentKind.HEALTH_DATA: ConsentKind.HEALTH_DATA,
}


async def documents(message: Message) -> None:
    await message.answer(
        _("Which document do you need?"), reply_markup=with_nav(documents_choice())
    )


async def send_document(
    query: CallbackQuery,
    callback_data: DocumentCallback,
    user: User,
    clock: Clock,
    settings: Settings,
) -> None:
    if query.message is None:
        return
    document, caption = await legal_document(
        KINDS[callback_data.kind], user.language, settings.insurer.name, clock.now()
    )
    await query.bot.send_document(  # type: ignore[union-attr]
        query.message.chat.id, document, caption=caption
    )


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(F.chat.type == "private")
    router.callback_query.register(send_document, DocumentCallback.filter())
    return router
