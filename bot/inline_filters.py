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
from aiogram.filters import StateFilter
from aiogram.filters.callback_data import CallbackQueryFilter
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery

from bot.routing import PREFIX_GATES, SEPARATOR, STEP_GATES


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
        PREFIX_GATES[observer] = prefixes  # and before the router is entered (bot/routing.py)
        changed += 1
    return changed


_ANY = None  # a filter (or handler) that accepts any state


def _states_of(filter_object: FilterObject) -> frozenset[str | None] | None:
    """The raw states a state filter accepts; None if it accepts any or is not a state filter."""
    check = getattr(filter_object.callback, "__wrapped__", filter_object.callback)
    if isinstance(check, State):  # a step given as a filter: `router.message(Form.step, ...)`
        return _ANY if check.state == "*" else frozenset({check.state})
    if not isinstance(check, StateFilter):
        return _ANY
    accepted: set[str | None] = set()
    for state in check.states:
        if isinstance(state, type) and issubclass(state, StatesGroup):
            accepted.update(state.__all_states_names__)
        elif isinstance(state, State):
            if state.state == "*":
                return _ANY
            accepted.add(state.state)
        elif state is None or isinstance(state, str):
            if state == "*":
                return _ANY
            accepted.add(state)
        else:  # a StatesGroup instance or something new: left to the filter itself
            return _ANY
    return frozenset(accepted)


def _handler_states(handler: HandlerObject) -> frozenset[str | None] | None:
    """The raw states in which the handler may run: what all its state filters accept."""
    accepted: frozenset[str | None] | None = _ANY
    for filter_object in handler.filters or ():
        states = _states_of(filter_object)
        if states is not None:
            accepted = states if accepted is None else accepted & states
    return accepted


def route_messages_by_state(root: Router) -> int:
    """A router whose every message handler waits for particular dialog steps is skipped at
    once for a message sent in another step (or in none): one look at the state, in
    `bot.routing.propagate` before the router is entered, instead of each handler's filters in
    turn. A message nobody else took went through every dialog's routers, some thirty handler
    checks, to reach the last one. Returns how many routers got the check."""
    changed = 0
    for router in root.chain_tail:
        observer = router.message
        if not observer.handlers or router.sub_routers:
            continue
        accepted: set[str | None] = set()
        for handler in observer.handlers:
            states = _handler_states(handler)
            if states is None:
                break
            accepted |= states
        else:
            STEP_GATES[observer] = frozenset(accepted)
            changed += 1
    return changed
