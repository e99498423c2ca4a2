"""The cabinet's documents (agreement, personal data policy), sent as files in the user's language."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.callbacks import DocumentCallback, DocumentKind
from bot.i18n import LOCALES_DIR
from bot.keyboards.menu import documents_choice
from core.accounts.models import User

FILES = {
    DocumentKind.USER_AGREEMENT: "user_agreement",
    DocumentKind.PERSONAL_DATA: "personal_data_policy",
}


def document_bytes(name: str, language: str) -> tuple[bytes, str]:
    """A document of `locales/<language>/documents/` and the file name to send it under."""
    path = LOCALES_DIR / language / "documents" / f"{name}.txt"
    return path.read_bytes(), f"{name}_{language}.txt"


async def documents(message: Message) -> None:
    await message.answer(_("Which document do you need?"), reply_markup=documents_choice())


async def send_document(query: CallbackQuery, callback_data: DocumentCallback, user: User) -> None:
    content, filename = document_bytes(FILES[callback_data.kind], user.language)
    if query.message is not None:
        await query.bot.send_document(  # type: ignore[union-attr]
            query.message.chat.id,
            BufferedInputFile(content, filename=filename),
            caption=_("Here is the document."),
        )


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(F.chat.type == "private")
    router.callback_query.register(send_document, DocumentCallback.filter())
    return router
