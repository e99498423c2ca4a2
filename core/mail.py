"""Outgoing mail through a real SMTP client (aiosmtplib): the sandbox mailbox or the insurer's."""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    host: str
    port: int
    sender: str
    username: str | None = None
    password: str | None = None
    start_tls: bool = False
    use_tls: bool = False


class MailSender(Protocol):
    async def send(self, to: str, subject: str, text: str) -> None: ...


class Mailer:
    def __init__(self, config: SmtpConfig) -> None:
        self._config = config
        self._local_hostname: str | None = None

    async def _ehlo_name(self) -> str:
        """This host's name for the SMTP greeting, looked up once: aiosmtplib would look it up
        (`socket.getfqdn`, a DNS query on a thread) for every letter."""
        if self._local_hostname is None:
            self._local_hostname = await asyncio.to_thread(socket.getfqdn)
        return self._local_hostname

    async def send(self, to: str, subject: str, text: str) -> None:
        message = EmailMessage()
        message["From"] = self._config.sender
        message["To"] = to
        message["Subject"] = subject
        message.set_content(text)
        import aiosmtplib  # 12 MB with the email and ssl modules, loaded on the first mail

        await aiosmtplib.send(
            message,
            hostname=self._config.host,
            port=self._config.port,
            username=self._config.username,
            password=self._config.password,
            start_tls=self._config.start_tls,
            use_tls=self._config.use_tls,
            local_hostname=await self._ehlo_name(),
            timeout=30,
        )
