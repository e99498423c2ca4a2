"""Code lockouts per target (issue 20, item 1): the three findings replayed through the dialog,
and a property: no sequence of the dialog's buttons gets more wrong guesses, or sends more
letters, to one target than the stated limits (core.accounts.codes)."""

from __future__ import annotations

import itertools
import re
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.types import InlineKeyboardMarkup, ReplyKeyboardMarkup
from hypothesis import HealthCheck, given, settings, target
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.accounts.models import Account, CodeEvent
from core.clock import FrozenClock
from core.config import Settings
from core.jobs import scheduled_ticks
from tests.conftest import register_anna
from tests.dialog import ChatClient, RecordingMailer

VICTIM_PHONE, VICTIM_EMAIL = "+79161234567", "anna@example.org"  # Anna, registered
FREE_EMAIL = "free@example.net"  # nobody's yet: codes of the registration path
OTHER_PHONE = "+79035550000"
TELEGRAM_IDS = itertools.count(50_000)
HOUR, DAY = timedelta(hours=1), timedelta(days=1)
WRONG_LIMITS = ((HOUR, 5), (DAY, 10))  # the stated limits, per target and per account
SENT_LIMITS = ((HOUR, 3), (DAY, 5))


def wrong_code(mailbox: RecordingMailer) -> str:
    """Six digits that no letter ever carried."""
    sent = {m.group() for _to, _s, text in mailbox.letters for m in re.finditer(r"\d{6}", text)}
    return next(f"{n:06d}" for n in itertools.count(1) if f"{n:06d}" not in sent)


def guessed(chat: ChatClient) -> bool:
    """The bot compared a typed code and said it was wrong."""
    return "Неверный код" in chat.text


