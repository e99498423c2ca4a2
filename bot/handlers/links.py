"""Deep links (`/start <payload>`, see core/links.py) and the «🏠 Menu» button under screens.

A link leaves the current step as /start does (its draft is kept) and opens its place: a
policy card, paying the debt, an appeal, registration, the identity check, clinics near me.
A link to something that is not the person's (or no longer exists) says it no longer works and
offers the list it belongs to."""

from __future__ import annotations

import logging

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import AppealsCallback, MenuCallback, PoliciesAction, PoliciesCallback
from bot.deeplinks import StartLink
from bot.handlers import appeals, franchise, identity, policies, registration
from bot.handlers.menu import leave_step
from bot.handlers.profile import tell_registration_is_missing
from bot.keyboards.menu import NEAREST_CLINICS, main_menu
from bot.screens import with_nav
from core.accounts.models import Account, User
from core.appeals.service import my_appeal
from core.billing.provider import PaymentProvider
from core.billing.rules import BillingRules
from core.clock import Clock
from core.config import Settings
from core.errors import NotFoundError
from core.links import LinkKind, StartPayload
from core.policies.cabinet import my_policy

log = logging.getLogger(__name__)


async def _ready(
    message: Message, state: FSMContext, account: Account | None, raw_state: str | None
) -> bool:
    """A link leaves the current step (its draft is kept); a cabinet's place needs the account."""
    await leave_step(message, state, raw_state, account)
    if account is None:
        await tell_registration_is_missing(message, state)
        return False
    return True


async def _no_longer_works(message: Message, link: StartPayload, user: User) -> None:
    """A link to what is not the person's (or no longer exists), with the list it belongs to."""
    log.info("start link %s: not the place of user %s", link, user.id)
    if link.kind is LinkKind.POLICY:
        text = _("This link no longer works: there is no such policy in your cabinet.")
        button, target = _("📋 My policies"), PoliciesCallback(action=PoliciesAction.LIST)
    else:
        text = _("This link no longer works: there is no such appeal among yours.")
        button, target = _("💬 My appeals"), AppealsCallback()
    builder = InlineKeyboardBuilder()
    builder.button(text=button, callback_data=target)
    await message.answer(text, reply_markup=with_nav(builder.as_markup()))


async def open_register(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    account: Account | None,
    clock: Clock,
) -> None:
    await state.set_state(None)  # registration resumes its own draft, with its keyboard
    await registration.begin(message, state, session, user, account, clock)


async def open_verify(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    account: Account | None,
    clock: Clock,
    raw_state: str | None = None,
) -> None:
    await leave_step(message, state, raw_state, account)
    await identity.begin(message, state, session, user, account, clock)


async def open_nearby(
    message: Message, state: FSMContext, account: Account | None, raw_state: str | None = None
) -> None:
    await leave_step(message, state, raw_state, account)
    await message.answer(
        _(
            "To see the clinics nearest to you, tap «{button}» below and share your location "
            "(or send any location from the attachment menu)."
        ).format(button=NEAREST_CLINICS),
        reply_markup=main_menu(registered=account is not None),
    )


async def open_own(
    message: Message,
    link: StartPayload,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    account: Account | None,
    clock: Clock,
    settings: Settings,
    raw_state: str | None = None,
) -> None:
    """A policy card or an appeal by its id: the same screens the sections show."""
    if not await _ready(message, state, account, raw_state):
        return
    try:
        if link.kind is LinkKind.POLICY:
            view = await my_policy(session, user, link.id, today=clock.now().date())
        else:
            appeal = await my_appeal(session, user.id, link.id)
    except NotFoundError:
        await _no_longer_works(message, link, user)
        return
    if link.kind is LinkKind.POLICY:
        await policies.send_card(message, session, view, user, clock, settings)
    else:
        await appeals.send_appeal(message, session, appeal, user, clock, settings)


async def open_debt(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    account: Account | None,
    clock: Clock,
    billing: BillingRules,
    payments: PaymentProvider | None,
    raw_state: str | None = None,
) -> None:
    if await _ready(message, state, account, raw_state):
        await franchise.settle_debt(message, session, user, clock, billing, payments)


async def menu(query: CallbackQuery, state: FSMContext, account: Account | None) -> None:
    """«🏠 Menu»: the main menu comes as a new message (a reply keyboard cannot be edited in)."""
    await state.set_state(None)
    if isinstance(query.message, Message):
        await query.message.answer(
            _("Main menu."), reply_markup=main_menu(registered=account is not None)
        )


def create_router() -> Router:
    router = Router(name=__name__)
    # Any link first: other messages pass this router with one look at their text.
    router.message.filter(F.chat.type == "private", StartLink())
    router.message.register(open_register, StartLink(LinkKind.REGISTER))
    router.message.register(open_verify, StartLink(LinkKind.VERIFY))
    router.message.register(open_nearby, StartLink(LinkKind.NEARBY))
    router.message.register(open_own, StartLink(LinkKind.POLICY, LinkKind.APPEAL))
    router.message.register(open_debt, StartLink(LinkKind.DEBT))
    router.callback_query.register(menu, MenuCallback.filter())
    return router
