"""The conversation crawler (issue 15): for a few personas, start from /start and /menu and, in
every state reached, tap every inline and reply-keyboard button, send every listed command and
one garbage text; bounded by depth and steps. Every step must get a reply or an edit, no
"Something went wrong" and no ERROR log, keep Telegram's limits, and leave no inline screen
without Back, Menu or a next action; every menu button and command reaches its section from any
state. It prints the screens and steps it visited (`pytest -s` shows them).

Dialog-level, through the real dispatcher (not the sandbox), so a persona takes seconds."""

from __future__ import annotations

import hashlib
import logging
import re
from collections import deque
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pytest
from aiogram import Bot, Dispatcher
from aiogram.fsm.storage.base import StorageKey
from aiogram.methods import TelegramMethod
from aiogram.types import (
    InlineKeyboardMarkup,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.texts import SCREEN_LINES, line_count
from core.accounts.models import Account
from core.billing.charges import run_charges
from core.billing.yookassa import YooKassa
from core.clock import FrozenClock
from core.policies.linking import ChildData, link_by_number, link_child
from sandbox.bank import POOR_CARD
from tests.billing import RULES, anna, bank, bills, link_card, provider
from tests.conftest import OPERATOR_ID, OPERATORS_CHAT, seed_demo
from tests.dialog import BOT_ID, ChatClient, RecordingMailer
from tests.test_dialog_franchise import dp
from tests.test_dialog_identity import upload_all

__all__ = ["bank", "dp", "provider"]

MAX_DEPTH = 6
MAX_STEPS = 350
GARBAGE = "qwerty асдф 123"
RED_SQUARE = (55.7558, 37.6173)
COMMANDS = (
    "/start",
    "/menu",
    "/help",
    "/policies",
    "/clinics",
    "/appeals",
    "/bookings",
    "/profile",
    "/contacts",
    "/language",
    "/verify",
    "/cancel",
)
# Commands whose answer does not depend on the step the person is at.
SECTION_COMMANDS = tuple(c for c in COMMANDS if c not in ("/cancel", "/verify", "/start"))
RESUMING = frozenset({"📝 Регистрация"})  # continues the draft: its answer depends on the step
MENU = (
    "📝 Регистрация",
    "📋 Мои полисы",
    "💬 Обращения",
    "👤 Профиль",
    "🏥 Клиники",
    "☎️ Контакты",
    "📄 Документы",
    "🌐 Язык",
    "❓ Помощь",
)
# Taps the crawler leaves alone: they end the persona (deleting the account) or switch the
# language the checks read (both have their own tests).
SKIP_DATA = re.compile(r"^(prf:delete_yes|lang:en)")
NAV_PREFIXES = ("⬅️", "🏠", "✖️")
MORE = "📖"  # «📖 Ещё», «📖 Подробнее»
# A refusal's next action (CONVERSATION.md 3) is a way on too.
NEXT_ACTIONS = frozenset(
    {
        "Продолжить регистрацию",
        "📝 Зарегистрироваться",
        "➕ Добавить полис",
        "🛒 Купить полис",
        "🔄 Продлить",
        "☎️ Контакты",
        "🏥 Поиск клиник",
        "🪪 Подтвердить личность",
        "💬 Мои обращения",  # under an appeal's receipt: where that appeal lives
    }
)
LIMIT_TEXT, LIMIT_CAPTION, LIMIT_DATA, LIMIT_ALERT = 4096, 1024, 64, 200
FAILURE = ("Что-то пошло не так", "Something went wrong")
VISIBLE = frozenset(
    {
        "sendMessage",
        "editMessageText",
        "editMessageReplyMarkup",
        "sendDocument",
        "sendPhoto",
        "sendVenue",
        "sendLocation",
        "deleteMessage",
    }
)


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@dataclass(frozen=True)
class Action:
    kind: str  # inline, text, location, contact
    label: str
    data: str = ""
    source: Any = None


@dataclass
class Node:
    state: str | None
    data: dict[str, Any]
    actions: list[Action]
    reply_keyboard: list[Action]
    depth: int
    title: str


@dataclass
class Report:
    persona: str
    steps: int = 0
    screens: set[str] = field(default_factory=set)
    titles: list[str] = field(default_factory=list)  # of the screens, in the order reached
    states: set[str | None] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)
    dead_ends: list[str] = field(default_factory=list)
    long_screens: list[str] = field(default_factory=list)
    menu_misses: list[str] = field(default_factory=list)


