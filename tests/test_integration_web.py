"""The integrators' HTTP imports: the same loading as the command line, behind a token."""

from __future__ import annotations

from pathlib import Path

from aiogram import Bot
from aiohttp import ClientSession
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.integration_web import IntegrationImports
from bot.web import create_web_app
from core.accounts.crypto import Vault
from core.clock import FrozenClock
from core.config import Settings
from core.policies.models import Policy
from tests.conftest import TEST_KEY
from tests.live import serving

DEMO = Path(__file__).resolve().parent.parent / "demo"
TOKEN = {"Authorization": "Bearer integr-8f2c"}


async def test_files_are_loaded_over_http_with_the_token_and_errors_come_back_by_line(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    bot: Bot,
) -> None:
    imports = IntegrationImports(
        sessions, Vault(TEST_KEY.encode()), settings.billing(), clock, "integr-8f2c"
    )
    async with serving(create_web_app(None, bot, imports=imports)) as base, ClientSession() as http:
        url = f"{base}/integration/import"
        clinics = (DEMO / "clinics.json").read_bytes()
        json_type = {"Content-Type": "application/json"}
        async with http.post(f"{url}/clinics", data=clinics, headers=json_type) as response:
            assert response.status == 401, "no token, no import"
        wrong = {**json_type, "Authorization": "Bearer guess"}
        async with http.post(f"{url}/clinics", data=clinics, headers=wrong) as response:
            assert response.status == 401
        for kind in ("clinics", "programs"):
            body = (DEMO / f"{kind}.json").read_bytes()
            async with http.post(f"{url}/{kind}", data=body, headers={**TOKEN, **json_type}) as r:
                assert r.status == 200
                assert (await r.json())["created"] > 0
        csv_type = {**TOKEN, "Content-Type": "text/csv"}
        policies = (DEMO / "policies.csv").read_text(encoding="utf-8")
        async with http.post(f"{url}/policies", data=policies.encode(), headers=csv_type) as r:
            first = await r.json()
        assert first["created"] > 0 and first["errors"] == []
        async with http.post(f"{url}/policies", data=policies.encode(), headers=csv_type) as r:
            again = await r.json()
        assert again["created"] == 0 and again["updated"] == first["created"]
        header, row = policies.splitlines()[:2]
        broken = "\n".join([header, row.replace("15.01.1985", "31.02.1985")])
        async with http.post(f"{url}/policies", data=broken.encode(), headers=csv_type) as r:
            report = await r.json()
        assert [e["line"] for e in report["errors"]] == [2]
        async with http.post(f"{url}/appeals", data=b"[]", headers=TOKEN) as response:
            assert response.status == 404
        async with http.post(f"{url}/clinics", data=b"{oops", headers=TOKEN) as response:
            assert response.status == 400 and "not JSON" in (await response.json())["error"]
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Policy)) == first["created"]
