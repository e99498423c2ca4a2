"""How fast the policies importer loads a 10,000-row CSV, first time and re-imported.

.venv/bin/python -m benchmarks.importers [--rows 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import tempfile
import time
from pathlib import Path

from core.accounts.crypto import Vault, generate_key
from core.clock import SystemClock
from core.db import create_engine, create_session_factory, migrate
from core.importers.clinics import import_clinics
from core.importers.files import read_rows
from core.importers.policies import import_policies, import_programs

DEMO = Path(__file__).resolve().parent.parent / "demo"
SURNAMES = ["Иванова", "Петров", "Смирнова", "Кузнецов", "Попова", "Соколов", "Лебедева", "Козлов"]
NAMES = ["Анна", "Иван", "Мария", "Пётр", "Ольга", "Сергей", "Елена", "Дмитрий"]


def write_file(path: Path, rows: int) -> None:
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(
            [
                "policy_number",
                "product",
                "contract",
                "policyholder",
                "valid_from",
                "valid_to",
                "territory",
                "program_code",
                "surname",
                "first_name",
                "birth_date",
                "document_type",
                "document_number",
            ]
        )
        for n in range(rows):
            writer.writerow(
                [
                    f"BENCH-{n:06d}",
                    "Корпоративный ДМС",
                    "corporate",
                    "ООО «Тест»",
                    "2026-01-01",
                    "2026-12-31",
                    "moscow",
                    "CORP-MSK",
                    SURNAMES[n % 8],
                    NAMES[n // 8 % 8],
                    f"{1960 + n % 40}-0{1 + n % 9}-1{n % 10}",
                    "ru_passport",
                    f"45{n % 100:02d} {n:06d}",
                ]
            )


async def main(rows: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'bench.sqlite3'}"
        await migrate(url)
        engine = create_engine(url)
        sessions = create_session_factory(engine)
        vault = Vault(generate_key().encode())
        async with sessions() as session:
            await import_clinics(session, read_rows(DEMO / "clinics.json"))
            await import_programs(session, read_rows(DEMO / "programs.json"))
        path = Path(folder) / "policies.csv"
        write_file(path, rows)
        for label in ("first import", "re-import"):
            started = time.perf_counter()
            async with sessions() as session:
                report = await import_policies(
                    session, vault, read_rows(path), now=SystemClock().now()
                )
            elapsed = time.perf_counter() - started
            print(
                f"{label:<13} {rows} rows in {elapsed:6.2f} s  ({rows / elapsed:7.0f} rows/s)  "
                f"created {report.created}, updated {report.updated}, errors {len(report.errors)}"
            )
        await engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000)
    asyncio.run(main(parser.parse_args().rows))