def inline_actions(calls: list[TelegramMethod[Any]]) -> list[Action]:
    found: dict[str, Action] = {}
    for call in calls:
        markup = getattr(call, "reply_markup", None)
        if isinstance(markup, InlineKeyboardMarkup):
            for row in markup.inline_keyboard:
                for button in row:
                    if button.callback_data and not SKIP_DATA.match(button.callback_data):
                        found.setdefault(
                            button.callback_data,
                            Action("inline", button.text, button.callback_data, call),
                        )
    return list(found.values())


def reply_actions(calls: list[TelegramMethod[Any]]) -> list[Action] | None:
    """The reply keyboard the step left (None: unchanged)."""
    for call in reversed(calls):
        markup = getattr(call, "reply_markup", None)
        if isinstance(markup, ReplyKeyboardRemove):
            return []
        if isinstance(markup, ReplyKeyboardMarkup):
            actions = []
            for row in markup.keyboard:
                for key in row:
                    kind = (
                        "location"
                        if key.request_location
                        else "contact"
                        if key.request_contact
                        else "text"
                    )
                    actions.append(Action(kind, key.text))
            return actions
    return None


def title_of(calls: list[TelegramMethod[Any]]) -> str:
    for call in reversed(calls):
        text = getattr(call, "text", None) or getattr(call, "caption", None)
        if text:
            return re.sub(r"<[^>]+>", "", str(text)).split("\n", 1)[0][:60]
    labels = [action.label for action in inline_actions(calls)]
    return f"[{', '.join(labels[:3])}]" if labels else "—"  # a keyboard changed in place


def signature(state: str | None, calls: list[TelegramMethod[Any]]) -> str:
    """A screen: the state, the first line shown and the buttons (ids and numbers blurred)."""
    buttons = sorted(a.label for a in inline_actions(calls))
    raw = f"{state}|{title_of(calls)}|{'|'.join(buttons)}"
    return hashlib.sha1(re.sub(r"\d+", "#", raw).encode()).hexdigest()


