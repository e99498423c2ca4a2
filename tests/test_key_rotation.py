"""Key rotation (issue 20, item 6): `python main.py rotate-key` re-encrypts every encrypted
column and file with the new key while reading the old one; digests keep matching, so a code
in flight and the passport look-ups still work once only the new key is configured."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import pytest
from aiogram import Bot
from cryptography.fernet import Fernet, InvalidToken
from pydantic import SecretStr
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.factory import create_dispatcher
from core.accounts.crypto import generate_key
from core.accounts.identity import IdentityFile
from core.accounts.models import Account
from core.accounts.registration import document_digest
from core.accounts.validation import DocumentType
from core.billing.models import Bill
from core.clock import FrozenClock
from core.config import Settings
from core.importers.bills import import_bills
from core.importers.files import read_rows
from core.policies.models import InsuredPerson
from core.rotation import encrypted_columns
from main import cli
from tests.conftest import TEST_KEY, seed_demo
from tests.dialog import ChatClient, RecordingMailer
from tests.files import JPEG
from tests.test_dialog_registration import register_until_consents

ROOT = Path(__file__).resolve().parent.parent


async def rotate(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    database_url: str,
    key: str,
    old_keys: list[str],
) -> tuple[int, str, str]:
    """`python main.py rotate-key` with these settings in the environment: (code, out, err)."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("DATA_ENCRYPTION_KEY", key)
    monkeypatch.setenv("DATA_ENCRYPTION_OLD_KEYS", json.dumps(old_keys))
    monkeypatch.delenv("DATA_DIGEST_KEY", raising=False)
    capsys.readouterr()
    code = await asyncio.to_thread(cli, ["rotate-key"])  # cli runs its own event loop
    out, err = capsys.readouterr()
    return code, out, err


async def raw_tokens(sessions: async_sessionmaker[AsyncSession]) -> dict[str, list[bytes]]:
    found: dict[str, list[bytes]] = {}
    async with sessions() as session:
        for table, column in encrypted_columns():
            query = text(f"SELECT {column.name} FROM {table.name} WHERE {column.name} IS NOT NULL")
            values = (await session.execute(query)).scalars().all()
            found[f"{table.name}.{column.name}"] = [
                v if isinstance(v, bytes) else str(v).encode() for v in values
            ]
    return found


def readable_by(key: str, token: bytes) -> bool:
    try:
        Fernet(key.encode()).decrypt(token)
    except InvalidToken:
        return False
    return True


