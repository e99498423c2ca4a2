"""Every text is safe to send (issue 15 item 7): user input escaped, Telegram's limits counted
as Telegram counts them, blank input refused. The test session refuses what Telegram refuses
(HTML that does not parse, texts over 4,096 UTF-16 units), so each step here is checked."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.texts import utf16_len
from core.accounts.models import Account
from core.appeals.models import Appeal, AppealMessage
from core.policies.models import Policy, Program
from tests.conftest import OPERATORS_CHAT, seed_demo
from tests.dialog import ChatClient, RecordingMailer
from tests.test_dialog_policies import add_by_number

APOLOGY = "Что-то пошло не так"


async def test_an_email_with_an_ampersand_finishes_registration(
    chat: ChatClient, mailbox: RecordingMailer, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """The finding: `a&b@example.org` was accepted, then the summary could not be sent."""
    await chat.send("/register")
    await chat.share_contact("+79161234567")
    await chat.send("a&b@example.org")
    await chat.send(mailbox.last_code("a&b@example.org"))
    for answer in ("Иванова", "Анна"):
        await chat.send(answer)
    await chat.tap("Нет отчества")
    await chat.send("15.01.1985")
    await chat.tap("Женский")
    await chat.tap("Паспорт РФ")
    await chat.send("45 06 987654")
    for consent in (
        "☐ Обработка персональных данных",
        "☐ Обработка сведений о здоровье",
        "☐ Пользовательское соглашение",
    ):
        await chat.tap(consent)
    await chat.tap("Продолжить ➡️")
    assert "a&amp;b@example.org" in chat.text, "escaped in the summary"
    await chat.tap("✅ Подтвердить")
    assert "Регистрация завершена" in chat.text and APOLOGY not in chat.text
    async with sessions() as session:
        account = await session.scalar(select(Account))
    assert account is not None and account.email == "a&b@example.org"

    await chat.send("/profile")
    assert "a&amp;b@example.org" in chat.text


async def test_an_appeal_of_2100_emoji_can_be_sent_and_read(
    chat: ChatClient,
    registered: Account,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """The finding: 2,100 emoji (4,200 UTF-16 units) made "Done" fail and left no Send."""
    text = "😡" * 2100
    await seed_demo(sessions)
    await add_by_number(chat, "ONDL-500001")
    await chat.send("/appeals")
    await chat.tap("➕ Новое обращение")
    await chat.tap("Жалоба")
    await chat.tap("ONDL-500001 · Анна")
    await chat.send(text)
    await chat.tap("Готово")
    assert "✅ Отправить" in chat.inline_buttons and APOLOGY not in chat.text
    assert "…" in chat.text, "the summary shows the start of the text"
    await chat.tap("✅ Отправить")
    assert "получено" in chat.text
    async with sessions() as session:
        message = await session.scalar(select(AppealMessage))
        appeal = await session.scalar(select(Appeal))
    assert message is not None and message.text == text, "the whole text is kept"
    assert appeal is not None

    to_desk = [
        str(c.text)  # type: ignore[attr-defined]
        for c in chat.calls
        if c.__api_method__ == "sendMessage" and getattr(c, "chat_id", None) == OPERATORS_CHAT
    ]
    assert len(to_desk) >= 2, "the card, then the rest of the text"
    assert sum(t.count("😡") for t in to_desk) == 2100, "the operators get every emoji"
    assert all(utf16_len(t) <= 4096 for t in to_desk)

    await chat.tap("💬 Мои обращения")
    await chat.tap(chat.inline_buttons[0])
    assert appeal.number in chat.text and APOLOGY not in chat.text, "the appeal still opens"


async def test_whitespace_and_zero_width_input_is_empty(
    chat: ChatClient, registered: Account, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await seed_demo(sessions)
    await chat.send("/appeals")
    await chat.tap("➕ Новое обращение")
    await chat.tap("Благодарность")
    await chat.send("\u200b\u200b\u200b\u200b\u200b\u200b\u2060\ufeff")
    assert "чуть подробнее" in chat.text
    await chat.send("\u3000 \u200b  \u200b\u200b")
    assert "чуть подробнее" in chat.text
    await chat.send("Спасибо врачу!")
    assert "✅ Отправить" in chat.inline_buttons

    await chat.send("🏥 Клиники")
    await chat.tap("🔎 По названию")
    await chat.send("\u200b\u200b\u200b")
    assert "хотя бы две буквы" in chat.text


async def test_a_policy_card_escapes_the_insurers_names(
    chat: ChatClient, registered: Account, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """Names loaded by the insurer (the policyholder, the program, the product) are data too:
    an ampersand or an angle bracket in them must not break the card."""
    await seed_demo(sessions)
    async with sessions() as session:
        policy = await session.scalar(select(Policy).where(Policy.number == "DMS-K-2026-0001"))
        assert policy is not None and policy.program_id is not None
        policy.policyholder = "ООО «Ромашка & Партнёры» <филиал>"
        policy.product = "Корпоративный ДМС <Плюс>"
        program = await session.get(Program, policy.program_id)
        assert program is not None
        program.name = "Корпоративная <Москва> & область"
        await session.commit()
    await add_by_number(chat, "DMS-K-2026-0001")
    assert APOLOGY not in chat.text
    assert "ООО «Ромашка &amp; Партнёры» &lt;филиал&gt;" in chat.text
    assert "Корпоративная &lt;Москва&gt; &amp; область" in chat.text
    assert "Корпоративный ДМС &lt;Плюс&gt;" in chat.text
