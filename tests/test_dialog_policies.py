"""My policies, driven as a person would: add by number, by passport, a child's; the card."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.callbacks import PolicyCallback
from core.accounts.models import Account
from core.clock import FrozenClock
from core.policies.models import Policy, PolicyLink
from tests.conftest import seed_demo
from tests.dialog import ChatClient


async def add_by_number(chat: ChatClient, number: str) -> None:
    await chat.send("/policies")
    await chat.tap("➕ Добавить полис")
    await chat.tap("По номеру полиса")
    await chat.send(number)


async def child_policy_left_halfway(
    chat: ChatClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """Anna (the demo data loaded, her ONDL-500001 added) begins her son's policy ONDL-500002
    and stops at his first name: the surname «Иванов» is in the draft."""
    await seed_demo(sessions)
    await add_by_number(chat, "ONDL-500001")
    await chat.send("/policies")
    await chat.tap("➕ Добавить полис")
    await chat.tap("Полис ребёнка")
    await chat.send("ONDL-500002")
    await chat.send("Иванов")


async def test_first_policy_by_number_then_the_others_by_passport(
    chat: ChatClient, registered: Account, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await seed_demo(sessions)
    await chat.send("/start")
    await chat.tap("📋 Мои полисы")
    assert "пока нет полисов" in chat.text
    await chat.tap("➕ Добавить полис")
    assert chat.inline_buttons[:3] == ["По номеру полиса", "По паспортным данным", "Полис ребёнка"]
    assert "второй и следующие полисы" in chat.text, "passport search only for later policies"
    await chat.tap("По номеру полиса")
    await chat.send("ondl-500001")
    assert "Добавлено: ONDL-500001" in chat.text
    assert "🟡 временная франшиза до 24.11.2026" in chat.text, "14 days from 10.11.2026"
    assert "Франшиза (соплатёж): 20%" in chat.text and "Врач-куратор" not in chat.text
    await chat.tap("📖 Подробнее")  # a long card keeps its contacts a tap away
    assert "Врач-куратор" in chat.text and "Полис № ONDL-500001 · Анна" in chat.text

    await chat.send("/policies")
    await chat.tap("➕ Добавить полис")
    assert chat.inline_buttons[:3] == ["По номеру полиса", "По паспортным данным", "Полис ребёнка"]
    await chat.tap("По паспортным данным")
    assert "Добавлено полисов: 2 ✅" in chat.text and "🟢 действует" in chat.text
    await chat.tap("DMS-K-2026-0001 · Анна")
    assert "страхователь ООО «Ромашка»" in chat.text

    await chat.send("/policies")
    assert "ONDL-500001" in chat.text and "DMS-K-2026-0001" not in chat.text, "a screen's worth"
    assert "DMS-K-2026-0001 · Анна" in chat.inline_buttons
    await chat.tap("📖 Ещё")  # three policies are longer than a screen
    assert "DMS-K-2026-0001" in chat.text and "⬅️ Назад" in chat.inline_buttons
    await chat.send("📋 Мои полисы")
    await chat.tap("DMS-K-2026-0001 · Анна")
    assert "Программа: Корпоративный ДМС «Оптимум» (Москва)" in chat.text
    assert "Виды помощи: Амбулаторно-поликлиническая помощь, Стоматологическая помощь" in chat.text


async def test_refusals(
    chat: ChatClient, registered: Account, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await seed_demo(sessions)
    await add_by_number(chat, "NO-SUCH-1")
    assert "Полиса с таким номером нет" in chat.text
    await chat.send("DMS-K-2026-0002")
    assert "не совпадают с полисом" in chat.text and "Петров" not in chat.text
    assert chat.inline_buttons == ["🪪 Подтвердить личность"]
    await chat.send("ONDL-400001")  # Sidorov's expired policy: a mismatch like any other's
    assert "не совпадают с полисом" in chat.text and "истёк" not in chat.text
    for number in ("X-1", "X-2"):  # five failed lookups in all
        await chat.send(number)
    await chat.send("ONDL-500001")
    assert "Слишком много попыток" in chat.text and "по Москве" in chat.text


async def test_a_childs_policy(
    chat: ChatClient,
    registered: Account,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    await seed_demo(sessions)
    await add_by_number(chat, "ONDL-500001")
    await chat.send("/policies")
    await chat.tap("➕ Добавить полис")
    await chat.tap("Полис ребёнка")
    await chat.send("ONDL-500002")
    await chat.send("иванов")
    await chat.send("Михаил")
    await chat.tap("Нет отчества")
    await chat.send("10.03.2016")
    # The child has a patronymic on the policy: the child's data are asked again, the number
    # kept; nothing about the parent's own profile or identity check.
    assert "Данные ребёнка не совпадают с полисом" in chat.text
    assert "Фамилия ребёнка" in chat.text and "профил" not in chat.text
    assert chat.inline_buttons == [] and "✖️ Отмена" in chat.reply_keyboard
    await chat.send("Иванов")
    await chat.send("Михаил")
    await chat.send("Андреевич")
    await chat.send("вчера")
    assert "Не удалось распознать дату" in chat.text, "bad input keeps the step"
    await chat.send("10.03.2016")
    assert "Добавлено: ONDL-500002" in chat.text
    await chat.send("/policies")
    assert "Доктор Лайк (детский)" in chat.text and "· Михаил" in chat.text

    # The same child's policy once more: refused, and the form ends with the menu back (the
    # step's «Cancel» stayed on the keyboard before).
    await chat.tap("➕ Добавить полис")
    await chat.tap("Полис ребёнка")
    for typed in ("ONDL-500002", "Иванов", "Михаил", "Андреевич", "10.03.2016"):
        await chat.send(typed)
    assert "уже есть в вашем кабинете" in chat.text
    assert "📋 Мои полисы" in chat.reply_keyboard and "✖️ Отмена" not in chat.reply_keyboard

    async with sessions() as session:
        links = (await session.scalars(select(PolicyLink).order_by(PolicyLink.id))).all()
    assert [link.as_child for link in links] == [False, True]


async def test_someone_elses_childs_policy_is_refused_alike_whatever_was_typed_and_forgotten(
    chat: ChatClient, registered: Account, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await seed_demo(sessions)
    await add_by_number(chat, "ONDL-500001")
    refusals = []
    for birth in ("06.05.2012", "05.05.2012"):  # a wrong date, then Петров's daughter's own
        await chat.send("/policies")
        await chat.tap("➕ Добавить полис")
        await chat.tap("Полис ребёнка")
        if "Продолжить" in " ".join(chat.inline_buttons):
            raise AssertionError(f"a refused draft is offered again: {chat.inline_buttons}")
        for typed in ("DMS-K-2026-0003", "Петрова", "Ольга", "Ивановна", birth):
            await chat.send(typed)
        refusals.append(chat.text)
        assert "📋 Мои полисы" in chat.reply_keyboard, "the form ended with the menu back"
    assert refusals[0] == refusals[1], "the refusal tells nothing about the child's data"
    assert "не указаны законным представителем ребёнка" in refusals[0]
    assert "не совпадают" not in refusals[0]


async def test_another_persons_policy_id_in_a_button_no_longer_works(
    chat: ChatClient, registered: Account, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await seed_demo(sessions)
    async with sessions() as session:
        foreign = await session.scalar(select(Policy).where(Policy.number == "DMS-K-2026-0002"))
    assert foreign is not None
    await chat.callback(PolicyCallback(id=foreign.id).pack())
    assert "кнопка больше не действует" in chat.text and "Петров" not in chat.text


async def test_policies_before_registration_lead_to_it(chat: ChatClient) -> None:
    await chat.send("/policies")
    assert "Раздел откроется после регистрации" in chat.text
    assert chat.inline_buttons == ["Продолжить регистрацию"]
