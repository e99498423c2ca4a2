"""Everything the fake Telegram remembers: users, chats, messages, updates, files."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sandbox.clock import SandboxClock

BOT_ID_DEFAULT = 7000000001


@dataclass
class Chat:
    id: int
    type: str  # private | group | supergroup
    title: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None
    is_forum: bool = False
    blocked_bot: bool = False
    topics: dict[int, str] = field(default_factory=dict)
    closed_topics: list[int] = field(default_factory=list)
    next_message_id: int = 1
    reply_keyboard: dict[str, Any] | None = None
    commands_scope: str | None = None
    pinned: list[int] = field(default_factory=list)  # pinned message ids, the latest last

    def as_api(self) -> dict[str, Any]:
        if self.type == "private":
            data = {"id": self.id, "type": "private", "first_name": self.first_name or ""}
            if self.last_name:
                data["last_name"] = self.last_name
            if self.username:
                data["username"] = self.username
            return data
        data = {"id": self.id, "type": self.type, "title": self.title or ""}
        if self.is_forum:
            data["is_forum"] = True
        return data

    def user_api(self) -> dict[str, Any]:
        """The private chat's person as a Bot API User."""
        data: dict[str, Any] = {
            "id": self.id,
            "is_bot": False,
            "first_name": self.first_name or f"User {self.id}",
        }
        for name in ("last_name", "username", "language_code"):
            if getattr(self, name):
                data[name] = getattr(self, name)
        return data


@dataclass
class StoredMessage:
    chat_id: int
    message_id: int
    sender: str  # "bot" or "user"
    api: dict[str, Any]  # the Bot API Message object as the bot sees it
    # What the web chat shows: HTML, or how to make it when first asked (most messages of a
    # load are never looked at, and rendering the entities costs more than storing them).
    shown: str | Callable[[], str] = ""
    reply_keyboard: dict[str, Any] | None = None
    revision: int = 0
    edited: bool = False
    deleted: bool = False
    at: float = 0.0  # the sandbox's clock when it arrived (moves with time travel)
    reactions: list[dict[str, Any]] = field(default_factory=list)  # the bot's, as set

    @property
    def html(self) -> str:
        if not isinstance(self.shown, str):
            self.shown = self.shown()
        return self.shown

    @html.setter
    def html(self, value: str) -> None:
        self.shown = value


@dataclass
class StoredFile:
    file_id: str
    file_unique_id: str
    file_path: str
    file_name: str
    mime_type: str
    size: int


@dataclass
class CallbackAnswer:
    callback_query_id: str
    chat_id: int
    text: str | None
    show_alert: bool
    url: str | None
    at: float


class Flood:
    """Telegram's limits: about 30 messages/s overall, 1/s per chat, 20/min per group."""

    def __init__(self) -> None:
        self.enabled = False
        self.global_per_second = 30
        self.chat_interval = 1.0
        self.group_per_minute = 20
        self._global: deque[float] = deque()
        self._chats: dict[int, deque[float]] = {}

    def check(self, chat: Chat) -> int | None:
        """Seconds to wait, or None when the message may go now (and is counted)."""
        if not self.enabled:
            return None
        now = time.monotonic()
        while self._global and now - self._global[0] >= 1.0:
            self._global.popleft()
        if len(self._global) >= self.global_per_second:
            return 1
        window = 60.0 if chat.type != "private" else self.chat_interval
        limit = self.group_per_minute if chat.type != "private" else 1
        sent = self._chats.setdefault(chat.id, deque())
        while sent and now - sent[0] >= window:
            sent.popleft()
        if len(sent) >= limit:
            return max(1, int(window - (now - sent[0]) + 0.999))
        sent.append(now)
        self._global.append(now)
        return None


async def wait_on(condition: asyncio.Condition, seconds: float) -> None:
    """Wait until notified or `seconds` pass.

    asyncio.timeout, not wait_for: on Python 3.11 wait_for around Condition.wait can swallow a
    cancellation, and a task that ignores its cancel never stops.
    """
    if seconds <= 0:
        return
    async with condition:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await condition.wait()


