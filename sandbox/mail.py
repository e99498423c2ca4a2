"""A local SMTP server (aiosmtpd) that keeps what it receives, and a mailbox API over it."""

from __future__ import annotations

import asyncio
import base64
import email
import itertools
import json
from collections import deque
from dataclasses import asdict, dataclass, field
from email.message import EmailMessage
from email.policy import default as default_policy
from functools import cached_property
from pathlib import Path
from typing import Any

from aiohttp import web
from aiosmtpd.smtp import SMTP, Envelope, Session

from sandbox.clock import SandboxClock

KEPT = 5_000  # letters kept, the oldest let go first


@dataclass
class Letter:
    """A received message, parsed when first read: parsing with the `email` package's modern
    policy costs more than the whole SMTP exchange, and most letters are never read."""

    id: int
    sender: str
    to: list[str]
    raw: bytes = field(repr=False)
    received_at: str

    @cached_property
    def _parsed(self) -> tuple[str, str]:
        parsed = email.message_from_bytes(self.raw, policy=default_policy)
        assert isinstance(parsed, EmailMessage)
        body = parsed.get_body(preferencelist=("plain", "html"))
        return str(parsed.get("Subject", "")), body.get_content() if body is not None else ""

    @property
    def subject(self) -> str:
        return self._parsed[0]

    @property
    def text(self) -> str:
        return self._parsed[1]

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "sender": self.sender,
            "to": self.to,
            "subject": self.subject,
            "text": self.text,
            "received_at": self.received_at,
        }


class Mailbox:
    """The aiosmtpd handler: every accepted message lands here."""

    def __init__(self, clock: SandboxClock | None = None, state_dir: Path | None = None) -> None:
        self.clock = clock or SandboxClock()
        self.letters: deque[Letter] = deque(maxlen=KEPT)  # the newest; a long run stays bounded
        self.path = state_dir / "mail.json" if state_dir is not None else None
        self._dirty = False
        if self.path is not None and self.path.exists():  # kept over a restart, as the chats
            for saved in json.loads(self.path.read_text(encoding="utf-8")):
                saved["raw"] = base64.b64decode(saved["raw"])
                self.letters.append(Letter(**saved))
        self._ids = itertools.count(self.letters[-1].id + 1 if self.letters else 1)

    def save(self) -> None:
        if self.path is None or not self._dirty:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        saved = [asdict(x) | {"raw": base64.b64encode(x.raw).decode()} for x in self.letters]
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(saved, ensure_ascii=False), encoding="utf-8")
        tmp.replace(self.path)
        self._dirty = False

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = (
            envelope.content
            if isinstance(envelope.content, bytes)
            else str(envelope.content).encode()
        )
        self.letters.append(
            Letter(
                id=next(self._ids),
                sender=str(envelope.mail_from),
                to=[str(r).lower() for r in envelope.rcpt_tos],
                raw=raw,
                received_at=self.clock.now().isoformat(),
            )
        )
        self._dirty = True
        return "250 Message accepted for delivery"

    def find(self, to: str | None) -> list[dict[str, Any]]:
        wanted = to.lower() if to else None
        return [x.as_json() for x in self.letters if wanted is None or wanted in x.to]


async def start_smtp(mailbox: Mailbox, host: str, port: int) -> asyncio.base_events.Server:
    loop = asyncio.get_running_loop()
    return await loop.create_server(lambda: SMTP(mailbox, hostname="sandbox.local"), host, port)


def mail_routes(mailbox: Mailbox) -> list[web.RouteDef]:
    async def list_mail(request: web.Request) -> web.Response:
        return web.json_response({"messages": mailbox.find(request.query.get("to"))})

    return [web.get("/sandbox/api/mail", list_mail)]
