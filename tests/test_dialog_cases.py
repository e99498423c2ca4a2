"""Insured-event cases (issue 17 items 10-12): each kind asks its own questions; a case needs a
paid policy valid on the event date; the desk moves a case through its stages with buttons in
its topic (and an integrator by import), and every change reaches the person."""

from __future__ import annotations

from aiogram import Bot
from aiohttp import ClientSession
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.handlers.desk import topic_keeper
from bot.integration_web import IntegrationImports
from bot.web import create_web_app
from core.accounts.crypto import Vault
from core.accounts.models import Account
from core.appeals.models import Appeal, AppealStatus
from core.clock import FrozenClock
from core.config import Settings
from core.importers.load import import_kind
from core.notifications.outbox import OutboxMessage
from tests.conftest import OPERATORS_CHAT, TEST_KEY, seed_demo
from tests.dialog import ChatClient
from tests.files import JPEG
from tests.live import serving
from tests.test_dialog_desk import Desk, operator_of, recording, run_courier
from tests.test_dialog_policies import add_by_number

ANNA = {
    "surname": "Иванова",
    "first_name": "Анна",
    "patronymic": "Сергеевна",
    "birth_date": "15.01.1985",
    "document_type": "ru_passport",
    "document_number": "4506 987654",
}


async def anna_has(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock, **policy: str
) -> None:
    """A policy of Anna's loaded as the insurer's import would."""
    row = (
        {
            "contract": "retail",
            "policyholder": "Иванова Анна Сергеевна",
            "territory": "none",
            "paid": "true",
        }
        | ANNA
        | policy
    )
    async with sessions() as session:
        report = await import_kind(
            session,
            "policies",
            [(2, row)],
            vault=Vault(TEST_KEY.encode()),
            rules=None,  # type: ignore[arg-type]
            now=clock.now(),
        )
    assert not report.errors, report.errors


async def case_of(sessions: async_sessionmaker[AsyncSession], number: str) -> Appeal:
    async with sessions() as session:
        appeal = await session.scalar(select(Appeal).where(Appeal.number == number))
    assert appeal is not None
    return appeal


