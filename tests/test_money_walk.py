"""The defects of the last walk through the chat (issue 16), each driven as a person would: the
franchise before the regions in every clinic reason, the regions line as one sentence, the
region-opening message, the nearest clinics' policy, and the ways to add a policy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aiogram import Bot
from aiogram.types import InlineKeyboardMarkup
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.callbacks import ClinicCallback
from core.accounts.models import Account
from core.billing.regions import announce_regions
from core.billing.yookassa import YooKassa
from core.clinics.models import Clinic
from core.clock import FrozenClock
from core.policies.models import Policy
from tests.billing import bank, link_card, provider
from tests.conftest import seed_demo
from tests.dialog import ChatClient
from tests.test_dialog_franchise import dp, notifications
from tests.test_dialog_policies import add_by_number
from tests.test_dialog_regions_cards import delivered

__all__ = ["bank", "dp", "notifications", "provider"]

ACTIVATE = "✅ Активировать программу с франшизой"


async def clinic_card(
    chat: ChatClient, sessions: async_sessionmaker[AsyncSession], number: str, code: str
) -> None:
    async with sessions() as session:
        policy_id = await session.scalar(select(Policy.id).where(Policy.number == number))
        clinic_id = await session.scalar(select(Clinic.id).where(Clinic.code == code))
    assert policy_id is not None and clinic_id is not None
    await chat.callback(ClinicCallback(id=clinic_id, policy=policy_id).pack())


async def test_before_activation_every_clinic_and_the_card_ask_for_the_franchise_not_regions(
    chat: ChatClient,
    bot: Bot,
    registered: Account,
    sessions: async_sessionmaker[AsyncSession],
    provider: YooKassa,
    clock: FrozenClock,
) -> None:
    await seed_demo(sessions)
    # 25.11 12:00 Moscow time: the waiting period of ONDL-500001 is over, no franchise yet.
    clock.advance(datetime(2026, 11, 25, 9, 0, tzinfo=UTC) - clock.now())
    await add_by_number(chat, "ONDL-500001")
    card = chat.text
    assert "🗺 Регионы обслуживания: выбираются после активации программы с франшизой" in card
    assert "выберите регионы" not in card and "регионы: —" not in card
    assert "🗺 Регионы" in chat.inline_buttons and "🗺 Выбрать регионы" not in chat.inline_buttons

    # A clinic that is not franchise-only (MSK-001) and one that is (MSK-003): the franchise
    # first, and what comes after it (no region is chosen yet), so that the person is not
    # promised the clinic once the franchise is active.
    then = ", а затем нужно выбрать регионы обслуживания."
    for code in ("MSK-001", "MSK-003", "KZN-001"):
        await clinic_card(chat, sessions, "ONDL-500001", code)
        assert "Сейчас недоступна: нужна активация программы с франшизой" + then in chat.text, code
        assert ACTIVATE in chat.inline_buttons and "🗺 Выбрать регионы" not in chat.inline_buttons

    # The program's clinic list: no clinic open says why, with the action that opens them.
    await chat.send("/policies")
    await chat.tap("ONDL-500001 · Анна")
    await chat.tap("🏥 Клиники программы")
    await chat.tap("Амбулаторно-поликлиническая помощь")
    assert (
        "Сейчас вам не открыта ни одна клиника для этого вида помощи: нужна активация "
        "программы с франшизой" + then in chat.text
    )
    assert chat.inline_buttons[0] == ACTIVATE
    await chat.tap("👁 Показать и недоступные")
    reasons = [line for line in chat.text.splitlines() if line.startswith("⛔")]
    assert len(reasons) == 7, reasons
    assert all(
        line.endswith(": нужна активация программы с франшизой" + then[:-1]) for line in reasons
    )
    await chat.tap(ACTIVATE)
    assert "Даю согласие на автоматические списания" in chat.inline_buttons

    # The card linked: every clinic waits for the same instant, and the card says it.
    await link_card(sessions, provider, clock)
    await clinic_card(chat, sessions, "ONDL-500001", "MSK-001")
    assert "Сейчас недоступна: программа с франшизой действует с 26.11.2026" + then in chat.text
    await chat.send("/policies")
    assert "🗺 Регионы обслуживания: можно выбрать с 26.11.2026" in chat.text

    # Active, nothing chosen: "not chosen" and the button that chooses.
    clock.advance(datetime(2026, 11, 25, 21, 0, tzinfo=UTC) - clock.now())  # 26.11 00:00
    await chat.tap("ONDL-500001 · Анна")
    assert "🗺 Регионы обслуживания: не выбраны" in chat.text
    await clinic_card(chat, sessions, "ONDL-500001", "MSK-001")
    assert "её регион не входит в выбранные регионы обслуживания" in chat.text
    assert "🗺 Выбрать регионы" in chat.inline_buttons
    await chat.send("/policies")
    await chat.tap("ONDL-500001 · Анна")
    await chat.tap("🗺 Выбрать регионы")  # straight into the picker
    await chat.send("татар")
    await chat.tap("Республика Татарстан")
    await chat.tap("Подтвердить (1)")
    await chat.tap("✅ Подтвердить")
    await chat.tap("⬅️ К полису")
    assert "🗺 Регионы обслуживания: Республика Татарстан (с 27.11.2026)" in chat.text
    assert "—" not in chat.text.split("🗺 Регионы обслуживания")[1].splitlines()[0]

    # The opening message names the policy and the person, with the way to the clinics.
    clock.advance(timedelta(days=1, hours=10))  # 27.11 10:00 Moscow time
    async with sessions() as session:
        assert await announce_regions(session, clock.now()) == 1
    [opened] = [t for t in await delivered(sessions, bot, clock) if "регионов" in t]
    assert (
        "С сегодняшнего дня по полису ONDL-500001 (Анна) вам открыты клиники новых регионов "
        "обслуживания: Республика Татарстан." in opened
    )
    [call] = [c for c in chat.session.calls if "открыты клиники" in str(getattr(c, "text", ""))]
    markup = getattr(call, "reply_markup", None)
    assert isinstance(markup, InlineKeyboardMarkup)
    assert [b.text for row in markup.inline_keyboard for b in row] == ["🏥 Клиники программы"]
    await chat.tap("🏥 Клиники программы")
    await chat.tap("Амбулаторно-поликлиническая помощь")
    assert "Клиника «Казань-Мед»" in chat.inline_buttons
    await chat.send("/policies")
    assert "🗺 Регионы обслуживания: Республика Татарстан" in chat.text
    assert "(с 27.11.2026)" not in chat.text


async def test_the_nearest_clinics_name_the_policies_they_were_checked_against(
    chat: ChatClient, registered: Account, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await seed_demo(sessions)
    await add_by_number(chat, "DMS-K-2026-0001")
    await chat.share_location(55.7558, 37.6173)  # Red Square
    assert chat.text.startswith("Полис DMS-K-2026-0001 (Анна).\nБлижайшие к вам клиники")
    await chat.send("/policies")
    await chat.tap("➕ Добавить полис")
    await chat.tap("По паспортным данным")
    await chat.share_location(55.7558, 37.6173)
    assert "Полисы ONDL-500001 (Анна), ONFR-600001 (Анна), DMS-K-2026-0001 (Анна)." in chat.text


async def test_a_newcomer_sees_every_way_to_add_and_a_passport_find_is_one_message(
    chat: ChatClient, registered: Account, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await seed_demo(sessions)
    await chat.send("/policies")
    await chat.tap("➕ Добавить полис")
    assert chat.inline_buttons == [
        "По номеру полиса",
        "По паспортным данным",
        "Полис ребёнка",
        "⬅️ Мои полисы",
        "🏠 Меню",
    ]
    assert "• По паспортным данным — второй и следующие полисы." in chat.text
    await chat.tap("По паспортным данным")
    assert "Первый полис добавляется по номеру" in chat.text
    assert chat.inline_buttons[0] == "По номеру полиса"
    await chat.tap("⬅️ Назад")
    await chat.tap("Полис ребёнка")
    assert "Сначала добавьте свой полис ДМС" in chat.text, "refused before five questions"
    assert chat.inline_buttons[0] == "По номеру полиса"
    await chat.tap("По номеру полиса")
    await chat.send("ONDL-500001")
    assert "Добавлено: ONDL-500001" in chat.text

    await chat.send("/policies")
    await chat.tap("➕ Добавить полис")
    sent = len(chat.sent("sendMessage"))
    await chat.tap("По паспортным данным")
    assert len(chat.sent("sendMessage")) == sent + 1, "one message for every policy found"
    assert "Добавлено полисов: 2 ✅" in chat.text
    assert "ONFR-600001" in chat.text and "DMS-K-2026-0001" in chat.text
    assert chat.inline_buttons == ["ONFR-600001 · Анна", "DMS-K-2026-0001 · Анна", "📋 Мои полисы"]
    await chat.tap("DMS-K-2026-0001 · Анна")
    assert "страхователь ООО «Ромашка»" in chat.text


async def test_a_case_with_no_policy_to_file_it_on_offers_to_add_one(
    chat: ChatClient, registered: Account, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await seed_demo(sessions)
    await chat.send("/appeals")
    await chat.tap("🚨 Мои страховые случаи")
    await chat.tap("🚨 Заявить о страховом случае")
    assert "в вашем кабинете пока нет полисов" in chat.text
    assert chat.inline_buttons[:3] == ["➕ Добавить полис", "🛒 Купить полис", "☎️ Контакты"]
    await chat.tap("➕ Добавить полис")
    await chat.tap("По номеру полиса")
    await chat.send("VZR-2026-000123")
    await chat.send("/appeals")
    await chat.tap("🚨 Мои страховые случаи")
    await chat.tap("🚨 Заявить о страховом случае")
    await chat.tap("VZR-2026-000123 · Анна")
    await chat.send("20.11.2026")  # the policy is unpaid and valid from 20.12.2026
    assert "Случай не может быть заявлен" in chat.text
    assert chat.inline_buttons[:3] == ["➕ Добавить полис", "🛒 Купить полис", "☎️ Контакты"]


async def test_emergency_care_always_says_whom_to_call(
    chat: ChatClient,
    registered: Account,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """A walker found «Скорая и неотложная помощь» of a child's policy empty, with nothing but
    «show the unavailable ones», which was empty too: a dead end where it matters most."""
    await seed_demo(sessions)
    await add_by_number(chat, "ONDL-500001")  # the franchise not activated: no clinic open
    await chat.tap("🏥 Клиники программы")
    await chat.tap("Скорая и неотложная помощь")
    lines = chat.text.splitlines()
    assert lines[1].startswith("🚑 В экстренном случае звоните 103 (112 с мобильного)"), lines
    assert "пульт вызовет скорую помощь" in lines[1]
    await chat.tap("⬅️ Виды помощи")
    await chat.tap("Амбулаторно-поликлиническая помощь")
    assert "🚑" not in chat.text


async def test_an_unavailable_clinics_card_gives_its_programs_own_desk(
    chat: ChatClient, registered: Account, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """A walker's «⛔» card of ONFR-600001 gave the insurer's number, its open card the
    program's own 24/7 desk."""
    await seed_demo(sessions)
    await add_by_number(chat, "ONFR-600001")  # the franchise not activated: «Сокол» closed
    await clinic_card(chat, sessions, "ONFR-600001", "MSK-003")
    assert "Сейчас недоступна" in chat.text
    assert "☎️ Пульт 24/7: 8 800 100-00-19" in chat.text
