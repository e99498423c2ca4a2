"""Routers, one per feature; `routers()` lists them in the order the dispatcher tries them."""

from __future__ import annotations

from aiogram import Router

from bot.handlers import common, contacts, documents, errors, fallback, language, location


def routers() -> list[Router]:
    return [
        # Commands that work in every state come first, so no dialog step can swallow them.
        common.router,
        language.router,
        contacts.router,
        documents.router,
        location.router,
        errors.router,
        # The catch-all answers whatever nobody else took; it must stay last.
        fallback.router,
    ]
