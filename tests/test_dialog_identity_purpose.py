"""The identity check has its effect (issue 16 item 9, issue 17 item 6): the operator sees what
the person tried (the policy, what did not match) or the appeal that asked; approval links the
policy and says so; the profile shows the identity confirmed; approval after an appeal asked for
it speaks of the appeal, not of adding policies."""

from __future__ import annotations

from aiogram import Bot
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.accounts.crypto import Vault
from core.accounts.models import Account
from core.clock import FrozenClock
from core.config import Settings
from core.demo import register_demo_person
from core.policies.models import InsuredPerson, Policy, PolicyLink
from tests.conftest import OPERATORS_CHAT, seed_demo
from tests.dialog import ChatClient
from tests.files import JPEG
from tests.test_dialog_cases import anna_has
from tests.test_dialog_desk import Desk, operator_of, recording, run_courier
from tests.test_dialog_identity import upload_all
from tests.test_dialog_policies import add_by_number


def desk_texts(chat: ChatClient) -> list[str]:
    return [
        str(c.text)  # type: ignore[attr-defined]
        for c in chat.sent("sendMessage")
        if c.chat_id == OPERATORS_CHAT  # type: ignore[attr-defined]
    ]


async def test_a_policy_that_did_not_match_is_linked_once_the_identity_is_confirmed(
    chat: ChatClient,
    registered: Account,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    bot: Bot,
) -> None:
    await seed_demo(sessions)
    await anna_has(
        sessions,
        clock,
        policy_number="DMS-TYPO-1",
        product="ДМС",
        kind="dms",
        valid_from="2026-01-01",
        valid_to="2026-12-31",
        birth_date="16.01.1985",
        program_code="CORP-MSK",
        territory="moscow",
    )
    await chat.send("👤 Профиль")
    assert "Личность ещё не подтверждена" in chat.text
    await add_by_number(chat, "DMS-TYPO-1")
    assert "не совпадают с полисом" in chat.text
    await chat.tap("🪪 Подтвердить личность")
    assert (
        "Подтверждение нужно, чтобы привязать к вашему кабинету полис DMS-TYPO-1 (Анна)."
        in chat.text
    )
    await upload_all_after_start(chat)
    await chat.tap("📨 Отправить на проверку")
    [card] = [t for t in desk_texts(chat) if "Проверка личности" in t]
    assert "Цель: привязать полис DMS-TYPO-1 (застрахованный: Иванова А., 16.01.1985)" in card
    assert "Не совпало с профилем: дата рождения." in card

    operator = operator_of(chat)
    await operator.tap("✅ Подтвердить")
    assert "Полис DMS-TYPO-1 привязан к кабинету человека" in operator.text
    person: list[str] = []
    await run_courier(sessions, clock, Desk(bot), recording(bot, person))
    assert any("Полис DMS-TYPO-1 добавлен в кабинет" in t for t in person)
    assert not any("добавлять полисы" in t for t in person)
    async with sessions() as session:
        linked = await session.scalar(
            select(Policy.number)
            .join(InsuredPerson, InsuredPerson.policy_id == Policy.id)
            .join(PolicyLink, PolicyLink.insured_person_id == InsuredPerson.id)
            .where(PolicyLink.user_id == registered.user_id)
        )
    assert linked == "DMS-TYPO-1"
    await chat.send("👤 Профиль")
    assert "Личность подтверждена ✅" in chat.text
    assert "🪪 Подтвердить личность" not in chat.inline_buttons
    await chat.send("/verify")
    assert "уже подтверждена" in chat.text


async def upload_all_after_start(chat: ChatClient) -> None:
    """The check was started by the button: send the three images."""
    assert "Теперь отправьте: Паспорт: главная страница" in chat.text
    await chat.upload("passport.pdf", b"%PDF-1.4 passport")
    await chat.upload("selfie.jpg", JPEG, photo=True)
    await chat.upload("registration.png", b"\x89PNG registration")
    assert "Все три файла на месте" in chat.text


async def test_a_check_asked_for_in_an_appeal_refers_to_it_and_its_approval_speaks_of_it(
    chat: ChatClient,
    registered: Account,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    bot: Bot,
) -> None:
    await chat.send("/appeals")
    await chat.tap("➕ Новое обращение")
    await chat.tap("Изменение личных данных или данных договора")
    await chat.send("Сменила паспорт: новый номер 4520 123456.")
    await chat.tap("Готово")
    await chat.tap("✅ Отправить")
    appeal_thread = next(
        c.message_thread_id  # type: ignore[attr-defined]
        for c in chat.sent("sendMessage")
        if c.chat_id == OPERATORS_CHAT  # type: ignore[attr-defined]
    )
    operator = operator_of(chat)
    await operator.tap("🪪 Запросить подтверждение личности")
    person: list[str] = []
    await run_courier(sessions, clock, Desk(bot), recording(bot, person))
    assert any("/verify" in t for t in person)

    await chat.send("/verify")
    assert "Подтверждение запрошено в обращении О-26-000001." in chat.text
    await upload_all(chat)
    await chat.tap("📨 Отправить на проверку")
    [topic] = chat.sent("createForumTopic")
    assert topic.name == "Проверка личности № 1 · О-26-000001"  # type: ignore[attr-defined]
    [card] = [t for t in desk_texts(chat) if "Проверка личности" in t]
    assert f'/{appeal_thread}">О-26-000001</a>' in card and "Запрошена в обращении" in card

    await operator.tap("✅ Подтвердить")
    told_in_appeal = [
        c
        for c in operator.sent("sendMessage")
        if c.message_thread_id == appeal_thread  # type: ignore[attr-defined]
    ]
    assert "личность подтверждена" in str(told_in_appeal[0].text)  # type: ignore[attr-defined]
    await run_courier(sessions, clock, Desk(bot), recording(bot, person))
    assert any("Продолжаем работу по обращению О-26-000001" in t for t in person)
    assert not any("добавлять полисы" in t or "добавлять свои полисы" in t for t in person)


async def test_a_policy_in_another_cabinet_moves_to_its_confirmed_owner_and_the_other_is_told(
    chat: ChatClient,
    registered: Account,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    bot: Bot,
    settings: Settings,
) -> None:
    await seed_demo(sessions)
    other = ChatClient(chat.dp, chat.bot, user_id=5151, first_name="Анна")
    assert settings.data_encryption_key is not None
    await register_demo_person(  # someone with the same name and birth date, another passport
        sessions,
        Vault(settings.data_encryption_key.get_secret_value().encode()),
        other.user.id,
        now=clock.now(),
        phone="+79160000051",
        email="other@example.org",
        document="4510 515151",
    )
    await add_by_number(other, "ONDL-500001")
    assert "Добавлено" in other.text
    await add_by_number(chat, "ONDL-500001")
    assert "привязан к другому кабинету" in chat.text
    await chat.tap("🪪 Подтвердить личность")
    await upload_all_after_start(chat)
    await chat.tap("📨 Отправить на проверку")
    [card] = [t for t in desk_texts(chat) if "Проверка личности" in t]
    assert "Полис привязан к другому кабинету." in card
    await operator_of(chat).tap("✅ Подтвердить")
    told: list[str] = []
    await run_courier(sessions, clock, Desk(bot), recording(bot, told))
    assert any("Полис ONDL-500001 добавлен в кабинет" in t for t in told)
    assert any("Полис ONDL-500001 больше не в вашем кабинете" in t for t in told)
