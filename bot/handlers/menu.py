"""The menu buttons and the commands, in every state: one router, tried before every dialog step.

A menu button or a command is never a step's answer. It leaves the step (the draft stays in
the FSM data, and the dialog offers it again when the person comes back) and opens its
section. /help and /cancel are about the step itself, so they keep it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import F, Router
from aiogram.dispatcher.event.handler import CallableObject
from aiogram.fsm.context import FSMContext
from aiogram.types import Message

from bot.handlers import (
    appeals,
    booking,
    clinics,
    common,
    contacts,
    documents,
    identity,
    language,
    policies,
    profile,
    registration,
)
from bot.menu import IsMenu, MenuAction

Entry = Callable[..., Awaitable[Any]]

ENTRIES: dict[MenuAction, Entry] = {
    MenuAction.START: common.start,
    MenuAction.MENU: common.menu,
    MenuAction.HELP: common.help_,
    MenuAction.CANCEL: common.cancel,
    MenuAction.REGISTER: registration.begin,
    MenuAction.PROFILE: profile.show,
    MenuAction.POLICIES: policies.show_list,
    MenuAction.CLINICS: clinics.hub,
    MenuAction.NEAREST: clinics.location_shared,
    MenuAction.APPEALS: appeals.appeals_command,
    MenuAction.BOOKINGS: booking.list_bookings,
    MenuAction.CONTACTS: contacts.contacts,
    MenuAction.DOCUMENTS: documents.documents,
    MenuAction.LANGUAGE: language.choose,
    MenuAction.VERIFY: identity.begin,
}
# These act on the step the person is at, so they do not leave it.
KEEP_STEP = {MenuAction.HELP, MenuAction.CANCEL}

_CALLABLES = {action: CallableObject(entry) for action, entry in ENTRIES.items()}


async def open_section(
    message: Message,
    state: FSMContext,
    menu_action: MenuAction,
    raw_state: str | None = None,
    **data: Any,
) -> Any:
    # raw_state is what aiogram's FSM middleware read already: no second read of the storage.
    if menu_action not in KEEP_STEP and raw_state is not None:
        await state.set_state(None)
        raw_state = None
    return await _CALLABLES[menu_action].call(message, state=state, raw_state=raw_state, **data)


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(F.chat.type == "private", IsMenu())
    router.message.register(open_section)
    return router