class Crawler:
    def __init__(
        self, chat: ChatClient, dp: Dispatcher, caplog: pytest.LogCaptureFixture, persona: str
    ) -> None:
        self.chat, self.dp, self.caplog = chat, dp, caplog
        self.key = StorageKey(bot_id=BOT_ID, chat_id=chat.chat.id, user_id=chat.user.id)
        self.report = Report(persona)
        self.sections: dict[str, str] = {}  # what each menu button and command opens at rest
        self.max_steps = MAX_STEPS
        self.resuming = RESUMING

    async def _restore(self, node: Node) -> None:
        await self.dp.storage.set_state(self.key, node.state)
        await self.dp.storage.set_data(self.key, node.data)

    async def _perform(self, action: Action) -> list[TelegramMethod[Any]]:
        before = len(self.caplog.records)
        if action.kind == "inline":
            await self.chat.callback(action.data, action.source)
        elif action.kind == "location":
            await self.chat.share_location(*RED_SQUARE)
        elif action.kind == "contact":
            await self.chat.share_contact("+79161234567")
        else:
            await self.chat.send(action.label)
        self.report.steps += 1
        calls = self.chat.calls
        where = f"{self.report.persona}: {action.kind} {action.label!r}"
        errors = [r for r in self.caplog.records[before:] if r.levelno >= logging.ERROR]
        if errors:
            self.report.problems.append(f"{where}: ERROR logged: {errors[0].getMessage()}")
        self._check(where, action, calls)
        return calls

    def _check(self, where: str, action: Action, calls: list[TelegramMethod[Any]]) -> None:
        problems = self.report.problems
        visible = [c for c in calls if c.__api_method__ in VISIBLE]
        alerts = [
            c
            for c in calls
            if c.__api_method__ == "answerCallbackQuery" and getattr(c, "text", None)
        ]
        heard = self.chat.chat.type == "private" or action.kind == "inline"
        if heard and not visible and not alerts:
            problems.append(f"{where}: no reply")
        for call in calls:
            text = str(getattr(call, "text", None) or "")
            caption = str(getattr(call, "caption", None) or "")
            if any(failure in text for failure in FAILURE):
                problems.append(f"{where}: {text[:80]!r}")
            limit = LIMIT_ALERT if call.__api_method__ == "answerCallbackQuery" else LIMIT_TEXT
            if utf16(text) > limit:
                problems.append(f"{where}: {call.__api_method__} text of {utf16(text)} units")
            if utf16(caption) > LIMIT_CAPTION:
                problems.append(f"{where}: caption of {utf16(caption)} units")
            markup = getattr(call, "reply_markup", None)
            if isinstance(markup, InlineKeyboardMarkup):
                for row in markup.inline_keyboard:
                    for button in row:
                        size = len((button.callback_data or "").encode())
                        if size > LIMIT_DATA:
                            problems.append(f"{where}: {button.text!r} data of {size} bytes")

    def _dead_end(
        self, where: str, action: Action, state: str | None, calls: list[TelegramMethod[Any]]
    ) -> None:
        """A screen with neither Back, Menu nor a next action, whatever led to it: an inline
        tap, a menu button, a command or typed input."""
        for call in calls:
            if call.__api_method__ not in ("sendMessage", "editMessageText"):
                continue
            if getattr(call, "chat_id", self.chat.chat.id) != self.chat.chat.id:
                continue  # a copy for the operators, or the person's notice
            markup = getattr(call, "reply_markup", None)
            if self.chat.chat.type != "private":
                self._desk_dead_end(where, markup)
                continue
            if isinstance(markup, ReplyKeyboardMarkup):
                continue  # a new message with the menu or the step's keys under it
            if markup is None and state is None and action.kind == "inline":
                self.report.dead_ends.append(f"{where}: {title_of([call])!r} with no buttons")
            if isinstance(markup, InlineKeyboardMarkup):
                labels = [b.text for row in markup.inline_keyboard for b in row]
                if any(label.startswith(NAV_PREFIXES) or label in NEXT_ACTIONS for label in labels):
                    continue
                if state is not None:
                    continue  # a choice inside a step: the step's keyboard has Cancel
                self.report.dead_ends.append(f"{where}: {title_of([call])!r} {labels}")

    def _long(self, where: str, calls: list[TelegramMethod[Any]]) -> None:
        """A screen (a message with inline buttons) over SCREEN_LINES lines must offer «More»
        (CONVERSATION.md 7); in the person's chat, whatever led there."""
        if self.chat.chat.type != "private":
            return
        for call in calls:
            if call.__api_method__ not in ("sendMessage", "editMessageText"):
                continue
            markup = getattr(call, "reply_markup", None)
            if getattr(call, "chat_id", self.chat.chat.id) != self.chat.chat.id or not isinstance(
                markup, InlineKeyboardMarkup
            ):
                continue
            plain = re.sub(r"<[^>]+>", "", str(getattr(call, "text", "")))
            if line_count(plain) <= SCREEN_LINES:
                continue
            labels = [b.text for row in markup.inline_keyboard for b in row]
            if not any(label.startswith(MORE) for label in labels):
                self.report.long_screens.append(
                    f"{where}: {title_of([call])!r} of {line_count(plain)} lines without More"
                )

    def _desk_dead_end(self, where: str, markup: object) -> None:
        """In the operators' group a card keeps its decisions; a list of final choices (the
        reject reasons) must let a mistaken tap be undone."""
        if not isinstance(markup, InlineKeyboardMarkup):
            return  # a decision posted: the end of that card, as it should be
        buttons = [b for row in markup.inline_keyboard for b in row]
        final = [b for b in buttons if re.match(r"^idd:\d+:0:.+", b.callback_data or "")]
        if final and not any(b.text.startswith(NAV_PREFIXES) for b in buttons):
            self.report.dead_ends.append(f"{where}: {[b.text for b in buttons]} with no undo")

    async def _menu_from(self, node: Node) -> None:
        """Each menu button and section command opens its section from this state too."""
        for label in (*MENU, *SECTION_COMMANDS):
            await self._restore(node)
            calls = await self._perform(Action("text", label))
            opened = title_of(calls)
            expected = self.sections.get(label)
            if expected is not None and opened != expected and label not in self.resuming:
                self.report.menu_misses.append(
                    f"{self.report.persona}: {label!r} in {node.state}: {opened!r}, not {expected!r}"
                )

    async def crawl(self, start: list[Action], root: Node | None = None) -> Report:
        """From rest (`start`'s actions), or from `root`: a step reached by a script."""
        rest = Node(None, {}, start, [], 0, "start")
        for label in (*MENU, *SECTION_COMMANDS):  # what each section opens at rest
            await self._restore(rest)
            self.sections[label] = title_of(await self._perform(Action("text", label)))
        queue = deque([root or rest])
        while queue and self.report.steps < self.max_steps:
            node = queue.popleft()
            if node.state not in self.report.states:
                self.report.states.add(node.state)
                if node.state is not None and self.chat.chat.type == "private":
                    await self._menu_from(node)
            step_keys = [a for a in node.reply_keyboard if a.label not in MENU]
            others = [Action("text", c) for c in COMMANDS] if node.depth == 0 else []
            for action in [*node.actions, *step_keys, Action("text", GARBAGE), *others]:
                if self.report.steps >= self.max_steps:
                    break
                await self._restore(node)
                calls = await self._perform(action)
                state = await self.dp.storage.get_state(self.key)
                where = f"{self.report.persona}: {action.kind} {action.label!r} in {node.state}"
                self._dead_end(where, action, state, calls)
                self._long(where, calls)
                screen = signature(state, calls)
                if screen in self.report.screens or node.depth + 1 >= MAX_DEPTH:
                    continue
                self.report.screens.add(screen)
                self.report.titles.append(f"{state or '-'} · {title_of(calls)}")
                keyboard = reply_actions(calls)
                # A step not seen yet goes first: the budget reaches more dialogs that way.
                add = queue.append if state in self.report.states else queue.appendleft
                add(
                    Node(
                        state,
                        await self.dp.storage.get_data(self.key),
                        inline_actions(calls),
                        node.reply_keyboard if keyboard is None else keyboard,
                        node.depth + 1,
                        title_of(calls),
                    )
                )
        return self.report