async def test_alternating_two_addresses_does_not_reset_the_tries(
    chat: ChatClient, mailbox: RecordingMailer, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """Finding 1: 4 wrong codes, change the address, 4 more... gave 12 guesses, no lockout."""
    await chat.send("/register")
    await chat.share_contact(OTHER_PHONE)
    guesses = 0
    for round_ in range(3):
        await chat.send("first@example.net" if round_ % 2 == 0 else "second@example.net")
        for _ in range(4):
            await chat.send(wrong_code(mailbox))
            guesses += guessed(chat)
        await chat.tap("Изменить адрес почты")
    assert guesses == 5, "five wrong codes an hour, whatever the addresses"
    await chat.send("third@example.net")
    assert "Слишком много неверных кодов" in chat.text
    assert not [letter for letter in mailbox.letters if letter[0] == "third@example.net"]


async def test_back_and_the_same_e_mail_again_does_not_reset_the_recovery_tries(
    dp: Dispatcher,
    bot: Bot,
    mailbox: RecordingMailer,
    clock: FrozenClock,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    """Finding 2: Back, the same contacts, a new code after 60 s: 8 guesses in 75 s."""
    await register_anna(sessions, settings, clock, telegram_id=1)
    attacker = ChatClient(dp, bot, user_id=2002)
    await attacker.send("/register")
    guesses = 0
    for _ in range(3):
        await attacker.share_contact(VICTIM_PHONE)
        await attacker.tap("Восстановить доступ")
        for _ in range(4):
            await attacker.send(wrong_code(mailbox))
            guesses += guessed(attacker)
        await attacker.send("⬅️ Назад")
        clock.advance(timedelta(seconds=61))
    assert guesses == 5
    await attacker.share_contact(VICTIM_PHONE)
    await attacker.tap("Восстановить доступ")
    assert "Слишком много неверных кодов" in attacker.text
    assert len([letter for letter in mailbox.letters if letter[0] == VICTIM_EMAIL]) == 2


async def test_a_second_telegram_account_gets_no_fresh_tries_for_the_same_victim(
    dp: Dispatcher,
    bot: Bot,
    mailbox: RecordingMailer,
    clock: FrozenClock,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    """Finding 3: once blocked, another account got a new code and 5 more tries at once."""
    await register_anna(sessions, settings, clock, telegram_id=1)
    first = ChatClient(dp, bot, user_id=2002)
    await first.send("/register")
    await first.share_contact(VICTIM_PHONE)
    await first.tap("Восстановить доступ")
    for _ in range(5):
        await first.send(wrong_code(mailbox))
    assert "Попыток больше нет" in first.text

    second = ChatClient(dp, bot, user_id=3003)
    await second.send("/register")
    await second.share_contact(VICTIM_PHONE)
    await second.tap("Восстановить доступ")
    assert "Слишком много неверных кодов" in second.text and "13:00 (по Москве)" in second.text
    assert len([letter for letter in mailbox.letters if letter[0] == VICTIM_EMAIL]) == 1, (
        "the victim gets no letter for a code that cannot be tried"
    )
    async with sessions() as session:
        account = await session.scalar(select(Account))
        events = (await session.scalars(select(CodeEvent))).all()
    assert account is not None and account.user_id != 0
    wrong_for_account = [
        e for e in events if e.key == f"account:{account.id}" and e.kind == "wrong"
    ]
    assert len(wrong_for_account) == 5

    clock.advance(timedelta(hours=1, seconds=1))
    await second.tap("Восстановить доступ")
    await second.send(mailbox.last_code(VICTIM_EMAIL))
    assert "Доступ восстановлен" in second.text, "the limits pass, the right code still works"


async def test_the_owner_of_an_address_is_not_mail_bombed(
    dp: Dispatcher, bot: Bot, mailbox: RecordingMailer, clock: FrozenClock
) -> None:
    """Codes sent to one address: 3 an hour, 5 a day, whoever asks and however."""
    sent: list[int] = []
    for hour in range(26):
        for _ in range(2):
            chat = ChatClient(dp, bot, user_id=next(TELEGRAM_IDS))
            await chat.send("/register")
            await chat.share_contact(f"+7903555{next(TELEGRAM_IDS) % 10000:04d}")
            before = len(mailbox.letters)
            await chat.send(FREE_EMAIL)
            if len(mailbox.letters) > before:
                sent.append(hour)
            else:
                assert "Запрошено слишком много кодов" in chat.text
            clock.advance(timedelta(minutes=20))
        clock.advance(timedelta(minutes=20))
    per_day = [len([h for h in sent if start <= h < start + 24]) for start in range(26)]
    assert max(per_day) == SENT_LIMITS[1][1]


# --- the property ---------------------------------------------------------------------------
def _last_markup(chat: ChatClient, kind: type) -> tuple[Any, Any] | None:
    for call in reversed(chat.session.calls):
        if getattr(call, "chat_id", None) != chat.user.id:
            continue
        markup = getattr(call, "reply_markup", None)
        if isinstance(markup, kind):
            return call, markup
    return None


async def _tap_inline(chat: ChatClient, index: int) -> None:
    found = _last_markup(chat, InlineKeyboardMarkup)
    if found is None:
        return
    call, markup = found
    buttons = [b for row in markup.inline_keyboard for b in row if b.callback_data]
    if buttons:
        await chat.callback(buttons[index % len(buttons)].callback_data, call)


async def _tap_reply(chat: ChatClient, index: int) -> None:
    found = _last_markup(chat, ReplyKeyboardMarkup)
    if found is None:
        return
    keys = [k for row in found[1].keyboard for k in row]
    key = keys[index % len(keys)]
    if key.request_contact:
        await chat.share_contact(VICTIM_PHONE if index % 2 else OTHER_PHONE)
    elif not key.request_location:
        await chat.send(key.text)


async def _tap_named(chat: ChatClient, text: str) -> None:
    if text == "⬅️ Назад":
        await chat.send(text)
        return
    found = _last_markup(chat, InlineKeyboardMarkup)
    if found is not None:
        for row in found[1].inline_keyboard:
            for button in row:
                if button.text == text and button.callback_data:
                    await chat.callback(button.callback_data, found[0])
                    return


BUTTONS = [
    "Восстановить доступ",
    "Отправить код ещё раз",
    "Изменить адрес почты",
    "Использовать другие контакты",
    "⬅️ Назад",
]
WHO = st.integers(0, 1)
STEP = st.one_of(
    st.tuples(st.just("tap"), WHO, st.sampled_from(BUTTONS)),
    st.tuples(st.just("contact"), WHO, st.sampled_from([VICTIM_PHONE, OTHER_PHONE])),
    st.tuples(st.just("email"), WHO, st.sampled_from([VICTIM_EMAIL, FREE_EMAIL])),
    st.tuples(st.just("guess"), WHO, st.integers(1, 6)),
    st.tuples(st.just("guess"), WHO, st.integers(1, 6)),
    st.tuples(st.just("inline"), WHO, st.integers(0, 3)),
    st.tuples(st.just("reply"), WHO, st.integers(0, 5)),
    st.tuples(st.just("register"), WHO),
    st.tuples(st.just("wait"), st.sampled_from([1, 1, 2, 5, 61, 61, 600, 1440])),
)
MASK = re.compile(r"\b([a-z])\*\*\*@(example\.(?:org|net))")


def _most_in_window(times: list[datetime], window: timedelta) -> int:
    return max(
        (len([t for t in times if start <= t < start + window]) for start in times), default=0
    )


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(STEP, min_size=10, max_size=60))
async def test_no_sequence_of_buttons_beats_the_limits_per_target(
    steps: list[tuple[Any, ...]],
    dp: Dispatcher,
    bot: Bot,
    mailbox: RecordingMailer,
    clock: FrozenClock,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    async with sessions() as session:
        registered = await session.scalar(select(Account))
    if registered is None:
        await register_anna(sessions, settings, clock, telegram_id=1)
    clock.advance(timedelta(days=2))  # the examples share the database: start a fresh day
    chats = [ChatClient(dp, bot, user_id=next(TELEGRAM_IDS)) for _ in range(2)]
    for chat in chats:
        await chat.send("/register")
    aimed: dict[int, str] = {}  # the address of the last code each attacker was asked for
    wrong_at: dict[str, list[datetime]] = defaultdict(list)
    letters_at: dict[str, list[datetime]] = defaultdict(list)
    for step in steps:
        letters = len(mailbox.letters)
        kind = step[0]
        if kind == "wait":
            clock.advance(timedelta(minutes=step[1]))
            continue
        who = step[1]
        chat = chats[who]
        if kind == "register":
            await chat.send("/register")
        elif kind == "contact":
            await chat.share_contact(step[2])
        elif kind == "email":
            await chat.send(step[2])
        elif kind == "guess":
            for _ in range(step[2]):
                await chat.send(wrong_code(mailbox))
                if guessed(chat):
                    wrong_at[aimed[who]].append(clock.now())
        elif kind == "tap":
            await _tap_named(chat, step[2])
        elif kind == "inline":
            await _tap_inline(chat, step[2])
        else:
            await _tap_reply(chat, step[2])
        for to, _subject, _text in mailbox.letters[letters:]:
            letters_at[to].append(clock.now())
        for text in chat.texts:
            if "код" in text and (found := MASK.search(text)):
                aimed[who] = found.group()
    most = max((_most_in_window(t, DAY) for t in wrong_at.values()), default=0)
    target(float(most), label="wrong codes for one target in a day")  # search for the worst
    for address, times in wrong_at.items():
        for window, limit in WRONG_LIMITS:
            assert _most_in_window(times, window) <= limit, (address, window, times)
    for address, times in letters_at.items():
        for window, limit in SENT_LIMITS:
            assert _most_in_window(times, window) <= limit, (address, window, times)


async def test_the_hourly_tick_forgets_the_events_no_limit_counts(
    chat: ChatClient,
    mailbox: RecordingMailer,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    """A code's events are written alone (no delete beside each); the tick purges those past
    the longest window, a day, and the limits read the same before and after it."""
    await chat.send("/register")
    await chat.share_contact(OTHER_PHONE)
    await chat.send("first@example.net")
    await chat.send(wrong_code(mailbox))
    assert "Осталось попыток: 4" in chat.text
    clock.advance(DAY + timedelta(seconds=1))
    await chat.tap("Изменить адрес почты")
    await chat.send("second@example.net")
    await chat.send(wrong_code(mailbox))
    assert "Осталось попыток: 4" in chat.text, "yesterday's wrong code counts no more"
    async with sessions() as session:
        kept = len((await session.scalars(select(CodeEvent))).all())
    assert kept == 8  # two codes sent and two wrong ones, each for the account and the address
    tick, every = scheduled_ticks(sessions, clock)["purge_code_events"]
    assert every == 3600.0
    await tick()
    async with sessions() as session:
        left = (await session.scalars(select(CodeEvent))).all()
    assert len(left) == 4 and all(event.at > clock.now() - DAY for event in left)
    await chat.send(wrong_code(mailbox))
    assert "Осталось попыток: 3" in chat.text
