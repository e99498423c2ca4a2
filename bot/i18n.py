"""gettext catalogs from `locales/`, and the user's saved language as the locale of an update."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiogram.types import TelegramObject
from aiogram.utils.i18n import I18n, I18nMiddleware

from core.accounts.models import User

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
DOMAIN = "messages"


def create_i18n(default_locale: str = "ru") -> I18n:
    return I18n(path=LOCALES_DIR, default_locale=default_locale, domain=DOMAIN)


class UserLanguageMiddleware(I18nMiddleware):
    """The language saved for the user (from Telegram's language_code, or chosen by /language)."""

    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        user: User | None = data.get("user")
        if user is not None and user.language in self.i18n.available_locales:
            return user.language
        return self.i18n.default_locale
