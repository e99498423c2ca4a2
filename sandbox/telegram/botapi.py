"""The Bot API: `/bot<token>/<method>` and `/file/bot<token>/<path>`, validated like Telegram."""

from __future__ import annotations

import asyncio
import contextlib
import html as html_lib
import logging
import mimetypes
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from aiohttp import web

from sandbox.telegram.errors import BotApiError, bad_request, forbidden, too_many_requests
from sandbox.telegram.markdown import parse_markdown, parse_markdown_v2
from sandbox.telegram.markup import parse_html, to_display_html, utf16_len
from sandbox.telegram.photos import NotAnImage, known_photo, photo_sizes
from sandbox.telegram.request import Params, read_params
from sandbox.telegram.state import CallbackAnswer, Chat, SandboxState, StoredMessage, wait_on
from sandbox.telegram.webhook import WebhookPusher

log = logging.getLogger(__name__)

Method = Callable[["BotApi", Params], Awaitable[Any]]
METHODS: dict[str, Method] = {}
MAX_TEXT = 4096
MAX_CAPTION = 1024
_URL = re.compile(r"^(https?://[^\s/$.?#].[^\s]*|tg://\S+)$", re.IGNORECASE)


def method(name: str) -> Callable[[Method], Method]:
    def register(fn: Method) -> Method:
        METHODS[name.lower()] = fn
        return fn

    return register


def now() -> int:
    return int(time.time())


INLINE_ACTIONS = (
    "callback_data",
    "url",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "copy_text",
    "pay",
)
NO_TEXT_BUTTONS = (
    "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
)


def _buttons(markup: dict[str, Any], field: str, type_name: str) -> list[Any]:
    rows = markup[field]
    if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
        raise bad_request(f'field "{field}" of the {type_name} should be an Array of Arrays')
    return [button for row in rows for button in row]


def _check_inline_button(button: Any) -> None:
    if not isinstance(button, dict) or not button.get("text"):
        raise bad_request(NO_TEXT_BUTTONS)
    if len([k for k in INLINE_ACTIONS if k in button]) != 1:
        raise bad_request(NO_TEXT_BUTTONS)
    if "callback_data" in button and not 1 <= len(str(button["callback_data"]).encode()) <= 64:
        raise bad_request("BUTTON_DATA_INVALID")
    if "url" in button and not _URL.match(str(button["url"])):
        raise bad_request(
            f"inline keyboard button URL '{button['url']}' is invalid: Wrong HTTP URL"
        )


def validate_reply_markup(markup: Any) -> None:
    if markup is None:
        return
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        for button in _buttons(markup, "inline_keyboard", "InlineKeyboardMarkup"):
            _check_inline_button(button)
    elif "keyboard" in markup:
        for button in _buttons(markup, "keyboard", "ReplyKeyboardMarkup"):
            text = button.get("text") if isinstance(button, dict) else button
            if not isinstance(text, str) or not text:
                raise bad_request(
                    "can't parse keyboard button: Keyboard button text must be non-empty"
                )
    elif not markup.get("remove_keyboard") and not markup.get("force_reply"):
        raise bad_request("can't parse reply keyboard markup JSON object")


# What a message carries, as forwarding and copying take it over (service messages have none).
CONTENT = (
    "text",
    "entities",
    "caption",
    "caption_entities",
    "photo",
    "document",
    "video",
    "audio",
    "location",
    "venue",
    "contact",
    "sticker",
)
# The emoji Telegram accepts as a reaction (Bot API, ReactionTypeEmoji).
_REACTION_EMOJI = (
    "👍 👎 ❤ 🔥 🥰 👏 😁 🤔 🤯 😱 🤬 😢 🎉 🤩 🤮 💩 🙏 👌 🕊 🤡 🥱 🥴 😍 🐳 ❤\u200d🔥 🌚 🌭 💯 🤣 ⚡ 🍌 "
    "🏆 💔 🤨 😐 🍓 🍾 💋 🖕 😈 😴 😭 🤓 👻 👨\u200d💻 👀 🎃 🙈 😇 😨 🤝 ✍ 🤗 🫡 🎅 🎄 ☃ 💅 🤪 🗿 🆒 💘 🙉 "
    "🦄 😘 💊 🙊 😎 👾 🤷\u200d♂ 🤷 🤷\u200d♀ 😡"
)
REACTIONS = frozenset(_REACTION_EMOJI.split())


