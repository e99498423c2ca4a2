"""The people's side: what users and operators type, tap and share, as a JSON HTTP API."""

from __future__ import annotations

import html
import json
import secrets
import time
from collections import deque
from typing import Any
from urllib.parse import quote

from aiohttp import BodyPartReader, web

from sandbox.telegram.botapi import BotApi
from sandbox.telegram.photos import NotAnImage, photo_sizes
from sandbox.telegram.state import Chat, SandboxState, StoredMessage, wait_on


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def _user_id(request: web.Request) -> int:
    try:
        return int(request.match_info["user_id"])
    except ValueError:
        raise web.HTTPBadRequest(text="user id must be an integer") from None


def _chat_id(request: web.Request) -> int:
    try:
        return int(request.match_info["chat_id"])
    except ValueError:
        raise web.HTTPBadRequest(text="chat id must be an integer") from None


class _BadInput(ValueError):
    """A request body field of the wrong type: a 400 with the reason, never a 500."""


def _message_id(body: dict[str, Any], field: str = "message_id") -> int:
    value = body.get(field)
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise _BadInput(f"{field} must be an integer")
    try:
        return int(value)
    except ValueError:
        raise _BadInput(f"{field} must be an integer") from None


class UserApi:
    def __init__(self, state: SandboxState, bot: BotApi) -> None:
        self.state = state
        self.bot = bot

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/sandbox/api/users", self.list_users),
            web.post("/sandbox/api/users", self.create_user),
            web.post("/sandbox/api/users/{user_id}/messages", self.user_message),
            web.get("/sandbox/api/users/{user_id}/messages", self.user_history),
            web.post("/sandbox/api/users/{user_id}/callbacks", self.user_callback),
            web.post("/sandbox/api/users/{user_id}/block", self.user_block),
            web.get("/sandbox/api/groups", self.list_groups),
            web.post("/sandbox/api/groups", self.create_group),
            web.post("/sandbox/api/groups/{chat_id}/messages", self.group_message),
            web.get("/sandbox/api/groups/{chat_id}/messages", self.group_history),
            web.post("/sandbox/api/groups/{chat_id}/callbacks", self.group_callback),
            web.get("/sandbox/api/files/{file_id}", self.file),
            web.get("/sandbox/api/commands", self.commands),
            web.get("/sandbox/api/calls", self.calls),
            web.post("/sandbox/api/faults", self.add_fault),
            web.post("/sandbox/api/settings", self.settings),
        ]

    # --- people and groups ---------------------------------------------------------------
    async def list_users(self, request: web.Request) -> web.Response:
        users = [
            c.user_api() | {"blocked_bot": c.blocked_bot}
            for c in self.state.chats.values()
            if c.type == "private"
        ]
        return web.json_response({"users": users})

    async def create_user(self, request: web.Request) -> web.Response:
        body = await request.json()
        user_id = int(body.get("id") or _new_user_id(self.state))
        chat = self.state.ensure_private_chat(user_id, body)
        return web.json_response(chat.user_api(), status=201)

    async def list_groups(self, request: web.Request) -> web.Response:
        groups = [
            c.as_api() | {"topics": c.topics}
            for c in self.state.chats.values()
            if c.type != "private"
        ]
        return web.json_response({"groups": groups})

    async def create_group(self, request: web.Request) -> web.Response:
        body = await request.json()
        chat = self.state.ensure_group(
            int(body["id"]),
            str(body.get("title") or "Group"),
            is_forum=bool(body.get("is_forum", True)),
        )
        return web.json_response(chat.as_api(), status=201)

    async def user_block(self, request: web.Request) -> web.Response:
        chat = self.state.chat(_user_id(request))
        if chat is None or chat.type != "private":
            return _error(404, "unknown user")
        blocked = bool((await request.json()).get("blocked", True))
        if blocked != chat.blocked_bot:
            chat.blocked_bot = blocked
            await self._member_update(chat, "kicked" if blocked else "member")
        return web.json_response({"blocked_bot": chat.blocked_bot})

    async def _member_update(self, chat: Chat, status: str) -> None:
        old = "member" if status == "kicked" else "kicked"
        bot_member = {"user": self.bot.bot_user}
        await self.state.push_update(
            "my_chat_member",
            {
                "chat": chat.as_api(),
                "from": chat.user_api(),
                "date": int(time.time()),
                "old_chat_member": {
                    "status": old,
                    **bot_member,
                    **({"until_date": 0} if old == "kicked" else {}),
                },
                "new_chat_member": {
                    "status": status,
                    **bot_member,
                    **({"until_date": 0} if status == "kicked" else {}),
                },
            },
        )

    # --- messages from people -------------------------------------------------------------
    async def user_message(self, request: web.Request) -> web.Response:
        user_id = _user_id(request)
        body, upload = await _read_body(request)
        chat = self.state.ensure_private_chat(user_id, body.get("from"))
        if chat.blocked_bot:  # writing to the bot again unblocks it, as in Telegram
            chat.blocked_bot = False
            await self._member_update(chat, "member")
        return await self._incoming(chat, chat.user_api(), body, upload)

    async def group_message(self, request: web.Request) -> web.Response:
        chat = self.state.chat(_chat_id(request))
        if chat is None or chat.type == "private":
            return _error(404, "unknown group")
        body, upload = await _read_body(request)
        sender = body.get("from") or {}
        if "id" not in sender:
            return _error(400, "a group message needs 'from' with the sender's id")
        person = {
            "id": int(sender["id"]),
            "is_bot": False,
            "first_name": sender.get("first_name") or f"User {sender['id']}",
        }
        for key in ("last_name", "username", "language_code"):
            if sender.get(key):
                person[key] = sender[key]
        return await self._incoming(chat, person, body, upload)

    async def _incoming(
        self,
        chat: Chat,
        sender: dict[str, Any],
        body: dict[str, Any],
        upload: tuple[str, str, str, bytes] | None,
    ) -> web.Response:
        message: dict[str, Any] = {
            "message_id": 0,
            "date": int(time.time()),
            "chat": chat.as_api(),
            "from": sender,
        }
        display = ""
        thread = body.get("message_thread_id")
        if thread is not None:
            if int(thread) not in chat.topics:
                return _error(400, "unknown message_thread_id")
            message["message_thread_id"] = int(thread)
            message["is_topic_message"] = True
        if body.get("reply_to_message_id"):
            try:
                replied_id = _message_id(body, "reply_to_message_id")
            except _BadInput as error:
                return _error(400, str(error))
            replied = self.state.message(chat.id, replied_id)
            if replied is None:
                return _error(400, "reply_to_message_id not found")
            message["reply_to_message"] = dict(replied.api)
        if "text" in body:
            text = str(body["text"])
            if not text.strip() or len(text) > 4096:
                return _error(400, "text must be 1-4096 characters")
            message["text"] = text
            if text.startswith("/"):
                command = text.split()[0]
                message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
            display = html.escape(text).replace("\n", "<br>")
        elif "contact" in body:
            contact = body["contact"]
            message["contact"] = {
                "phone_number": str(contact["phone_number"]),
                "first_name": contact.get("first_name") or sender["first_name"],
                "user_id": int(contact.get("user_id", sender["id"])),
            }
            if contact.get("last_name"):
                message["contact"]["last_name"] = contact["last_name"]
        elif "location" in body:
            point = body["location"]
            latitude, longitude = float(point["latitude"]), float(point["longitude"])
            if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
                return _error(400, "coordinates out of range")
            message["location"] = {"latitude": latitude, "longitude": longitude}
            if body.get("venue"):
                venue = body["venue"]
                message["venue"] = {
                    "location": message["location"],
                    "title": venue.get("title", ""),
                    "address": venue.get("address", ""),
                }
        elif upload is not None:
            field, filename, mime, content = upload
            photo = None
            if field == "photo":
                try:
                    photo = photo_sizes(self.state, content, filename)
                except NotAnImage:  # a client sends what it cannot show as a file
                    photo = None
            if photo is not None:
                message["photo"] = photo
            else:
                stored = self.state.store_file(content, filename, mime, "document")
                message["document"] = {
                    "file_id": stored.file_id,
                    "file_unique_id": stored.file_unique_id,
                    "file_size": stored.size,
                    "file_name": filename,
                    "mime_type": mime,
                }
            if body.get("caption"):
                message["caption"] = str(body["caption"])
        elif "sticker" in body:
            message["sticker"] = {
                "file_id": "STICKER",
                "file_unique_id": "STICKER",
                "type": "regular",
                "width": 512,
                "height": 512,
                "is_animated": False,
                "is_video": False,
                "emoji": str(body["sticker"] or "🙂"),
            }
        else:
            return _error(
                400, "send one of: text, contact, location, sticker, or a photo/document upload"
            )
        if chat.reply_keyboard and chat.reply_keyboard.get("one_time_keyboard"):
            chat.reply_keyboard = None
        stored = self.state.add_message(chat, "user", message, display)
        update = await self.state.push_update("message", stored.api)
        await self.state.notify()
        return web.json_response(
            {"update_id": update["update_id"], "message_id": stored.message_id}
        )

    # --- button taps ------------------------------------------------------------------------
    async def user_callback(self, request: web.Request) -> web.Response:
        chat = self.state.chat(_user_id(request))
        if chat is None:
            return _error(404, "unknown user")
        return await self._tap(chat, chat.user_api(), await request.json())

    async def group_callback(self, request: web.Request) -> web.Response:
        chat = self.state.chat(_chat_id(request))
        body = await request.json()
        if chat is None or "from" not in body:
            return _error(404, "unknown group, or no 'from'")
        person = {
            "id": int(body["from"]["id"]),
            "is_bot": False,
            "first_name": body["from"].get("first_name") or "Operator",
        }
        return await self._tap(chat, person, body)

    async def _tap(self, chat: Chat, sender: dict[str, Any], body: dict[str, Any]) -> web.Response:
        try:
            message_id = _message_id(body)
        except _BadInput as error:
            return _error(400, str(error))
        stored = self.state.message(chat.id, message_id)
        if stored is None or stored.sender != "bot":
            return _error(404, "no such bot message in this chat")
        data = body.get("data")
        if "button" in body:
            buttons = [
                b
                for row in stored.api.get("reply_markup", {}).get("inline_keyboard", [])
                for b in row
            ]
            button = next((b for b in buttons if b.get("text") == body["button"]), None)
            if button is None:
                return _error(404, f"no button {body['button']!r} on message {stored.message_id}")
            if "url" in button:
                return web.json_response({"url": button["url"]})
            data = button.get("callback_data")
        if not data:
            return _error(400, "give 'data' or 'button'")
        query_id = str(secrets.randbits(63))
        self.state.callback_queries[query_id] = chat.id
        update = await self.state.push_update(
            "callback_query",
            {
                "id": query_id,
                "from": sender,
                "message": stored.api,
                "chat_instance": str(abs(chat.id) * 7919 % 10**12),
                "data": str(data),
            },
        )
        return web.json_response({"update_id": update["update_id"], "callback_query_id": query_id})

    # --- reading the chat ---------------------------------------------------------------------
    async def user_history(self, request: web.Request) -> web.Response:
        chat = self.state.chat(_user_id(request))
        if chat is None:
            return web.json_response(
                {
                    "messages": [],
                    "revision": self.state.revision,
                    "reply_keyboard": None,
                    "callback_answers": [],
                }
            )
        return await self._history(request, chat)

    async def group_history(self, request: web.Request) -> web.Response:
        chat = self.state.chat(_chat_id(request))
        if chat is None:
            return _error(404, "unknown group")
        return await self._history(request, chat)

    async def _history(self, request: web.Request, chat: Chat) -> web.Response:
        after = int(request.query.get("after", 0))
        changed_since = request.query.get("changed_since")
        wait = min(float(request.query.get("wait", 0)), 60.0)
        thread = request.query.get("thread")

        def select() -> list[StoredMessage]:
            messages = self.state.messages.get(chat.id, {}).values()
            if changed_since is not None:
                found = [m for m in messages if m.revision > int(changed_since)]
            else:
                found = [m for m in messages if m.message_id > after and not m.deleted]
            if thread is not None:
                found = [m for m in found if m.api.get("message_thread_id") == int(thread)]
            return sorted(found, key=lambda m: m.message_id)

        def last_answer() -> str | None:
            mine = [a for a in self.state.callback_answers if a.chat_id == chat.id]
            return mine[-1].callback_query_id if mine else None

        answered = last_answer()

        def ready(found: list[StoredMessage]) -> bool:
            if changed_since is not None:  # the web chat: an answer to a tap is news too
                return bool(found) or last_answer() != answered
            return any(m.sender == "bot" for m in found)

        deadline = time.monotonic() + wait
        found = select()
        while not ready(found) and not self.state.closing and time.monotonic() < deadline:
            await wait_on(self.state.changed, deadline - time.monotonic())
            found = select()
        answers = [a.__dict__ for a in self.state.callback_answers if a.chat_id == chat.id][-20:]
        return web.json_response(
            {
                "messages": [self._view(m) for m in found],
                "revision": self.state.revision,
                "reply_keyboard": chat.reply_keyboard,
                "callback_answers": answers,
                "chat": chat.as_api() | {"topics": chat.topics},
            }
        )

    def _view(self, stored: StoredMessage) -> dict[str, Any]:
        api = stored.api
        view: dict[str, Any] = {
            "message_id": stored.message_id,
            "from": stored.sender,
            "date": int(stored.at) if stored.at else api.get("date"),
            "text": api.get("text") or api.get("caption"),
            "html": stored.html,
            "sender": api.get("from"),
            "reply_markup": api.get("reply_markup"),
            "reply_keyboard": stored.reply_keyboard,
            "edited": stored.edited,
            "deleted": stored.deleted,
            "revision": stored.revision,
            "message_thread_id": api.get("message_thread_id"),
        }
        if stored.reactions:
            view["reactions"] = stored.reactions
        for key in (
            "location",
            "venue",
            "contact",
            "sticker",
            "forum_topic_created",
            "forward_origin",
            "media_group_id",
        ):
            if key in api:
                view[key] = api[key]
        if "document" in api:
            view["document"] = api["document"] | {
                "url": f"/sandbox/api/files/{api['document']['file_id']}"
            }
        if "photo" in api:
            photo = api["photo"][-1]
            view["photo"] = photo | {"url": f"/sandbox/api/files/{photo['file_id']}"}
        return view

    # --- files, commands, diagnostics ------------------------------------------------------------
    async def file(self, request: web.Request) -> web.StreamResponse:
        stored = self.state.files.get(request.match_info["file_id"])
        if stored is None:
            return _error(404, "unknown file")
        disposition = "inline" if stored.mime_type.startswith("image/") else "attachment"
        return web.Response(
            body=self.state.file_content(stored),
            content_type=stored.mime_type,
            headers={
                "Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(stored.file_name)}"
            },
        )

    async def commands(self, request: web.Request) -> web.Response:
        language = request.query.get("language_code", "")
        commands = self.state.commands.get(f"default::{language}") or self.state.commands.get(
            "default::", []
        )
        return web.json_response({"commands": commands})

    async def calls(self, request: web.Request) -> web.Response:
        name = request.query.get("method")
        calls = [c for c in self.state.calls if name is None or c["method"].lower() == name.lower()]
        return web.json_response({"calls": calls})

    async def add_fault(self, request: web.Request) -> web.Response:
        body = await request.json()
        fault = {
            "error_code": int(body.get("error_code", 429)),
            "retry_after": int(body.get("retry_after", 1)),
            "description": body.get("description"),
        }
        queue = self.state.faults.setdefault(str(body["method"]).lower(), deque())
        queue.extend(dict(fault) for _ in range(int(body.get("times", 1))))
        return web.json_response({"queued": len(queue)})

    async def settings(self, request: web.Request) -> web.Response:
        body = await request.json()
        flood = self.state.flood
        if "flood_limits" in body:
            flood.enabled = bool(body["flood_limits"])
        for key in ("global_per_second", "group_per_minute"):
            if key in body:
                setattr(flood, key, int(body[key]))
        if "chat_interval" in body:
            flood.chat_interval = float(body["chat_interval"])
        return web.json_response(
            {
                "flood_limits": flood.enabled,
                "global_per_second": flood.global_per_second,
                "chat_interval": flood.chat_interval,
                "group_per_minute": flood.group_per_minute,
            }
        )


def _new_user_id(state: SandboxState) -> int:
    existing = [c.id for c in state.chats.values() if c.type == "private"]
    return max([100000000, *existing]) + 1


async def _read_body(
    request: web.Request,
) -> tuple[dict[str, Any], tuple[str, str, str, bytes] | None]:
    """JSON for text, contact and location; multipart for a photo or document upload."""
    if request.content_type != "multipart/form-data":
        return await request.json(), None
    body: dict[str, Any] = {}
    upload = None
    reader = await request.multipart()
    async for part in reader:
        if not isinstance(part, BodyPartReader) or part.name is None:
            continue
        if part.filename is not None and part.name in ("photo", "document"):
            mime = part.headers.get("Content-Type", "application/octet-stream")
            upload = (part.name, part.filename, mime, await part.read(decode=False))
        elif part.name == "from":
            body["from"] = json.loads(await part.text())
        else:
            body[part.name] = await part.text()
    return body, upload
