"""A tiny chat client for dialog tests: the real dispatcher, a bot session that records calls."""

from __future__ import annotations

import itertools
import mimetypes
import re
from collections.abc import AsyncGenerator
from datetime import datetime
from typing import Any, get_args

from aiogram import Bot, Dispatcher
from aiogram.client.session.base import BaseSession
from aiogram.exceptions import TelegramBadRequest
from aiogram.methods import TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    Chat,
    Contact,
    Document,
    File,
    ForumTopic,
    InlineKeyboardMarkup,
    Location,
    Message,
    PhotoSize,
    ReplyKeyboardMarkup,
    Sticker,
    Update,
    User,
)

from sandbox.telegram.errors import BotApiError
from sandbox.telegram.markup import parse_html, utf16_len

BOT_ID = 7000000001


UPDATE_IDS = itertools.count(1)


class RecordingSession(BaseSession):
    """Answers every Bot API call at once, like Telegram would, and remembers it.

    `enforce_telegram_rules` (on by default) refuses what Telegram refuses: HTML that does not
    parse, over-long texts, long callback data, edits that change nothing. Benchmarks turn it off:
    those checks are the suite's assertions, not the bot's cost."""

    enforce_telegram_rules = True

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[TelegramMethod[Any]] = []
        self.files: dict[str, bytes] = {}  # what people uploaded, by file_id
        self.sent_files: dict[str, bytes] = {}  # what the bot uploaded, by the file_id it got
        self._message_ids = itertools.count(10_000)
        self.message_ids: dict[int, int] = {}  # id() of a send call -> the message id it got
        self._screens: dict[tuple[int, int], tuple[object, object]] = {}  # text, markup

    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        timeout: int | None = None,  # noqa: ASYNC109 - aiogram's signature
    ) -> TelegramType:
        self.calls.append(method)
        if self.enforce_telegram_rules:
            self._refuse_what_telegram_refuses(method)
            self._refuse_unchanged_edit(method)
        returning = method.__returning__
        if returning is bool:
            return True  # type: ignore[return-value]
        if returning is Message or Message in get_args(returning):
            return self._message(bot, method)  # type: ignore[return-value]
        if returning is User:
            return User(id=BOT_ID, is_bot=True, first_name="Test bot", username="test_bot")  # type: ignore[return-value]
        if returning is File:
            file_id = method.file_id  # type: ignore[attr-defined]
            return File(file_id=file_id, file_unique_id=file_id, file_path=f"documents/{file_id}")  # type: ignore[return-value]
        if returning is ForumTopic:
            thread = next(self._message_ids)
            return ForumTopic(message_thread_id=thread, name=method.name, icon_color=0)  # type: ignore[attr-defined,return-value]
        raise NotImplementedError(f"RecordingSession cannot answer {method.__api_method__}")

    def _refuse_what_telegram_refuses(self, method: TelegramMethod[Any]) -> None:
        """Telegram's limits, as the sandbox checks them: HTML that parses, texts within
        4,096 UTF-16 units (captions 1,024), callback data within 64 bytes."""
        text = getattr(method, "text", None)
        caption = getattr(method, "caption", None)
        for content, limit in ((text, 4096), (caption, 1024)):
            if not isinstance(content, str):
                continue
            try:
                plain = (
                    content
                    if getattr(method, "parse_mode", "HTML") is None
                    else parse_html(content)[0]
                )
            except BotApiError as error:
                raise TelegramBadRequest(method=method, message=error.description) from None
            if utf16_len(plain) > limit:
                raise TelegramBadRequest(method=method, message="Bad Request: message is too long")
            if method.__api_method__ in ("sendMessage", "editMessageText") and not plain.strip():
                raise TelegramBadRequest(
                    method=method, message="Bad Request: message text is empty"
                )
        markup = getattr(method, "reply_markup", None)
        if isinstance(markup, InlineKeyboardMarkup):
            for row in markup.inline_keyboard:
                for button in row:
                    if button.callback_data and len(button.callback_data.encode()) > 64:
                        raise TelegramBadRequest(
                            method=method, message="Bad Request: BUTTON_DATA_INVALID"
                        )

    def _refuse_unchanged_edit(self, method: TelegramMethod[Any]) -> None:
        """Telegram refuses an edit that changes nothing ("message is not modified")."""
        name = method.__api_method__
        if name not in ("editMessageText", "editMessageReplyMarkup"):
            return
        key = (int(getattr(method, "chat_id", 0) or 0), int(getattr(method, "message_id", 0) or 0))
        if key not in self._screens:
            return
        text, markup = self._screens[key]
        new_text = method.text if name == "editMessageText" else text  # type: ignore[attr-defined]
        new_markup = self._dump(getattr(method, "reply_markup", None))
        if (new_text, new_markup) == (text, markup):
            raise TelegramBadRequest(
                method=method,
                message="Bad Request: message is not modified: specified new message content "
                "and reply markup are exactly the same as a current content and reply markup "
                "of the message",
            )

    @staticmethod
    def _dump(markup: object) -> object:
        return (
            markup.model_dump(exclude_none=True)
            if isinstance(markup, InlineKeyboardMarkup)
            else None
        )

    def _message(self, bot: Bot, method: TelegramMethod[Any]) -> Message:
        chat_id = getattr(method, "chat_id", 0)
        markup = getattr(method, "reply_markup", None)
        message_id = getattr(method, "message_id", None) or next(self._message_ids)
        self.message_ids[id(method)] = message_id
        if self.enforce_telegram_rules:  # what an edit is compared with
            key = (int(chat_id or 0), message_id)
            if method.__api_method__ == "editMessageReplyMarkup":
                text = self._screens.get(key, (None, None))[0]
            else:
                text = getattr(method, "text", None)
            self._screens[key] = (text, self._dump(markup))
        payload: dict[str, Any] = {
            "message_id": message_id,
            "date": datetime.now(),  # noqa: DTZ005 - any date will do for Telegram's echo
            "chat": {"id": chat_id, "type": "private" if int(chat_id) > 0 else "supergroup"},
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "Test bot"},
            "text": getattr(method, "text", None),
        }
        if isinstance(markup, InlineKeyboardMarkup):
            payload["reply_markup"] = markup.model_dump(exclude_none=True)
        document = getattr(method, "document", None)
        if isinstance(document, BufferedInputFile):
            file_id = f"sent-{len(self.sent_files) + 1}"
            self.sent_files[file_id] = document.data
            payload["document"] = {
                "file_id": file_id,
                "file_unique_id": file_id,
                "file_name": document.filename,
            }
        elif isinstance(document, str):
            payload["document"] = {"file_id": document, "file_unique_id": document}
        return Message.model_validate(payload, context={"bot": bot})

    async def close(self) -> None:
        return None

    async def stream_content(
        self,
        url: str,
        headers: dict[str, Any] | None = None,
        timeout: int = 30,  # noqa: ASYNC109 - aiogram's signature
        chunk_size: int = 65536,
        raise_for_status: bool = True,
    ) -> AsyncGenerator[bytes, None]:
        file_id = url.rsplit("/", 1)[-1]
        yield self.files[file_id]


