"""Identity check: the person uploads three images, an operator decides in the forum group."""

from __future__ import annotations

import re
from datetime import timedelta

from aiogram import Bot, Dispatcher
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.accounts.identity import IdentityCheck, IdentityFile, purge_expired_files
from core.accounts.models import Account
from core.clock import FrozenClock
from core.jobs import scheduled_ticks
from core.notifications.delivery import deliver
from tests.conftest import OPERATOR_ID, OPERATORS_CHAT
from tests.dialog import ChatClient
from tests.files import HEIC, HTML, JPEG

SCAN = b"%PDF-1.4 passport main page 4506 987654"


async def upload_all(chat: ChatClient) -> None:
    await chat.send("/verify")
    assert "селфи с паспортом" in chat.text
    assert "☐ Паспорт: главная страница" in chat.text
    assert "Теперь отправьте: Паспорт: главная страница" in chat.text
    await chat.upload("passport.pdf", SCAN)
    assert "✅ Паспорт: главная страница" in chat.text and "Теперь отправьте: Селфи" in chat.text
    await chat.upload("selfie.jpg", JPEG, photo=True)
    await chat.upload("registration.png", b"\x89PNG registration")
    assert "Все три файла на месте" in chat.text
    assert "📨 Отправить на проверку" in chat.inline_buttons


async def test_uploads_refuse_wrong_input_and_can_be_replaced(
    chat: ChatClient, registered: Account
) -> None:
    await chat.send("/verify")
    await chat.send("вот мой паспорт")
    assert "отправьте фото или файл JPEG, PNG, HEIC или PDF" in chat.text
    await chat.upload("scan.gif", b"GIF89a", mime_type="image/gif")
    assert "Это не фото и не скан" in chat.text
    await chat.upload("huge.pdf", b"%PDF", size=11 * 1024 * 1024)
    assert "больше 10 МБ" in chat.text
    assert not chat.sent("getFile"), "too big: refused before downloading"

    await chat.upload("passport.pdf", SCAN)
    await chat.tap("🔁 Заменить: Паспорт: главная страница")
    assert "Отправьте заново: Паспорт: главная страница" in chat.text
    await chat.upload("passport-better.pdf", SCAN + b" sharper")
    assert "✅ Паспорт: главная страница" in chat.text