class BotApi:
    """One fake bot account and the Telegram side of every chat it is in."""

    def __init__(self, state: SandboxState, token: str | None = None) -> None:
        self.state = state
        self.token = token
        self.poll_generation = 0
        self._webhook_task: asyncio.Task[None] | None = None

    # --- HTTP entry points ---------------------------------------------------------------
    def routes(self) -> list[web.RouteDef]:
        return [
            web.route("*", r"/bot{token}/{method}", self.handle),
            web.get(r"/file/bot{token}/{path:.+}", self.download),
        ]

    def _check_token(self, token: str) -> None:
        if ":" not in token or (self.token is not None and token != self.token):
            raise BotApiError(401, "Unauthorized")

    async def handle(self, request: web.Request) -> web.Response:
        name = request.match_info["method"]
        try:
            self._check_token(request.match_info["token"])
            fn = METHODS.get(name.lower())
            if fn is None:
                raise BotApiError(404, "Not Found")
            params = await read_params(request)
            result = await self.call(name, params)
        except BotApiError as error:
            return web.json_response(error.payload(), status=error.code)
        return web.json_response({"ok": True, "result": result})

    async def call(self, name: str, params: Params) -> Any:
        fn = METHODS[name.lower()]
        record = {"method": name, "at": time.time(), "params": _loggable(params.values)}
        self.state.calls.append(record)
        try:
            self._inject_fault(name)
            result = await fn(self, params)
        except BotApiError as error:
            record["error"] = error.description
            raise
        record["ok"] = True
        return result

    def _inject_fault(self, name: str) -> None:
        queue = self.state.faults.get(name.lower())
        if not queue:
            return
        fault = queue.popleft()
        if fault["error_code"] == 429:
            raise too_many_requests(int(fault.get("retry_after", 1)))
        raise BotApiError(fault["error_code"], fault.get("description") or "Injected error")

    async def download(self, request: web.Request) -> web.StreamResponse:
        try:
            self._check_token(request.match_info["token"])
        except BotApiError as error:
            return web.json_response(error.payload(), status=error.code)
        stored = self.state.file_by_path(request.match_info["path"])
        if stored is None:
            return web.json_response(
                {"ok": False, "error_code": 404, "description": "Not Found"}, status=404
            )
        return web.Response(body=self.state.file_content(stored), content_type=stored.mime_type)

    # --- helpers shared by the sending methods ---------------------------------------------
    @property
    def bot_user(self) -> dict[str, Any]:
        return {
            "id": self.state.bot_id,
            "is_bot": True,
            "first_name": "ДМС Кабинет",
            "username": self.state.bot_username,
        }

    def target_chat(self, params: Params, *, sending: bool = True) -> Chat:
        chat_id = params.required_int("chat_id")
        chat = self.state.chat(chat_id)
        if chat is None:
            raise bad_request("chat not found")
        if chat.type == "private" and chat.blocked_bot and sending:
            raise forbidden("bot was blocked by the user")
        return chat

    def text_and_entities(
        self, params: Params, field: str, limit: int
    ) -> tuple[str, list[dict[str, Any]]]:
        raw = params.string(field) or ""
        mode = (params.string("parse_mode") or "").lower()
        if mode == "html":
            text, entities = parse_html(raw)
        elif mode == "markdownv2":
            text, entities = parse_markdown_v2(raw)
        elif mode == "markdown":
            text, entities = parse_markdown(raw)
        elif mode in ("", "none"):
            text, entities = (
                raw,
                params.obj("entities" if field == "text" else "caption_entities") or [],
            )
        else:
            raise bad_request(f"unsupported parse_mode {mode!r}")
        if field == "text" and not text.strip():
            raise bad_request("message text is empty")
        if utf16_len(text) > limit:
            raise bad_request(
                "message is too long" if field == "text" else "message caption is too long"
            )
        return text, entities

    def new_message(self, chat: Chat, params: Params) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": 0,
            "date": now(),
            "chat": chat.as_api(),
            "from": self.bot_user,
        }
        thread = params.integer("message_thread_id")
        if thread:
            if not chat.is_forum or thread not in chat.topics:
                raise bad_request("message thread not found")
            message["message_thread_id"] = thread
            message["is_topic_message"] = True
        return message

    def apply_markup(
        self, chat: Chat, params: Params, message: dict[str, Any]
    ) -> dict[str, Any] | None:
        markup = params.obj("reply_markup")
        validate_reply_markup(markup)
        if not markup:
            return None
        if "inline_keyboard" in markup:
            message["reply_markup"] = {"inline_keyboard": markup["inline_keyboard"]}
            return None
        if "keyboard" in markup:
            chat.reply_keyboard = markup
            return markup
        if markup.get("remove_keyboard"):
            chat.reply_keyboard = None
        return None

    def check_flood(self, chat: Chat) -> None:
        wait = self.state.flood.check(chat)
        if wait is not None:
            raise too_many_requests(wait)

    async def deliver(
        self, chat: Chat, params: Params, message: dict[str, Any], html: str | Callable[[], str]
    ) -> dict[str, Any]:
        self.check_flood(chat)
        keyboard = self.apply_markup(chat, params, message)
        stored = self.state.add_message(chat, "bot", message, html)
        stored.reply_keyboard = keyboard
        await self.state.notify()
        return stored.api

    def editable(self, params: Params) -> tuple[Chat, StoredMessage]:
        if params.string("inline_message_id"):
            raise bad_request("inline messages are not supported by the sandbox")
        chat = self.target_chat(params, sending=False)
        message_id = params.required_int("message_id")
        stored = self.state.message(chat.id, message_id)
        if stored is None or stored.sender != "bot":
            raise bad_request("message to edit not found")
        return chat, stored

    async def store_input_file(self, params: Params, field: str, kind: str) -> dict[str, Any]:
        value = params.string(field)
        upload = params.uploads.get(field)
        if value and value.startswith("attach://"):
            upload = params.uploads.get(value.removeprefix("attach://"))
            if upload is None:
                raise bad_request(f"wrong file identifier/HTTP URL specified for {field}")
        if upload is not None:
            mime = upload.content_type
            if mime in ("", "application/octet-stream"):
                mime = mimetypes.guess_type(upload.filename)[0] or "application/octet-stream"
            stored = self.state.store_file(upload.content, upload.filename, mime, kind)
        elif value and value in self.state.files:
            stored = self.state.files[value]
        elif value and value.lower().startswith(("http://", "https://")):
            raise bad_request("failed to get HTTP URL content")
        else:
            raise bad_request(f"there is no {field} in the request")
        info: dict[str, Any] = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.size,
        }
        if kind == "document":
            info.update(file_name=stored.file_name, mime_type=stored.mime_type)
        return info

    async def store_input_photo(self, params: Params, field: str) -> list[dict[str, Any]]:
        """A photo as Telegram keeps it: a new upload in several sizes, or a known file_id."""
        value = params.string(field)
        upload = params.uploads.get(field)
        if value and value.startswith("attach://"):
            upload = params.uploads.get(value.removeprefix("attach://"))
            if upload is None:
                raise bad_request(f"wrong file identifier/HTTP URL specified for {field}")
        if upload is not None:
            try:
                return photo_sizes(self.state, upload.content, upload.filename)
            except NotAnImage:
                raise bad_request("IMAGE_PROCESS_FAILED") from None
        if value and value in self.state.photos:
            return self.state.photos[value]
        if value and value in self.state.files:
            stored = self.state.files[value]
            if not stored.file_path.startswith("photos/"):
                raise bad_request("can't use file of type Document as Photo")
            return known_photo(self.state, stored)  # kept before photos had their sizes
        if value and value.lower().startswith(("http://", "https://")):
            raise bad_request("failed to get HTTP URL content")
        raise bad_request(f"there is no {field} in the request")

    def source_message(self, params: Params, action: str) -> StoredMessage:
        """The message `from_chat_id` / `message_id` names, for forwarding or copying."""
        chat = self.state.chat(params.required_int("from_chat_id"))
        if chat is None:
            raise bad_request("chat not found")
        stored = self.state.message(chat.id, params.required_int("message_id"))
        if stored is None:
            raise bad_request(f"message to {action} not found")
        if not any(key in stored.api for key in CONTENT):
            raise bad_request(
                f"message can't be {action}ed" if action == "forward" else "message can't be copied"
            )
        return stored

    # --- webhook push mode ---------------------------------------------------------------
    def start_webhook(self) -> None:
        if self._webhook_task is None or self._webhook_task.done():
            self._webhook_task = asyncio.create_task(self._push_updates(), name="sandbox-webhook")

    async def stop(self) -> None:
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._webhook_task

    async def _push_updates(self) -> None:
        await WebhookPusher(self.state, self._run_webhook_reply).run()

    async def _run_webhook_reply(self, body: Any) -> None:
        """A webhook may answer with one method call in its response body, as Telegram allows."""
        if not isinstance(body, dict) or "method" not in body:
            return
        name = str(body.pop("method"))
        if name.lower() in METHODS:
            with contextlib.suppress(BotApiError):
                await self.call(name, Params(body))