async def test_rotate_key_re_encrypts_everything_and_digests_keep_matching(
    chat: ChatClient,
    registered: Account,
    bot: Bot,
    mailbox: RecordingMailer,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    clock: FrozenClock,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    await seed_demo(sessions)
    vault = settings.vault()
    assert vault is not None
    async with sessions() as session:
        rows = read_rows(ROOT / "demo" / "bills.csv")
        await import_bills(session, vault, rows, settings.billing(), now=clock.now())
    await chat.send("/verify")
    await chat.upload("passport.jpg", JPEG)  # an identity-check file, encrypted at rest
    newcomer = ChatClient(chat.dp, bot, user_id=4004)
    await newcomer.send("/register")
    await newcomer.share_contact("+79035550101")
    await newcomer.send("new@example.org")  # a code in flight: only its keyed digest is kept
    mailed = mailbox.last_code("new@example.org")

    before = await raw_tokens(sessions)
    assert before["accounts.document_encrypted"] and before["bills.diagnosis"]
    assert before["bills.diagnosis_code"], "the ICD-10 code is encrypted like the diagnosis"
    assert before["identity_files.content"]
    new_key = generate_key()

    code, out, err = await rotate(monkeypatch, capsys, database_url, new_key, [TEST_KEY])
    assert code == 0, err
    assert "accounts.document_encrypted: 1 re-encrypted" in out
    assert "identity_files.content: 1 re-encrypted" in out
    assert re.search(r"bills\.diagnosis: [1-9]\d* re-encrypted", out)
    assert re.search(r"bills\.diagnosis_code: [1-9]\d* re-encrypted", out)
    pinned = re.search(r"DATA_DIGEST_KEY=([0-9a-f]{64})", out)
    assert pinned, out

    after = await raw_tokens(sessions)
    assert {column: len(values) for column, values in after.items()} == {
        column: len(values) for column, values in before.items()
    }
    for column, values in after.items():
        for token in values:
            assert readable_by(new_key, token), column
            assert not readable_by(TEST_KEY, token), f"{column} still under the old key"

    # The old key is gone from the settings; the digest key is pinned as the command said.
    rotated = settings.model_copy(
        update={
            "data_encryption_key": SecretStr(new_key),
            "data_encryption_old_keys": [],
            "data_digest_key": SecretStr(pinned.group(1)),
        }
    )
    vault = rotated.vault()
    assert vault is not None
    async with sessions() as session:
        account = await session.scalar(select(Account))
        bill = await session.scalar(select(Bill).where(Bill.diagnosis.is_not(None)))
        image = await session.scalar(select(IdentityFile))
        person = await session.scalar(
            select(InsuredPerson).where(InsuredPerson.surname == "Иванова")
        )
    assert account is not None and bill is not None and image is not None and person
    number = vault.decrypt(account.document_encrypted)
    assert number.replace(" ", "") == "4506987654"
    assert bill.diagnosis is not None and vault.decrypt(bill.diagnosis)
    assert vault.decrypt_bytes(image.content) == JPEG
    digest = document_digest(vault, DocumentType(account.document_type), number)
    assert digest == account.document_digest == person.document_digest, (
        "the insurer's imported digests still match the person's"
    )

    dp = create_dispatcher(rotated, sessions, clock, mailer=mailbox)
    try:
        same_person = ChatClient(dp, bot, user_id=4004)
        await same_person.send(mailed)
        assert "Почта подтверждена" in same_person.text, "the code sent before the rotation"
    finally:
        await dp.storage.close()

    code, out, err = await rotate(monkeypatch, capsys, database_url, new_key, [])
    assert code == 2 and "DATA_DIGEST_KEY" in err, (
        "without the pinned digest key the digests would stop matching: nothing is changed"
    )


async def test_a_registration_draft_keeps_its_passport_number_through_a_rotation(
    chat: ChatClient,
    mailbox: RecordingMailer,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    clock: FrozenClock,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The passport number typed at registration waits, encrypted, in the dialog draft (the
    database's dialog states or, with several workers, Redis) until the person confirms: it is
    rotated with the columns, so the confirmation works once the old key is gone."""
    await register_until_consents(chat, mailbox)
    monkeypatch.setenv("REDIS_URL", settings.redis_url or "")
    new_key = generate_key()
    code, out, err = await rotate(monkeypatch, capsys, database_url, new_key, [TEST_KEY])
    assert code == 0, err
    where = "redis fsm data" if settings.redis_url else "dialog_states.data"
    assert f"{where}: 1 re-encrypted" in out, out
    pinned = re.search(r"DATA_DIGEST_KEY=([0-9a-f]{64})", out)
    assert pinned, out
    rotated = settings.model_copy(
        update={
            "data_encryption_key": SecretStr(new_key),
            "data_encryption_old_keys": [],
            "data_digest_key": SecretStr(pinned.group(1)),
        }
    )
    dp = create_dispatcher(rotated, sessions, clock, mailer=mailbox)
    try:  # the same person, served by a bot that knows only the new key
        person = ChatClient(dp, chat.bot, user_id=chat.user.id)
        for consent in (
            "☐ Обработка персональных данных",
            "☐ Обработка сведений о здоровье",
            "☐ Пользовательское соглашение",
        ):
            await person.tap(consent)
        await person.tap("Продолжить ➡️")
        assert "45 ** ****54" in person.text
        await person.tap("✅ Подтвердить")
        assert "Регистрация завершена" in person.text, person.text
    finally:
        await dp.storage.close()
    vault = rotated.vault()
    assert vault is not None
    async with sessions() as session:
        account = await session.scalar(select(Account))
    assert account is not None
    assert vault.decrypt(account.document_encrypted).replace(" ", "") == "4506987654"
