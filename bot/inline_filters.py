"""Synchronous filters run in the event loop, not in a thread.

aiogram runs every synchronous filter callback (magic filters such as `F.text == ...`,
lambdas, comparisons with lazy texts) through `asyncio.to_thread`: with about fifteen routers
that was some 27 thread hops per update, most of an update's cost (issue 19's profile). Our
filters are pure and cheap (they never block), so once the routers are assembled each one is
wrapped as a coroutine function and awaited in place. Filters that are already coroutines or
`Filter` objects (StateFilter, Command, CallbackData filters) are left as they are.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from aiogram import Router
from aiogram.dispatcher.event.handler import FilterObject, HandlerObject
from aiogram.filters.callback_data import CallbackQueryFilter
from aiogram.types import CallbackQuery


def _inline(filter_object: FilterObject) -> None:
    if filter_object.awaitable:
        return
    check: Callable[..., Any] = filter_object.callback

    @functools.wraps(check)
    async def inline(*args: Any, **kwargs: Any) -> Any:
        return check(*args, **kwargs)

    # The parameters aiogram passes were read from the original callback already.
    filter_object.callback = inline
    filter_object.awaitable = True


def run_sync_filters_inline(root: Router) -> int:
    """Every synchronous filter of `root` and its sub-routers; returns how many were changed."""
    changed = 0
    for router in root.chain_tail:
        for observer in router.observers.values():
            handlers = [observer._handler, *observer.handlers]  # router-wide filters, handlers
            for handler in handlers:
                for filter_object in handler.filters or ():
                    changed += not filter_object.awaitable
                    _inline(filter_object)
    return changed


SEPARATOR = ":"  # CallbackData's, which every one of ours keeps


def _prefixes(handlers: list[HandlerObject]) -> frozenset[str] | None:
    """The callback prefixes the handlers can accept; None if one may accept any data."""
    prefixes = set()
    for handler in handlers:
        accepted = [
            f.callback.callback_data
            for f in handler.filters or ()
            if isinstance(f.callback, CallbackQueryFilter)
        ]
        if not accepted:
            return None
        if any(data.__separator__ != SEPARATOR for data in accepted):
            return None
        prefixes.update(data.__prefix__ for data in accepted)
    return frozenset(prefixes)


def route_callbacks_by_prefix(root: Router) -> int:
    """A router whose every button handler has a CallbackData filter is skipped at once for a
    tap of another kind: one look at the data's prefix instead of each handler's filters
    unpacking it in turn (a tap on a late router went through some 90 filter calls).
    Returns how many routers got the check."""
    changed = 0
    for router in root.chain_tail:
        observer = router.callback_query
        prefixes = _prefixes(observer.handlers) if observer.handlers else None
        if prefixes is None:
            continue

        async def ours(query: CallbackQuery, prefixes: frozenset[str] = prefixes) -> bool:
            return (query.data or "").partition(SEPARATOR)[0] in prefixes

        observer._handler.filters = [FilterObject(ours), *(observer._handler.filters or ())]
        changed += 1
    return changed