def _loggable(values: dict[str, Any]) -> dict[str, Any]:
    return {k: (v if len(str(v)) < 2000 else str(v)[:2000]) for k, v in values.items()}


# === methods =============================================================================


@method("getMe")
async def get_me(api: BotApi, params: Params) -> Any:
    return {
        **api.bot_user,
        "can_join_groups": True,
        "can_read_all_group_messages": False,
        "supports_inline_queries": False,
    }


@method("logOut")
@method("close")
async def log_out(api: BotApi, params: Params) -> Any:
    return True


@method("getUpdates")
async def get_updates(api: BotApi, params: Params) -> Any:
    state = api.state
    if state.webhook is not None:
        raise BotApiError(
            409,
            "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
        )
    offset = params.integer("offset", 0) or 0
    limit = min(max(params.integer("limit", 100) or 100, 1), 100)
    timeout = max(params.integer("timeout", 0) or 0, 0)
    api.poll_generation += 1
    generation = api.poll_generation
    if offset:
        state.confirm_updates(offset)
    deadline = time.monotonic() + timeout
    while True:
        ready = [u for u in state.updates if u["update_id"] >= offset][:limit]
        if ready or state.closing or time.monotonic() >= deadline:
            return ready
        await wait_on(state.updates_ready, min(1.0, deadline - time.monotonic()))
        if api.poll_generation != generation:
            raise BotApiError(
                409,
                "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
            )