class RecordingMailer:
    """Keeps the letters instead of sending them (dialog tests; the e2e tests use real SMTP)."""

    def __init__(self) -> None:
        self.letters: list[tuple[str, str, str]] = []

    async def send(self, to: str, subject: str, text: str) -> None:
        self.letters.append((to, subject, text))

    async def close(self) -> None:
        pass

    def last_code(self, to: str) -> str:
        for address, _subject, text in reversed(self.letters):
            if address == to:
                found = re.search(r"\b\d{6}\b", text)
                assert found, text
                return found.group()
        raise AssertionError(f"no letter to {to}")


class ChatClient:
    """One person in a private chat with the bot."""

    def __init__(
        self,
        dp: Dispatcher,
        bot: Bot,
        *,
        user_id: int = 1001,
        first_name: str = "Анна",
        language_code: str | None = "ru",
        group_id: int | None = None,
    ) -> None:
        self.dp, self.bot = dp, bot
        self.session: RecordingSession = bot.session  # type: ignore[assignment]
        self.user = User(
            id=user_id, is_bot=False, first_name=first_name, language_code=language_code
        )
        if group_id is None:
            self.chat = Chat(id=user_id, type="private", first_name=first_name)
        else:  # a member of a forum group, e.g. an operator
            self.chat = Chat(id=group_id, type="supergroup", title="Operators", is_forum=True)
        self._update_ids = UPDATE_IDS  # one sequence for every client, as Telegram has per bot
        self._message_ids = itertools.count(1)
        self.last_update: Update | None = None
        self.calls: list[TelegramMethod[Any]] = []  # of the last step

    # --- what a person does -----------------------------------------------------------------
    async def send(self, text: str, *, update_id: int | None = None) -> ChatClient:
        return await self._message(text=text, update_id=update_id)

    async def replay(self) -> ChatClient:
        """Telegram sends the last update again (no answer reached it in time)."""
        assert self.last_update is not None
        return await self._feed_update(self.last_update)

    async def send_in_topic(
        self, text: str, thread: int, *, reply_to: int | None = None
    ) -> ChatClient:
        """A message in a forum topic of the group (an operator answering an appeal), maybe a
        reply to the bot's message `reply_to`."""
        extra: dict[str, Any] = {}
        if reply_to is not None:
            extra["reply_to_message"] = Message(
                message_id=reply_to,
                date=datetime.now(),  # noqa: DTZ005
                chat=self.chat,
                from_user=User(id=BOT_ID, is_bot=True, first_name="Test bot"),
                text="…",
            )
        return await self._message(
            text=text, message_thread_id=thread, is_topic_message=True, **extra
        )

    async def share_contact(self, phone: str, *, own: bool = True) -> ChatClient:
        contact = Contact(
            phone_number=phone,
            first_name=self.user.first_name,
            user_id=self.user.id if own else self.user.id + 1,
        )
        return await self._message(contact=contact)

    async def share_location(self, latitude: float, longitude: float) -> ChatClient:
        return await self._message(location=Location(latitude=latitude, longitude=longitude))

    async def upload(
        self,
        filename: str,
        content: bytes = b"%PDF-1.4 scan",
        *,
        photo: bool = False,
        mime_type: str | None = None,
        size: int | None = None,
    ) -> ChatClient:
        """Send a file as Telegram delivers it: an id the bot downloads through getFile."""
        file_id = f"upload-{next(self._message_ids)}"
        self.session.files[file_id] = content
        file_size = len(content) if size is None else size
        if photo:
            picture = PhotoSize(
                file_id=file_id, file_unique_id=file_id, width=800, height=600, file_size=file_size
            )
            return await self._message(photo=[picture])
        document = Document(
            file_id=file_id,
            file_unique_id=file_id,
            file_name=filename,
            mime_type=mime_type or mimetypes.guess_type(filename)[0],
            file_size=file_size,
        )
        return await self._message(document=document)

    async def send_sticker(self, emoji: str = "🙂", *, thread: int | None = None) -> ChatClient:
        sticker = Sticker(
            file_id="sticker",
            file_unique_id="sticker",
            type="regular",
            width=512,
            height=512,
            is_animated=False,
            is_video=False,
            emoji=emoji,
        )
        if thread is not None:  # in a forum topic (an operator in an appeal's topic)
            return await self._message(
                sticker=sticker, message_thread_id=thread, is_topic_message=True
            )
        return await self._message(sticker=sticker)

    async def tap(self, button: str) -> ChatClient:
        """Tap a button: an inline one of the latest message that has it, or a reply one."""
        for call in reversed(self.session.calls):
            markup = getattr(call, "reply_markup", None)
            if isinstance(markup, InlineKeyboardMarkup):
                for row in markup.inline_keyboard:
                    for candidate in row:
                        if candidate.text == button and candidate.callback_data:
                            return await self.callback(candidate.callback_data, call)
            if isinstance(markup, ReplyKeyboardMarkup):
                for row in markup.keyboard:
                    for key in row:
                        if key.text == button:
                            if key.request_location or key.request_contact:
                                raise AssertionError(f"{button!r} shares data: use share_*()")
                            return await self.send(button)
        raise AssertionError(f"no button {button!r} in the chat")

    async def callback(self, data: str, source: TelegramMethod[Any] | None = None) -> ChatClient:
        markup = getattr(source, "reply_markup", None)  # Telegram sends the tapped message's
        message = Message(
            message_id=getattr(source, "message_id", None)
            or self.session.message_ids.get(id(source), 1),
            date=datetime.now(),  # noqa: DTZ005
            chat=self.chat,
            from_user=User(id=BOT_ID, is_bot=True, first_name="Test bot"),
            text=getattr(source, "text", None) or "…",
            reply_markup=markup if isinstance(markup, InlineKeyboardMarkup) else None,
        )
        query = CallbackQuery(
            id=str(next(self._update_ids)),
            from_user=self.user,
            chat_instance="1",
            data=data,
            message=message,
        )
        return await self._feed(callback_query=query)

    async def _message(self, update_id: int | None = None, **content: Any) -> ChatClient:
        message = Message(
            message_id=next(self._message_ids),
            date=datetime.now(),  # noqa: DTZ005
            chat=self.chat,
            from_user=self.user,
            **content,
        )
        return await self._feed(update_id=update_id, message=message)

    async def _feed(self, update_id: int | None = None, **event: Any) -> ChatClient:
        update = Update(update_id=update_id or next(self._update_ids), **event)
        return await self._feed_update(update)

    async def _feed_update(self, update: Update) -> ChatClient:
        self.last_update = update
        before = len(self.session.calls)
        await self.dp.feed_update(self.bot, update)
        self.calls = self.session.calls[before:]
        return self

    # --- what a person sees -------------------------------------------------------------------
    def sent(self, api_method: str) -> list[TelegramMethod[Any]]:
        return [c for c in self.calls if c.__api_method__ == api_method]

    @property
    def texts(self) -> list[str]:
        return [str(c.text) for c in self.calls if getattr(c, "text", None)]

    @property
    def text(self) -> str:
        """Everything the bot wrote (messages, alerts) in the last step."""
        return "\n".join(self.texts)

    @property
    def reply_keyboard(self) -> list[str]:
        for call in reversed(self.calls):
            markup = getattr(call, "reply_markup", None)
            if isinstance(markup, ReplyKeyboardMarkup):
                return [b.text for row in markup.keyboard for b in row]
        return []

    @property
    def inline_buttons(self) -> list[str]:
        for call in reversed(self.calls):
            markup = getattr(call, "reply_markup", None)
            if isinstance(markup, InlineKeyboardMarkup):
                return [b.text for row in markup.inline_keyboard for b in row]
        return []