class SandboxState:
    def __init__(
        self, state_dir: Path | None = None, bot_username: str = "dms_cabinet_bot"
    ) -> None:
        self.state_dir = state_dir
        self.clock = SandboxClock()
        self.bot_username = bot_username
        self.bot_id = BOT_ID_DEFAULT
        self.chats: dict[int, Chat] = {}
        self.messages: dict[int, dict[int, StoredMessage]] = {}
        self.files: dict[str, StoredFile] = {}
        self.photos: dict[str, list[dict[str, Any]]] = {}  # any size's file_id -> all sizes
        self.bot_names: dict[str, str] = {}  # language code ("" for the default) -> name
        self.updates: deque[dict[str, Any]] = deque()
        self.observers: list[Callable[[StoredMessage], None]] = []
        self.update_ids = itertools.count(1)
        self.revision = 0
        self.commands: dict[str, list[dict[str, Any]]] = {}
        self.menu_button: dict[str, Any] = {"type": "commands"}
        self.callback_queries: dict[str, int] = {}  # id -> chat id, until answered
        self.callback_answers: deque[CallbackAnswer] = deque(maxlen=200)
        self.webhook: dict[str, Any] | None = None
        self.faults: dict[str, deque[dict[str, Any]]] = {}
        self.calls: deque[dict[str, Any]] = deque(maxlen=10_000)
        self.flood = Flood()
        self.changed = asyncio.Condition()
        self.updates_ready = asyncio.Condition()
        self.closing = False  # set on shutdown: long polls return at once
        self._file_bytes: dict[str, bytes] = {}
        self._dirty = False
        if state_dir is not None:
            self._load()

    # --- chats and messages -------------------------------------------------------------
    def chat(self, chat_id: int) -> Chat | None:
        return self.chats.get(chat_id)

    def ensure_private_chat(self, user_id: int, profile: dict[str, Any] | None = None) -> Chat:
        chat = self.chats.get(user_id)
        if chat is None:
            chat = self.chats[user_id] = Chat(id=user_id, type="private")
            self.messages[user_id] = {}
        for name in ("first_name", "last_name", "username", "language_code"):
            if profile and profile.get(name) is not None:
                setattr(chat, name, profile[name])
        if not chat.first_name:
            chat.first_name = f"User {user_id}"
        self.touch()
        return chat

    def ensure_group(self, chat_id: int, title: str, *, is_forum: bool) -> Chat:
        chat = self.chats.get(chat_id)
        if chat is None:
            chat = self.chats[chat_id] = Chat(
                id=chat_id, type="supergroup", title=title, is_forum=is_forum
            )
            self.messages[chat_id] = {}
        chat.title, chat.is_forum = title, is_forum
        self.touch()
        return chat

    def add_message(
        self, chat: Chat, sender: str, api: dict[str, Any], html: str | Callable[[], str]
    ) -> StoredMessage:
        message_id = chat.next_message_id
        chat.next_message_id += 1
        api["message_id"] = message_id
        stored = StoredMessage(chat.id, message_id, sender, api, html, at=self.clock.timestamp())
        self.messages.setdefault(chat.id, {})[message_id] = stored
        self.bump(stored)
        for observe in self.observers:  # whoever embeds the sandbox (the load benchmark)
            observe(stored)
        return stored

    def message(self, chat_id: int, message_id: int) -> StoredMessage | None:
        stored = self.messages.get(chat_id, {}).get(message_id)
        return None if stored is None or stored.deleted else stored

    def bump(self, stored: StoredMessage | None = None) -> None:
        self.revision += 1
        if stored is not None:
            stored.revision = self.revision
        self.touch()

    def touch(self) -> None:
        self._dirty = True

    async def notify(self) -> None:
        async with self.changed:
            self.changed.notify_all()

    async def close(self) -> None:
        self.closing = True
        await self.notify()
        async with self.updates_ready:
            self.updates_ready.notify_all()

    # --- updates ------------------------------------------------------------------------
    async def push_update(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        update = {"update_id": next(self.update_ids), kind: payload}
        self.updates.append(update)
        self.touch()
        async with self.updates_ready:
            self.updates_ready.notify_all()
        return update

    def confirm_updates(self, offset: int) -> None:
        while self.updates and self.updates[0]["update_id"] < offset:
            self.updates.popleft()

    # --- files --------------------------------------------------------------------------
    def store_file(self, content: bytes, file_name: str, mime_type: str, kind: str) -> StoredFile:
        unique = secrets.token_hex(8)
        file_id = f"{kind[:3].upper()}{secrets.token_urlsafe(18)}"
        stored = StoredFile(
            file_id=file_id,
            file_unique_id=unique,
            file_path=f"{kind}s/file_{unique}{Path(file_name).suffix}",
            file_name=file_name,
            mime_type=mime_type,
            size=len(content),
        )
        self.files[file_id] = stored
        if self.state_dir is not None:
            path = self.state_dir / "files" / stored.file_path
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
        else:
            self._file_bytes[file_id] = content
        self.touch()
        return stored

    def file_content(self, stored: StoredFile) -> bytes:
        if self.state_dir is not None:
            return (self.state_dir / "files" / stored.file_path).read_bytes()
        return self._file_bytes[stored.file_id]

    def file_by_path(self, path: str) -> StoredFile | None:
        return next((f for f in self.files.values() if f.file_path == path), None)

    # --- persistence --------------------------------------------------------------------
    # A message is saved with its HTML made (key "html", as before `shown` could wait).
    def _snapshot_path(self) -> Path:
        assert self.state_dir is not None
        return self.state_dir / "telegram.json"

    def save(self) -> None:
        if self.state_dir is None or not self._dirty:
            return
        self.state_dir.mkdir(parents=True, exist_ok=True)
        snapshot = {
            "chats": [asdict(c) for c in self.chats.values()],
            "messages": [_saved(m) for msgs in self.messages.values() for m in msgs.values()],
            "files": [asdict(f) for f in self.files.values()],
            "updates": list(self.updates),
            "next_update_id": next(self.update_ids),
            "revision": self.revision,
            "commands": self.commands,
            "webhook": self.webhook,
            "photos": self.photos,
            "bot_names": self.bot_names,
        }
        self.update_ids = itertools.count(snapshot["next_update_id"])
        tmp = self._snapshot_path().with_suffix(".tmp")
        tmp.write_text(json.dumps(snapshot, ensure_ascii=False), encoding="utf-8")
        tmp.replace(self._snapshot_path())
        self._dirty = False

    def _load(self) -> None:
        path = self._snapshot_path()
        if not path.exists():
            return
        snapshot = json.loads(path.read_text(encoding="utf-8"))
        for raw in snapshot["chats"]:
            raw["topics"] = {int(k): v for k, v in raw.get("topics", {}).items()}
            chat = Chat(**raw)
            self.chats[chat.id] = chat
            self.messages[chat.id] = {}
        for raw in snapshot["messages"]:
            raw["shown"] = raw.pop("html", "")
            stored = StoredMessage(**raw)
            self.messages.setdefault(stored.chat_id, {})[stored.message_id] = stored
        for raw in snapshot["files"]:
            stored_file = StoredFile(**raw)
            self.files[stored_file.file_id] = stored_file
        self.updates.extend(snapshot["updates"])
        self.update_ids = itertools.count(snapshot["next_update_id"])
        self.revision = snapshot["revision"]
        self.commands = snapshot.get("commands", {})
        self.webhook = snapshot.get("webhook")
        self.photos = snapshot.get("photos", {})
        self.bot_names = snapshot.get("bot_names", {})


def _saved(message: StoredMessage) -> dict[str, Any]:
    saved = {k: v for k, v in vars(message).items() if k != "shown"}  # dumped at once: no copy
    saved["html"] = message.html
    return saved
