"""The Telegram adapter: dispatcher factory, routers, FSM, keyboards, middlewares."""

from bot.lazy_types import install

install()  # before anything imports aiogram.types: validators are built on first use