async def test_files_are_taken_by_their_bytes_and_kept_under_our_names(
    chat: ChatClient, registered: Account, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """Issue 20: HTML named passport_scan.html declared image/png was accepted and posted to
    the operators as HTML; a genuine .jpg sent as application/octet-stream was refused."""
    await chat.send("/verify")
    await chat.upload("passport_scan.html", HTML, mime_type="image/png")
    assert "Это не фото и не скан" in chat.text
    await chat.upload("scan.png", HTML, mime_type="image/png")
    assert "Это не фото и не скан" in chat.text, "the name does not help either"
    await chat.upload("IMG_0001.jpg", JPEG, mime_type="application/octet-stream")
    assert "✅ Паспорт: главная страница" in chat.text
    await chat.upload("IMG_0002.HEIC", HEIC, mime_type="application/octet-stream")
    assert "✅ Селфи" in chat.text
    await chat.upload("scan", SCAN, mime_type="text/html")
    assert "Все три файла на месте" in chat.text
    async with sessions() as session:
        files = (await session.scalars(select(IdentityFile).order_by(IdentityFile.id))).all()
    assert [(f.kind, f.mime_type) for f in files] == [
        ("passport", "image/jpeg"),
        ("selfie", "image/heic"),
        ("registration", "application/pdf"),
    ]
    assert [re.sub(r"[0-9a-f]{12}", "*", f.filename) for f in files] == [
        "passport-*.jpg",
        "selfie-*.heic",
        "registration-*.pdf",
    ]

    await chat.tap("📨 Отправить на проверку")
    names = [d.document.filename for d in chat.sent("sendDocument")]  # type: ignore[attr-defined]
    assert names == [f.filename for f in files], "the operators see our names, not the sender's"


async def told(sessions: async_sessionmaker[AsyncSession], clock: FrozenClock) -> list[str]:
    texts: list[str] = []

    async def send(chat_id: int, text: str, actions: object = ()) -> None:
        texts.append(text)

    await deliver(sessions, send, clock.now())
    return texts


async def test_review_by_an_operator_and_the_answer(
    dp: Dispatcher,
    bot: Bot,
    chat: ChatClient,
    registered: Account,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    await upload_all(chat)
    await chat.tap("📨 Отправить на проверку")
    assert "Ваша заявка рассматривается, ответ будет дан в течение суток." in chat.text
    [topic] = chat.sent("createForumTopic")
    assert topic.chat_id == OPERATORS_CHAT  # type: ignore[attr-defined]
    documents = chat.sent("sendDocument")
    assert documents[0].document.data == SCAN  # type: ignore[attr-defined]
    assert {d.chat_id for d in documents} == {OPERATORS_CHAT}  # type: ignore[attr-defined]
    [card] = [c for c in chat.sent("sendMessage") if c.chat_id == OPERATORS_CHAT]  # type: ignore[attr-defined]
    assert "Иванова Анна Сергеевна" in card.text and "45 ** ****54" in card.text  # type: ignore[attr-defined]
    assert "987654" not in card.text  # type: ignore[attr-defined]

    await chat.send("/verify")
    assert "рассматривается" in chat.text, "one check at a time"

    async with sessions() as session:
        raw = b"".join(
            r[0] for r in (await session.execute(text("SELECT content FROM identity_files"))).all()
        )
    assert b"4506 987654" not in raw, "stored encrypted"

    stranger = ChatClient(dp, bot, user_id=5555, first_name="Гость", group_id=OPERATORS_CHAT)
    await stranger.callback("idd:1:1:", card)
    assert "только операторы" in stranger.text

    operator = ChatClient(dp, bot, user_id=OPERATOR_ID, first_name="Ольга", group_id=OPERATORS_CHAT)
    await operator.tap("❌ Отклонить")
    assert "на селфи не видно лица" in operator.inline_buttons
    await operator.tap("на селфи не видно лица")
    assert "Отклонено (Ольга): на селфи не видно лица" in operator.text
    [notice] = await told(sessions, clock)  # through the outbox, in the person's language
    assert "не пройдена: на селфи не видно лица" in notice

    await operator.callback("idd:1:1:", card)
    assert "уже принято решение" in operator.text, "decided once"

    async with sessions() as session:
        check = await session.scalar(select(IdentityCheck))
        assert check is not None and check.status == "rejected" and check.decided_by == OPERATOR_ID
        assert await purge_expired_files(session, now=clock.now() + timedelta(days=29)) == 0
        assert await purge_expired_files(session, now=clock.now() + timedelta(days=30)) == 3
        assert (await session.scalars(select(IdentityFile))).all() == []


async def test_approval_reaches_the_person_in_their_language(
    dp: Dispatcher,
    bot: Bot,
    chat: ChatClient,
    registered: Account,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    await upload_all(chat)
    await chat.tap("📨 Отправить на проверку")
    operator = ChatClient(
        dp,
        bot,
        user_id=OPERATOR_ID,
        first_name="Ольга",
        language_code="en",
        group_id=OPERATORS_CHAT,
    )
    await operator.tap("✅ Подтвердить")  # the group speaks the insurer's default language
    assert "Подтверждено: Ольга" in operator.text
    [notice] = await told(sessions, clock)
    assert "Личность подтверждена" in notice


async def test_messages_in_the_operators_group_are_not_answered_as_private(
    dp: Dispatcher, bot: Bot
) -> None:
    operator = ChatClient(dp, bot, user_id=OPERATOR_ID, first_name="Ольга", group_id=OPERATORS_CHAT)
    await operator.send("коллеги, привет")
    assert operator.calls == []


async def test_the_hourly_tick_erases_files_after_the_retention(
    chat: ChatClient,
    dp: Dispatcher,
    bot: Bot,
    registered: Account,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    await upload_all(chat)
    await chat.tap("📨 Отправить на проверку")
    operator = ChatClient(dp, bot, user_id=OPERATOR_ID, first_name="Ольга", group_id=OPERATORS_CHAT)
    await operator.tap("✅ Подтвердить")

    tick, seconds = scheduled_ticks(sessions, clock)["purge_identity_files"]
    assert seconds == 3600
    await tick()
    async with sessions() as session:
        assert len((await session.scalars(select(IdentityFile))).all()) == 3
    clock.advance(timedelta(days=30))
    await tick()
    async with sessions() as session:
        assert (await session.scalars(select(IdentityFile))).all() == []
