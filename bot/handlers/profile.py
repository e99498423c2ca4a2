"""The profile: data (read-only after the first policy, seed 000 2.2), language, notifications,
consents with their dates, and deleting the account."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot import screens
from bot.callbacks import (
    Language,
    ProfileAction,
    ProfileCallback,
    RegistrationAction,
    TimeZoneCallback,
)
from bot.fsm.registration import (
    Registration,
    draft_from_account,
    load_draft,
    save_draft,
)
from bot.handlers.registration import ask, summary_text
from bot.keyboards.menu import LANGUAGE_NAMES, main_menu
from bot.keyboards.registration import consent_title, inline
from bot.screens import with_nav
from core.accounts.consents import ConsentKind, current_consents
from core.accounts.identity import identity_confirmed
from core.accounts.models import Account, User
from core.accounts.profile import (
    OptionalNotice,
    delete_account,
    is_locked,
    set_time_zone,
    toggle_notifications,
)
from core.accounts.zones import DEFAULT_ZONE, ZONES, zone_title
from core.clock import Clock
from core.config import Settings
from core.formatting import format_day


def _button(builder: InlineKeyboardBuilder, text: str, action: ProfileAction) -> None:
    builder.button(text=text, callback_data=ProfileCallback(action=action))


def profile_keyboard(account: Account, confirmed: bool = False) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    if not is_locked(account):
        _button(builder, _("✏️ Change my data"), ProfileAction.EDIT)
    _button(builder, _("🔔 Notifications"), ProfileAction.NOTIFICATIONS)
    if not confirmed:
        _button(builder, _("🪪 Confirm my identity"), ProfileAction.VERIFY)
    _button(builder, _("📜 Consents"), ProfileAction.CONSENTS)
    _button(builder, _("🗑 Delete my account"), ProfileAction.DELETE)
    builder.adjust(1)
    return builder.as_markup()


def _on_off(value: bool) -> str:
    return _("on") if value else _("off")


def profile_text(account: Account, user: User, confirmed: bool = False) -> str:
    lines = [
        _("<b>Profile</b>"),
        summary_text(draft_from_account(account), user.language),
        _("🪪 Identity confirmed ✅")
        if confirmed
        else _("🪪 Identity not confirmed yet (a selfie with the passport: /verify)"),
        _("<b>Language:</b> {language}").format(language=LANGUAGE_NAMES[Language(user.language)]),
        _("<b>Reminders:</b> {reminders}; <b>news:</b> {news}").format(
            reminders=_on_off(account.notify_reminders), news=_on_off(account.notify_news)
        ),
    ]
    if is_locked(account):
        lines.append(
            _(
                "Your personal data are locked since your first policy was added: the insurer "
                "changes them on request, with documents (an appeal «change of personal data»)."
            )
        )
    return "\n\n".join(lines)


def _missing_text(steps: list[State]) -> str:
    names = {
        Registration.phone: _("phone"),
        Registration.email: _("confirmed e-mail"),
        Registration.surname: _("full name"),
        Registration.first_name: _("full name"),
        Registration.patronymic: _("full name"),
        Registration.birth_date: _("date of birth"),
        Registration.sex: _("sex"),
        Registration.document_type: _("identity document"),
        Registration.document_number: _("identity document"),
    }
    named = list(dict.fromkeys(names[step] for step in steps))  # each name once, in order
    return ", ".join(named) or _("consents and confirmation")


async def tell_registration_is_missing(message: Message, state: FSMContext) -> None:
    """Sections that need an account say what is missing and lead back to registration."""
    draft = await load_draft(state)
    await message.answer(
        _(
            "This section opens after registration: until your data are filled in, policies "
            "are not shown. Still missing: {missing}."
        ).format(missing=_missing_text(draft.missing())),
        reply_markup=inline((_("Continue registration"), RegistrationAction.START)),
    )


async def show(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    account: Account | None,
) -> None:
    if account is None:
        await tell_registration_is_missing(message, state)
        return
    confirmed = await identity_confirmed(session, user.id)
    await message.answer(
        profile_text(account, user, confirmed),
        reply_markup=with_nav(profile_keyboard(account, confirmed)),
    )


PROFILE_SCREEN = ProfileCallback(action=ProfileAction.SHOW)


async def show_again(
    query: CallbackQuery,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    account: Account | None,
) -> None:
    """Back to the profile from one of its screens."""
    if account is None:
        if isinstance(query.message, Message):
            await tell_registration_is_missing(query.message, state)
        return
    confirmed = await identity_confirmed(session, user.id)
    await screens.show(
        query,
        profile_text(account, user, confirmed),
        with_nav(profile_keyboard(account, confirmed)),
    )


async def edit(
    query: CallbackQuery,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    account: Account | None,
    settings: Settings,
) -> None:
    if not isinstance(query.message, Message) or account is None:
        return
    if is_locked(account):
        await screens.show(
            query,
            _(
                "Personal data cannot be changed in the bot after the first policy is added. "
                "Call the insurer at {phone}: the data are changed by an appeal with documents."
            ).format(phone=settings.insurer.phone_federal),
            back=PROFILE_SCREEN,
            menu=True,
        )
        return
    await save_draft(state, draft_from_account(account))
    await ask(query.message, state, Registration.summary, session, user)


def notifications_keyboard(account: Account, user: User, clock: Clock) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    mark = {True: "✅", False: "❌"}
    _button(
        builder,
        f"{mark[account.notify_reminders]} " + _("Reminders"),
        ProfileAction.TOGGLE_REMINDERS,
    )
    _button(builder, f"{mark[account.notify_news]} " + _("News"), ProfileAction.TOGGLE_NEWS)
    zone = zone_title(user.time_zone, _, clock.now())
    _button(builder, "🕰 " + _("Time zone: {zone}").format(zone=zone), ProfileAction.TIME_ZONE)
    builder.adjust(1)
    return with_nav(builder.as_markup(), back=PROFILE_SCREEN)


def notifications_text(settings: Settings) -> str:
    # As core.notifications.delivery sorts them (REMINDERS, NEWS, CAN_WAIT): a walker found
    # the clinics' opening held till the morning while this said access came at once.
    text = _(
        "Notifications. Reminders (visits, expiring policies, the end of a waiting period) and "
        "news can be turned off. Messages about debts, cards, charges and payments always come."
    )
    if settings.quiet_hours:
        start, end = settings.quiet_hours
        text += "\n\n" + _(
            "From {start}:00 to {end}:00 in your time zone, messages that can wait (new "
            "services, charges made, debt reminders, a policy's end and the start of its cover, "
            "clinics opening to you, news) wait for the morning; new debts, suspensions, "
            "payments, visit reminders and answers come at once."
        ).format(start=start, end=f"{end:02d}")
    return text


async def notifications(
    query: CallbackQuery, account: Account | None, user: User, clock: Clock, settings: Settings
) -> None:
    if not isinstance(query.message, Message) or account is None:
        return
    await screens.show(
        query, notifications_text(settings), notifications_keyboard(account, user, clock)
    )


async def ask_time_zone(query: CallbackQuery, user: User, clock: Clock) -> None:
    if not isinstance(query.message, Message):
        return
    builder = InlineKeyboardBuilder()
    for zone in ZONES:
        title = zone_title(zone, _, clock.now())
        mark = "✅ " if zone == (user.time_zone or DEFAULT_ZONE) else ""
        builder.button(text=mark + title, callback_data=TimeZoneCallback(zone=zone))
    builder.adjust(2)
    markup = with_nav(builder.as_markup(), back=ProfileCallback(action=ProfileAction.NOTIFICATIONS))
    await query.message.edit_reply_markup(reply_markup=markup)


async def choose_time_zone(
    query: CallbackQuery,
    callback_data: TimeZoneCallback,
    session: AsyncSession,
    user: User,
    account: Account | None,
    clock: Clock,
    callback_answer: CallbackAnswer,
) -> None:
    stale = _("This choice is out of date: open the profile again.")
    if account is None:
        callback_answer.text = stale
        return
    try:
        await set_time_zone(session, user, callback_data.zone)
    except ValueError:  # a zone no longer offered
        callback_answer.text = stale
        return
    callback_answer.text = _("Time zone: {zone}").format(
        zone=zone_title(user.time_zone, _, clock.now())
    )
    if isinstance(query.message, Message):
        await query.message.edit_reply_markup(
            reply_markup=notifications_keyboard(account, user, clock)
        )


async def toggle(
    query: CallbackQuery,
    callback_data: ProfileCallback,
    session: AsyncSession,
    user: User,
    clock: Clock,
) -> None:
    kind = (
        OptionalNotice.REMINDERS
        if callback_data.action is ProfileAction.TOGGLE_REMINDERS
        else OptionalNotice.NEWS
    )
    account = await toggle_notifications(session, user, kind)
    if isinstance(query.message, Message):
        await query.message.edit_reply_markup(
            reply_markup=notifications_keyboard(account, user, clock)
        )


async def consents(query: CallbackQuery, session: AsyncSession, user: User) -> None:
    if not isinstance(query.message, Message):
        return
    given = await current_consents(session, user.id)
    lines = [_("<b>Your consents</b>")]
    for kind in ConsentKind:
        consent = given.get(kind)
        if consent is None:
            status = _("not given")
        else:
            status = _("version {version}, given {date}").format(
                version=consent.version, date=format_day(consent.accepted_at, user.language)
            )
        lines.append(f"• {consent_title(kind)}: {status}")
    lines.append(_("To withdraw a consent, delete the account: the data are then erased."))
    await screens.show(query, "\n".join(lines), back=PROFILE_SCREEN, menu=True)


async def ask_delete(query: CallbackQuery) -> None:
    if not isinstance(query.message, Message):
        return
    builder = InlineKeyboardBuilder()
    _button(builder, _("Yes, delete my account"), ProfileAction.DELETE_CONFIRMED)
    await screens.show(
        query,
        _(
            "Delete the account? Your personal data will be erased and the consents withdrawn. "
            "Your policies stay valid with the insurer; you can register again at any time. "
            "If you do not want to delete it, just ignore this message."
        ),
        builder.as_markup(),
        back=PROFILE_SCREEN,
        back_text=_("⬅️ Keep it"),
    )


async def delete(
    query: CallbackQuery,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    account: Account | None,
    clock: Clock,
) -> None:
    if not isinstance(query.message, Message) or account is None:
        return
    await delete_account(session, user, now=clock.now())
    await state.clear()
    await query.message.edit_reply_markup(reply_markup=None)
    await query.message.answer(
        _("Your account has been deleted and your personal data erased."),
        reply_markup=main_menu(registered=False),
    )


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(F.chat.type == "private")
    actions = ProfileCallback.filter
    router.callback_query.register(show_again, actions(F.action == ProfileAction.SHOW))
    router.callback_query.register(edit, actions(F.action == ProfileAction.EDIT))
    router.callback_query.register(notifications, actions(F.action == ProfileAction.NOTIFICATIONS))
    router.callback_query.register(
        toggle,
        actions(F.action.in_({ProfileAction.TOGGLE_REMINDERS, ProfileAction.TOGGLE_NEWS})),
    )
    router.callback_query.register(ask_time_zone, actions(F.action == ProfileAction.TIME_ZONE))
    router.callback_query.register(choose_time_zone, TimeZoneCallback.filter())
    router.callback_query.register(consents, actions(F.action == ProfileAction.CONSENTS))
    router.callback_query.register(ask_delete, actions(F.action == ProfileAction.DELETE))
    router.callback_query.register(delete, actions(F.action == ProfileAction.DELETE_CONFIRMED))
    return router
