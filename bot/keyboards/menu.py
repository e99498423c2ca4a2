"""The main menu: always one tap away, and every section leads back to it."""

from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup, KeyboardButton, ReplyKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from aiogram.utils.keyboard import InlineKeyboardBuilder, ReplyKeyboardBuilder

from bot.callbacks import (
    CancelCallback,
    DocumentCallback,
    DocumentKind,
    Language,
    LanguageCallback,
)
from bot.keyboards.cached import per_language

REGISTER = __("📝 Registration")
PROFILE = __("👤 Profile")
POLICIES = __("📋 My policies")
NEAREST_CLINICS = __("📍 Nearest clinics")
CLINICS = __("🏥 Clinics")
APPEALS = __("💬 Appeals")
CONTACTS = __("☎️ Contacts")
DOCUMENTS = __("📄 Documents")
LANGUAGE = __("🌐 Language")
HELP = __("❓ Help")

LANGUAGE_NAMES = {Language.RU: "🇷🇺 Русский", Language.EN: "🇬🇧 English"}


@per_language
def main_menu(*, registered: bool) -> ReplyKeyboardMarkup:
    builder = ReplyKeyboardBuilder()
    if registered:
        builder.row(
            KeyboardButton(text=str(POLICIES)),
            KeyboardButton(text=str(APPEALS)),
            KeyboardButton(text=str(PROFILE)),
        )
    else:
        builder.row(KeyboardButton(text=str(REGISTER)))
    builder.row(
        KeyboardButton(text=str(NEAREST_CLINICS), request_location=True),
        KeyboardButton(text=str(CLINICS)),
    )
    builder.row(KeyboardButton(text=str(CONTACTS)), KeyboardButton(text=str(DOCUMENTS)))
    builder.row(KeyboardButton(text=str(LANGUAGE)), KeyboardButton(text=str(HELP)))
    return builder.as_markup(resize_keyboard=True, input_field_placeholder=_("Choose a section"))


@per_language
def confirm_cancel() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("Yes, discard"), callback_data=CancelCallback(confirm=True))
    builder.button(text=_("No, continue"), callback_data=CancelCallback(confirm=False))
    return builder.as_markup()


@per_language
def language_choice(current: str) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for code, name in LANGUAGE_NAMES.items():
        mark = "✓ " if code.value == current else ""
        builder.button(text=f"{mark}{name}", callback_data=LanguageCallback(code=code))
    return builder.as_markup()


@per_language
def documents_choice() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(
        text=_("User agreement"), callback_data=DocumentCallback(kind=DocumentKind.USER_AGREEMENT)
    )
    builder.button(
        text=_("Personal data policy"),
        callback_data=DocumentCallback(kind=DocumentKind.PERSONAL_DATA),
    )
    builder.button(
        text=_("Health data processing"),
        callback_data=DocumentCallback(kind=DocumentKind.HEALTH_DATA),
    )
    builder.adjust(1)
    return builder.as_markup()