@method("setWebhook")
async def set_webhook(api: BotApi, params: Params) -> Any:
    url = params.string("url") or ""
    if not url:
        return await delete_webhook(api, params)
    if not url.lower().startswith(("http://", "https://")):
        raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
    secret = params.string("secret_token")
    if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
        raise bad_request("bad webhook: secret token contains unallowed characters")
    if params.flag("drop_pending_updates"):
        api.state.updates.clear()
    api.state.webhook = {
        "url": url,
        "secret_token": secret,
        "max_connections": params.integer("max_connections", 40),
        "allowed_updates": params.obj("allowed_updates"),
    }
    api.state.touch()
    api.start_webhook()
    return True


@method("deleteWebhook")
async def delete_webhook(api: BotApi, params: Params) -> Any:
    if params.flag("drop_pending_updates"):
        api.state.updates.clear()
    api.state.webhook = None
    api.state.touch()
    return True


@method("getWebhookInfo")
async def get_webhook_info(api: BotApi, params: Params) -> Any:
    hook = api.state.webhook
    info: dict[str, Any] = {
        "url": hook["url"] if hook else "",
        "has_custom_certificate": False,
        "pending_update_count": len(api.state.updates),
    }
    if hook:
        info["max_connections"] = hook.get("max_connections") or 40
        for key in ("last_error_date", "last_error_message", "allowed_updates"):
            if hook.get(key):
                info[key] = hook[key]
    return info


@method("sendMessage")
async def send_message(api: BotApi, params: Params) -> Any:
    chat = api.target_chat(params)
    text, entities = api.text_and_entities(params, "text", MAX_TEXT)
    message = api.new_message(chat, params)
    message["text"] = text
    if entities:
        message["entities"] = entities
    return await api.deliver(chat, params, message, partial(to_display_html, text, entities))


