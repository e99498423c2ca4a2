"""The policy card's documents, program and clinics, driven as a person would."""

from __future__ import annotations

import io

from aiogram.methods import SendDocument
from aiogram.types import BufferedInputFile
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.callbacks import PolicyDocumentCallback
from core.accounts.models import Account
from core.documents.compose import DocumentKind
from core.policies.models import Policy, PolicyLink
from tests.conftest import seed_demo
from tests.dialog import ChatClient
from tests.test_dialog_policies import add_by_number


def sent_pdf(chat: ChatClient) -> str:
    [call] = chat.sent("sendDocument")
    assert isinstance(call, SendDocument) and isinstance(call.document, BufferedInputFile)
    assert call.document.filename.endswith(".pdf")
    reader = PdfReader(io.BytesIO(call.document.data))
    return "\n".join(page.extract_text() for page in reader.pages)


async def test_the_card_sends_the_policy_memo_and_program_as_pdf(
    chat: ChatClient, registered: Account, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await seed_demo(sessions)
    await add_by_number(chat, "ONDL-500001")
    assert chat.inline_buttons == [
        "📖 Подробнее",
        "📄 Полис (PDF)",
        "📘 Памятка (PDF)",
        "📋 Программа (PDF)",
        "✅ Что покрыто",
        "🏥 Клиники программы",
        "🧾 Услуги",
        "🗺 Регионы",
        "💳 Франшиза и карты",
        "💬 Обращение",
        "⬅️ Мои полисы",
    ]
    await chat.tap("📄 Полис (PDF)")
    text = sent_pdf(chat)
    assert "Полис ДМС № ONDL-500001" in text and "Иванова Анна Сергеевна" in text
    assert "Застрахованы визиты с" in text and "24.11.2026" in text

    await chat.send("/policies")
    await chat.tap("ONDL-500001 · Анна")
    await chat.tap("📄 Полис (PDF)")
    [again] = chat.sent("sendDocument")
    assert again.document == "sent-1", "the second tap sends Telegram's copy, no new upload"

    await chat.tap("📘 Памятка (PDF)")
    memo = sent_pdf(chat)
    assert "Клиники вашей программы" in memo and "Клиника «Казань-Мед»" in memo


async def test_what_is_covered_and_the_clinics_of_the_program(
    chat: ChatClient, registered: Account, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await seed_demo(sessions)
    await add_by_number(chat, "ONDL-500001")
    await chat.tap("✅ Что покрыто")
    assert "Стоматологическая помощь" in chat.text and "Телемедицина" in chat.text
    assert chat.inline_buttons == ["📖 Ещё", "📋 Программа (PDF)", "⬅️ К полису", "🏠 Меню"]
    await chat.tap("📖 Ещё")  # the rest of a long screen, in place
    assert "Не покрывается" in chat.text and "Протезирование зубов" in chat.text
    assert "Визиты становятся страховыми случаями с 24.11.2026" in chat.text
    assert chat.inline_buttons == [
        "⬅️ Предыдущая страница",
        "📋 Программа (PDF)",
        "⬅️ К полису",
        "🏠 Меню",
    ]
    await chat.tap("📋 Программа (PDF)")
    assert "Франшиза (соплатёж): 20%" in sent_pdf(chat)

    await add_by_number(chat, "ONDL-500001")  # back to the card
    await chat.tap("🏥 Клиники программы")
    assert "Выберите вид помощи" in chat.text
    await chat.tap("Стоматологическая помощь")
    assert (
        "Сейчас вам не открыта ни одна клиника для этого вида помощи: временная франшиза: "
        "обращения страхуются с 24.11.2026." in chat.text
    ), "the waiting period, said once for the whole list"
    await chat.tap("👁 Показать и недоступные")
    assert "Клиник: 4." in chat.text
    assert (
        "⛔ Клиника «Казань-Мед»: временная франшиза: обращения страхуются с 24.11.2026"
        in chat.text
    )
    await chat.tap("⛔ Клиника «Казань-Мед»")
    [venue] = chat.sent("sendVenue")
    assert venue.title == "Клиника «Казань-Мед»"  # type: ignore[attr-defined]
    assert (
        "🩺 По полису ONDL-500001: Амбулаторная помощь" in chat.text
        or "Стоматологическая помощь" in chat.text
    )
    assert "Сейчас недоступна: временная франшиза" in chat.text


async def test_the_travel_policy_asks_for_the_latin_name_and_keeps_it(
    chat: ChatClient, registered: Account, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await seed_demo(sessions)
    await add_by_number(chat, "VZR-2026-000123")
    assert chat.inline_buttons == [
        "📄 Полис ВЗР (PDF)",
        "🚨 Заявить о страховом случае",
        "⬅️ Мои полисы",
    ]
    await chat.tap("📄 Полис ВЗР (PDF)")
    assert "как в загранпаспорте" in chat.text and "IVANOVA ANNA" in chat.text
    assert chat.inline_buttons == ["✅ IVANOVA ANNA"]
    await chat.send("Иванова Анна")
    assert "латинскими буквами" in chat.text
    await chat.send("ivanova  anna-maria")
    assert "Сохранено: IVANOVA ANNA-MARIA" in chat.text
    text = sent_pdf(chat)
    assert "IVANOVA ANNA-MARIA" in text and "VZR-2026-000123" in text
    async with sessions() as session:
        link = await session.scalar(select(PolicyLink))
    assert link is not None and link.latin_name == "IVANOVA ANNA-MARIA"

    await chat.send("/policies")
    await chat.tap("VZR-2026-000123 · Анна")
    await chat.tap("📄 Полис ВЗР (PDF)")
    assert chat.sent("sendDocument"), "the saved name is used without asking again"


async def test_the_proposed_latin_name_is_one_tap(
    chat: ChatClient, registered: Account, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await seed_demo(sessions)
    await add_by_number(chat, "VZR-2026-000123")
    await chat.tap("📄 Полис ВЗР (PDF)")
    await chat.tap("✅ IVANOVA ANNA")
    assert "IVANOVA ANNA" in sent_pdf(chat)


async def test_another_persons_document_no_longer_works(
    chat: ChatClient, registered: Account, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await seed_demo(sessions)
    async with sessions() as session:
        foreign = await session.scalar(select(Policy).where(Policy.number == "DMS-K-2026-0002"))
    assert foreign is not None
    await chat.callback(PolicyDocumentCallback(id=foreign.id, kind=DocumentKind.POLICY).pack())
    assert "кнопка больше не действует" in chat.text and not chat.sent("sendDocument")


async def test_a_program_name_with_its_own_quotes_nests_them_as_russian_does(
    chat: ChatClient, registered: Account, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """«Программа «Корпоративный ДМС «Оптимум» (Москва)»» read as three quotes opened and two
    closed (a walker's find); the inner ones are „…“ now."""
    await seed_demo(sessions)
    await add_by_number(chat, "DMS-K-2026-0001")
    await chat.tap("✅ Что покрыто")
    assert chat.text.startswith("<b>Программа «Корпоративный ДМС „Оптимум“ (Москва)»</b>")
