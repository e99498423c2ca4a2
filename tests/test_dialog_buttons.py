"""Buttons a person can trust (issue 15 items 5 and 6): a harmless repeat is a quiet no-op;
forged or malformed callback data changes nothing, raises nothing and says the button no
longer works."""

from __future__ import annotations

import asyncio
import logging

import pytest
from aiogram import Dispatcher
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import callbacks
from core.accounts.models import Account, Consent, User
from core.policies.models import Policy
from tests.conftest import seed_demo
from tests.dialog import ChatClient, RecordingMailer
from tests.test_dialog_registration import register_until_consents

APOLOGY = "Что-то пошло не так"
STALE = "больше не действует"


def errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        f"{r.getMessage()} {r.exc_info[1]!r}" if r.exc_info else r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.ERROR
    ]


def alert(chat: ChatClient) -> str:
    answers = chat.sent("answerCallbackQuery")
    assert len(answers) == 1, "every tap gets exactly one answer"
    return str(answers[0].text or "")  # type: ignore[attr-defined]


async def consents_given(sessions: async_sessionmaker[AsyncSession]) -> list[str]:
    async with sessions() as session:
        return sorted((await session.scalars(select(Consent.kind))).all())


# --- item 5: a harmless repeat ----------------------------------------------------------------
async def test_retapping_the_chosen_language_is_quiet(
    chat: ChatClient, caplog: pytest.LogCaptureFixture
) -> None:
    await chat.send("/language")
    await chat.tap("✓ 🇷🇺 Русский")
    assert "уже выбран" in alert(chat)
    assert not chat.sent("sendMessage") and not chat.sent("editMessageReplyMarkup")
    await chat.tap("✓ 🇷🇺 Русский")
    assert APOLOGY not in chat.text and not errors(caplog)


async def test_an_edit_that_changes_nothing_is_done_not_an_error(
    chat: ChatClient, registered: Account, caplog: pytest.LogCaptureFixture
) -> None:
    """The one place: the current time zone tapped again asks Telegram for the same buttons."""
    await chat.send("/profile")
    await chat.tap("🔔 Уведомления")
    await chat.tap("🕰 Часовой пояс: Москва (UTC+3)")
    await chat.tap("✅ Москва (UTC+3)")
    assert chat.sent("editMessageReplyMarkup"), "the edit was asked for"
    assert "Часовой пояс: Москва" in alert(chat)
    assert APOLOGY not in chat.text and not errors(caplog)


async def test_start_at_the_summary_comes_back_to_the_summary_and_old_consents_are_quiet(
    chat: ChatClient,
    mailbox: RecordingMailer,
    sessions: async_sessionmaker[AsyncSession],
    caplog: pytest.LogCaptureFixture,
) -> None:
    await register_until_consents(chat, mailbox)
    consents_message = next(
        c for c in reversed(chat.session.calls) if "Согласия" in str(getattr(c, "text", ""))
    )
    await chat.tap("☐ Обработка персональных данных")
    await chat.callback("cns:personal_data", consents_message)  # the same tap again
    assert APOLOGY not in chat.text and not chat.sent("editMessageReplyMarkup")
    await chat.tap("☐ Обработка сведений о здоровье")
    await chat.tap("☐ Пользовательское соглашение")
    await chat.tap("Продолжить ➡️")
    assert "Проверьте, пожалуйста, данные" in chat.text

    await chat.send("/start")
    await chat.send("📝 Регистрация")
    assert "Продолжим с того места" in chat.text
    assert "Проверьте, пожалуйста, данные" in chat.text, "the consents stand: back to the summary"
    await chat.callback("cns:health_data", consents_message)  # a button of an earlier step
    assert STALE in alert(chat)
    assert await consents_given(sessions) == ["health_data", "personal_data", "user_agreement"]
    assert not errors(caplog)


# --- item 6: forged or malformed callback data ------------------------------------------------
async def test_a_consent_callback_outside_the_step_stores_nothing(
    chat: ChatClient,
    mailbox: RecordingMailer,
    sessions: async_sessionmaker[AsyncSession],
    caplog: pytest.LogCaptureFixture,
) -> None:
    await chat.send("/start")
    await chat.callback("cns:autopay")
    assert STALE in alert(chat)
    await register_until_consents(chat, mailbox)
    await chat.callback("cns:autopay")  # at the consents step, but not a consent it asks
    assert STALE in alert(chat)
    await chat.callback("cns:everything")
    assert STALE in alert(chat)
    assert await consents_given(sessions) == []
    assert not errors(caplog)


