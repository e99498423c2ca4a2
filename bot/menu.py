"""The menu buttons and the commands as actions: one dictionary lookup per message.

The texts of the reply-keyboard menu are translated, so comparing a message with each
button's lazy text would translate every button on every message, in every router. Instead
the table `text -> action` is built once per dispatcher from the catalogs (every locale: an
old keyboard may still be in the language the person had before), and one filter on one
router, tried before the dialog steps, answers "which menu action is this, if any".
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from aiogram.filters import Filter
from aiogram.types import Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n.lazy_proxy import LazyProxy

from bot.fsm.appeals import AppealForm
from bot.keyboards import menu as keys
from bot.keyboards.registration import CANCEL
from core.links import parse_start_payload


class MenuAction(StrEnum):
    START = "start"
    MENU = "menu"
    HELP = "help"
    CANCEL = "cancel"
    REGISTER = "register"
    PROFILE = "profile"
    POLICIES = "policies"
    CLINICS = "clinics"
    NEAREST = "nearest"  # a shared location (the «📍 Nearest clinics» button)
    APPEALS = "appeals"
    BOOKINGS = "bookings"
    CONTACTS = "contacts"
    DOCUMENTS = "documents"
    LANGUAGE = "language"
    VERIFY = "verify"


# Commands a person may send in a private chat (the "/" menu and /help list most of them).
COMMANDS: Mapping[str, MenuAction] = {
    "start": MenuAction.START,
    "menu": MenuAction.MENU,
    "help": MenuAction.HELP,
    "cancel": MenuAction.CANCEL,
    "register": MenuAction.REGISTER,
    "profile": MenuAction.PROFILE,
    "policies": MenuAction.POLICIES,
    "clinics": MenuAction.CLINICS,
    "appeals": MenuAction.APPEALS,
    "bookings": MenuAction.BOOKINGS,
    "contacts": MenuAction.CONTACTS,
    "documents": MenuAction.DOCUMENTS,
    "language": MenuAction.LANGUAGE,
    "verify": MenuAction.VERIFY,
}

BUTTONS: Mapping[MenuAction, LazyProxy] = {
    MenuAction.REGISTER: keys.REGISTER,
    MenuAction.PROFILE: keys.PROFILE,
    MenuAction.POLICIES: keys.POLICIES,
    MenuAction.CLINICS: keys.CLINICS,
    MenuAction.APPEALS: keys.APPEALS,
    MenuAction.CONTACTS: keys.CONTACTS,
    MenuAction.DOCUMENTS: keys.DOCUMENTS,
    MenuAction.LANGUAGE: keys.LANGUAGE,
    MenuAction.HELP: keys.HELP,
    MenuAction.CANCEL: CANCEL,
}


class MenuTexts:
    """`text -> action` for every locale of the catalogs, built once."""

    def __init__(self, i18n: I18n) -> None:
        self.buttons: dict[str, MenuAction] = {}
        for locale in sorted({*i18n.available_locales, i18n.default_locale}):
            with i18n.context(), i18n.use_locale(locale):
                for action, text in BUTTONS.items():
                    self.buttons[str(text)] = action
                # The location button arrives as its text from a client that cannot share a
                # location (desktop, web): the clinics section says how to send one instead.
                self.buttons[str(keys.NEAREST_CLINICS)] = MenuAction.CLINICS

    def action(self, message: Message) -> tuple[MenuAction, str] | None:
        """The menu action of a message and the command's argument ("" for a button)."""
        if message.location is not None or message.venue is not None:
            return MenuAction.NEAREST, ""
        text = message.text
        if not text:
            return None
        if text[0] == "/":
            command, _, argument = text[1:].partition(" ")
            found = COMMANDS.get(command.partition("@")[0].lower())
            if found is MenuAction.START and parse_start_payload(argument.strip()) is not None:
                return None  # a deep link: the links router opens its place (and leaves the step)
            return None if found is None else (found, argument.strip())
        found = self.buttons.get(text.strip())
        return None if found is None else (found, "")


class IsMenu(Filter):
    """Passes menu buttons and commands, with `menu_action` (and `menu_argument`) as data."""

    async def __call__(
        self, message: Message, menu_texts: MenuTexts, raw_state: str | None = None
    ) -> bool | dict[str, Any]:
        if raw_state == AppealForm.typing.state and (message.location or message.venue):
            return False  # the form's answer to «where?», not «📍 Nearest clinics»
        found = menu_texts.action(message)
        if found is None:
            return False
        return {"menu_action": found[0], "menu_argument": found[1]}
