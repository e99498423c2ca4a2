"""A card of the franchise section: make it primary, or remove it (seed 000 2.3: several cards,
one share is never charged twice). Linking a card is the franchise section's "Link another card".
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import CardAction, CardCallback, PolicyAction, PolicyCallback
from bot.handlers.franchise import card_line
from bot.screens import show
from core.accounts.models import User
from core.billing.cards import (
    CardNotFound,
    KeepReason,
    LastCardNeeded,
    make_primary,
    removal_makes_debts,
    remove_card,
)
from core.billing.models import Card, CardStatus
from core.errors import NotFoundError


async def own_card(session: AsyncSession, user: User, card_id: int) -> Card:
    card = await session.get(Card, card_id)
    if card is None or card.user_id != user.id or card.status == CardStatus.REMOVED:
        raise NotFoundError("card")
    return card


def back(policy_id: int) -> InlineKeyboardBuilder:
    builder = InlineKeyboardBuilder()
    builder.button(
        text=_("⬅️ Franchise and cards"),
        callback_data=PolicyCallback(id=policy_id, action=PolicyAction.FRANCHISE),
    )
    return builder


async def show_card(
    query: CallbackQuery, callback_data: CardCallback, session: AsyncSession, user: User
) -> None:
    if not isinstance(query.message, Message):
        return
    card = await own_card(session, user, callback_data.card)
    builder = InlineKeyboardBuilder()

    def button(text: str, action: CardAction) -> None:
        builder.button(
            text=text,
            callback_data=CardCallback(policy=callback_data.policy, card=card.id, action=action),
        )

    if card.status == CardStatus.ACTIVE and not card.primary:
        button(_("⭐ Make primary"), CardAction.PRIMARY)
    button(_("🗑 Remove the card"), CardAction.REMOVE)
    builder.attach(back(callback_data.policy))
    builder.adjust(1)
    text = card_line(card)
    if card.status == CardStatus.ACTIVE:
        text += "\n" + _("Co-payments are charged from the primary card first.")
    else:
        text += "\n" + _("This card cannot be charged any more. Link a new card instead.")
    await show(query, text, builder.as_markup())


async def primary(
    query: CallbackQuery, callback_data: CardCallback, session: AsyncSession, user: User
) -> None:
    if not isinstance(query.message, Message):
        return
    try:
        card = await make_primary(session, user.id, callback_data.card)
    except CardNotFound:
        await show(
            query,
            _("This card cannot be made primary: it cannot be charged."),
            back(callback_data.policy).as_markup(),
        )
        return
    await query.message.edit_text(
        _("Card •••• {last4} is now primary: co-payments are charged from it first.").format(
            last4=card.last4
        ),
        reply_markup=back(callback_data.policy).as_markup(),
    )


async def ask_removal(
    query: CallbackQuery, callback_data: CardCallback, session: AsyncSession, user: User
) -> None:
    if not isinstance(query.message, Message):
        return
    card = await own_card(session, user, callback_data.card)
    builder = InlineKeyboardBuilder()
    builder.button(
        text=_("🗑 Yes, remove it"),
        callback_data=CardCallback(
            policy=callback_data.policy, card=card.id, action=CardAction.REMOVE_CONFIRMED
        ),
    )
    builder.attach(back(callback_data.policy))
    builder.adjust(1)
    text = _("Remove card •••• {last4}? Co-payments will no longer be charged from it.").format(
        last4=card.last4
    )
    if await removal_makes_debts(session, user.id, card.id):
        text += "\n" + _(
            "⚠️ It is your last card: after it is removed, co-payments cannot be charged and "
            "each one will become a debt. Link another card to avoid that."
        )
    await query.message.edit_text(text, reply_markup=builder.as_markup())


async def removal_confirmed(
    query: CallbackQuery, callback_data: CardCallback, session: AsyncSession, user: User
) -> None:
    if not isinstance(query.message, Message):
        return
    try:
        card = await remove_card(session, user.id, callback_data.card)
    except CardNotFound:
        await show(
            query, _("This card is removed already."), back(callback_data.policy).as_markup()
        )
        return
    except LastCardNeeded as needed:
        reason = (
            _("you have an unpaid debt")
            if needed.reason is KeepReason.DEBT
            else _("a co-payment for a service is still to be charged")
        )
        await query.message.edit_text(
            _(
                "This is your only card, and it cannot be removed now: {reason}. Link another "
                "card first, or remove it once nothing is due."
            ).format(reason=reason),
            reply_markup=back(callback_data.policy).as_markup(),
        )
        return
    await query.message.edit_text(
        _("Card •••• {last4} is removed.").format(last4=card.last4),
        reply_markup=back(callback_data.policy).as_markup(),
    )


def create_router() -> Router:
    router = Router(name=__name__)
    actions = CardCallback.filter
    router.callback_query.register(show_card, actions(F.action == CardAction.OPEN))
    router.callback_query.register(primary, actions(F.action == CardAction.PRIMARY))
    router.callback_query.register(ask_removal, actions(F.action == CardAction.REMOVE))
    router.callback_query.register(
        removal_confirmed, actions(F.action == CardAction.REMOVE_CONFIRMED)
    )
    return router
