"""A clinic's card (seed 000 3.3): the venue pin, address, phones, hours, what the person's
policy covers there, whether they may go now and what fixes it if not, and how to book."""

from __future__ import annotations

from datetime import datetime, timedelta
from html import escape

from aiogram import Bot, Router
from aiogram.types import CallbackQuery, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import (
    AppealStartCallback,
    BookingCallback,
    ClinicBackCallback,
    ClinicCallback,
    ClinicsAction,
    ClinicsCallback,
    FranchiseAction,
    FranchiseCallback,
    PolicyAction,
    PolicyCallback,
)
from bot.screens import show
from core.accounts.models import User
from core.appeals.models import AppealKind
from core.clinics.availability import Access, Fix, Reason, best_access, entitlement_of, rights_of
from core.clinics.booking import has_free_slots
from core.clinics.directory import get_clinic
from core.clinics.index import ClinicDirectory
from core.clinics.models import Clinic
from core.clock import Clock
from core.config import Settings
from core.formatting import format_date, format_day, format_moment
from core.policies.cabinet import my_policy
from core.policies.care import care_title
from core.policies.models import Policy


def reason_text(access: Access, locale: str) -> str:
    since = access.since
    day = ""
    if since is not None:
        day = (
            format_moment(since, locale)
            if isinstance(since, datetime)
            else format_date(since, locale)
        )
    texts = {
        Reason.NOT_IN_PROGRAM: _("not in your program"),
        Reason.EXPIRED: _("your policy expired on {date}"),
        Reason.NOT_STARTED: _("your policy starts on {date}"),
        Reason.WAITING: _("waiting period: visits are insured from {date}"),
        Reason.OUTSIDE_TERRITORY: _("outside your policy's territory"),
        Reason.REGION_NOT_CHOSEN: _("its region is not among your chosen service regions"),
        Reason.REGION_TOMORROW: _("its region opens for you on {date}"),
        Reason.FRANCHISE_NOT_ACTIVATED: _("it needs the franchise program activated"),
        Reason.FRANCHISE_PENDING: _("the franchise program is active from {date}"),
        Reason.FRANCHISE_SUSPENDED: _("suspended for an unpaid co-payment debt"),
    }
    assert access.reason is not None
    text = texts[access.reason].format(date=day)
    if access.then is Reason.REGION_NOT_CHOSEN:
        text += _(", and then the service regions must be chosen")
    elif access.then is Reason.REGION_TOMORROW and access.then_since is not None:
        text += _(", and its region opens for you on {date}").format(
            date=format_moment(access.then_since, locale)
        )
    return text


def add_fix(builder: InlineKeyboardBuilder, access: Access) -> bool:
    """The button that removes the obstacle, where one can."""
    if access.fix is Fix.ACTIVATE_FRANCHISE:
        builder.button(
            text=_("✅ Activate the franchise program"),
            callback_data=FranchiseCallback(id=access.policy_id, action=FranchiseAction.TERMS),
        )
    elif access.fix is Fix.CHOOSE_REGION:
        builder.button(
            text=_("🗺 Choose regions"),
            callback_data=PolicyCallback(id=access.policy_id, action=PolicyAction.REGIONS),
        )
    elif access.fix is Fix.PAY_DEBT:
        builder.button(
            text=_("💸 Pay the debt"),
            callback_data=PolicyCallback(id=access.policy_id, action=PolicyAction.FRANCHISE),
        )
    else:
        return False
    return True


