"""The franchise (co-payment) section of a policy: status, cards, debt, activation, payment.

The card number never enters the chat: linking a card and paying a debt happen on the
provider's page, opened by a URL button (seed 000 2.3.1).
"""

from __future__ import annotations

import logging
from datetime import datetime

from aiogram import F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import (
    CardCallback,
    FranchiseAction,
    FranchiseCallback,
    FranchiseCardCallback,
    PolicyAction,
    PolicyCallback,
)
from bot.keyboards.next_steps import contacts_button, next_steps, renew_button
from bot.screens import show, with_nav
from core.accounts.models import User
from core.billing.charges import debts_of_user, open_debt_link, retry_debts
from core.billing.franchise import (
    AlreadyActivated,
    CardNotUsable,
    FranchiseState,
    FranchiseView,
    NoFranchise,
    PolicyNotValid,
    activate_with_card,
    franchise_of,
    open_card_page,
    start_activation,
)
from core.billing.models import Card, CardStatus
from core.billing.payments import BankUnavailable
from core.billing.provider import PaymentProvider
from core.billing.rules import BillingRules
from core.clock import Clock
from core.config import Settings
from core.formatting import format_day, format_moment, format_money
from core.i18n import translator
from core.notifications.messages import desk_first, render
from core.notifications.outbox import take_over
from core.policies.cabinet import PolicyView, my_policy

log = logging.getLogger(__name__)


def franchise_badge(state: FranchiseView, locale: str) -> str:
    if state.state is FranchiseState.NOT_ACTIVATED:
        badge = _("franchise not activated")
    elif state.state is FranchiseState.CARD_LINKED:
        assert state.active_from is not None
        badge = _("card linked, franchise active from {date}").format(
            date=format_moment(state.active_from, locale)
        )
    elif state.state is FranchiseState.ACTIVE:
        badge = _("franchise active")
    else:
        assert state.suspended_at is not None
        badge = _("franchise suspended for debt since {date}").format(
            date=format_day(state.suspended_at, locale)
        )
    if state.debt:
        badge += " · " + _("debt {amount}").format(amount=format_money(state.debt, locale))
    return "💳 " + badge


def card_line(card: Card) -> str:
    line = f"{card.card_type} {card.first6[:4]} {card.first6[4:]}•• •••• {card.last4}"
    line += f", {card.expiry_month:02d}/{card.expiry_year % 100:02d}"
    if card.status == CardStatus.EXPIRED:
        return line + " — " + _("expired")
    if card.status == CardStatus.REVOKED:
        return line + " — " + _("cannot be charged")
    return line + (" — " + _("primary") if card.primary else "")


def section_text(view: PolicyView, state: FranchiseView, locale: str) -> str:
    lines = [
        _("<b>Franchise (co-payment) · policy {number}</b>").format(number=view.policy.number),
        franchise_badge(state, locale),
        _(
            "You pay {share} of each service's cost. Nothing is paid in the clinic: the share is "
            "charged from your card automatically about a month after the visit."
        ).format(share=f"{state.percent}%"),
    ]
    if state.cards:
        lines.append(_("<b>Cards</b>"))
        lines += [f"• {card_line(card)}" for card in state.cards]
    if state.state is FranchiseState.SUSPENDED:
        lines.append(_("Franchise clinics are not available until the debt is paid; then at once."))
    return "\n".join(lines)


def section_keyboard(view: PolicyView, state: FranchiseView) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()

    def button(text: str, action: FranchiseAction) -> None:
        builder.button(text=text, callback_data=FranchiseCallback(id=view.id, action=action))

    if state.state is FranchiseState.NOT_ACTIVATED:
        button(_("✅ Activate the franchise program"), FranchiseAction.TERMS)
    else:
        if state.debt:
            button(_("💸 Pay the debt from my card"), FranchiseAction.PAY_CARDS)
            button(_("🔗 Pay with another card"), FranchiseAction.PAY_LINK)
        for card in state.cards:
            builder.button(
                text=("⭐ " if card.primary else "💳 ")
                + f"•••• {card.last4}"
                + ("" if card.status == CardStatus.ACTIVE else " ⚠️"),
                callback_data=CardCallback(policy=view.id, card=card.id),
            )
        button(_("➕ Link another card"), FranchiseAction.ADD_CARD)
    builder.button(text=_("⬅️ Policy"), callback_data=PolicyCallback(id=view.id))
    builder.adjust(1)
    return builder.as_markup()


