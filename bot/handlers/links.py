"""Deep links (`/start <payload>`, see core/links.py) and the «🏠 Menu» button under screens.

A link leaves the current step as /start does (its draft is kept) and opens its place: a
policy card, paying the debt, an appeal, registration, the identity check, clinics near me.
A link to something that is not the person's (or no longer exists) says it no longer works and
offers the list it belongs to."""

from __future__ import annotations

import logging

from aiogram import F, Router
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import AppealsCallback, MenuCallback, PoliciesAction, PoliciesCallback
from bot.deeplinks import StartLink
from bot.handlers import appeals, franchise, identity, policies, registration
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


async def _no_longer_works(message: Message, text: str, button: str, target: CallbackData) -> None:
    builder = InlineKeyboardBuilder()
    builder.button(text=button, callback_data=target)
    await message.answer(text, reply_markup=with_nav(builder.as_markup()))


async def open_register(
    message: Message, state: FSMContext, session: AsyncSession, user: User, account: Account | None
) -> None:
    await state.set_state(None)
    await registration.begin(message, state, session, user, account)


async def open_verify(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    account: Account | None,
    clock: Clock,
) -> None:
    await state.set_state(None)
    await identity.begin(message, state, session, user, account, clock)


async def open_nearby(message: Message, state: FSMContext, account: Account | None) -> None:
    await state.set_state(None)
    await message.answer(
        _(
            "To see the clinics nearest to you, tap «{button}» below and share your location "
            "(or send any location from the attachment menu)."
        ).format(button=NEAREST_CLINICS),
        reply_markup=main_menu(registered=account is not None),
    )


async def open_policy(
    message: Message,
    link: StartPayload,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    account: Account | None,
    clock: Clock,
    settings: Settings,
) -> None:
    await state.set_state(None)
    if account is None:
        await tell_registration_is_missing(message, state)
        return
    try:
        view = await my_policy(session, user, link.id, today=clock.now().date())
    except NotFoundError:
        log.info("start link %s: not a policy of user %s", link, user.id)
        await _no_longer_works(
            message,
            _("This link no longer works: there is no such policy in your cabinet."),
            _("📋 My policies"),
            PoliciesCallback(action=PoliciesAction.LIST),
        )
        return
    text, markup = await policies.card_screen(session, view, user.language, clock, settings)
    await message.answer(text, reply_markup=markup)


async def open_debt(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    account: Account | None,
    clock: Clock,
    billing: BillingRules,
    payments: PaymentProvider | None,
) -> None:
    await state.set_state(None)
    if account is None:
        await tell_registration_is_missing(message, state)
        return
    await franchise.settle_debt(message, session, user, clock, billing, payments)


async def open_appeal(
    message: Message,
    link: StartPayload,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    account: Account | None,
    clock: Clock,
    settings: Settings,
) -> None:
    await state.set_state(None)
    if account is None:
        await tell_registration_is_missing(message, state)
        return
    try:
        appeal = await my_appeal(session, user.id, link.id)
    except NotFoundError:
        log.info("start link %s: not an appeal of user %s", link, user.id)
        await _no_longer_works(
            message,
            _("This link no longer works: there is no such appeal among yours."),
            _("💬 My appeals"),
            AppealsCallback(),
        )
        return
    await appeals.send_appeal(message, session, appeal, user, clock, settings)


async def menu(query: CallbackQuery, state: FSMContext, account: Account | None) -> None:
    """«🏠 Menu»: the main menu comes as a new message (a reply keyboard cannot be edited in)."""
    await state.set_state(None)
    if isinstance(query.message, Message):
        await query.message.answer(
            _("Main menu."), reply_markup=main_menu(registered=account is not None)
        )


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(F.chat.type == "private")
    router.message.register(open_register, StartLink(LinkKind.REGISTER))
    router.message.register(open_verify, StartLink(LinkKind.VERIFY))
    router.message.register(open_nearby, StartLink(LinkKind.NEARBY))
    router.message.register(open_policy, StartLink(LinkKind.POLICY))
    router.message.register(open_debt, StartLink(LinkKind.DEBT))
    router.message.register(open_appeal, StartLink(LinkKind.APPEAL))
    router.callback_query.register(menu, MenuCallback.filter())
    return router
