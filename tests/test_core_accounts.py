"""Accounts: input rules, codes, consents, uniqueness, recovery, locking, encryption at rest."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.accounts.codes import (
    CodeBlocked,
    CodeExpired,
    NoCode,
    Purpose,
    ResendTooSoon,
    WrongCode,
    check_code,
    issue_code,
)
from core.accounts.consents import ConsentKind, current_consents, give_consent
from core.accounts.crypto import Vault, generate_key
from core.accounts.models import Consent, User
from core.accounts.registration import (
    AlreadyRegistered,
    MissingConsents,
    PersonalData,
    PersonalDataLocked,
    finish_recovery,
    get_account,
    lock_personal_data,
    register,
    start_recovery,
)
from core.accounts.users import TelegramProfile, touch_user
from core.accounts.validation import (
    DocumentType,
    InvalidInput,
    Problem,
    Sex,
    normalize_email,
    normalize_name,
    parse_birth_date,
    parse_document,
    parse_phone,
)
from core.notifications.outbox import OutboxMessage, OutboxStatus

NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
TODAY = NOW.date()


@pytest.fixture
def vault() -> Vault:
    return Vault(generate_key().encode())


@pytest.mark.parametrize(
    "typed",
    ["+7 916 123-45-67", "8 (916) 123-45-67", "89161234567", "9161234567", "7-916-123-45-67"],
)
def test_russian_mobile_numbers_in_any_writing(typed: str) -> None:
    assert parse_phone(typed) == "+79161234567"


@pytest.mark.parametrize(
    ("typed", "problem"),
    [
        ("123", Problem.PHONE_INVALID),
        ("телефон", Problem.PHONE_INVALID),
        ("+7 495 123-45-67", Problem.PHONE_NOT_MOBILE),
    ],
)
def test_bad_phones(typed: str, problem: Problem) -> None:
    with pytest.raises(InvalidInput) as error:
        parse_phone(typed)
    assert error.value.problem is problem


def test_email_syntax_only_and_lower_case() -> None:
    assert normalize_email(" Anna.Ivanova@Example.ORG ") == "anna.ivanova@example.org"
    for bad in ("anna@", "anna example.org", "anna@@example.org", ""):
        with pytest.raises(InvalidInput):
            normalize_email(bad)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("иванова", "Иванова"),
        ("иванова-петрова", "Иванова-Петрова"),
        (" ПЁТР ", "Пётр"),
        ("o'neil", "O'Neil"),
        ("анна  мария", "Анна Мария"),
        ("Smith", "Smith"),
    ],
)
def test_names_are_normalised_and_keep_yo(typed: str, expected: str) -> None:
    assert normalize_name(typed) == expected


@pytest.mark.parametrize(
    ("typed", "problem"),
    [
        ("Ivan Иван", Problem.NAME_MIXED_SCRIPTS),
        ("Ива1н", Problem.NAME_INVALID),
        ("-", Problem.NAME_INVALID),
        ("а" * 61, Problem.NAME_TOO_LONG),
    ],
)
def test_bad_names(typed: str, problem: Problem) -> None:
    with pytest.raises(InvalidInput) as error:
        normalize_name(typed)
    assert error.value.problem is problem


@pytest.mark.parametrize(
    "typed", ["15.01.1985", "15/01/1985", "1985-01-15", "15 января 1985", "15 Jan 1985"]
)
def test_birth_date_formats(typed: str) -> None:
    assert parse_birth_date(typed, TODAY) == date(1985, 1, 15)


@pytest.mark.parametrize(
    ("typed", "problem"),
    [
        ("31.02.1990", Problem.DATE_NO_SUCH_DAY),
        ("вчера", Problem.DATE_INVALID),
        ("22.11.2026", Problem.DATE_FUTURE),
        ("01.01.1900", Problem.DATE_TOO_OLD),
        ("22.11.2008", Problem.UNDERAGE),
    ],
)
def test_bad_birth_dates(typed: str, problem: Problem) -> None:
    with pytest.raises(InvalidInput) as error:
        parse_birth_date(typed, TODAY)
    assert error.value.problem is problem


def test_eighteen_today_is_an_adult() -> None:
    assert parse_birth_date("21.11.2008", TODAY) == date(2008, 11, 21)


@pytest.mark.parametrize("typed", ["4506 123456", "4506123456", "45 06 123456", "45-06 №123456"])
def test_russian_passport_4_plus_6(typed: str) -> None:
    document = parse_document(DocumentType.RU_PASSPORT, typed)
    assert document.number == "4506 123456" and document.mask == "45 ** ****56"


def test_bad_documents() -> None:
    for typed in ("4506 12345", "45061234567", "AB06 123456"):
        with pytest.raises(InvalidInput):
            parse_document(DocumentType.RU_PASSPORT, typed)
    assert parse_document(DocumentType.FOREIGN_PASSPORT, "75 1234567").mask == "75 *****67"


async def make_user(session: AsyncSession, telegram_id: int) -> User:
    user = await touch_user(
        session, TelegramProfile(telegram_id, "Анна"), now=NOW, default_language="ru"
    )
    await session.commit()
    return user


async def test_code_lifecycle(sessions: async_sessionmaker[AsyncSession], vault: Vault) -> None:
    async with sessions() as session:
        user = await make_user(session, 1)
        issued = await issue_code(
            session, vault, user_id=user.id, purpose=Purpose.EMAIL, target="a@example.org", now=NOW
        )
        await session.commit()
        assert len(issued.code) == 6 and issued.code.isdigit()
        with pytest.raises(ResendTooSoon) as soon:
            await issue_code(
                session,
                vault,
                user_id=user.id,
                purpose=Purpose.EMAIL,
                target="a@example.org",
                now=NOW + timedelta(seconds=20),
            )
        assert soon.value.seconds == 40
        wrong = "000000" if issued.code != "000000" else "111111"
        with pytest.raises(WrongCode) as tries:
            await check_code(
                session, vault, user_id=user.id, purpose=Purpose.EMAIL, code=wrong, now=NOW
            )
        assert tries.value.tries_left == 4
        assert (
            await check_code(
                session, vault, user_id=user.id, purpose=Purpose.EMAIL, code=issued.code, now=NOW
            )
            == "a@example.org"
        )
        with pytest.raises(NoCode):
            await check_code(
                session, vault, user_id=user.id, purpose=Purpose.EMAIL, code=issued.code, now=NOW
            )

        # The raw row keeps only a hash of the code.
        raw = (await session.execute(text("SELECT code_hash FROM confirmation_codes"))).scalar_one()
        assert issued.code not in raw


async def test_code_expires_after_ten_minutes(
    sessions: async_sessionmaker[AsyncSession], vault: Vault
) -> None:
    async with sessions() as session:
        user = await make_user(session, 1)
        issued = await issue_code(
            session, vault, user_id=user.id, purpose=Purpose.EMAIL, target="a@example.org", now=NOW
        )
        with pytest.raises(CodeExpired):
            await check_code(
                session,
                vault,
                user_id=user.id,
                purpose=Purpose.EMAIL,
                code=issued.code,
                now=NOW + timedelta(minutes=10),
            )


async def test_five_wrong_tries_then_cool_down(
    sessions: async_sessionmaker[AsyncSession], vault: Vault
) -> None:
    async with sessions() as session:
        user = await make_user(session, 1)
        issued = await issue_code(
            session, vault, user_id=user.id, purpose=Purpose.EMAIL, target="a@example.org", now=NOW
        )
        wrong = "000000" if issued.code != "000000" else "111111"
        for _ in range(4):
            with pytest.raises(WrongCode):
                await check_code(
                    session, vault, user_id=user.id, purpose=Purpose.EMAIL, code=wrong, now=NOW
                )
        with pytest.raises(CodeBlocked) as blocked:
            await check_code(
                session, vault, user_id=user.id, purpose=Purpose.EMAIL, code=wrong, now=NOW
            )
        with pytest.raises(CodeBlocked):  # even the right code is refused now
            await check_code(
                session, vault, user_id=user.id, purpose=Purpose.EMAIL, code=issued.code, now=NOW
            )
        with pytest.raises(CodeBlocked):
            await issue_code(
                session,
                vault,
                user_id=user.id,
                purpose=Purpose.EMAIL,
                target="a@example.org",
                now=NOW + timedelta(minutes=5),
            )
        fresh = await issue_code(
            session,
            vault,
            user_id=user.id,
            purpose=Purpose.EMAIL,
            target="a@example.org",
            now=blocked.value.until,
        )
        assert await check_code(
            session,
            vault,
            user_id=user.id,
            purpose=Purpose.EMAIL,
            code=fresh.code,
            now=blocked.value.until,
        )


def anna(phone: str = "+79161234567", email: str = "anna@example.org") -> PersonalData:
    return PersonalData(
        phone=phone,
        email=email,
        surname="Иванова",
        first_name="Анна",
        patronymic="Сергеевна",
        birth_date=date(1985, 1, 15),
        sex=Sex.FEMALE,
        document=parse_document(DocumentType.RU_PASSPORT, "4506 987654"),
    )


async def consent_all(session: AsyncSession, user: User) -> None:
    for kind in ConsentKind:
        await give_consent(session, user.id, kind, NOW)


async def test_registration_needs_every_consent_and_encrypts_the_passport(
    sessions: async_sessionmaker[AsyncSession], vault: Vault
) -> None:
    async with sessions() as session:
        user = await make_user(session, 1)
        await give_consent(session, user.id, ConsentKind.PERSONAL_DATA, NOW)
        with pytest.raises(MissingConsents) as missing:
            await register(session, vault, user, anna(), now=NOW)
        assert set(missing.value.missing) == {ConsentKind.HEALTH_DATA, ConsentKind.USER_AGREEMENT}
        await consent_all(session, user)
        consents = await current_consents(session, user.id)
        assert {c.version for c in consents.values()} == {"2026-11"}
        account = await register(session, vault, user, anna(), now=NOW)
        assert account.full_name == "Иванова Анна Сергеевна"
        assert vault.decrypt(account.document_encrypted) == "4506 987654"

        row = (await session.execute(text("SELECT * FROM accounts"))).mappings().one()
        flat = " ".join(str(v) for v in row.values())
        assert "987654" not in flat and "4506" not in flat and "45 ** ****54" in flat


async def test_one_account_per_phone_and_email(
    sessions: async_sessionmaker[AsyncSession], vault: Vault
) -> None:
    async with sessions() as session:
        first, second = await make_user(session, 1), await make_user(session, 2)
        await consent_all(session, first)
        await consent_all(session, second)
        await register(session, vault, first, anna(), now=NOW)
        with pytest.raises(AlreadyRegistered) as phone:
            await register(session, vault, second, anna(email="other@example.org"), now=NOW)
        assert phone.value.field == "phone"
        with pytest.raises(AlreadyRegistered) as email:
            await register(session, vault, second, anna(phone="+79160000000"), now=NOW)
        assert email.value.field == "email"


async def test_recovery_moves_the_account_to_the_new_telegram_user(
    sessions: async_sessionmaker[AsyncSession], vault: Vault
) -> None:
    async with sessions() as session:
        old, new = await make_user(session, 1), await make_user(session, 2)
        await consent_all(session, old)
        await register(session, vault, old, anna(), now=NOW)
        issued = await start_recovery(session, vault, new, phone="+79161234567", now=NOW)
        assert issued.target == "anna@example.org", "the code goes to the account's e-mail"
        recovered = await finish_recovery(session, vault, new, issued.code, now=NOW)
        assert recovered.previous_telegram_id == 1
        assert await get_account(session, old) is None
        moved = await get_account(session, new)
        assert moved is not None and moved.email == "anna@example.org"


async def test_personal_data_lock_after_the_first_policy(
    sessions: async_sessionmaker[AsyncSession], vault: Vault
) -> None:
    async with sessions() as session:
        user = await make_user(session, 1)
        await consent_all(session, user)
        account = await register(session, vault, user, anna(), now=NOW)
        lock_personal_data(account, NOW)
        await session.commit()
        with pytest.raises(PersonalDataLocked):
            await register(session, vault, user, anna(), now=NOW)


async def test_recovery_takes_the_consents_and_the_pending_notices_along(
    sessions: async_sessionmaker[AsyncSession], vault: Vault
) -> None:
    async with sessions() as session:
        old, new = await make_user(session, 1), await make_user(session, 2)
        await consent_all(session, old)
        await register(session, vault, old, anna(), now=NOW)
        await consent_all(session, new)  # the same texts accepted again from the new account
        for key, status in (("due", OutboxStatus.PENDING), ("told", OutboxStatus.SENT)):
            session.add(
                OutboxMessage(
                    user_id=old.id,
                    kind="debt",
                    args={},
                    dedupe_key=key,
                    status=status,
                    send_after=NOW,
                    created_at=NOW,
                )
            )
        await session.commit()
        issued = await start_recovery(session, vault, new, phone="+79161234567", now=NOW)
        await finish_recovery(session, vault, new, issued.code, now=NOW)
        owners = (await session.execute(select(Consent.user_id, Consent.kind))).all()
        notices = dict(
            (await session.execute(select(OutboxMessage.dedupe_key, OutboxMessage.user_id))).all()
        )
    assert sorted(owners) == sorted((new.id, kind) for kind in ConsentKind), owners
    assert notices == {"due": new.id, "told": old.id}
