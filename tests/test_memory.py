"""Issue 19, memory: what `main.py` loads at start, in a fresh interpreter (figures: benchmarks/)."""

from __future__ import annotations

import gc
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aiogram import Bot
from aiogram.methods import SendMessage, TelegramMethod

from bot import answer_types
from core.db import MIGRATIONS_DIR, head_revisions
from core.notifications.delivery import Courier

ROOT = Path(__file__).resolve().parent.parent

PROBE = """
import json, sys
import main
import aiogram.methods, aiogram.types
from aiogram.types import TelegramObject

def built():
    return sorted(
        name for name in aiogram.types.__all__ + aiogram.methods.__all__
        if getattr(getattr(aiogram.types, name, None) or getattr(aiogram.methods, name), "__pydantic_complete__", False)
    )

at_start = built()
update = aiogram.types.Update.model_validate({
    "update_id": 1,
    "message": {
        "message_id": 5, "date": 0, "chat": {"id": 7, "type": "private"},
        "from": {"id": 7, "is_bot": False, "first_name": "Анна"}, "text": "/start",
        "reply_to_message": {"message_id": 4, "date": 0, "chat": {"id": 7, "type": "private"},
                             "contact": {"phone_number": "+79990000000", "first_name": "Анна"}},
    },
})
keyboard = aiogram.types.InlineKeyboardMarkup(inline_keyboard=[[
    aiogram.types.InlineKeyboardButton(text="Полис", callback_data="p:1")]])
method = aiogram.methods.SendMessage(chat_id=7, text="Привет", reply_markup=keyboard)
print(json.dumps({
    "at_start": at_start,
    "after": built(),
    "text": update.message.text,
    "phone": update.message.reply_to_message.contact.phone_number,
    "dumped": method.model_dump(exclude_none=True)["reply_markup"],
    "modules": [m for m in ("fpdf", "pyphen", "rapidfuzz", "PIL", "alembic") if m in sys.modules],
}))
"""


def probe() -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout.splitlines()[-1])
    return result


def test_telegram_types_are_built_when_first_used_not_at_start() -> None:
    result = probe()
    # aiogram declares ~450 types and ~190 methods; building them all at import cost 100 MB; the
    # methods without a Telegram type among their fields are built as aiogram defines them
    at_start = set(result["at_start"])  # type: ignore[call-overload]
    assert not at_start & {"Update", "Message", "User", "SendMessage", "InlineKeyboardMarkup"}
    assert len(at_start) < 150, sorted(at_start)
    after = set(result["after"])  # type: ignore[call-overload]
    assert {"Update", "SendMessage", "InlineKeyboardMarkup"} <= after
    assert result["text"] == "/start"
    assert result["phone"] == "+79990000000"
    assert result["dumped"] == {"inline_keyboard": [[{"text": "Полис", "callback_data": "p:1"}]]}


EVERY_MODEL = """
import json
import bot  # aiogram with its types deferred (bot/lazy_types.py)
import aiogram.methods, aiogram.types
from aiogram.methods.base import Response
from pydantic import BaseModel

def build(model):  # as pydantic does on first use, a few frames down
    def down(depth):
        if depth:
            return down(depth - 1)
        model.__pydantic_validator__.validate_python
        model.__pydantic_serializer__.to_python
    down(8)

failed, built = [], 0
# the methods and their answers first: a type they nest is then built inside them, not alone
for module in (aiogram.methods, aiogram.types):
    for name in module.__all__:
        model = getattr(module, name)
        if not isinstance(model, type) or not issubclass(model, BaseModel):
            continue
        if name == "TelegramMethod":  # abstract: its `__returning__` is a property
            continue
        models = [model]
        if module is aiogram.methods and hasattr(model, "__returning__"):
            models.insert(0, Response[model.__returning__])
        for each in models:
            try:
                build(each)
                built += 1
            except Exception as error:
                failed.append(f"{each.__name__}: {error}"[:300])
print(json.dumps({"built": built, "failed": failed}))
"""


def test_every_telegram_type_method_and_answer_builds_on_first_use() -> None:
    # The names the types import only for type checkers come from one shared namespace
    # (bot/lazy_types.py): each type, method and method's answer must still resolve them.
    done = subprocess.run(
        [sys.executable, "-c", EVERY_MODEL], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.splitlines()[-1])
    assert result["failed"] == []
    assert result["built"] > 700  # ~450 types, ~190 methods and their answers


MIGRATE = """
import asyncio, json, sys
from core.db import current_revisions, migrate
asyncio.run(migrate(sys.argv[1]))
print(json.dumps({"alembic": "alembic" in sys.modules,
                  "at": sorted(asyncio.run(current_revisions(sys.argv[1])))}))
"""


def test_migrations_run_without_keeping_alembic_in_the_process(tmp_path: Path) -> None:
    url = "sqlite+aiosqlite:///var/fresh.sqlite3"  # relative, as in sandbox mode
    for _ in ("a fresh database", "one already at head"):
        done = subprocess.run(
            [sys.executable, "-c", MIGRATE, url],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        result = json.loads(done.stdout.splitlines()[-1])
        assert result == {"alembic": False, "at": sorted(head_revisions())}


def test_the_heads_read_from_the_files_are_alembics() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    assert head_revisions() == set(ScriptDirectory.from_config(config).get_heads())


async def test_the_courier_forgets_chats_it_no_longer_paces() -> None:
    moments = {"now": 100.0}
    courier = Courier(quiet=None, per_second=1e9, monotonic=lambda: moments["now"])
    for chat in range(10_000):
        assert await courier._pace(chat)
        moments["now"] += 0.01
    assert len(courier.chats) <= Courier.CHATS_KEPT + 1
    # the pacing itself holds: a chat served less than a second ago waits, an older one goes
    assert not await courier._pace(9_990)
    assert await courier._pace(9_000)


async def test_an_answer_type_is_built_once_however_often_the_collector_runs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """pydantic holds `Response[Message]` only weakly; the bot's session keeps it, so a garbage
    collection between two answers does not make the next one build it again (a few to 50 ms)."""
    from pydantic._internal import _generics

    from bot.factory import create_bot
    from core.config import Settings

    builds: list[str] = []
    build = _generics.create_generic_submodel

    def counted(name: str, *args: Any) -> Any:
        builds.append(name)
        return build(name, *args)

    monkeypatch.setattr(_generics, "create_generic_submodel", counted)
    monkeypatch.setattr(answer_types, "KEPT", {})
    bot = create_bot(Settings(_env_file=None), token="1:test")
    answer = '{"ok": true, "result": {"message_id": 1, "date": 0, "chat": {"id": 7, "type": "private"}, "text": "Привет"}}'

    async def telegram(bot: Bot, method: TelegramMethod[Any]) -> Any:  # what aiogram does
        return bot.session.check_response(bot, method, 200, answer).result

    try:
        for _ in range(3):
            call = bot.session.middleware.wrap_middlewares(telegram)
            sent = await call(bot, SendMessage(chat_id=7, text="Привет"))
            assert sent.text == "Привет"
            del sent
            gc.collect()
    finally:
        await bot.session.close()
    assert builds.count("Response[Message]") <= 1, builds
