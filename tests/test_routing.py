"""bot/routing.py hands events down the routers as aiogram does, at less cost (issue 19)."""

from __future__ import annotations

import itertools
from typing import Any

from aiogram import BaseMiddleware, Bot, Dispatcher, F, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.dispatcher.middlewares.manager import MiddlewareManager
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, ErrorEvent, Message, TelegramObject, Update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import routing
from bot.routing import propagate
from tests.conftest import seed_demo
from tests.dialog import ChatClient

Calls = list[tuple[Any, ...]]


class LeanDispatcher(Dispatcher):
    async def propagate_event(self, update_type: str, event: TelegramObject, **kwargs: Any) -> Any:
        return await propagate(self, update_type, event, kwargs)


class Seen(BaseMiddleware):
    """Adds `seen` to the context and notes each event it passes on."""

    def __init__(self, calls: Calls, name: str) -> None:
        self.calls, self.name = calls, name

    async def __call__(self, handler: Any, event: TelegramObject, data: dict[str, Any]) -> Any:
        self.calls.append(("middleware", self.name))
        data["seen"] = f"{data.get('seen', '')}{self.name};"
        return await handler(event, data)


def routers(calls: Calls) -> list[Router]:
    first = Router(name="first")

    @first.message(Command("go"))
    async def go(message: Message, command: CommandObject, event_router: Router) -> str:
        calls.append(("go", command.args, event_router.name))
        return "went"

    @first.message(F.text == "skip")
    async def skipping(message: Message) -> None:
        calls.append(("skipping",))
        raise SkipHandler

    @first.message(F.text == "skip")
    async def after_skip(message: Message, handler: Any) -> None:
        calls.append(("after_skip", handler.callback.__name__))

    @first.message(F.text == "boom")
    async def boom(message: Message) -> None:
        raise ValueError("boom")

    @first.callback_query(F.data == "tap")
    async def tapped(query: CallbackQuery, seen: str = "") -> None:
        calls.append(("tapped", seen))

    second = Router(name="second")
    second.message.filter(F.chat.type == "private")
    second.message.outer_middleware(Seen(calls, "second-outer"))
    second.message.middleware(Seen(calls, "second-inner"))

    @second.message(F.text.regexp(r"n(\d+)").as_("number"))
    async def numbered(message: Message, number: Any, seen: str) -> None:
        calls.append(("numbered", number.group(1), seen))

    nested = Router(name="nested")
    second.include_router(nested)

    @nested.message(F.text == "deep")
    async def deep(message: Message, seen: str, event_router: Router) -> None:
        calls.append(("deep", seen, event_router.name))

    last = Router(name="last")

    @last.message()
    async def rest(message: Message, event_chat: Any, handler: Any) -> None:
        calls.append(("rest", message.text, event_chat.type, handler.callback.__name__))

    @last.errors()
    async def failed(event: ErrorEvent) -> bool:
        calls.append(("error", type(event.exception).__name__, str(event.exception)))
        return True

    return [first, second, last]


IDS = itertools.count(1)


def message(text: str, chat_type: str = "private") -> Update:
    chat = {"id": 7 if chat_type == "private" else -100, "type": chat_type}
    return Update.model_validate(
        {
            "update_id": next(IDS),
            "message": {
                "message_id": 1,
                "date": 0,
                "chat": chat,
                "from": {"id": 7, "is_bot": False, "first_name": "Анна"},
                "text": text,
            },
        }
    )


def tap(data: str) -> Update:
    return Update.model_validate(
        {
            "update_id": next(IDS),
            "callback_query": {
                "id": "1",
                "chat_instance": "c",
                "from": {"id": 7, "is_bot": False, "first_name": "Анна"},
                "data": data,
            },
        }
    )


UPDATES = [
    "/go far", "/go", "skip", "boom", "n42", "deep", "deep", "hello", ("group", "n42"),
    ("group", "deep"), ("tap", "tap"), ("tap", "other"),
]  # fmt: skip