async def show_section(
    query: CallbackQuery,
    callback_data: PolicyCallback | FranchiseCallback,
    session: AsyncSession,
    user: User,
    clock: Clock,
) -> None:
    view = await my_policy(session, user, callback_data.id, today=clock.now().date())
    try:
        state = await franchise_of(session, view, clock.now())
    except NoFranchise:
        await show(
            query,
            _("This policy has no franchise program."),
            back=PolicyCallback(id=view.id),
            back_text=_("⬅️ Policy"),
            menu=True,
        )
        return
    await show(query, section_text(view, state, user.language), section_keyboard(view, state))


async def show_terms(
    query: CallbackQuery,
    callback_data: FranchiseCallback,
    session: AsyncSession,
    user: User,
    clock: Clock,
    billing: BillingRules,
) -> None:
    if not isinstance(query.message, Message):
        return
    view = await my_policy(session, user, callback_data.id, today=clock.now().date())
    state = await franchise_of(session, view, clock.now())
    if state.state is not FranchiseState.NOT_ACTIVATED:  # an old «Activate», e.g. on a card
        await show(
            query,
            _("The franchise program is activated already.")
            + "\n\n"
            + section_text(view, state, user.language),
            section_keyboard(view, state),
        )
        return
    builder = InlineKeyboardBuilder()
    for card in state.cards:  # a card linked already (for another policy): one tap, no check
        if card.status == CardStatus.ACTIVE:
            builder.button(
                text=_("I agree: charge card •••• {last4}").format(last4=card.last4),
                callback_data=FranchiseCardCallback(policy=view.id, card=card.id),
            )
    builder.button(
        text=_("I agree to automatic charges")
        if not state.cards
        else _("I agree: link another card"),
        callback_data=FranchiseCallback(id=view.id, action=FranchiseAction.CONSENT),
    )
    builder.adjust(1)
    await show(
        query,
        _(
            "<b>Activating the franchise program</b>\n"
            "• You pay {share} of the cost of each service; the insurer pays the rest.\n"
            "• Nothing is paid in the clinic. About a month after the visit your share is "
            "charged automatically from the linked card; with several cards, one share is "
            "never charged twice.\n"
            "• To link a card, the bank's page makes a check payment of {check} and returns it "
            "at once: you will see two SMS of {check}.\n"
            "• The card number is entered only on the bank's page, never in this chat.\n"
        ).format(
            share=f"{state.percent}%", check=format_money(billing.binding_amount, user.language)
        )
        + start_rule(view)
        + "\n\n"
        + _("Do you agree that the co-payments are charged from your card automatically?"),
        builder.as_markup(),
        back=PolicyCallback(id=view.id, action=PolicyAction.FRANCHISE),
        back_text=_("⬅️ Franchise and cards"),
    )


def start_rule(view: PolicyView) -> str:
    """When the program starts after the card is linked: the program's own rule."""
    program = view.program
    if program is None or program.activation_minutes is None:
        return _("• The program becomes active at 00:00 Moscow time the next day.")
    text = _("• The program becomes active {minutes} minutes after the card is linked.").format(
        minutes=program.activation_minutes
    )
    if program.registration_working_days:
        text += "\n" + _(
            "• The clinics need up to {days} working days to register you: until then call the "
            "24/7 desk first, {phone}."
        ).format(days=program.registration_working_days, phone=program.desk_phone or "—")
    return text


def pay_button(text: str, url: str) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=text, url=url)
    return with_nav(builder.as_markup())


