"""Outgoing mail through a real SMTP client (aiosmtplib): the sandbox mailbox or the insurer's."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from dataclasses import dataclass
from email.header import Header
from email.mime.text import MIMEText
from email.utils import formataddr, parseaddr
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from aiosmtplib import SMTP

KEPT = 4  # open connections kept for the next letters
IDLE_FOR = 30.0  # seconds a kept connection may wait; servers drop idle ones (5 min or sooner)


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

    async def close(self) -> None: ...


class Mailer:
    """Letters over SMTP, the connections kept open for the next ones (up to `KEPT`, each for
    `IDLE_FOR` seconds): a connection costs a TCP handshake, the greeting and EHLO, and with a
    real server STARTTLS and a login, several times the letter itself. A kept connection that
    the server has dropped meanwhile is replaced once, at once."""

    def __init__(self, config: SmtpConfig) -> None:
        self._config = config
        self._local_hostname: str | None = None
        self._idle: list[tuple[SMTP, asyncio.TimerHandle]] = []  # (connection, its expiry)
        self._leaving: set[asyncio.Task[None]] = set()  # goodbyes under way

    async def _ehlo_name(self) -> str:
        """This host's name for the SMTP greeting, looked up once: aiosmtplib would look it up
        (`socket.getfqdn`, a DNS query on a thread) for every letter."""
        if self._local_hostname is None:
            self._local_hostname = await asyncio.to_thread(socket.getfqdn)
        return self._local_hostname

    async def send(self, to: str, subject: str, text: str) -> None:
        message = letter(self._config.sender, to, subject, text)
        import aiosmtplib  # 12 MB with the email and ssl modules, loaded on the first mail

        kept = self._take()
        if kept is not None:
            try:
                await self._deliver(kept, message)
                return
            except (aiosmtplib.SMTPServerDisconnected, ConnectionError):
                pass  # dropped while it waited: a new connection below
        config = self._config
        client = aiosmtplib.SMTP(
            hostname=config.host,
            port=config.port,
            username=config.username,
            password=config.password,
            start_tls=config.start_tls,
            use_tls=config.use_tls,
            local_hostname=await self._ehlo_name(),
            timeout=30,
        )
        await client.connect()  # and the login, when a username is set
        await self._deliver(client, message)

    async def _deliver(self, client: SMTP, message: MIMEText) -> None:
        """The letter over `client`, kept for the next one after; closed if anything fails."""
        try:
            await client.send_message(message)
        except BaseException:
            client.close()
            raise
        self._give_back(client)

    def _take(self) -> SMTP | None:
        while self._idle:
            client, expiry = self._idle.pop()
            expiry.cancel()
            if client.is_connected:
                return client
            client.close()
        return None

    def _give_back(self, client: SMTP) -> None:
        if len(self._idle) >= KEPT:
            client.close()
            return
        loop = asyncio.get_running_loop()
        self._idle.append((client, loop.call_later(IDLE_FOR, self._expire, client)))

    def _expire(self, client: SMTP) -> None:
        """A kept connection unused for `IDLE_FOR`: closed with a goodbye, not left to the
        server's own timeout."""
        self._idle = [(c, expiry) for c, expiry in self._idle if c is not client]
        task = asyncio.get_running_loop().create_task(_goodbye(client))
        self._leaving.add(task)
        task.add_done_callback(self._leaving.discard)

    async def close(self) -> None:
        """Say goodbye on the kept connections (at shutdown)."""
        while self._idle:
            client, expiry = self._idle.pop()
            expiry.cancel()
            await _goodbye(client)
        await asyncio.gather(*self._leaving)


async def _goodbye(client: SMTP) -> None:
    with contextlib.suppress(Exception):
        await asyncio.wait_for(client.quit(), 5)
    client.close()


def letter(sender: str, to: str, subject: str, text: str) -> MIMEText:
    """A plain-text letter in UTF-8: the body in base64, the subject and any display name as
    RFC 2047 encoded words. Made with the `email` package's compat32 classes: its modern
    `EmailMessage` (header objects parsed and folded by policy) took 1.1 ms of CPU to build and
    flatten one letter, this 0.35 ms, and a registration sends one per person (issue 19)."""
    message = MIMEText(text, "plain", "utf-8")
    message["From"] = _address(sender)
    message["To"] = _address(to)
    message["Subject"] = Header(subject, "utf-8", header_name="Subject").encode()
    return message


def _address(value: str) -> str:
    name, address = parseaddr(value)
    return formataddr((name, address), charset="utf-8") if address else value
