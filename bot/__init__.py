"""The Telegram adapter: dispatcher factory, routers, FSM, keyboards, middlewares."""

from bot.lazy_types import install

install()  # before anything imports aiogram.types: validators are built on first use

from bot import keyboard_copies  # noqa: E402  (imports aiogram: only after install())

keyboard_copies.install()  # keyboard builders copy rows, not every button

from bot import bot_context  # noqa: E402

bot_context.install()  # Telegram objects take their bot in one call
