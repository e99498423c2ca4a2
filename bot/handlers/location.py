"""A shared location (button, attachment menu or venue) -> the nearest clinics."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import StateFilter
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from babel.numbers import format_decimal
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import ClinicCallback
from core.accounts.models import User
from core.clinics.directory import NearbyClinic, get_clinic, nearest_clinics
from core.clinics.models import Clinic


def format_distance(km: float, locale: str) -> str:
    if km < 1:
        return _("{meters} m").format(meters=format_decimal(round(km * 1000, -1), locale=locale))
    digits = "#,##0.0" if km < 100 else "#,##0"
    return _("{km} km").format(km=format_decimal(km, format=digits, locale=locale))


def nearby_keyboard(found: list[NearbyClinic], locale: str) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for item in found:
        distance = format_distance(item.distance_km, locale)
        builder.button(
            text=f"{item.clinic.name} · {distance}", callback_data=ClinicCallback(id=item.clinic.id)
        )
    builder.adjust(1)
    return builder.as_markup()


def clinic_card(clinic: Clinic) -> str:
    lines = [f"<b>{clinic.name}</b>", f"{clinic.city}, {clinic.address}"]
    if clinic.phones:
        lines.append(_("Phone: {phones}").format(phones=", ".join(clinic.phones)))
    if clinic.working_hours:
        lines.append(_("Hours: {hours}").format(hours=clinic.working_hours))
    return "\n".join(lines)


async def nearest(message: Message, session: AsyncSession, user: User) -> None:
    location = message.location
    assert location is not None  # the filter guarantees it
    found = await nearest_clinics(session, location.latitude, location.longitude)
    if not found:
        await message.answer(_("The clinic directory is empty for now."))
        return
    closest = format_distance(found[0].distance_km, user.language)
    await message.answer(
        _("Clinics nearest to you (the closest is {distance} away):").format(distance=closest),
        reply_markup=nearby_keyboard(found, user.language),
    )


async def show_clinic(
    query: CallbackQuery, callback_data: ClinicCallback, session: AsyncSession
) -> None:
    clinic = await get_clinic(session, callback_data.id)
    if query.message is not None:
        chat_id = query.message.chat.id
        await query.bot.send_venue(  # type: ignore[union-attr]
            chat_id,
            latitude=clinic.latitude,
            longitude=clinic.longitude,
            title=clinic.name,
            address=f"{clinic.city}, {clinic.address}",
        )
        await query.bot.send_message(chat_id, clinic_card(clinic))  # type: ignore[union-attr]


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(F.chat.type == "private")
    router.message.register(nearest, F.location, StateFilter(None))
    router.callback_query.register(show_clinic, ClinicCallback.filter())
    return router