def verdict(report: Report) -> None:
    print(
        f"\n[crawler] {report.persona}: {len(report.screens)} screens, {report.steps} steps, "
        f"{len(report.states)} dialog states: {sorted(map(str, report.states))}"
    )
    for title in report.titles:
        print(f"[crawler]   screen: {title}")
    for line in report.dead_ends + report.menu_misses + report.long_screens:
        print(f"[crawler]   {line}")
    assert not report.problems, "\n".join(report.problems[:20])
    assert not report.dead_ends, "\n".join(report.dead_ends[:20])
    assert not report.long_screens, "\n".join(report.long_screens[:20])


def check_menu(report: Report) -> None:
    """Each menu button and command reaches its section from every step (issue 15 item 1)."""
    assert not report.menu_misses, "\n".join(report.menu_misses[:20])


START = [Action("text", "/start"), Action("text", "/menu")]


@pytest.fixture
def crawl_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO)
    return caplog


async def test_a_new_person(
    chat: ChatClient,
    dp: Dispatcher,
    sessions: async_sessionmaker[AsyncSession],
    crawl_logs: pytest.LogCaptureFixture,
) -> None:
    await seed_demo(sessions)  # the insurer's clinics and policies, not yet the person's
    report = await Crawler(chat, dp, crawl_logs, "new person").crawl(START)
    verdict(report)
    check_menu(report)


async def with_family(sessions: async_sessionmaker[AsyncSession], clock: FrozenClock) -> None:
    """Anna with her franchise policy, her corporate one and her son's."""
    await seed_demo(sessions)
    async with sessions() as session:
        user = await anna(session)
        account = await session.get(Account, user.id) or await _account(session)
        for number in ("ONDL-500001", "DMS-K-2026-0001"):
            await link_by_number(session, user, account, number, now=clock.now())
        son = ChildData("Иванов", "Михаил", "Андреевич", date(2016, 3, 10))
        await link_child(session, user, account, "ONDL-500002", son, now=clock.now())


async def _account(session: AsyncSession) -> Account:
    from sqlalchemy import select

    account = await session.scalar(select(Account))
    assert account is not None
    return account


async def test_a_person_with_several_policies_and_a_childs(
    chat: ChatClient,
    dp: Dispatcher,
    registered: Account,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    crawl_logs: pytest.LogCaptureFixture,
) -> None:
    await with_family(sessions, clock)
    report = await Crawler(chat, dp, crawl_logs, "family").crawl(START)
    verdict(report)
    check_menu(report)


async def test_a_person_with_a_franchise_and_a_debt(
    chat: ChatClient,
    dp: Dispatcher,
    registered: Account,
    sessions: async_sessionmaker[AsyncSession],
    provider: YooKassa,
    clock: FrozenClock,
    crawl_logs: pytest.LogCaptureFixture,
) -> None:
    await with_family(sessions, clock)
    await link_card(sessions, provider, clock, POOR_CARD)
    await bills(sessions, clock, "136.00")
    clock.advance(timedelta(days=30))
    await run_charges(sessions, provider, RULES, clock.now())
    report = await Crawler(chat, dp, crawl_logs, "franchise and debt").crawl(START)
    verdict(report)
    check_menu(report)


