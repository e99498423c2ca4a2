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
from aiogram.utils.i18n import gettext as _

from bot.fsm.appeals import AppealForm
from bot.fsm.clinics import ClinicSearch
from bot.fsm.policies import AddPolicy
from bot.fsm.registration import Registration
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
from bot.keyboards.menu import main_menu
from bot.menu import IsMenu, MenuAction
from core.accounts.models import Account

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
# These answer with a reply keyboard of their own (the main menu, or the step resumed).
OWN_KEYBOARD = {MenuAction.START, MenuAction.MENU, MenuAction.REGISTER}

_CALLABLES = {action: CallableObject(entry) for action, entry in ENTRIES.items()}


async def open_section(
    message: Message,
    state: FSMContext,
    menu_action: MenuAction,
    raw_state: str | None = None,
    **data: Any,
) -> Any:
    # raw_state is what aiogram's FSM middleware read already: no second read of the storage.
    left: str | None = None  # what /start and /menu add about the step they left
    if menu_action not in KEEP_STEP and raw_state is not None:
        announce = menu_action not in OWN_KEYBOARD
        await leave_step(message, state, raw_state, data.get("account"), announce=announce)
        left = None if announce else left_step_text(raw_state)
        raw_state = None
    return await _CALLABLES[menu_action].call(
        message, state=state, raw_state=raw_state, left_step=left, **data
    )


async def leave_step(
    message: Message,
    state: FSMContext,
    raw_state: str | None,
    account: Account | None,
    *,
    announce: bool = True,
) -> None:
    """A menu tap or a deep link mid-step: the step is left, its draft kept (and said so)."""
    if raw_state is None:
        return
    await state.set_state(None)
    if announce:
        await _left_the_step(message, raw_state, account)


async def _left_the_step(message: Message, raw_state: str, account: Account | None) -> None:
    """One line that the step was left and its draft kept, with the main menu keyboard: the
    step's own keyboard (Share my phone, Back, Cancel) must not stay under the section."""
    text = left_step_text(raw_state)
    if text is not None:
        await message.answer(text, reply_markup=main_menu(registered=account is not None))


def left_step_text(raw_state: str) -> str | None:
    """What happened to the step left and its draft (None: an inline screen, nothing kept)."""
    group = raw_state.partition(":")[0]
    if group == ClinicSearch.__full_group_name__:
        return None  # an inline screen waiting for a name: nothing kept, no keyboard to take back
    if raw_state == AppealForm.reply.state:  # a message to an open appeal: no draft of it
        return _("Nothing was sent to the appeal.")
    if group == Registration.__full_group_name__:
        text = _("Registration is paused; what you entered is kept. «📝 Registration» continues.")
    elif group == AppealForm.__full_group_name__:
        text = _("The appeal draft is kept: «💬 Appeals» continues it.")
    elif raw_state in (AddPolicy.number.state, AddPolicy.child_number.state):  # nothing typed yet
        text = _("You left adding a policy.")
    elif group == AddPolicy.__full_group_name__:  # the child's policy form
        text = _("The policy draft is kept: «➕ Add a policy» in «📋 My policies» continues it.")
    else:
        text = _("You left the step; what you entered is kept.")
    return text


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(F.chat.type == "private", IsMenu())
    router.message.register(open_section)
    return router
