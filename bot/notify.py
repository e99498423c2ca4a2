"""The outbox's way into Telegram: a message's actions become buttons, and Bot API errors become
what the courier acts on."""

from __future__ import annotations

import functools
from collections.abc import Sequence

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError, TelegramRetryAfter
from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks import (
    AppealsAction,
    AppealsCallback,
    BookingsCallback,
    FranchiseAction,
    FranchiseCallback,
    PolicyAction,
    PolicyCallback,
    ReceiptAppealsCallback,
)
from bot.deeplinks import start_link
from bot.texts import split_text
from core.notifications.delivery import Blocked, Rejected, RetryAfter, Send
from core.notifications.messages import Action


def callback_of(action: Action) -> CallbackData | None:
    if action.name == "pay_debt":  # the debt link is per person: no policy needed
        return FranchiseCallback(id=0, action=FranchiseAction.PAY)
    if action.name == "policy":
        return PolicyCallback(id=action.value)
    if action.name == "services":
        return PolicyCallback(id=action.value, action=PolicyAction.SERVICES)
    if action.name == "regions":
        return PolicyCallback(id=action.value, action=PolicyAction.REGIONS)
    if action.name == "clinics":
        return PolicyCallback(id=action.value, action=PolicyAction.CLINICS)
    if action.name == "franchise":
        return PolicyCallback(id=action.value, action=PolicyAction.FRANCHISE)
    if action.name == "appeal":
        return AppealsCallback(action=AppealsAction.OPEN, id=action.value)
    if action.name == "appeal_reply":
        return AppealsCallback(action=AppealsAction.REPLY, id=action.value)
    if action.name == "appeal_rate":
        return AppealsCallback(action=AppealsAction.CLOSE, id=action.value)
    if action.name == "bookings":
        return BookingsCallback()
    return None


# The buttons of notifications: a message whose every button is one of them stays as it came,
# and a screen opened from it comes as a new message.
NOTICE_ACTIONS = (
    "pay_debt",
    "policy",
    "services",
    "regions",
    "clinics",
    "franchise",
    "appeal",
    "appeal_reply",
    "appeal_rate",
    "bookings",
)


@functools.cache
def _notice_prefixes() -> dict[str, str]:
    """The callback prefix of each notification action (its CallbackData class's)."""
    made = {name: callback_of(Action("", name, 0)) for name in NOTICE_ACTIONS}
    return {name: data.__prefix__ for name, data in made.items() if data is not None}


# Buttons that only messages to keep carry (a receipt's): their data is not an action's.
HISTORY_PREFIXES = frozenset({ReceiptAppealsCallback.__prefix__})


def _notice_data(data: str) -> bool:
    """Data that `callback_of` makes for some action, or a receipt's: a button under a
    notification."""
    prefix = data.partition(":")[0]
    if prefix in HISTORY_PREFIXES:
        return True
    names = [name for name, known in _notice_prefixes().items() if known == prefix]
    if not names:  # most buttons (a clinic, a page): no notification's class at all
        return False
    values = {0, *(int(part) for part in data.split(":") if part.isdigit())}
    for name in names:
        for value in values:
            made = callback_of(Action("", name, value))
            if made is not None and made.pack() == data:
                return True
    return False


def is_notice(markup: InlineKeyboardMarkup | None) -> bool:
    """Whether a message's buttons are a notification's (`keyboard` below): such a message is
    history, so a screen opened from it comes as a new message instead of replacing it."""
    if markup is None:
        return False
    data = [b.callback_data for row in markup.inline_keyboard for b in row if b.callback_data]
    return bool(data) and all(_notice_data(item) for item in data)


def keyboard(actions: Sequence[Action]) -> InlineKeyboardMarkup | None:
    builder = InlineKeyboardBuilder()
    for action in actions:
        data = callback_of(action)
        if data is not None:
            builder.button(text=action.label, callback_data=data)
    builder.adjust(1)
    return builder.as_markup() if builder.buttons else None


def telegram_send(bot: Bot) -> Send:
    async def send(chat_id: int, text: str, actions: Sequence[Action] = ()) -> None:
        """A text over Telegram's limit goes in parts; the buttons come with the last one."""
        links = [await start_link(bot, action.start) for action in actions if action.start]
        if links:  # the same place as a link, which still works when forwarded or copied
            text = "\n".join([text, *links])
        parts = split_text(text)
        try:
            for number, part in enumerate(parts, 1):
                markup = keyboard(actions) if number == len(parts) else None
                await bot.send_message(chat_id, part, reply_markup=markup)
        except TelegramRetryAfter as error:
            raise RetryAfter(error.retry_after) from error
        except TelegramForbiddenError as error:
            raise Blocked(error.message) from error
        except TelegramBadRequest as error:
            raise Rejected(error.message) from error

    return send