async def test_an_operator_in_the_desk_group(
    chat: ChatClient,
    dp: Dispatcher,
    bot: Bot,
    registered: Account,
    sessions: async_sessionmaker[AsyncSession],
    crawl_logs: pytest.LogCaptureFixture,
) -> None:
    await seed_demo(sessions)
    await upload_all(chat)
    await chat.tap("📨 Отправить на проверку")
    await chat.send("💬 Обращения")
    await chat.tap("➕ Новое обращение")
    await chat.tap("Перезвоните мне")
    await chat.send("12345")
    await chat.tap("+7 916 123-45-67")
    await chat.tap("12:00–15:00")
    await chat.send("Вопрос по франшизе")
    await chat.tap("✅ Отправить")
    group = [
        c
        for c in chat.session.calls
        if getattr(c, "chat_id", None) == OPERATORS_CHAT
        and isinstance(getattr(c, "reply_markup", None), InlineKeyboardMarkup)
    ]
    assert group, "the check and the appeal reached the desk"
    operator = ChatClient(dp, bot, user_id=OPERATOR_ID, first_name="Ольга", group_id=OPERATORS_CHAT)
    # Decisions that end a card (approve, close) go last, so the rest is still there to tap.
    cards = sorted(inline_actions(group), key=lambda action: action.label.startswith("✅"))
    report = await Crawler(operator, dp, crawl_logs, "operator").crawl([*START, *cards])
    verdict(report)


# --- leaving a dialog midway and coming back (issue 15 item 1) -----------------------------------
MIDWAY_STEPS = 60  # the crawl from each midway step, after the menu taps and the returns
LEAVING = (*MENU, *SECTION_COMMANDS, "/start", "/verify")
KEEPING = frozenset({"❓ Помощь", "/help"})  # about the step: they do not leave it
STEP_KEYS = frozenset({"⬅️ Назад", "✖️ Отмена", "📱 Поделиться номером"})


@dataclass(frozen=True)
class Midway:
    """A dialog driven to its middle, the way back to it, and what the way back must offer."""

    name: str
    enter: tuple[str, ...]  # taps and texts from rest ("@contact": share the phone)
    back: tuple[str, ...]  # after leaving: the taps that come back
    offered: str  # a text or a button label (its start) the way back must show


def newcomer_email(chat: ChatClient) -> str:
    return f"newcomer{chat.user.id}@example.org"


async def do(chat: ChatClient, step: str, mailbox: RecordingMailer | None = None) -> None:
    if step == "@contact":
        await chat.share_contact(f"+7916555{chat.user.id:04d}")  # nobody's number yet
    elif step == "@email":
        await chat.send(newcomer_email(chat))
    elif step == "@code":
        assert mailbox is not None
        await chat.send(mailbox.last_code(newcomer_email(chat)))
    elif step == "@first":
        await chat.tap(chat.inline_buttons[0])
    elif step.startswith("/") or step in MENU or not chat.session.calls:
        await chat.send(step)
    else:
        try:
            await chat.tap(step)
        except AssertionError:  # no such button: a typed answer
            await chat.send(step)


def offers(chat: ChatClient, expected: str) -> bool:
    return expected in chat.text or any(b.startswith(expected) for b in chat.inline_buttons)


class MidwayCrawler(Crawler):
    # The crawl books visits and sends appeals: these sections change under it.
    DATA_SECTIONS = frozenset({"/bookings", "/appeals", "💬 Обращения"})

    def __init__(
        self,
        chat: ChatClient,
        dp: Dispatcher,
        caplog: pytest.LogCaptureFixture,
        persona: str,
        mailbox: RecordingMailer,
    ) -> None:
        super().__init__(chat, dp, caplog, persona)
        self.resuming = RESUMING | self.DATA_SECTIONS
        self.mailbox = mailbox

    async def leave_and_return(self, midway: Midway) -> Node:
        for step in midway.enter:
            await do(self.chat, step, self.mailbox)
        calls = self.chat.calls
        state = await self.dp.storage.get_state(self.key)
        node = Node(
            state,
            await self.dp.storage.get_data(self.key),
            inline_actions(calls),
            reply_actions(calls) or [],
            1,
            midway.name,
        )
        self.report.states.add(state)
        step_keys = STEP_KEYS & {a.label for a in node.reply_keyboard}
        for label in LEAVING:
            await self._restore(node)
            calls = await self._perform(Action("text", label))
            where = f"{midway.name}: {label!r} in {state}"
            keyboard = reply_actions(calls)
            leaves = step_keys and label not in KEEPING and label not in RESUMING
            if leaves and (keyboard is None or STEP_KEYS & {a.label for a in keyboard}):
                self.report.problems.append(f"{where}: the step's keyboard stays")
            for step in midway.back:
                before = len(self.caplog.records)
                await do(self.chat, step, self.mailbox)
                self.report.steps += 1
                self._check(f"{where}, back {step!r}", Action("text", step), self.chat.calls)
                errors = [r for r in self.caplog.records[before:] if r.levelno >= logging.ERROR]
                if errors:
                    self.report.problems.append(f"{where}: ERROR logged: {errors[0].getMessage()}")
            if not offers(self.chat, midway.offered):
                self.report.problems.append(
                    f"{where}: the way back {midway.back} does not offer {midway.offered!r}: "
                    f"{self.chat.text[:120]!r} {self.chat.inline_buttons}"
                )
        return node


