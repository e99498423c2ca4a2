"""Policy documents: generated from the data, readable, cached per version, Latin names."""

from __future__ import annotations

import io
from datetime import date

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.accounts.models import Account, User
from core.accounts.validation import InvalidInput, Problem
from core.billing.models import ServiceRegion
from core.clock import FrozenClock
from core.config import InsurerBranding
from core.documents.compose import DocumentKind, documents_of
from core.documents.latin import parse_latin_name, propose_latin_name
from core.documents.models import DocumentCopy
from core.documents.service import LatinNameRequired, policy_document, set_latin_name
from core.errors import NotFoundError
from core.policies.cabinet import PolicyView, my_policies
from core.policies.linking import ChildData, link_by_number, link_by_passport, link_child
from core.policies.models import Policy
from tests.conftest import seed_demo

INSURER = InsurerBranding()


def pdf_text(content: bytes) -> str:
    reader = PdfReader(io.BytesIO(content))
    return "\n".join(page.extract_text() for page in reader.pages)


def english(message: str) -> str:
    return message


@pytest.fixture
async def anna_views(
    sessions: async_sessionmaker[AsyncSession], registered: Account, clock: FrozenClock
) -> dict[str, PolicyView]:
    await seed_demo(sessions)
    async with sessions() as session:
        account = await session.scalar(select(Account))
        assert account is not None
        user = await session.get(User, account.user_id)
        assert user is not None
        await link_by_number(session, user, account, "ONDL-500001", now=clock.now())
        await link_by_passport(session, user, account, now=clock.now())
        await link_by_number(session, user, account, "VZR-2026-000123", now=clock.now())
        views = await my_policies(session, user, today=clock.now().date())
    return {view.policy.number: view for view in views}


async def _document(
    sessions: async_sessionmaker[AsyncSession],
    number: str,
    kind: DocumentKind,
    clock: FrozenClock,
    locale: str = "en",
) -> DocumentCopy:
    async with sessions() as session:
        account = await session.scalar(select(Account))
        assert account is not None
        user = await session.get(User, account.user_id)
        assert user is not None
        views = await my_policies(session, user, today=clock.now().date())
        view = next(v for v in views if v.policy.number == number)
        copy = await policy_document(
            session,
            view,
            kind,
            insurer=INSURER,
            translate=english,
            locale=locale,
            now=clock.now(),
        )
        await session.commit()
        return copy


async def test_dms_documents_print_the_policy_the_person_and_the_clinics(
    sessions: async_sessionmaker[AsyncSession],
    anna_views: dict[str, PolicyView],
    clock: FrozenClock,
) -> None:
    assert documents_of(anna_views["ONDL-500001"]) == [
        DocumentKind.POLICY,
        DocumentKind.MEMO,
        DocumentKind.PROGRAM,
    ]
    policy = pdf_text(
        (await _document(sessions, "ONDL-500001", DocumentKind.POLICY, clock)).content
    )
    assert "ONDL-500001" in policy and "Иванова Анна Сергеевна" in policy
    assert "Co-payment (franchise)" in policy and "20%" in policy
    memo = pdf_text((await _document(sessions, "ONDL-500001", DocumentKind.MEMO, clock)).content)
    assert "Clinics of your program" in memo and "Протезирование зубов" in memo
    assert "8 800 100-00-00" in memo
    program = pdf_text(
        (await _document(sessions, "ONDL-500001", DocumentKind.PROGRAM, clock)).content
    )
    assert "Dental care" in program and "Not covered" in program


