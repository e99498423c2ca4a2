"""Showing a screen: one helper for every navigating handler (CONVERSATION.md, 2 and 3).

An inline tap that navigates (open, back, next page, filter) edits the message it came from,
text and buttons; a new message is sent for typed input, for a message that cannot be edited
(a document, a venue), for a notification (it is history) and for a screen that has scrolled
far up. "Message is not modified" (the same screen tapped again) is a no-op. Back and Menu are
added here, in one place."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from aiogram.exceptions import TelegramBadRequest
from aiogram.filters.callback_data import CallbackData
from aiogram.types import (
    CallbackQuery,
    InaccessibleMessage,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)
from aiogram.utils.i18n import gettext as _

from bot.callbacks import MenuCallback
from bot.notify import is_notice

log = logging.getLogger(__name__)

# A screen older than this is far up the chat: the person would not see it change.
FAR_UP = timedelta(minutes=30)


def back_button(target: CallbackData, text: str | None = None) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text or _("⬅️ Back"), callback_data=target.pack())


def menu_button() -> InlineKeyboardButton:
    return InlineKeyboardButton(text=_("🏠 Menu"), callback_data=MenuCallback().pack())


def with_nav(
    markup: InlineKeyboardMarkup | None,
    *,
    back: CallbackData | None = None,
    back_text: str | None = None,
    menu: bool = True,
) -> InlineKeyboardMarkup:
    """The markup with a last row of Back (to where the screen came from) and Menu."""
    rows = [list(row) for row in markup.inline_keyboard] if markup else []
    row = []
    if back is not None:
        row.append(back_button(back, back_text))
    if menu:
        row.append(menu_button())
    if row:
        rows.append(row)
    return InlineKeyboardMarkup(inline_keyboard=rows)


def _editable(message: Message, now: datetime) -> bool:
    if message.text is None:  # a document, a venue, a photo: its screen is something else
        return False
    if is_notice(message.reply_markup):  # a notification is history: it stays as it came
        return False
    sent = message.date if message.date.tzinfo else message.date.replace(tzinfo=UTC)
    return now - sent < FAR_UP


async def show(
    event: CallbackQuery | Message,
    text: str,
    markup: InlineKeyboardMarkup | None = None,
    *,
    back: CallbackData | None = None,
    back_text: str | None = None,
    menu: bool = False,
) -> Message | None:
    """Show a screen: edit the tapped message in place, or send a new one when there is none.

    `back` and `menu` add the navigation row. Returns the message the screen is in."""
    if back is not None or menu:
        markup = with_nav(markup, back=back, back_text=back_text, menu=menu)
    if isinstance(event, Message):
        return await event.answer(text, reply_markup=markup)
    message = event.message
    if message is None or isinstance(message, InaccessibleMessage):
        if event.from_user is None or event.bot is None:
            return None
        return await event.bot.send_message(event.from_user.id, text, reply_markup=markup)
    if _editable(message, datetime.now(UTC)):
        try:
            edited = await message.edit_text(text, reply_markup=markup)
        except TelegramBadRequest as error:
            if "message is not modified" in error.message:
                return message
            # Deleted, too old to edit, or otherwise refused: the screen comes as a new message.
            log.info("screen not edited in chat %s: %s", message.chat.id, error.message)
        else:
            return edited if isinstance(edited, Message) else message
    return await message.answer(text, reply_markup=markup)