def card_text(
    clinic: Clinic, access: Access | None, number: str | None, desk: str, locale: str
) -> str:
    lines = [f"<b>{escape(clinic.name)}</b>", escape(f"{clinic.city}, {clinic.address}")]
    if clinic.phones:
        lines.append("📞 " + ", ".join(escape(p) for p in clinic.phones))
    if clinic.working_hours:
        lines.append("🕘 " + escape(clinic.working_hours))
    if access is not None and access.care_types:
        kinds = ", ".join(care_title(c, _) for c in sorted(access.care_types))
        lines.append(_("🩺 Under policy {number}: {kinds}").format(number=number, kinds=kinds))
    if access is not None:
        lines.append(
            _("✅ You may visit this clinic.")
            if access.available
            else "⛔ "
            + _("Not available now: {reason}.").format(reason=reason_text(access, locale))
        )
    if access is not None and access.available and access.desk_first_until is not None:
        lines.append(
            _(
                "☎️ The clinics are registering you through {date}: until then call the 24/7 "
                "desk first, {phone}."
            ).format(
                date=format_day(access.desk_first_until - timedelta(minutes=1), locale),
                phone=access.desk_phone or desk,
            )
        )
    if not clinic.direct_access:
        lines.append(_("↪️ By a doctor's referral only."))
    if clinic.notes:
        lines.append("ℹ️ " + escape(clinic.notes))
    # The desk of the policy the card is checked against (each program has its own), else the
    # insurer's.
    phone = access.desk_phone if access is not None and access.desk_phone else desk
    lines.append(_("☎️ 24/7 desk: {phone}").format(phone=phone))
    return "\n".join(lines)


def card_keyboard(clinic: Clinic, access: Access | None, slots: bool) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    may_go = access is None or access.available
    if may_go and slots and access is not None:
        builder.button(
            text=_("🗓 Book in the chat"),
            callback_data=BookingCallback(clinic=clinic.id, policy=access.policy_id),
        )
    if may_go and clinic.booking_url:
        builder.button(text=_("🗓 Book online"), url=clinic.booking_url)
    if may_go and not slots and not clinic.booking_url and access is not None:
        builder.button(
            text=_("📝 Request an appointment"),
            callback_data=AppealStartCallback(
                kind=AppealKind.APPOINTMENT, clinic=clinic.id, policy=access.policy_id
            ),
        )
    if access is not None and not access.available:
        add_fix(builder, access)
    builder.button(
        text=_("🏥 Find clinics"), callback_data=ClinicsCallback(action=ClinicsAction.HUB)
    )
    builder.adjust(1)
    return builder.as_markup()


async def show_clinic(
    query: CallbackQuery,
    callback_data: ClinicCallback | ClinicBackCallback,
    bot: Bot,
    session: AsyncSession,
    user: User,
    clock: Clock,
    directory: ClinicDirectory,
    settings: Settings,
) -> None:
    if query.message is None:
        return
    clinic = await get_clinic(session, callback_data.id)
    index = await directory.index(session)
    now = clock.now()
    if callback_data.policy:
        view = await my_policy(session, user, callback_data.policy, today=now.date())
        rights = [await entitlement_of(session, view, now)]
    else:
        rights = await rights_of(session, user, now)
    access = None
    number = None
    entry = index.entries.get(clinic.id)
    desk = settings.insurer.phone_federal
    if rights and entry is not None:
        access = best_access(rights, index, entry)
        number = await session.scalar(select(Policy.number).where(Policy.id == access.policy_id))
        # The desk of the policy the card is checked against, open or not (a walker's «⛔»
        # card gave the insurer's number, the open one the program's).
        right = next((r for r in rights if r.policy_id == access.policy_id), None)
        desk = right.desk_phone if right is not None and right.desk_phone else desk
    slots = await has_free_slots(session, clinic.id, now)
    text = card_text(clinic, access, number, desk, user.language)
    markup = card_keyboard(clinic, access, slots)
    if isinstance(callback_data, ClinicBackCallback):  # that message turns back into the card
        await show(query, text, markup)
        return
    chat_id = query.message.chat.id
    await bot.send_venue(
        chat_id,
        latitude=clinic.latitude,
        longitude=clinic.longitude,
        title=clinic.name,
        address=f"{clinic.city}, {clinic.address}",
    )
    await bot.send_message(chat_id, text, reply_markup=markup)


def create_router() -> Router:
    router = Router(name=__name__)
    router.callback_query.register(show_clinic, ClinicCallback.filter())
    router.callback_query.register(show_clinic, ClinicBackCallback.filter())
    return router