@method("sendLocation")
async def send_location(api: BotApi, params: Params) -> Any:
    chat = api.target_chat(params)
    latitude, longitude = params.number("latitude"), params.number("longitude")
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise bad_request("wrong coordinates")
    message = api.new_message(chat, params)
    message["location"] = {"latitude": latitude, "longitude": longitude}
    return await api.deliver(chat, params, message, "")


@method("sendVenue")
async def send_venue(api: BotApi, params: Params) -> Any:
    chat = api.target_chat(params)
    latitude, longitude = params.number("latitude"), params.number("longitude")
    title, address = params.required_str("title"), params.required_str("address")
    message = api.new_message(chat, params)
    location = {"latitude": latitude, "longitude": longitude}
    message["location"] = location
    message["venue"] = {"location": location, "title": title, "address": address}
    return await api.deliver(chat, params, message, "")


async def _send_media(api: BotApi, params: Params, kind: str) -> Any:
    chat = api.target_chat(params)
    caption, entities = api.text_and_entities(params, "caption", MAX_CAPTION)
    message = api.new_message(chat, params)
    if kind == "photo":
        message["photo"] = await api.store_input_photo(params, "photo")
    else:
        message[kind] = await api.store_input_file(params, kind, kind)
    if caption:
        message["caption"] = caption
        if entities:
            message["caption_entities"] = entities
    return await api.deliver(
        chat, params, message, to_display_html(caption, entities) if caption else ""
    )


@method("sendDocument")
async def send_document(api: BotApi, params: Params) -> Any:
    return await _send_media(api, params, "document")


@method("sendPhoto")
async def send_photo(api: BotApi, params: Params) -> Any:
    return await _send_media(api, params, "photo")


@method("getFile")
async def get_file(api: BotApi, params: Params) -> Any:
    stored = api.state.files.get(params.required_str("file_id"))
    if stored is None:
        raise bad_request("invalid file_id")
    return {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_size": stored.size,
        "file_path": stored.file_path,
    }


@method("editMessageText")
async def edit_message_text(api: BotApi, params: Params) -> Any:
    _, stored = api.editable(params)
    if "text" not in stored.api:
        raise bad_request("there is no text in the message to edit")
    text, entities = api.text_and_entities(params, "text", MAX_TEXT)
    new_markup = _inline_markup(params)
    if (
        text == stored.api.get("text")
        and entities == stored.api.get("entities", [])
        and new_markup == stored.api.get("reply_markup")
    ):
        raise bad_request(NOT_MODIFIED)
    visible = text != stored.api.get("text") or entities != stored.api.get("entities", [])
    stored.api["text"] = text
    stored.api.pop("entities", None)
    if entities:
        stored.api["entities"] = entities
    _set_inline_markup(stored, new_markup)
    stored.html = to_display_html(text, entities)
    return await _edited(api, stored, visible=visible)


@method("editMessageReplyMarkup")
async def edit_message_reply_markup(api: BotApi, params: Params) -> Any:
    _, stored = api.editable(params)
    new_markup = _inline_markup(params)
    if new_markup == stored.api.get("reply_markup"):
        raise bad_request(NOT_MODIFIED)
    _set_inline_markup(stored, new_markup)
    return await _edited(api, stored, visible=False)


NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)


def _inline_markup(params: Params) -> dict[str, Any] | None:
    """The inline keyboard an edit asks for (edits cannot set reply keyboards)."""
    markup = params.obj("reply_markup")
    validate_reply_markup(markup)
    if markup and "inline_keyboard" in markup:
        return {"inline_keyboard": markup["inline_keyboard"]}
    return None


def _set_inline_markup(stored: StoredMessage, markup: dict[str, Any] | None) -> None:
    if markup and markup.get("inline_keyboard"):
        stored.api["reply_markup"] = markup
    else:
        stored.api.pop("reply_markup", None)


async def _edited(api: BotApi, stored: StoredMessage, *, visible: bool = True) -> Any:
    """`visible`: the text changed, so clients mark it "edited" (not for buttons alone)."""
    stored.api["edit_date"] = now()
    stored.edited = stored.edited or visible
    api.state.bump(stored)
    await api.state.notify()
    return stored.api


@method("deleteMessage")
async def delete_message(api: BotApi, params: Params) -> Any:
    chat = api.target_chat(params, sending=False)
    stored = api.state.message(chat.id, params.required_int("message_id"))
    if stored is None:
        raise bad_request("message to delete not found")
    stored.deleted = True
    api.state.bump(stored)
    await api.state.notify()
    return True