FORGED = [
    "cl:99999999999999999999999:0",  # beyond any integer column (SQLite overflow)
    "pc:9223372036854775808:card",
    "pc:-1:card",
    "pc:1:steal",  # no such action
    "bk:1:1:0:0:20261399:0:0",  # no 99th of the 13th month
    "bk:1:1:0:0:99999999999:0:0",
    "bk:::::1111111111111111111111111::",  # OverflowError, not ValueError, in date()
    "sv:1:0:100000",  # a century of months: a date out of range
    "lang:de",
    "tzn:Mars/Olympus",
    "al:open:abc:0:0:0",
    "al:rate:1:99:0",
    "an:bribe:0:0:0",
    "hp:secret:",
    "hp:care:<b>",
    "hp:care:zzz",
    "hp:faq:zzz",
    "rg:pick:0:77777:0",
    "cc:1:plutonium:0:0",
    "idn:submit:fingerprint",
    "lang:ru:extra",
    "af:1",  # "Send" of an appeal form that is gone
    "garbage",
    "",
]


@pytest.mark.parametrize("data", FORGED)
async def test_forged_callback_data_is_a_stale_button(
    data: str,
    chat: ChatClient,
    registered: Account,
    sessions: async_sessionmaker[AsyncSession],
    caplog: pytest.LogCaptureFixture,
) -> None:
    await seed_demo(sessions)
    async with sessions() as session:
        before = await session.get(User, registered.user_id)
        assert before is not None
        language, zone = before.language, before.time_zone
    caplog.set_level(logging.INFO)
    await chat.callback(data)
    assert STALE in alert(chat)
    assert APOLOGY not in chat.text and not errors(caplog)
    assert any(
        r.levelno == logging.INFO and "callback data" in r.getMessage() for r in caplog.records
    )
    async with sessions() as session:
        after = await session.get(User, registered.user_id)
        assert after is not None and (after.language, after.time_zone) == (language, zone)


async def test_another_persons_policy_in_a_forged_button_tells_nothing(
    chat: ChatClient,
    registered: Account,
    sessions: async_sessionmaker[AsyncSession],
    caplog: pytest.LogCaptureFixture,
) -> None:
    await seed_demo(sessions)
    async with sessions() as session:
        petrov = await session.scalar(select(Policy).where(Policy.number == "DMS-K-2026-0002"))
    assert petrov is not None
    await chat.callback(f"pc:{petrov.id}:card")
    assert "Петров" not in chat.text and "DMS-K-2026-0002" not in chat.text
    assert APOLOGY not in chat.text and not errors(caplog)


# Any payload: a known prefix with fields drawn from valid, huge, negative, malformed values.
FIELD = st.one_of(
    st.sampled_from(["", "0", "1", "2", "-1", "1" * 25, "20261231", "20260230", "ru", "en"]),
    st.sampled_from(["card", "open", "rate", "list", "pick", "consent", "autopay", "care"]),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.integers(min_value=2**31, max_value=2**70).map(str),
    st.text(alphabet=st.characters(blacklist_characters=":", codec="utf-8"), max_size=8),
)
FACTORIES = sorted(
    (
        cls
        for cls in vars(callbacks).values()
        if isinstance(cls, type)
        and issubclass(cls, callbacks.CallbackData)
        and cls is not callbacks.CallbackData
    ),
    key=lambda cls: cls.__prefix__,
)


def _forge(cls: type[callbacks.CallbackData]) -> st.SearchStrategy[str]:
    """The prefix of a real factory with as many fields as it has, each drawn from FIELD."""
    count = len(cls.model_fields)
    return st.lists(FIELD, min_size=count, max_size=count).map(
        lambda fields: ":".join([cls.__prefix__, *fields])
    )


FORGED_PAYLOAD = st.sampled_from(FACTORIES).flatmap(_forge)
PAYLOAD = st.one_of(FORGED_PAYLOAD, FORGED_PAYLOAD, FORGED_PAYLOAD, st.text(max_size=64)).filter(
    lambda data: 0 < len(data.encode()) <= 64
)


async def test_random_callback_data_never_breaks_the_dispatcher(
    chat: ChatClient,
    registered: Account,
    sessions: async_sessionmaker[AsyncSession],
    dp: Dispatcher,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await seed_demo(sessions)
    await chat.send("/policies")
    await chat.tap("➕ Добавить полис")
    await chat.tap("По номеру полиса")
    await chat.send("ONDL-500001")
    loop = asyncio.get_running_loop()
    seen: list[str] = []

    @settings(
        max_examples=300,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    @given(PAYLOAD)
    @example("frc:1:1111111111111111111111111")  # a card id past PostgreSQL's integer (found so)
    def tap(data: str) -> None:
        seen.append(data)
        caplog.clear()
        asyncio.run_coroutine_threadsafe(chat.callback(data), loop).result(timeout=30)
        assert chat.sent("answerCallbackQuery"), f"{data!r} was not answered"
        assert APOLOGY not in chat.text, data
        assert not errors(caplog), (data, errors(caplog))

    await asyncio.to_thread(tap)
    assert len(seen) >= 100