async def outcomes(dispatcher: Dispatcher) -> tuple[Calls, list[Any]]:
    calls: Calls = []
    dispatcher.include_routers(*routers(calls))
    dispatcher.callback_query.middleware(Seen(calls, "dp-inner"))
    results = []
    bot = Bot("42:TEST")
    for item in UPDATES:
        if isinstance(item, tuple) and item[0] == "tap":
            update = tap(item[1])
        elif isinstance(item, tuple):
            update = message(item[1], chat_type="supergroup")
        else:
            update = message(item)
        result = await dispatcher.feed_update(bot, update)
        results.append(result if isinstance(result, str | bool) else repr(result))
        calls.append(("-- done", str(item)))
    await bot.session.close()
    return calls, results


async def test_each_event_reaches_the_handler_aiogram_would_give_it_with_the_same_arguments() -> (
    None
):
    theirs = await outcomes(Dispatcher())
    ours = await outcomes(LeanDispatcher())
    assert ours == theirs
    calls = ours[0]
    # the cases are what they claim to be
    assert ("go", "far", "first") in calls and ("after_skip", "after_skip") in calls
    assert ("numbered", "42", "second-outer;second-inner;") in calls
    assert ("deep", "second-outer;second-inner;", "nested") in calls
    assert ("rest", "n42", "supergroup", "rest") in calls
    assert ("error", "ValueError", "boom") in calls
    assert ("tapped", "dp-inner;") in calls


async def test_a_text_nobody_takes_builds_no_middleware_chain_per_router(
    chat: ChatClient, monkeypatch: Any
) -> None:
    built: list[int] = []
    wrap = MiddlewareManager.wrap_middlewares

    def counted(middlewares: Any, handler: Any) -> Any:
        built.append(len(middlewares))
        return wrap(middlewares, handler)

    monkeypatch.setattr(MiddlewareManager, "wrap_middlewares", staticmethod(counted))
    await chat.send("что-то непонятное")  # through every router, to the last one
    assert "Не удалось понять сообщение" in chat.text
    # the update's outer middlewares and its inner ones (none), the messages' outer ones
    # (language, throttling), the chosen handler's inner ones (none); aiogram built one chain
    # per router besides: 28 in all
    assert len(built) <= 4, built


def entered_routers(monkeypatch: Any) -> list[str]:
    """The names of the routers entered from now on (their context copied, filters run)."""
    entered: list[str] = []
    enter = routing._enter

    async def counted(router: Router, *args: Any) -> Any:
        entered.append(router.name)
        return await enter(router, *args)

    monkeypatch.setattr(routing, "_enter", counted)
    return entered


async def test_a_text_in_no_step_enters_only_the_routers_that_could_take_it(
    chat: ChatClient, monkeypatch: Any
) -> None:
    """Routers with no message handler, and routers whose every message handler waits for a
    dialog step, are passed without copying the context or calling a filter (each of them was
    entered and its filters run: 20 routers for a text nobody takes)."""
    entered = entered_routers(monkeypatch)
    await chat.send("что-то непонятное")
    assert "Не удалось понять сообщение" in chat.text
    could_take_a_text = ["bot.handlers.menu", "bot.handlers.links", "bot.handlers.desk"]
    assert entered[1:] == [*could_take_a_text, "bot.handlers.fallback"], entered
    entered.clear()
    await chat.send("/register")  # in a registration step its router is entered, and takes it
    await chat.send("🙂 не номер")
    assert "bot.handlers.registration" in entered
    assert chat.text.startswith("Это не похоже на номер телефона."), chat.text


async def test_a_tap_enters_only_the_routers_that_take_its_kind(
    chat: ChatClient, sessions: async_sessionmaker[AsyncSession], monkeypatch: Any
) -> None:
    """A router whose every button handler takes other kinds of taps is passed on the tap's
    prefix before its context is copied: a tap on a clinic of the nearest ones entered 19
    routers, each copying the context to run its prefix check."""
    await seed_demo(sessions)
    await chat.share_location(55.7558, 37.6173)
    entered = entered_routers(monkeypatch)
    await chat.tap("Клиника «Здоровье на Тверской» · 1,3 км")
    assert chat.text.startswith("<b>Клиника «Здоровье на Тверской»</b>")
    assert entered[1:] == ["bot.handlers.clinic_card"], entered
