"""The next action a refusal offers, as a button (CONVERSATION.md, 3): Register, Add a policy,
Buy, Renew, Contacts. Built here once, so every section words them alike."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.callbacks import (
    GuideCallback,
    PoliciesAction,
    PoliciesCallback,
    RegistrationAction,
    RegistrationCallback,
)
from bot.screens import with_nav
from core.config import Settings


def register_button() -> InlineKeyboardButton:
    return InlineKeyboardButton(
        text=_("📝 Register"),
        callback_data=RegistrationCallback(action=RegistrationAction.START).pack(),
    )


def add_policy_button() -> InlineKeyboardButton:
    return InlineKeyboardButton(
        text=_("➕ Add a policy"), callback_data=PoliciesCallback(action=PoliciesAction.ADD).pack()
    )


def buy_button(settings: Settings, product: str = "dms") -> InlineKeyboardButton:
    return InlineKeyboardButton(
        text=_("🛒 Buy a policy"), url=f"{settings.insurer.shop_url}?product={product}"
    )


def renew_button(settings: Settings) -> InlineKeyboardButton:
    return InlineKeyboardButton(
        text=_("🔄 Renew"), url=f"{settings.insurer.shop_url}?product=dms&renew=1"
    )


def contacts_button() -> InlineKeyboardButton:
    return InlineKeyboardButton(
        text=_("☎️ Contacts"), callback_data=GuideCallback(topic="contacts").pack()
    )


def next_steps(
    *buttons: InlineKeyboardButton,
    back: CallbackData | None = None,
    back_text: str | None = None,
    menu: bool = True,
) -> InlineKeyboardMarkup:
    """One button a row, then Back and Menu."""
    markup = InlineKeyboardMarkup(inline_keyboard=[[button] for button in buttons])
    return with_nav(markup, back=back, back_text=back_text, menu=menu)