@method("answerCallbackQuery")
async def answer_callback_query(api: BotApi, params: Params) -> Any:
    query_id = params.required_str("callback_query_id")
    chat_id = api.state.callback_queries.pop(query_id, None)
    if chat_id is None:
        raise bad_request("query is too old and response timeout expired or query ID is invalid")
    text = params.string("text")
    if text is not None and len(text) > 200:
        raise bad_request("MESSAGE_TOO_LONG")
    api.state.callback_answers.append(
        CallbackAnswer(
            query_id, chat_id, text, params.flag("show_alert"), params.string("url"), time.time()
        )
    )
    api.state.bump()
    await api.state.notify()
    return True


@method("sendChatAction")
async def send_chat_action(api: BotApi, params: Params) -> Any:
    api.target_chat(params)
    return True


def _commands_key(params: Params) -> str:
    scope = params.obj("scope") or {"type": "default"}
    return f"{scope.get('type', 'default')}:{scope.get('chat_id', '')}:{params.string('language_code') or ''}"


@method("setMyCommands")
async def set_my_commands(api: BotApi, params: Params) -> Any:
    commands = params.obj("commands")
    if not isinstance(commands, list) or len(commands) > 100:
        raise bad_request("commands must be an array of at most 100 BotCommand")
    for command in commands:
        name = str(command.get("command", ""))
        if not re.fullmatch(r"[a-z0-9_]{1,32}", name):
            raise bad_request("BOT_COMMAND_INVALID")
        if not 1 <= len(str(command.get("description", ""))) <= 256:
            raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
    api.state.commands[_commands_key(params)] = [
        {"command": c["command"], "description": c["description"]} for c in commands
    ]
    api.state.touch()
    return True


@method("getMyCommands")
async def get_my_commands(api: BotApi, params: Params) -> Any:
    return api.state.commands.get(_commands_key(params), [])


@method("deleteMyCommands")
async def delete_my_commands(api: BotApi, params: Params) -> Any:
    api.state.commands.pop(_commands_key(params), None)
    return True


@method("setChatMenuButton")
async def set_chat_menu_button(api: BotApi, params: Params) -> Any:
    api.state.menu_button = params.obj("menu_button") or {"type": "default"}
    return True


@method("getChatMenuButton")
async def get_chat_menu_button(api: BotApi, params: Params) -> Any:
    return api.state.menu_button


@method("getChat")
async def get_chat(api: BotApi, params: Params) -> Any:
    chat = api.target_chat(params, sending=False)
    pinned = next(
        (m for i in reversed(chat.pinned) if (m := api.state.message(chat.id, i)) is not None),
        None,
    )
    return {
        **chat.as_api(),
        "accent_color_id": 0,
        "max_reaction_count": 11,
        "accepted_gift_types": {
            "unlimited_gifts": False,
            "limited_gifts": False,
            "unique_gifts": False,
            "premium_subscription": False,
            "gifts_from_channels": False,
        },
        **({"pinned_message": pinned.api} if pinned is not None else {}),
    }


@method("createForumTopic")
async def create_forum_topic(api: BotApi, params: Params) -> Any:
    chat = api.target_chat(params)
    if not chat.is_forum:
        raise bad_request("the chat is not a forum")
    name = params.required_str("name")
    if len(name) > 128:
        raise bad_request("TOPIC_NAME_INVALID")
    thread_id = chat.next_message_id
    message = {
        "message_id": 0,
        "date": now(),
        "chat": chat.as_api(),
        "from": api.bot_user,
        "message_thread_id": thread_id,
        "is_topic_message": True,
        "forum_topic_created": {"name": name, "icon_color": 7322096},
    }
    chat.topics[thread_id] = name
    api.state.add_message(chat, "bot", message, f"<i>{html_lib.escape(name)}</i>")
    await api.state.notify()
    return {"message_thread_id": thread_id, "name": name, "icon_color": 7322096}


