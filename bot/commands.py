"""The command menu Telegram shows, in every language the bot speaks."""

from __future__ import annotations

from aiogram import Bot
from aiogram.types import BotCommand, MenuButtonCommands
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

# The same commands as /help lists (a walker found /clinics, /appeals and /bookings in /help and
# not in the menu, and /profile the other way round).
COMMANDS = (
    "menu",
    "policies",
    "clinics",
    "appeals",
    "bookings",
    "profile",
    "help",
    "cancel",
    "language",
    "contacts",
)


def _describe(command: str) -> str:
    return {
        "menu": _("Main menu"),
        "policies": _("My policies"),
        "clinics": _("Find a clinic"),
        "appeals": _("My appeals"),
        "bookings": _("My bookings"),
        "profile": _("Profile and registration"),
        "help": _("What the bot can do"),
        "cancel": _("Stop the current action"),
        "language": _("Change the language"),
        "contacts": _("24/7 medical desk"),
    }[command]


def bot_commands(i18n: I18n, locale: str) -> list[BotCommand]:
    with i18n.context(), i18n.use_locale(locale):
        return [BotCommand(command=name, description=_describe(name)) for name in COMMANDS]


async def set_bot_commands(bot: Bot, i18n: I18n) -> None:
    for locale in sorted(i18n.available_locales):
        await bot.set_my_commands(bot_commands(i18n, locale), language_code=locale)
    await bot.set_my_commands(bot_commands(i18n, i18n.default_locale))
    await bot.set_chat_menu_button(menu_button=MenuButtonCommands())
