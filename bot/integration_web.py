"""The integrators' HTTP door: the same imports as `main.py import-*`, for systems that push
their files instead of running a command.

    POST /integration/import/{clinics|programs|policies|bills|slots|cases}
    Authorization: Bearer <INTEGRATION_TOKEN>
    Content-Type: text/csv or application/json (the file's bytes as the body)

Answers 200 with {"created", "updated", "errors": [{"line", "reason"}]}: good rows are loaded,
bad ones listed, as the command line does. 401 without the token, 404 for another kind, 400
for a body that is neither CSV nor JSON.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.accounts.crypto import Vault
from core.billing.rules import BillingRules
from core.clock import Clock
from core.importers.files import parse_rows
from core.importers.load import KINDS, import_kind

PATH = "/integration/import/{kind}"
MAX_BODY = 64 * 1024 * 1024  # a million-person policies file is sent in parts


@dataclass
class IntegrationImports:
    sessions: async_sessionmaker[AsyncSession]
    vault: Vault | None
    rules: BillingRules
    clock: Clock
    token: str

    def register(self, app: web.Application) -> None:
        app.router.add_post(PATH, self.handle)

    def _authorised(self, request: web.Request) -> bool:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        return bool(given) and hmac.compare_digest(given.encode(), self.token.encode())

    async def handle(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return web.json_response({"error": "a valid bearer token is required"}, status=401)
        kind = request.match_info["kind"]
        if kind not in KINDS:
            return web.json_response({"error": f"one of {', '.join(KINDS)}"}, status=404)
        fmt = "csv" if "csv" in request.content_type else "json"
        try:
            rows = parse_rows(await request.text(), fmt, key=kind)
            async with self.sessions() as session:
                report = await import_kind(
                    session, kind, rows, vault=self.vault, rules=self.rules, now=self.clock.now()
                )
        except ValueError as error:
            return web.json_response({"error": str(error)}, status=400)
        return web.json_response(
            {
                "created": report.created,
                "updated": report.updated,
                "errors": [{"line": line, "reason": reason} for line, reason in report.errors],
            }
        )
