"""/start, /menu, /help and /cancel: they work in every state."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from bot.keyboards.menu import HELP, main_menu
from core.config import Settings


async def start(message: Message, state: FSMContext, settings: Settings) -> None:
    # Leaving a dialog keeps its draft in the FSM data: the dialog can offer to resume it.
    await state.set_state(None)
    await message.answer(
        _(
            "Hello! This is the personal cabinet of the insured of <b>{insurer}</b> "
            "for voluntary medical insurance (DMS).\n\n"
            "Here you will be able to keep your policies at hand, find a clinic you may visit, "
            "activate the co-payment program, follow your services and appeals, "
            "and get a message whenever something changes.\n\n"
            "Choose a section in the menu below."
        ).format(insurer=settings.insurer.name),
        reply_markup=main_menu(),
    )


async def menu(message: Message, state: FSMContext) -> None:
    await state.set_state(None)
    await message.answer(_("Main menu."), reply_markup=main_menu())


async def help_(message: Message) -> None:
    await message.answer(
        _(
            "<b>Commands</b>\n"
            "/menu — main menu\n"
            "/cancel — stop the current action\n"
            "/language — change the language\n"
            "/contacts — the 24/7 medical desk\n"
            "/help — this help\n\n"
            "Share your location with the «Nearest clinics» button to see the closest clinics. "
            "Commands work at any step; what you already entered is kept."
        )
    )


async def cancel(message: Message, state: FSMContext) -> None:
    if await state.get_state() is None and not await state.get_data():
        await message.answer(_("There is nothing to cancel."), reply_markup=main_menu())
        return
    await state.clear()
    await message.answer(_("Cancelled. Back to the main menu."), reply_markup=main_menu())


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(F.chat.type == "private")
    router.message.register(start, CommandStart())
    router.message.register(menu, Command("menu"))
    router.message.register(help_, Command("help"))
    router.message.register(help_, F.text == HELP)
    router.message.register(cancel, Command("cancel"))
    return router
