"""The menu and the commands work at every step and are never taken as the step's answer
(issue 15 item 1), in Russian and in English."""

from __future__ import annotations

import pytest
from aiogram import Bot, Dispatcher
from aiogram.fsm.storage.base import StorageKey
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.fsm.appeals import AppealForm
from bot.fsm.policies import AddPolicy
from bot.fsm.registration import Registration
from core.clock import FrozenClock
from core.config import Settings
from core.policies.models import LookupAttempt, PolicyLink
from tests.conftest import register_anna, seed_demo
from tests.dialog import BOT_ID, ChatClient

WORDS = {
    "ru": {
        "policies": "📋 Мои полисы",
        "add": "➕ Добавить полис",
        "by_number": "По номеру полиса",
        "mismatch": "не совпадают с полисом",
        "contacts": "☎️ Контакты",
        "documents": "📄 Документы",
        "clinics": "🏥 Клиники",
        "desk": "медицинский пульт",
        "which_document": "Какой документ",
        "clinic_hub": "По названию",
        "not_a_number": "не похоже на номер полиса",
        "added": "Добавлено: ONDL-500001",
    },
    "en": {
        "policies": "📋 My policies",
        "add": "➕ Add a policy",
        "by_number": "By the policy number",
        "mismatch": "do not match this policy",
        "contacts": "☎️ Contacts",
        "documents": "📄 Documents",
        "clinics": "🏥 Clinics",
        "desk": "medical desk",
        "which_document": "Which document",
        "clinic_hub": "By name",
        "not_a_number": "does not look like a policy number",
        "added": "Added: ONDL-500001",
    },
}


def key_of(chat: ChatClient) -> StorageKey:
    return StorageKey(bot_id=BOT_ID, chat_id=chat.chat.id, user_id=chat.user.id)


async def failed_lookups(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(LookupAttempt)) or 0)


@pytest.mark.parametrize("language", ["ru", "en"])
async def test_menu_taps_after_a_policy_mismatch_never_count_as_lookups(
    language: str,
    dp: Dispatcher,
    bot: Bot,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    clock: FrozenClock,
) -> None:
    """The AddPolicy:number finding: «☎️ Контакты» after a mismatch was "no such policy", and
    six taps locked the person out of adding policies for an hour."""
    words = WORDS[language]
    chat = ChatClient(dp, bot, user_id=3100, language_code=language)
    await register_anna(sessions, settings, clock, chat.user.id)
    await seed_demo(sessions)
    await chat.send("/start")
    await chat.tap(words["policies"])
    await chat.tap(words["add"])
    await chat.tap(words["by_number"])
    await chat.send("DMS-K-2026-0002")  # Petrov's policy: a mismatch, one failed lookup
    assert words["mismatch"] in chat.text
    assert await failed_lookups(sessions) == 1

    for _ in range(3):
        await chat.send(words["contacts"])
        assert words["desk"] in chat.text
        await chat.send(words["documents"])
        assert words["which_document"] in chat.text
        await chat.send(words["clinics"])
        assert words["clinic_hub"] in " ".join(chat.inline_buttons)
    assert await dp.storage.get_state(key_of(chat)) is None, "the menu left the step"
    assert await failed_lookups(sessions) == 1, "menu taps are not lookups"

    await chat.tap(words["policies"])
    await chat.tap(words["add"])
    await chat.tap(words["by_number"])
    assert await dp.storage.get_state(key_of(chat)) == AddPolicy.number.state
    for text in ("привет, как добавить?", "🙂", "hello there"):
        await chat.send(text)
        assert words["not_a_number"] in chat.text
    assert await failed_lookups(sessions) == 1, "only a number-shaped answer counts"

    await chat.send("ONDL-500001")
    assert words["added"] in chat.text, "never locked out"
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(PolicyLink)) == 1


COMMAND_SECTIONS = {
    "/contacts": "8 800 100-00-00",
    "/policies": "Раздел откроется после регистрации",
    "/clinics": "По названию",
    "/appeals": "сначала зарегистрируйтесь",
    "/bookings": "нет записей",
    "/profile": "Продолжить регистрацию",
    "/verify": "Раздел откроется после регистрации",
    "/language": "Русский",
    "/help": "/menu",
}


async def test_every_command_works_at_the_email_step_and_registration_resumes(
    chat: ChatClient, dp: Dispatcher
) -> None:
    """The e-mail step answered "that does not look like an e-mail" to /contacts & co."""
    await chat.send("/register")
    await chat.share_contact("+79161234567")
    assert await dp.storage.get_state(key_of(chat)) == Registration.email.state

    for command, expected in COMMAND_SECTIONS.items():
        await chat.send(command)
        assert "не похоже на адрес" not in chat.text, command
        assert expected.casefold() in (chat.text + " ".join(chat.inline_buttons)).casefold(), (
            command,
            chat.text,
        )
        if command != "/help":  # help is about the step: it keeps it
            await chat.send("/register")
            assert "Продолжим с того места" in chat.text and "Шаг 2 из 8" in chat.text
            assert "Ваша электронная почта" in chat.text
        assert await dp.storage.get_state(key_of(chat)) == Registration.email.state

    await chat.tap("Начать заново")
    assert "Начать регистрацию заново?" in chat.text, "it asks first"
    await chat.tap("Да, начать заново")
    assert "Регистрация начата заново" in chat.text and "Шаг 1 из 8" in chat.text
    assert await dp.storage.get_state(key_of(chat)) == Registration.phone.state


async def test_english_commands_and_menu_in_a_dialog_step(dp: Dispatcher, bot: Bot) -> None:
    chat = ChatClient(dp, bot, user_id=3200, first_name="John", language_code="en")
    await chat.send("/register")
    await chat.share_contact("+79161234567")
    await chat.send("☎️ Contacts")
    assert "medical desk" in chat.text and "does not look like an e-mail" not in chat.text
    await chat.send("/register")
    assert "Let's continue where you stopped" in chat.text and "Step 2 of 8" in chat.text
    await chat.send("john@example.org")
    assert "We sent a 6-digit code" in chat.text


async def test_an_appeal_draft_is_offered_again_after_the_menu(
    chat: ChatClient, registered: object, dp: Dispatcher
) -> None:
    await chat.send("/appeals")
    await chat.tap("➕ Новое обращение")
    await chat.tap(chat.inline_buttons[0])
    assert await dp.storage.get_state(key_of(chat)) in {
        AppealForm.typing.state,
        AppealForm.choosing.state,
    }
    await chat.send("☎️ Контакты")
    assert "8 800 100-00-00" in chat.text
    assert await dp.storage.get_state(key_of(chat)) is None

    await chat.send("💬 Обращения")
    [resume] = [b for b in chat.inline_buttons if b.startswith("✍️ Продолжить черновик")]
    await chat.tap(resume)
    assert await dp.storage.get_state(key_of(chat)) in {
        AppealForm.typing.state,
        AppealForm.choosing.state,
    }


async def test_an_old_keyboard_in_the_previous_language_still_works(chat: ChatClient) -> None:
    """The table holds every locale's texts: a keyboard sent before /language still works."""
    await chat.send("/language")
    await chat.tap("🇬🇧 English")
    await chat.send("📄 Документы")  # the Russian keyboard still on the screen
    assert "Which document do you need?" in chat.text
    await chat.send("/start extra words")  # not a deep link: a plain /start
    assert "personal cabinet of the insured" in chat.text
