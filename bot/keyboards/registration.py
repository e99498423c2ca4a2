"""Keyboards of the registration dialog."""

from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup, KeyboardButton, ReplyKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from aiogram.utils.keyboard import InlineKeyboardBuilder, ReplyKeyboardBuilder

from bot.callbacks import (
    ConsentCallback,
    EditCallback,
    EditField,
    RegistrationAction,
    RegistrationCallback,
    SummaryCallback,
)
from bot.keyboards.cached import per_language
from core.accounts.consents import REQUIRED_FOR_REGISTRATION, ConsentKind

BACK = __("⬅️ Back")
CANCEL = __("✖️ Cancel")
SHARE_PHONE = __("📱 Share my phone")
NO_PATRONYMIC = __("No patronymic")
RESEND_CODE = __("Send the code again")
FEMALE = __("Female")
MALE = __("Male")
RU_PASSPORT = __("Russian passport")
FOREIGN_PASSPORT = __("Russian international passport")


def consent_title(kind: ConsentKind) -> str:
    return {
        ConsentKind.PERSONAL_DATA: _("Personal data processing"),
        ConsentKind.HEALTH_DATA: _("Health data processing"),
        ConsentKind.USER_AGREEMENT: _("User agreement"),
        ConsentKind.AUTOPAY: _("Automatic co-payment charges"),
    }[kind]


def step_keyboard(
    *options: str, share_phone: bool = False, back: bool = True
) -> ReplyKeyboardMarkup:
    builder = ReplyKeyboardBuilder()
    if share_phone:
        builder.row(KeyboardButton(text=str(SHARE_PHONE), request_contact=True))
    if options:
        builder.row(*(KeyboardButton(text=option) for option in options))
    navigation = [KeyboardButton(text=str(BACK))] if back else []
    builder.row(*navigation, KeyboardButton(text=str(CANCEL)))
    return builder.as_markup(resize_keyboard=True)


def inline(*buttons: tuple[str, RegistrationAction]) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for text, action in buttons:
        builder.button(text=text, callback_data=RegistrationCallback(action=action))
    builder.adjust(1)
    return builder.as_markup()


def consents_keyboard(given: set[ConsentKind], *, restart: bool = False) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for kind in REQUIRED_FOR_REGISTRATION:
        mark = "✅" if kind in given else "☐"
        builder.button(
            text=f"{mark} {consent_title(kind)}", callback_data=ConsentCallback(kind=kind.value)
        )
    builder.button(
        text=_("📄 Full texts"), callback_data=RegistrationCallback(action=RegistrationAction.TEXTS)
    )
    builder.button(
        text=_("Continue ➡️"),
        callback_data=RegistrationCallback(action=RegistrationAction.CONSENTS_DONE),
    )
    if restart:  # the step resumed: «Start over» is here, the line above has Back and Cancel
        builder.button(
            text=_("Start over"),
            callback_data=RegistrationCallback(action=RegistrationAction.RESTART),
        )
    builder.adjust(1)
    return builder.as_markup()


def summary_keyboard(signature: str) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("✅ Confirm"), callback_data=SummaryCallback(sig=signature))
    builder.button(
        text=_("✏️ Edit a field"), callback_data=RegistrationCallback(action=RegistrationAction.EDIT)
    )
    builder.adjust(1)
    return builder.as_markup()


@per_language
def edit_fields_keyboard() -> InlineKeyboardMarkup:
    labels = {
        EditField.PHONE: _("Phone"),
        EditField.EMAIL: _("E-mail"),
        EditField.NAME: _("Full name"),
        EditField.BIRTH_DATE: _("Date of birth"),
        EditField.SEX: _("Sex"),
        EditField.DOCUMENT: _("Identity document"),
    }
    builder = InlineKeyboardBuilder()
    for field, label in labels.items():
        builder.button(text=label, callback_data=EditCallback(field=field))
    builder.button(
        text=_("⬅️ Back"), callback_data=RegistrationCallback(action=RegistrationAction.SUMMARY)
    )
    builder.adjust(2, 2, 2, 1)
    return builder.as_markup()
