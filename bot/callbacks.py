"""CallbackData factories: short prefixes, typed fields, never split by hand."""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData


class Language(StrEnum):
    RU = "ru"
    EN = "en"


class LanguageCallback(CallbackData, prefix="lang"):
    code: Language


class DocumentKind(StrEnum):
    USER_AGREEMENT = "ua"
    PERSONAL_DATA = "pd"


class DocumentCallback(CallbackData, prefix="doc"):
    kind: DocumentKind


class ClinicCallback(CallbackData, prefix="cl"):
    id: int