def _topic_event(api: BotApi, chat: Chat, thread: int, key: str, body: dict[str, Any]) -> None:
    """Telegram's service message in the topic: "the topic was renamed / closed / reopened"."""
    message = {
        "message_id": 0,
        "date": now(),
        "chat": chat.as_api(),
        "from": api.bot_user,
        "message_thread_id": thread,
        "is_topic_message": True,
        key: body,
    }
    # Telegram's clients word a service message in the viewer's own language: the web chat does
    # (chat.js, serviceText); what is stored is neutral, in no language at all.
    shown = {
        "forum_topic_edited": f"✏️ «{body.get('name', '')}»",
        "forum_topic_closed": "🔒",
        "forum_topic_reopened": "🔓",
    }[key]
    api.state.add_message(chat, "bot", message, f"<i>{html_lib.escape(shown)}</i>")


@method("editForumTopic")
async def edit_forum_topic(api: BotApi, params: Params) -> Any:
    chat = api.target_chat(params)
    thread = params.required_int("message_thread_id")
    if thread not in chat.topics:
        raise bad_request("TOPIC_ID_INVALID")
    name = params.string("name")
    if name is not None:
        if not 1 <= len(name) <= 128:
            raise bad_request("TOPIC_NAME_INVALID")
        if name == chat.topics[thread]:
            raise bad_request("TOPIC_NOT_MODIFIED")
        chat.topics[thread] = name
        _topic_event(api, chat, thread, "forum_topic_edited", {"name": name})
        await api.state.notify()
    return True


@method("closeForumTopic")
async def close_forum_topic(api: BotApi, params: Params) -> Any:
    return await _toggle_topic(api, params, closing=True)


@method("reopenForumTopic")
async def reopen_forum_topic(api: BotApi, params: Params) -> Any:
    return await _toggle_topic(api, params, closing=False)


async def _toggle_topic(api: BotApi, params: Params, *, closing: bool) -> Any:
    chat = api.target_chat(params)
    thread = params.required_int("message_thread_id")
    if thread not in chat.topics:
        raise bad_request("TOPIC_ID_INVALID")
    if (thread in chat.closed_topics) == closing:
        raise bad_request("TOPIC_NOT_MODIFIED")
    if closing:
        chat.closed_topics.append(thread)
    else:
        chat.closed_topics.remove(thread)
    _topic_event(api, chat, thread, "forum_topic_closed" if closing else "forum_topic_reopened", {})
    await api.state.notify()
    return True


# --- forwarding, copying, albums, pins, reactions, the bot's name ----------------------------


def _display(api: dict[str, Any]) -> str:
    if "text" in api:
        return to_display_html(api["text"], api.get("entities"))
    if "caption" in api:
        return to_display_html(api["caption"], api.get("caption_entities"))
    return ""


@method("forwardMessage")
async def forward_message(api: BotApi, params: Params) -> Any:
    chat = api.target_chat(params)
    source = api.source_message(params, "forward")
    message = api.new_message(chat, params)
    sender = source.api.get("from") or api.bot_user
    message["forward_origin"] = {"type": "user", "sender_user": sender, "date": source.api["date"]}
    message.update({key: source.api[key] for key in CONTENT if key in source.api})
    return await api.deliver(chat, Params({}), message, _display(message))


@method("copyMessage")
async def copy_message(api: BotApi, params: Params) -> Any:
    chat = api.target_chat(params)
    source = api.source_message(params, "copy")
    message = api.new_message(chat, params)
    message.update({key: source.api[key] for key in CONTENT if key in source.api})
    if "caption" in params.values and "text" not in message:
        caption, entities = api.text_and_entities(params, "caption", MAX_CAPTION)
        message.pop("caption_entities", None)
        message["caption"] = caption
        if entities:
            message["caption_entities"] = entities
        if not caption:
            message.pop("caption")
    sent = await api.deliver(chat, params, message, _display(message))
    return {"message_id": sent["message_id"]}


MEDIA_KINDS = ("photo", "video", "document", "audio")