async def test_a_travel_case_on_an_unpaid_policy_not_yet_valid_is_refused_with_the_reason(
    chat: ChatClient, registered: Account, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await seed_demo(sessions)
    await add_by_number(chat, "VZR-2026-000123")
    await chat.send("/appeals")
    await chat.tap("🚨 Мои страховые случаи")
    await chat.tap("🚨 Заявить о страховом случае")
    await chat.tap("VZR-2026-000123 · Анна")
    assert "позвоните в ассистанс" in chat.text and "+7 495 100-00-30" in chat.text
    await chat.send("21.11.2026")
    assert "Случай не может быть заявлен" in chat.text
    assert "Полис VZR-2026-000123 не оплачен" in chat.text
    assert "пульт 8 800 100-00-00" in chat.text
    async with sessions() as session:
        assert await session.scalar(select(Appeal)) is None


async def test_each_kind_asks_its_own_questions_and_a_case_goes_through_every_stage(
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
        policy_number="XXX-0001",
        product="ОСАГО",
        kind="osago",
        valid_from="2026-01-01",
        valid_to="2026-12-31",
    )
    await anna_has(
        sessions,
        clock,
        policy_number="TRV-0002",
        product="ВЗР «Мир»",
        kind="travel",
        valid_from="2026-12-20",
        valid_to="2027-01-10",
    )
    await add_by_number(chat, "XXX-0001")
    await add_by_number(chat, "TRV-0002")

    await chat.send("/appeals")
    await chat.tap("🚨 Мои страховые случаи")
    await chat.tap("🚨 Заявить о страховом случае")
    await chat.tap("TRV-0002 · Анна")
    await chat.send("20.11.2026")
    assert "действует с 20.12.2026: он не покрывает событие 20.11.2026" in chat.text

    await chat.send("/appeals")
    await chat.tap("🚨 Мои страховые случаи")
    await chat.tap("🚨 Заявить о страховом случае")
    await chat.tap("XXX-0001 · Анна")
    await chat.send("20.11.2026")
    assert "Где это случилось" in chat.text
    await chat.send("Москва, Тверская 1")
    assert "Другой автомобиль" in chat.text or "другой автомобиль" in chat.text.lower()
    await chat.send("Kia Rio, А123ВС77, Ингосстрах")
    assert "Как оформлено ДТП" in chat.text
    await chat.tap("Европротокол")
    await chat.send("Въехал в меня сзади на светофоре.")
    assert "фото места и повреждений" in chat.text
    assert "повреждений" in chat.text
    await chat.upload("scene.jpg", JPEG, photo=True)
    await chat.tap("Готово")
    assert "Другой автомобиль: Kia Rio, А123ВС77, Ингосстрах" in chat.text
    assert "Оформлено: Европротокол" in chat.text
    await chat.tap("✅ Отправить")
    assert "Случай <b>С-26-000001</b> зарегистрирован" in chat.text and "(по Москве)" in chat.text
    receipt = next(c for c in chat.calls if "зарегистрирован" in str(getattr(c, "text", "")))
    labels = [b.text for row in receipt.reply_markup.inline_keyboard for b in row]  # type: ignore[attr-defined]
    assert labels == ["🚨 Мои страховые случаи"]
    card = next(t for t in chat.texts if "Страховой случай С-26-000001" in t)
    assert "Другой автомобиль: Kia Rio" in card and "Оформлено: Европротокол" in card
    thread = next(
        c.message_thread_id  # type: ignore[attr-defined]
        for c in chat.sent("sendMessage")
        if c.chat_id == OPERATORS_CHAT  # type: ignore[attr-defined]
    )

    operator, desk, person = operator_of(chat), Desk(bot), []  # type: ignore[var-annotated]
    await operator.tap("📄 Запросить документы")
    assert "Ответьте на это сообщение списком документов" in operator.text
    prompt = int((await case_of(sessions, "С-26-000001")).desk_prompt.split(":")[0])  # type: ignore[union-attr]
    await operator.send_in_topic(
        "Извещение о ДТП с подписями обоих водителей", thread, reply_to=prompt
    )
    assert "запросил(а) документы" in operator.text
    assert operator.sent("editForumTopic")[0].name.startswith("📄 С-26-000001")  # type: ignore[attr-defined]
    await run_courier(sessions, clock, desk, recording(bot, person))
    assert "нужны документы: Извещение о ДТП с подписями обоих водителей" in person[-1]
    await chat.tap("📎 Загрузить документы")
    assert "Отправьте документы по случаю С-26-000001" in chat.text
    await chat.upload("notice.pdf")
    assert "Добавлено в обращение С-26-000001" in chat.text

    await operator.tap("🔎 На рассмотрении")
    assert operator.sent("editForumTopic")[0].name.startswith("🔎 С-26-000001")  # type: ignore[attr-defined]
    await run_courier(sessions, clock, desk, recording(bot, person))
    assert "на рассмотрении" in person[-1]
    await operator.tap("💰 Выплата")
    prompt = int((await case_of(sessions, "С-26-000001")).desk_prompt.split(":")[0])  # type: ignore[union-attr]
    await operator.send_in_topic("на карту до 05.12", thread, reply_to=prompt)
    assert "Сначала напишите сумму" in operator.text
    await operator.send_in_topic("15 000 на карту до 05.12", thread, reply_to=prompt)
    assert "решение — выплата" in operator.text
    await run_courier(sessions, clock, desk, recording(bot, person))
    assert "Решение по случаю С-26-000001: выплата 15\xa0000 ₽." in person[-1]
    assert "на карту до 05.12" in person[-1]
    await operator.tap("✅ Закрыть")
    assert operator.sent("closeForumTopic")
    await run_courier(sessions, clock, desk, recording(bot, person))
    assert "Случай С-26-000001 закрыт" in person[-1]
    case = await case_of(sessions, "С-26-000001")
    assert case.status == AppealStatus.CLOSED and case.decision_amount == 1_500_000
    await chat.send("/appeals")
    await chat.tap("🚨 Мои страховые случаи")
    assert "С-26-000001 · XXX-0001 · закрыто" in chat.inline_buttons, "named by its policy"
    await chat.tap("С-26-000001 · XXX-0001 · закрыто")
    assert "Выплата: 15\xa0000 ₽" in chat.text
    assert "⬅️ Мои страховые случаи" in chat.inline_buttons
    await chat.tap("↩️ Открыть снова с сообщением")
    await chat.send("Выплата пришла не полностью.")
    assert chat.sent("reopenForumTopic")
    assert chat.sent("editForumTopic")[0].name.startswith("🔎 С-26-000001")  # type: ignore[attr-defined]
    case = await case_of(sessions, "С-26-000001")
    assert case.status == AppealStatus.IN_PROGRESS and case.stage == "review"


async def test_an_integrator_loads_the_stages_of_a_case_and_the_person_hears_each(
    chat: ChatClient,
    registered: Account,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    bot: Bot,
    settings: Settings,
) -> None:
    await seed_demo(sessions)
    await anna_has(
        sessions,
        clock,
        policy_number="PRP-0003",
        product="Имущество",
        kind="property",
        valid_from="2026-01-01",
        valid_to="2026-12-31",
    )
    await add_by_number(chat, "PRP-0003")
    await chat.send("/appeals")
    await chat.tap("🚨 Мои страховые случаи")
    await chat.tap("🚨 Заявить о страховом случае")
    await chat.tap("PRP-0003 · Анна")
    await chat.send("19.11.2026")
    assert "Адрес имущества" in chat.text
    await chat.send("Москва, Ленинский 10, кв. 5")
    await chat.send("Соседи сверху затопили кухню.")
    await chat.tap("Готово")
    await chat.tap("✅ Отправить")
    rows = [
        "number,stage,amount,detail",
        "С-26-000001,review,,",
        "С-26-000001,refused,,Событие не покрыто",
        "С-26-999999,review,,",
        "С-26-000001,paid,,",
    ]
    imports = IntegrationImports(sessions, None, settings.billing(), clock, "integr-8f2c")
    csv = {"Authorization": "Bearer integr-8f2c", "Content-Type": "text/csv"}
    async with serving(create_web_app(None, bot, imports=imports)) as base, ClientSession() as http:
        url = f"{base}/integration/import/cases"
        async with http.post(url, data="\n".join(rows).encode(), headers=csv) as response:
            report = await response.json()
        assert report["updated"] == 2 and [e["line"] for e in report["errors"]] == [4, 5]
        async with http.post(url, data="\n".join(rows[:3]).encode(), headers=csv) as response:
            assert (await response.json())["updated"] == 0, "the same file twice changes nothing"
    async with sessions() as session:
        kinds = list(await session.scalars(select(OutboxMessage.args)))
    before = len(chat.session.calls)
    await topic_keeper(bot, settings, sessions)()  # the scheduler's tick
    [renamed] = [c for c in chat.session.calls[before:] if c.__api_method__ == "editForumTopic"]
    assert renamed.name == "⛔ С-26-000001 · Страховой случай"  # type: ignore[attr-defined]
    before = len(chat.session.calls)
    await topic_keeper(bot, settings, sessions)()
    assert chat.session.calls[before:] == [], "a topic that shows its state is left alone"
    person: list[str] = []
    await run_courier(sessions, clock, Desk(bot), recording(bot, person))
    assert any("Случай С-26-000001 на рассмотрении" in t for t in person)
    assert any("отказ" in t and "Причина: Событие не покрыто" in t for t in person)
    assert len([k for k in kinds if k.get("stage")]) == 2