FAMILY_MIDWAYS = (
    Midway(
        "a child's policy, at the first name",
        ("/policies", "➕ Добавить полис", "Полис ребёнка", "ONDL-500009", "Иванов"),
        ("📋 Мои полисы", "➕ Добавить полис"),
        "✍️ Продолжить: полис ребёнка ONDL-500009",
    ),
    Midway(
        "an appeal, at its text",
        ("💬 Обращения", "➕ Новое обращение", "Благодарность"),
        ("💬 Обращения",),
        "✍️ Продолжить черновик",
    ),
    Midway(
        "a booking, at its confirmation",
        (
            *("🏥 Клиники", "🔎 По названию", "Тверской", "Клиника «Здоровье на Тверской»"),
            *("🗓 Записаться в чате", "@first", "@first", "@first", "@first"),
        ),
        ("🏥 Клиники",),
        "✍️ Завершить запись",
    ),
    Midway(
        "the region picker, one ticked",
        # No region chosen yet: the card's regions button goes straight to the picker.
        ("/policies", "ONDL-500001 · Анна", "🗺 Выбрать регионы", "@first"),
        ("/policies", "ONDL-500001 · Анна", "🗺 Выбрать регионы"),
        "Отмечено: Республика Адыгея",
    ),
)
NEWCOMER_MIDWAYS = (
    Midway(
        "registration, at the e-mail code",
        ("/register", "@contact", "@email"),
        ("📝 Регистрация",),
        "Мы отправили 6-значный код",
    ),
    Midway(
        "registration, at the date of birth",
        ("/register", "@contact", "@email", "@code", "Петрова", "Вера", "Нет отчества"),
        ("📝 Регистрация",),
        "Шаг 4 из 8. Ваша дата рождения",
    ),
)


async def test_leaving_each_dialog_midway_and_coming_back(
    chat: ChatClient,
    dp: Dispatcher,
    bot: Bot,
    registered: Account,
    sessions: async_sessionmaker[AsyncSession],
    provider: YooKassa,
    clock: FrozenClock,
    mailbox: RecordingMailer,
    crawl_logs: pytest.LogCaptureFixture,
) -> None:
    """In the middle of registration, a child's policy, an appeal, a booking and the region
    picker: every menu button and command leaves the step with the main menu keyboard, the way
    back offers the draft, and the crawl goes on from that step."""
    await with_family(sessions, clock)
    await link_card(sessions, provider, clock)
    clock.advance(timedelta(hours=12))  # the franchise is active: regions can be chosen
    newcomers = [ChatClient(dp, bot, user_id=5151 + n) for n in range(len(NEWCOMER_MIDWAYS))]
    reports = []
    for person, midway in [
        *((chat, midway) for midway in FAMILY_MIDWAYS),
        *zip(newcomers, NEWCOMER_MIDWAYS, strict=True),
    ]:
        crawler = MidwayCrawler(person, dp, crawl_logs, f"midway: {midway.name}", mailbox)
        node = await crawler.leave_and_return(midway)
        crawler.max_steps = crawler.report.steps + MIDWAY_STEPS
        reports.append(await crawler.crawl(START, node))
        await dp.storage.set_state(crawler.key, None)  # the next dialog starts from rest
        await dp.storage.set_data(crawler.key, {})
    for report in reports:
        verdict(report)
        check_menu(report)
    reached = set().union(*(report.states for report in reports))
    print(f"[crawler] midway: {len(reached)} dialog states in all: {sorted(map(str, reached))}")