async def consent_given(
    query: CallbackQuery,
    callback_data: FranchiseCallback,
    session: AsyncSession,
    user: User,
    clock: Clock,
    billing: BillingRules,
    payments: PaymentProvider | None,
    settings: Settings,
) -> None:
    if not isinstance(query.message, Message):
        return
    view = await my_policy(session, user, callback_data.id, today=clock.now().date())
    section = PolicyCallback(id=view.id, action=PolicyAction.FRANCHISE)
    if payments is None:
        await show(
            query,
            _("Payments are not available right now. Please try later."),
            back=section,
            menu=True,
        )
        return
    description = _("Linking a card, policy {number}").format(number=view.policy.number)
    try:
        if callback_data.action is FranchiseAction.ADD_CARD:
            payment = await open_card_page(
                session, payments, user, billing, description=description, now=clock.now()
            )
        else:
            payment = await start_activation(
                session, payments, user, view, billing, description=description, now=clock.now()
            )
    except AlreadyActivated:
        await show(query, _("The franchise program is activated already."), back=section, menu=True)
        return
    except PolicyNotValid:
        await show(
            query,
            _("The policy has expired: there is nothing to activate."),
            next_steps(renew_button(settings), contacts_button(), back=PolicyCallback(id=view.id)),
        )
        return
    except BankUnavailable:
        await show(
            query,
            _("The bank did not answer. Nothing was charged; please try again in a minute."),
            back=section,
            menu=True,
        )
        return
    assert payment.confirmation_url is not None
    if callback_data.action is FranchiseAction.CONSENT:
        await consent_taken(query.message, view)
    await query.message.answer(
        _(
            "Open the bank's page, enter the card and confirm with the code from the SMS. "
            "Then come back here: the chat will say when the card is linked."
        ),
        reply_markup=pay_button(_("💳 Link a card"), payment.confirmation_url),
    )


async def consent_taken(terms: Message, view: PolicyView) -> None:
    """The consent is given: its screen keeps only the way back, not a second «I agree»."""
    back = PolicyCallback(id=view.id, action=PolicyAction.FRANCHISE)
    markup = with_nav(None, back=back, back_text=_("⬅️ Franchise and cards"), menu=False)
    try:
        await terms.edit_reply_markup(reply_markup=markup)
    except TelegramBadRequest as error:  # gone, too old, or the same already: nothing to undo
        log.info("consent screen %s kept its buttons: %s", terms.message_id, error.message)


async def pay_from_cards(
    query: CallbackQuery,
    session: AsyncSession,
    user: User,
    clock: Clock,
    billing: BillingRules,
    payments: PaymentProvider | None,
) -> None:
    if not isinstance(query.message, Message) or payments is None:
        return
    if not await debts_of_user(session, user.id):
        await query.message.answer(
            _("There is no debt: nothing to pay."), reply_markup=with_nav(None)
        )
        return
    left = await retry_debts(session, payments, user, billing, clock.now())
    if not left:
        await query.message.answer(_("The debt is paid. Thank you!"), reply_markup=with_nav(None))
        return
    builder = InlineKeyboardBuilder()
    builder.button(
        text=_("🔗 Pay with another card"),
        callback_data=FranchiseCallback(id=0, action=FranchiseAction.PAY_LINK),
    )
    await query.message.answer(
        _("The cards could not be charged: {amount} is still due. Pay with another card.").format(
            amount=format_money(sum(c.amount for c in left), user.language)
        ),
        reply_markup=with_nav(builder.as_markup()),
    )


async def pay_by_link(
    query: CallbackQuery,
    session: AsyncSession,
    user: User,
    clock: Clock,
    billing: BillingRules,
    payments: PaymentProvider | None,
) -> None:
    if isinstance(query.message, Message):
        await pay_debt(query.message, session, user, clock, billing, payments)


async def pay_debt(
    message: Message,
    session: AsyncSession,
    user: User,
    clock: Clock,
    billing: BillingRules,
    payments: PaymentProvider | None,
    head: str = "",
) -> None:
    """The bank's page for the whole debt (the «Pay» button, and the `debt` deep link);
    `head`: what was tried before, said in the same message (one message, with its button)."""
    if payments is None:
        await message.answer(
            _("Payments are not available right now. Please try again later."),
            reply_markup=with_nav(None),
        )
        return
    try:
        payment = await open_debt_link(
            session, payments, user, billing, text=_("Co-payment debt"), now=clock.now()
        )
    except BankUnavailable:
        await message.answer(
            _("The bank did not answer. Please try again in a minute."),
            reply_markup=with_nav(None),
        )
        return
    if payment is None or payment.confirmation_url is None:
        await message.answer(_("There is no debt: nothing to pay."), reply_markup=with_nav(None))
        return
    await message.answer(
        head
        + _("The debt is {amount}. Pay it on the bank's page:").format(
            amount=format_money(payment.amount, user.language)
        ),
        reply_markup=pay_button(
            _("💸 Pay {amount}").format(amount=format_money(payment.amount, user.language)),
            payment.confirmation_url,
        ),
    )


