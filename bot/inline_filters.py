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
from aiogram.dispatcher.event.handler import FilterObject


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
