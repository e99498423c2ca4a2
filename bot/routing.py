"""Events handed down the routers without aiogram's cost per router (issue 19).

aiogram's `Router.propagate_event` hands an event to each router in turn. For every router it
builds the router's outer-middleware chain (a `functools.partial` and an `update_wrapper`, even
when there is no middleware), and it copies the whole context (some 30 entries) four times more,
then again for each handler checked and for each filter called. A text nobody took went
through the 24 routers that way: about 1.2 ms, half of what the update cost.

`propagate` does what aiogram does, in the same order, with the same outcome (the same
handler runs, with the same arguments), and:
- passes at once a router with no handler and no sub-router for the event's type (its
  router-wide filters, which aiogram would still run, decide nothing then), a router whose
  every handler waits for dialog steps other than the current one (`STEP_GATES`), and one
  whose every button handler takes taps of other kinds (`PREFIX_GATES`), before copying the
  context or calling a filter;
- builds a router's outer-middleware chain only when it has outer middlewares;
- copies the context once per router entered, and again only when a filter adds to it (as
  `Command` does); a filter gets the arguments it names, as aiogram gives them.
The chosen handler is called as aiogram calls it: through the inner middlewares of its router
and of the routers above.
"""

from __future__ import annotations

import weakref
from typing import Any

from aiogram import Router
from aiogram.dispatcher.event.bases import REJECTED, UNHANDLED, SkipHandler
from aiogram.dispatcher.event.handler import CallableObject, HandlerObject
from aiogram.dispatcher.event.telegram import TelegramEventObserver
from aiogram.types import CallbackQuery, TelegramObject


async def propagate(
    router: Router, update_type: str, event: TelegramObject, data: dict[str, Any]
) -> Any:
    """aiogram's `router.propagate_event(update_type, event, **data)`."""
    if _passed_by(router, update_type, event, data):
        return UNHANDLED
    return await _into(router, update_type, event, data)


def _passed_by(
    router: Router, update_type: str, event: TelegramObject, data: dict[str, Any]
) -> bool:
    """Whether nothing in `router` could take the event: it is passed before its context is
    copied, or even a coroutine made for it (most of the routers, for most events)."""
    observer = router.observers.get(update_type)
    if observer is None or router.sub_routers:
        return False
    if not observer.handlers and not observer.outer_middleware:
        return True  # nothing here could take it (its own filters decide nothing)
    steps = STEP_GATES.get(observer)
    if steps is not None and data.get("raw_state") not in steps:
        return True  # every handler here waits for another dialog step
    prefixes = PREFIX_GATES.get(observer)
    return (
        prefixes is not None
        and not observer.outer_middleware
        and isinstance(event, CallbackQuery)
        and (event.data or "").partition(SEPARATOR)[0] not in prefixes
    )  # every button handler here takes taps of other kinds


async def _into(
    router: Router, update_type: str, event: TelegramObject, data: dict[str, Any]
) -> Any:
    observer = router.observers.get(update_type)
    data = {**data, "event_router": router}
    if observer is not None and observer.outer_middleware:

        async def enter(event: TelegramObject, **data: Any) -> Any:
            return await _enter(router, observer, update_type, event, data)

        return await observer.wrap_outer_middleware(enter, event=event, data=data)
    return await _enter(router, observer, update_type, event, data)


SEPARATOR = ":"  # CallbackData's, which every one of ours keeps
# The callback data prefixes an observer's button handlers take, for observers whose every
# handler has a CallbackData filter (bot/inline_filters.py: route_callbacks_by_prefix): a tap of
# another kind passes the router before its context is copied (a clinic list's tap entered 18).
PREFIX_GATES: weakref.WeakKeyDictionary[TelegramEventObserver, frozenset[str]] = (
    weakref.WeakKeyDictionary()
)
# The dialog steps in which an observer's handlers may run at all, for observers whose every
# handler waits for particular steps (bot/inline_filters.py: route_messages_by_state).
STEP_GATES: weakref.WeakKeyDictionary[TelegramEventObserver, frozenset[str | None]] = (
    weakref.WeakKeyDictionary()
)


async def _enter(
    router: Router,
    observer: TelegramEventObserver | None,
    update_type: str,
    event: TelegramObject,
    data: dict[str, Any],
) -> Any:
    if observer is not None:
        passed, data = await _check(observer._handler, event, data)  # router-wide filters
        if not passed:
            return UNHANDLED
        response = await _trigger(observer, event, data)
        if response is REJECTED:
            return UNHANDLED
        if response is not UNHANDLED:
            return response
        data.pop("handler", None)  # the sub-routers get the context without it, as in aiogram
    for sub_router in router.sub_routers:
        if _passed_by(sub_router, update_type, event, data):
            continue
        response = await _into(sub_router, update_type, event, data)
        if response is not UNHANDLED:
            return response
    return UNHANDLED


async def _trigger(
    observer: TelegramEventObserver, event: TelegramObject, data: dict[str, Any]
) -> Any:
    """aiogram's `TelegramEventObserver.trigger`: the first handler whose filters pass."""
    for handler in observer.handlers:
        data["handler"] = handler  # `data` is this router's own copy, as in aiogram
        passed, context = await _check(handler, event, data)
        if not passed:
            continue
        try:
            call = observer.outer_middleware.wrap_middlewares(
                observer._resolve_middlewares(), handler.call
            )
            return await call(event, context)
        except SkipHandler:
            continue
    return UNHANDLED


async def _check(
    handler: HandlerObject, event: TelegramObject, data: dict[str, Any]
) -> tuple[bool, dict[str, Any]]:
    """aiogram's `HandlerObject.check`: whether every filter passes, and the context with what
    the filters added (a new dict then: `data` itself is never changed)."""
    for event_filter in handler.filters or ():
        result = await _call(event_filter, event, data)
        if not result:
            return False, data
        if isinstance(result, dict):
            data = {**data, **result}
    return True, data


async def _call(
    callable_object: CallableObject, event: TelegramObject, data: dict[str, Any]
) -> Any:
    """aiogram's `CallableObject.call` for a filter, without copying the context twice."""
    if not callable_object.awaitable:  # a synchronous filter left as aiogram runs it
        return await callable_object.call(event, **data)
    if callable_object.varkw:
        return await callable_object.callback(event, **data)
    named = {name: data[name] for name in callable_object.params if name in data}
    return await callable_object.callback(event, **named)
