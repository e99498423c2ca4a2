"""The insurer's files: CSV and JSON, bad rows by line, idempotent re-imports, the CLI."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import main
from core.accounts.crypto import Vault
from core.accounts.registration import document_digest
from core.accounts.validation import DocumentType
from core.importers.files import read_rows
from core.importers.policies import import_policies, import_programs
from core.policies.models import InsuredPerson, Policy, Program, ProgramClinic
from tests.conftest import TEST_KEY, seed_demo

NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
VAULT = Vault(TEST_KEY.encode())
HEADER = "policy_number,product,kind,contract,policyholder,valid_from,valid_to,territory,paid,program_code,parent_policy_number,surname,first_name,patronymic,birth_date,document_type,document_number"


async def count(session: AsyncSession, model: type) -> int:
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_demo_set_goes_through_the_importers(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    assert await seed_demo(sessions)
    async with sessions() as session:
        assert await count(session, Program) == 4
        assert await count(session, Policy) == 8
        child = await session.scalar(select(Policy).where(Policy.number == "DMS-K-2026-0003"))
        parent = await session.scalar(select(Policy).where(Policy.number == "DMS-K-2026-0002"))
        assert child is not None and parent is not None and child.parent_policy_id == parent.id
        anna = await session.scalar(select(InsuredPerson).where(InsuredPerson.surname == "Иванова"))
        assert anna is not None
        assert anna.document_digest == document_digest(
            VAULT, DocumentType.RU_PASSPORT, "4506 987654"
        )
        links = (await session.scalars(select(ProgramClinic))).all()
        assert len(links) > 10


async def test_csv_bad_rows_are_reported_by_line_and_the_rest_loads(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    await seed_demo(sessions)
    path = tmp_path / "policies.csv"
    path.write_text(
        "\n".join(
            [
                HEADER,
                "NEW-1,Доктор Лайк,dms,retail,,2026-01-01,2026-12-31,regional,true,DL-REG,,Орлова,Мария,,01.02.1990,ru_passport,4000 111111",
                "NEW-2,Доктор Лайк,dms,retail,,2026-12-31,2026-01-01,regional,true,DL-REG,,Орлова,Мария,,01.02.1990,,",
                "NEW-3,Доктор Лайк,dms,retail,,2026-01-01,2026-12-31,regional,true,NO-SUCH,,Орлова,Мария,,01.02.1990,,",
                "NEW-4,Доктор Лайк,dms,retail,,2026-01-01,2026-12-31,regional,true,DL-REG,,Орл0ва,Мария,,01.02.1990,,",
                "NEW-5,Доктор Лайк,dms,retail,,2026-01-01,2026-12-31,regional,true,DL-REG,,Орлова,Мария,,01.02.1990,ru_passport,123",
                "NEW-6,Доктор Лайк,dms,retail,,2026-01-01,2026-12-31,regional,true,DL-REG,MISSING-1,Орлов,Ян,,01.02.2015,,",
            ]
        ),
        encoding="utf-8",
    )
    async with sessions() as session:
        report = await import_policies(session, VAULT, read_rows(path), now=NOW)
    assert report.created == 2  # NEW-1 and NEW-6 (whose parent is reported)
    reasons = dict(report.errors)
    assert set(reasons) == {3, 4, 5, 6, 7}
    assert "valid_to is before valid_from" in reasons[3]
    assert "unknown program 'NO-SUCH'" in reasons[4]
    assert "bad name" in reasons[5]
    assert "does not fit document_type" in reasons[6]
    assert "unknown policy 'MISSING-1'" in reasons[7]


async def test_reimport_updates_and_never_duplicates(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    await seed_demo(sessions)
    row = {
        "policy_number": "ondl-600001",
        "product": "Доктор Лайк",
        "contract": "retail",
        "valid_from": "2026-01-01",
        "valid_to": "2026-12-31",
        "territory": "regional",
        "program_code": "DL-REG",
        "surname": "Орлова",
        "first_name": "Мария",
        "birth_date": "1990-02-01",
    }
    path = tmp_path / "policies.json"
    path.write_text(json.dumps([row]), encoding="utf-8")
    async with sessions() as session:
        first = await import_policies(session, VAULT, read_rows(path), now=NOW)
        path.write_text(
            json.dumps([{**row, "valid_to": "2027-06-30", "paid": False}]), encoding="utf-8"
        )
        again = await import_policies(session, VAULT, read_rows(path), now=NOW)
        assert (first.created, again.created, again.updated) == (1, 0, 1)
        policy = await session.scalar(select(Policy).where(Policy.number == "ONDL-600001"))
        assert policy is not None and policy.valid_to == date(2027, 6, 30) and policy.paid is False
        persons = (
            await session.scalars(select(InsuredPerson).where(InsuredPerson.policy_id == policy.id))
        ).all()
        assert len(persons) == 1


async def test_program_clinics_follow_the_file(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    await seed_demo(sessions)
    program = {
        "code": "DL-REG",
        "name": "Доктор Лайк",
        "care_types": "outpatient;dental",
        "clinics": [{"clinic": "MSK-001", "care_types": ["outpatient"]}],
    }
    path = tmp_path / "programs.json"
    path.write_text(
        json.dumps({"programs": [program, {**program, "code": "X", "care_types": ["spa"]}]}),
        encoding="utf-8",
    )
    async with sessions() as session:
        report = await import_programs(session, read_rows(path, key="programs"))
        assert report.updated == 1 and [line for line, _ in report.errors] == [2]
        saved = await session.scalar(select(Program).where(Program.code == "DL-REG"))
        assert saved is not None and saved.care_types == ["outpatient", "dental"]
        links = (
            await session.scalars(select(ProgramClinic).where(ProgramClinic.program_id == saved.id))
        ).all()
        assert [(link.care_type) for link in links] == ["outpatient"]


def test_cli_imports_with_a_summary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'cli.sqlite3'}")
    monkeypatch.setenv("DATA_ENCRYPTION_KEY", TEST_KEY)
    monkeypatch.chdir(tmp_path)  # no .env of the developer's
    demo = Path(__file__).resolve().parent.parent / "demo"
    assert main.cli(["import-clinics", str(demo / "clinics.json")]) == 0
    assert main.cli(["import-programs", str(demo / "programs.json")]) == 0
    assert main.cli(["import-policies", str(demo / "policies.csv")]) == 0
    out = capsys.readouterr().out
    assert (
        "clinics: 18 created" in out
        and "programs: 4 created" in out
        and "policies: 8 created" in out
    )
    bad = tmp_path / "bad.csv"
    bad.write_text(
        HEADER + "\nX-1,P,dms,retail,,2026-01-01,2026-12-31,regional,true,,,A,B,,01.01.1990,,\n",
        encoding="utf-8",
    )
    assert main.cli(["import-policies", str(bad)]) == 1
    assert "bad.csv:2: " in capsys.readouterr().err
