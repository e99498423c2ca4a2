"""A local SMTP server (aiosmtpd) that keeps what it receives, and a mailbox API over it."""

from __future__ import annotations

import asyncio
import email
import itertools
from dataclasses import asdict, dataclass
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any

from aiohttp import web
from aiosmtpd.smtp import SMTP, Envelope, Session

from sandbox.clock import SandboxClock


@dataclass
class Letter:
    id: int
    sender: str
    to: list[str]
    subject: str
    text: str
    received_at: str


class Mailbox:
    """The aiosmtpd handler: every accepted message lands here."""

    def __init__(self, clock: SandboxClock | None = None) -> None:
        self.clock = clock or SandboxClock()
        self.letters: list[Letter] = []
        self._ids = itertools.count(1)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = (
            envelope.content
            if isinstance(envelope.content, bytes)
            else str(envelope.content).encode()
        )
        parsed = email.message_from_bytes(raw, policy=default_policy)
        assert isinstance(parsed, EmailMessage)
        body = parsed.get_body(preferencelist=("plain", "html"))
        self.letters.append(
            Letter(
                id=next(self._ids),
                sender=str(envelope.mail_from),
                to=[str(r).lower() for r in envelope.rcpt_tos],
                subject=str(parsed.get("Subject", "")),
                text=body.get_content() if body is not None else "",
                received_at=self.clock.now().isoformat(),
            )
        )
        return "250 Message accepted for delivery"

    def find(self, to: str | None) -> list[dict[str, Any]]:
        wanted = to.lower() if to else None
        return [asdict(x) for x in self.letters if wanted is None or wanted in x.to]


async def start_smtp(mailbox: Mailbox, host: str, port: int) -> asyncio.base_events.Server:
    loop = asyncio.get_running_loop()
    return await loop.create_server(lambda: SMTP(mailbox, hostname="sandbox.local"), host, port)


def mail_routes(mailbox: Mailbox) -> list[web.RouteDef]:
    async def list_mail(request: web.Request) -> web.Response:
        return web.json_response({"messages": mailbox.find(request.query.get("to"))})

    return [web.get("/sandbox/api/mail", list_mail)]
