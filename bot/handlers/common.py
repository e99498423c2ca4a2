"""/start, /menu, /help and /cancel: they work in every state."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import CancelCallback
from bot.fsm.appeals import DRAFT_KEY as APPEAL_KEY
from bot.fsm.appeals import REPLY_KEY, AppealForm
from bot.fsm.clinics import ClinicSearch
from bot.fsm.forms import forget_form
from bot.fsm.identity import EXPECTING_KEY, IdentityUpload
from bot.fsm.policies import CHILD_KEY, LATIN_KEY, AddPolicy, PolicyDocuments
from bot.fsm.regions import REGIONS_KEY, Regions
from bot.fsm.registration import DRAFT_KEY as REGISTRATION_KEY
from bot.fsm.registration import Registration
from bot.handlers.guide import help_ as guide_help
from bot.handlers.registration import ask
from bot.keyboards.menu import confirm_cancel, main_menu
from core.accounts.models import Account, User
from core.config import Settings

# A dialog with more answers than this asks before /cancel throws them away.
CONFIRM_CANCEL_AFTER_STEPS = 2
REGISTRATION_STEPS = {step.state: step for step in Registration.__all_states__}


async def start(
    message: Message,
    state: FSMContext,
    settings: Settings,
    account: Account | None,
    left_step: str | None = None,
) -> None:
    # Leaving a dialog keeps its draft in the FSM data: the dialog resumes where it stopped.
    await state.set_state(None)
    text = _(
        "Hello! This is the personal cabinet of the insured of <b>{insurer}</b> "
        "for voluntary medical insurance (DMS).\n\n"
        "Here you will be able to keep your policies at hand, find a clinic you may visit, "
        "activate the co-payment program, follow your services and appeals, "
        "and get a message whenever something changes.\n\n"
        "Choose a section in the menu below."
    ).format(insurer=settings.insurer.name)
    if account is None:
        text += "\n\n" + _(
            "To see your policies, register first («📝 Registration»): it takes about three "
            "minutes."
        )
    if left_step:  # /start in the middle of a step: what became of it
        text += "\n\n" + left_step
    await message.answer(text, reply_markup=main_menu(registered=account is not None))


async def menu(
    message: Message, state: FSMContext, account: Account | None, left_step: str | None = None
) -> None:
    await state.set_state(None)
    text = _("Main menu.") + (f"\n\n{left_step}" if left_step else "")
    await message.answer(text, reply_markup=main_menu(registered=account is not None))


async def help_(message: Message) -> None:
    await guide_help(message)


async def cancel(message: Message, state: FSMContext, account: Account | None) -> None:
    data = await state.get_data()
    if await state.get_state() is None and not any(data.values()):  # no form, no draft kept
        await state.clear()
        await message.answer(
            _("There is nothing to cancel."), reply_markup=main_menu(registered=account is not None)
        )
        return
    if data.get("steps_done", 0) > CONFIRM_CANCEL_AFTER_STEPS:
        await message.answer(
            _("Stop and discard what you have entered?"), reply_markup=confirm_cancel()
        )
        return
    await _discard(message, state, account)


def own_data(raw_state: str) -> tuple[str, ...] | None:
    """The FSM data keys of the form the person is at (None: a form not known here). Cancelling
    it discards these and no other: a form paused before (a child's policy under an appeal)
    keeps its draft."""
    if raw_state == AppealForm.reply.state:
        return (REPLY_KEY,)  # an appeal draft paused under the reply stays
    return FORM_DATA.get(raw_state.partition(":")[0])


FORM_DATA: dict[str, tuple[str, ...]] = {
    Registration.__full_group_name__: (REGISTRATION_KEY, "steps_done"),
    AppealForm.__full_group_name__: (APPEAL_KEY,),
    AddPolicy.__full_group_name__: (CHILD_KEY,),
    PolicyDocuments.__full_group_name__: (LATIN_KEY,),
    Regions.__full_group_name__: (REGIONS_KEY,),
    IdentityUpload.__full_group_name__: (EXPECTING_KEY,),
    ClinicSearch.__full_group_name__: (),  # a name to search for: nothing kept
}


async def _discard(message: Message, state: FSMContext, account: Account | None) -> None:
    current = await state.get_state()
    keys = own_data(current) if current is not None else None
    if keys is None:  # no form open («Cancel» meant the paused drafts), or one not known here
        await state.clear()
    else:
        await forget_form(state, keys, leave=True)
    await message.answer(
        _("Cancelled. Back to the main menu.")
        if current is not None
        else _("The unfinished drafts are discarded. Back to the main menu."),
        reply_markup=main_menu(registered=account is not None),
    )


async def cancel_answer(
    query: CallbackQuery,
    callback_data: CancelCallback,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    account: Account | None,
) -> None:
    if not isinstance(query.message, Message):
        return
    await query.message.edit_reply_markup(reply_markup=None)
    if callback_data.confirm:
        await _discard(query.message, state, account)
        return
    # The question goes below the "Stop?" that was answered, not somewhere above it.
    step = REGISTRATION_STEPS.get(await state.get_state() or "")
    if step is None:
        await query.message.answer(_("Let's continue: please answer the question above."))
        return
    await query.message.answer(_("Let's continue."))
    await ask(query.message, state, step, session, user)


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(F.chat.type == "private")
    router.callback_query.register(cancel_answer, CancelCallback.filter())
    return router
