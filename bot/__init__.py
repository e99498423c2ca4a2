"""The Telegram adapter: dispatcher factory, routers, FSM, keyboards, middlewares."""

from bot import keyboard_copies
from bot.lazy_types import install

install()  # before anything imports aiogram.types: validators are built on first use
keyboard_copies.install()  # keyboard builders copy rows, not every button
