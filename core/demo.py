"""The demo insurer data set for sandbox mode, loaded through the same importers as real data."""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.clinics.models import Clinic
from core.importers.clinics import import_clinics, read_json_rows

log = logging.getLogger(__name__)
DEMO_DIR = Path(__file__).resolve().parent.parent / "demo"


async def seed_demo_data(
    sessions: async_sessionmaker[AsyncSession], demo_dir: Path = DEMO_DIR
) -> bool:
    """Load the demo files into an empty database; returns whether anything was loaded."""
    async with sessions() as session:
        if await session.scalar(select(func.count()).select_from(Clinic)):
            return False
        report = await import_clinics(session, read_json_rows(demo_dir / "clinics.json"))
    log.info("demo data loaded: %s clinics", report.created)
    return True