@method("sendMediaGroup")
async def send_media_group(api: BotApi, params: Params) -> Any:
    chat = api.target_chat(params)
    media = params.obj("media")
    if not isinstance(media, list) or not all(isinstance(item, dict) for item in media):
        raise bad_request("can't parse media JSON object")
    if not 2 <= len(media) <= 10:
        raise bad_request("wrong number of media specified: 2-10 expected")
    kinds = {item.get("type") for item in media}
    if not kinds <= set(MEDIA_KINDS):
        raise bad_request(f"unsupported media type {sorted(kinds - set(MEDIA_KINDS))[0]!r}")
    for alone in ("document", "audio"):
        if alone in kinds and len(kinds) > 1:
            raise bad_request(f"{alone} can't be mixed with other media types")
    prepared = []
    for item in media:
        item_params = Params(item, params.uploads)
        caption, entities = api.text_and_entities(item_params, "caption", MAX_CAPTION)
        kind = item["type"]
        if kind == "photo":
            content: Any = await api.store_input_photo(item_params, "media")
        else:
            content = await api.store_input_file(item_params, "media", kind)
            if kind == "video":
                content.update(
                    width=int(item.get("width") or 0),
                    height=int(item.get("height") or 0),
                    duration=int(item.get("duration") or 0),
                )
            elif kind == "audio":
                content["duration"] = int(item.get("duration") or 0)
        prepared.append((kind, content, caption, entities))
    group_id = str(secrets.randbits(62))
    sent = []
    for kind, content, caption, entities in prepared:
        message = api.new_message(chat, params)
        message["media_group_id"] = group_id
        message[kind] = content
        if caption:
            message["caption"] = caption
            if entities:
                message["caption_entities"] = entities
        sent.append(await api.deliver(chat, Params({}), message, _display(message)))
    return sent


@method("pinChatMessage")
async def pin_chat_message(api: BotApi, params: Params) -> Any:
    chat = api.target_chat(params, sending=False)
    stored = api.state.message(chat.id, params.required_int("message_id"))
    if stored is None:
        raise bad_request("message to pin not found")
    if stored.message_id in chat.pinned:
        chat.pinned.remove(stored.message_id)
    chat.pinned.append(stored.message_id)
    service = {"message_id": 0, "date": now(), "chat": chat.as_api(), "from": api.bot_user}
    service["pinned_message"] = dict(stored.api)
    api.state.add_message(chat, "bot", service, "<i>📌 pinned a message</i>")
    await api.state.notify()
    return True


@method("unpinChatMessage")
async def unpin_chat_message(api: BotApi, params: Params) -> Any:
    chat = api.target_chat(params, sending=False)
    message_id = params.integer("message_id") or (chat.pinned[-1] if chat.pinned else None)
    if message_id is None or message_id not in chat.pinned:
        raise bad_request("message to unpin not found")
    chat.pinned.remove(message_id)
    api.state.touch()
    return True


@method("unpinAllChatMessages")
async def unpin_all_chat_messages(api: BotApi, params: Params) -> Any:
    chat = api.target_chat(params, sending=False)
    chat.pinned.clear()
    api.state.touch()
    return True


@method("setMessageReaction")
async def set_message_reaction(api: BotApi, params: Params) -> Any:
    chat = api.target_chat(params, sending=False)
    stored = api.state.message(chat.id, params.required_int("message_id"))
    if stored is None:
        raise bad_request("message to react not found")
    reaction = params.obj("reaction") or []
    if not isinstance(reaction, list) or not all(isinstance(r, dict) for r in reaction):
        raise bad_request("can't parse reaction JSON object")
    if len(reaction) > 1:
        raise bad_request("REACTIONS_TOO_MANY")
    for item in reaction:
        if item.get("type") != "emoji" or item.get("emoji") not in REACTIONS:
            raise bad_request("REACTION_INVALID")
    stored.reactions = [{"type": "emoji", "emoji": r["emoji"]} for r in reaction]
    api.state.bump(stored)
    await api.state.notify()
    return True


@method("setMyName")
async def set_my_name(api: BotApi, params: Params) -> Any:
    name = params.string("name") or ""
    if len(name) > 64:
        raise bad_request("BOT_NAME_INVALID")
    language = params.string("language_code") or ""
    if name:
        api.state.bot_names[language] = name
    else:
        api.state.bot_names.pop(language, None)
    api.state.touch()
    return True


@method("getMyName")
async def get_my_name(api: BotApi, params: Params) -> Any:
    names = api.state.bot_names
    language = params.string("language_code") or ""
    return {"name": names.get(language) or names.get("") or api.bot_user["first_name"]}