async def test_a_copy_is_reused_until_the_policy_changes(
    sessions: async_sessionmaker[AsyncSession],
    anna_views: dict[str, PolicyView],
    clock: FrozenClock,
) -> None:
    first = await _document(sessions, "ONDL-500001", DocumentKind.POLICY, clock)
    async with sessions() as session, session.begin():
        copy = await session.get(DocumentCopy, first.id)
        assert copy is not None
        copy.telegram_file_id = "telegram-file-1"
    again = await _document(sessions, "ONDL-500001", DocumentKind.POLICY, clock)
    assert again.telegram_file_id == "telegram-file-1" and again.content == first.content
    async with sessions() as session, session.begin():
        policy = await session.scalar(select(Policy).where(Policy.number == "ONDL-500001"))
        assert policy is not None
        policy.valid_to = date(2027, 12, 31)
    renewed = await _document(sessions, "ONDL-500001", DocumentKind.POLICY, clock)
    assert renewed.telegram_file_id is None and renewed.content != first.content
    assert "31 Dec 2027" in pdf_text(renewed.content)
    russian = await _document(sessions, "ONDL-500001", DocumentKind.POLICY, clock, locale="ru")
    async with sessions() as session:
        copies = await session.scalar(select(func.count()).select_from(DocumentCopy))
    assert copies == 2 and "31.12.2027" in pdf_text(russian.content)


async def test_the_travel_policy_needs_the_latin_name_first(
    sessions: async_sessionmaker[AsyncSession],
    anna_views: dict[str, PolicyView],
    clock: FrozenClock,
) -> None:
    travel = anna_views["VZR-2026-000123"]
    assert documents_of(travel) == [DocumentKind.TRAVEL]
    with pytest.raises(LatinNameRequired):
        await _document(sessions, "VZR-2026-000123", DocumentKind.TRAVEL, clock)
    with pytest.raises(NotFoundError):
        await _document(sessions, "VZR-2026-000123", DocumentKind.MEMO, clock)
    async with sessions() as session, session.begin():
        user = await session.get(User, travel.link.user_id)
        assert user is not None
        views = await my_policies(session, user, today=clock.now().date())
        view = next(v for v in views if v.policy.number == "VZR-2026-000123")
        await set_latin_name(session, view, propose_latin_name("Иванова", "Анна"))
    text = pdf_text(
        (await _document(sessions, "VZR-2026-000123", DocumentKind.TRAVEL, clock)).content
    )
    assert "IVANOVA ANNA" in text and "VZR-2026-000123" in text


def test_latin_names_follow_the_foreign_passport_scheme() -> None:
    assert propose_latin_name("Щукина", "Юлия") == "SHCHUKINA IULIIA"
    assert propose_latin_name("Ёлкин", "Пётр") == "ELKIN PETR"
    assert parse_latin_name("  d'artagnan   charles-ogier ") == "D'ARTAGNAN CHARLES-OGIER"
    for bad in ("IVANOVA", "Иванова Анна", "IVANOVA 4NNA", "A" * 61 + " B"):
        with pytest.raises(InvalidInput) as error:
            parse_latin_name(bad)
        assert error.value.problem in (Problem.LATIN_NAME_INVALID, Problem.NAME_TOO_LONG)


async def test_the_policy_pdf_names_the_chosen_regions_and_a_childs_papers_and_parent(
    sessions: async_sessionmaker[AsyncSession],
    anna_views: dict[str, PolicyView],
    clock: FrozenClock,
) -> None:
    """A walker's PDF still read "the regions you choose in the cabinet" with two regions
    chosen, and her son's asked for his passport at the registry and named no parent."""
    async with sessions() as session:
        account = await session.scalar(select(Account))
        assert account is not None
        user = await session.get(User, account.user_id)
        assert user is not None
        son = ChildData("Иванов", "Михаил", "Андреевич", date(2016, 3, 10))
        await link_child(session, user, account, "ONDL-500002", son, now=clock.now())
        for code in ("16", "77"):
            session.add(
                ServiceRegion(
                    insured_person_id=anna_views["ONDL-500001"].person.id,
                    region_code=code,
                    confirmed_at=clock.now(),
                    available_from=clock.now(),
                )
            )
        await session.commit()
    own = pdf_text((await _document(sessions, "ONDL-500001", DocumentKind.POLICY, clock)).content)
    assert "Chosen service regions" in own and "Moscow, Republic of Tatarstan" in own
    assert "your passport" in own and "birth certificate" not in own
    child = pdf_text((await _document(sessions, "ONDL-500002", DocumentKind.POLICY, clock)).content)
    assert "birth certificate" in child and "your passport" not in child
    assert "Legal representative" in child and "Иванова Анна Сергеевна" in child
