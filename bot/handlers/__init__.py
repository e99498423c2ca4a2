"""Routers, one per feature; `routers()` lists them in the order the dispatcher tries them."""

from __future__ import annotations

from aiogram import Router

from bot.handlers import (
    common,
    contacts,
    documents,
    errors,
    fallback,
    language,
    location,
    profile,
    registration,
)


def routers() -> list[Router]:
    """Fresh routers for one dispatcher (a router can belong to one dispatcher only)."""
    return [
        # Commands that work in every state come first, so no dialog step can swallow them.
        common.create_router(),
        language.create_router(),
        registration.create_router(),
        profile.create_router(),
        contacts.create_router(),
        documents.create_router(),
        location.create_router(),
        errors.create_router(),
        # The catch-all answers whatever nobody else took; it must stay last.
        fallback.create_router(),
    ]