async def pay_one_tap(
    query: CallbackQuery,
    session: AsyncSession,
    user: User,
    clock: Clock,
    billing: BillingRules,
    payments: PaymentProvider | None,
) -> None:
    if isinstance(query.message, Message):
        await settle_debt(query.message, session, user, clock, billing, payments)


async def settle_debt(
    message: Message,
    session: AsyncSession,
    user: User,
    clock: Clock,
    billing: BillingRules,
    payments: PaymentProvider | None,
) -> None:
    """The debt message's «💸 Pay the debt» (and its `debt` deep link): the cards on file
    first, in this one tap; only what they cannot pay goes to the bank's page."""
    due = await debts_of_user(session, user.id)
    if payments is None or not due:
        await pay_debt(message, session, user, clock, billing, payments)  # says why not
        return
    left = await retry_debts(session, payments, user, billing, clock.now())
    if not left:
        # The "debt paid" notices (amount, card, what for) are said here, now, and not sent
        # again by the courier: one message for the money.
        taken = await take_over(session, [f"charged:{c.id}" for c in due], clock.now())
        translate = translator(user.language)
        said = [render(m.kind, m.args, translate, user.language) for m in taken]
        await message.answer(
            "\n\n".join(said) or _("The debt is paid from your card. Thank you!"),
            reply_markup=with_nav(None),
        )
        return
    tried = _("Your cards could not be charged: {amount} is still due.").format(
        amount=format_money(sum(c.amount for c in left), user.language)
    )
    # One message: what the cards could not do, and the bank's page with its button (a lone
    # line without a button was a dead end between the two).
    await pay_debt(message, session, user, clock, billing, payments, head=tried + "\n")


async def consent_with_card(
    query: CallbackQuery,
    callback_data: FranchiseCardCallback,
    session: AsyncSession,
    user: User,
    clock: Clock,
) -> None:
    """The consent with a card already linked: the franchise is scheduled at once."""
    if not isinstance(query.message, Message):
        return
    view = await my_policy(session, user, callback_data.policy, today=clock.now().date())
    try:
        args = await activate_with_card(session, user, view, callback_data.card, now=clock.now())
    except AlreadyActivated:
        await query.message.answer(_("The franchise program is activated already."))
        return
    except PolicyNotValid:
        await query.message.answer(_("The policy has expired: there is nothing to activate."))
        return
    except CardNotUsable:
        await query.message.answer(_("This card cannot be charged any more. Link a new card."))
        return
    text = _(
        "💳 Card •••• {last4} will pay the co-payments of policy {number} ({name}) too: no check "
        "payment was needed. The franchise program is active from {date}."
    ).format(
        last4=args["last4"],
        number=args["number"],
        name=args["name"],
        date=format_moment(datetime.fromisoformat(args["active_from"]), user.language),
    )
    await consent_taken(query.message, view)
    builder = InlineKeyboardBuilder()
    builder.button(
        text=_("⬅️ Policy"), callback_data=PolicyCallback(id=view.id, action=PolicyAction.CARD)
    )
    await query.message.answer(
        text + desk_first(args, _, user.language), reply_markup=builder.as_markup()
    )


def create_router() -> Router:
    router = Router(name=__name__)
    router.callback_query.register(
        show_section, PolicyCallback.filter(F.action == PolicyAction.FRANCHISE)
    )
    actions = FranchiseCallback.filter
    router.callback_query.register(show_terms, actions(F.action == FranchiseAction.TERMS))
    router.callback_query.register(
        consent_given,
        actions(F.action.in_({FranchiseAction.CONSENT, FranchiseAction.ADD_CARD})),
    )
    router.callback_query.register(pay_from_cards, actions(F.action == FranchiseAction.PAY_CARDS))
    router.callback_query.register(pay_by_link, actions(F.action == FranchiseAction.PAY_LINK))
    router.callback_query.register(pay_one_tap, actions(F.action == FranchiseAction.PAY))
    router.callback_query.register(consent_with_card, FranchiseCardCallback.filter())
    return router
