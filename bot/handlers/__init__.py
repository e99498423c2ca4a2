"""Routers, one per feature; `routers()` lists them in the order the dispatcher tries them."""

from __future__ import annotations

from aiogram import Router

from bot.handlers import (
    appeals,
    booking,
    cards,
    clinic_card,
    clinics,
    common,
    contacts,
    desk,
    documents,
    errors,
    fallback,
    franchise,
    guide,
    identity,
    language,
    links,
    menu,
    operators,
    policies,
    policy_documents,
    profile,
    regions,
    registration,
    services,
)
from core.config import Settings


def routers(settings: Settings) -> list[Router]:
    """Fresh routers for one dispatcher (a router can belong to one dispatcher only)."""
    return [
        # The menu buttons and the commands come first, so no dialog step can swallow them.
        menu.create_router(),
        common.create_router(),
        # Deep links (/start <payload>) and «🏠 Menu» leave any step, like /start.
        links.create_router(),
        language.create_router(),
        registration.create_router(),
        profile.create_router(),
        policies.create_router(),
        policy_documents.create_router(),
        franchise.create_router(),
        cards.create_router(),
        regions.create_router(),
        services.create_router(),
        appeals.create_router(),
        identity.create_router(),
        # The operators' group has its own router; private-chat routers never see it.
        operators.create_router(settings),
        desk.create_router(settings),
        contacts.create_router(),
        guide.create_router(),
        documents.create_router(),
        clinics.create_router(),
        clinic_card.create_router(),
        booking.create_router(),
        errors.create_router(),
        # The catch-all answers whatever nobody else took; it must stay last.
        fallback.create_router(),
    ]
