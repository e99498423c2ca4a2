"""The sandbox's mailbox (real SMTP) and bank (the YooKassa v3 API shape, hosted card page)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import email
import email.policy
import logging
import re
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

import pytest
from aiohttp import ClientSession, web
from aiosmtpd.smtp import SMTP, Envelope

from core import mail as mail_module
from core.mail import Mailer, SmtpConfig, letter
from main import configure_logging
from sandbox import mail as sandbox_mail
from sandbox.app import Sandbox, SandboxConfig, running_sandbox
from sandbox.bank import DECLINED_CARD
from tests.billing import card_form
from tests.live import PATIENCE, eventually, receiving, serving


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


AUTH = basic("sandbox-shop", "sandbox-secret")


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with running_sandbox(SandboxConfig(port=0, smtp_port=0)) as running:
        yield running


@pytest.fixture
async def http() -> AsyncIterator[ClientSession]:
    async with ClientSession() as session:
        yield session


async def test_mail_sent_over_smtp_is_in_the_mailbox(
    sandbox: Sandbox, http: ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    lookups: list[str] = []
    getfqdn = socket.getfqdn

    def counted(name: str = "") -> str:
        lookups.append(name)
        return getfqdn(name)

    monkeypatch.setattr(socket, "getfqdn", counted)
    mailer = Mailer(
        SmtpConfig(host="127.0.0.1", port=sandbox.config.smtp_port, sender="cabinet@example.org")
    )
    await mailer.send("Anna@Example.org", "Код подтверждения", "Ваш код: 123456")
    await mailer.send("other@example.org", "Другое", "—")
    assert lookups == [""], "this host's name is looked up once, not for every letter"

    async with http.get(
        f"{sandbox.url}/sandbox/api/mail", params={"to": "anna@example.org"}
    ) as response:
        [letter] = (await response.json())["messages"]
    assert letter["subject"] == "Код подтверждения"
    assert "Ваш код: 123456" in letter["text"]
    assert letter["sender"] == "cabinet@example.org"

    # the insurer's name in Cyrillic before the address: the envelope still gets the address
    named = Mailer(
        SmtpConfig(
            host="127.0.0.1",
            port=sandbox.config.smtp_port,
            sender="Кабинет ДМС <cabinet@example.org>",
        )
    )
    await named.send("named@example.org", "Код", "Первая строка\nВторая строка")
    async with http.get(
        f"{sandbox.url}/sandbox/api/mail", params={"to": "named@example.org"}
    ) as response:
        [letter] = (await response.json())["messages"]
    assert letter["sender"] == "cabinet@example.org"
    assert letter["text"].splitlines() == ["Первая строка", "Вторая строка"]


def test_a_letter_reads_back_as_written() -> None:
    """What a mail client shows: the names, the addresses, the subject, the text."""
    raw = letter(
        "Кабинет ДМС «Пример» <cabinet@example.org>",
        "anna@example.org",
        "Код подтверждения для кабинета ДМС: длинная тема, которую придётся перенести",
        "Ваш код: 123456.\n\nЕсли вы его не запрашивали, удалите письмо — ё, №, €.",
    ).as_bytes()
    assert raw.isascii()  # 7-bit: any relay takes it
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    sender = parsed["From"].addresses[0]
    assert (sender.display_name, sender.addr_spec) == (
        "Кабинет ДМС «Пример»",
        "cabinet@example.org",
    )
    assert parsed["To"].addresses[0].addr_spec == "anna@example.org"
    assert str(parsed["Subject"]) == (
        "Код подтверждения для кабинета ДМС: длинная тема, которую придётся перенести"
    )
    body = parsed.get_body(preferencelist=("plain",))
    assert body is not None
    assert body.get_content_charset() == "utf-8"
    assert body.get_content() == (
        "Ваш код: 123456.\n\nЕсли вы его не запрашивали, удалите письмо — ё, №, €."
    )


async def create_payment(
    http: ClientSession, sandbox: Sandbox, key: str, **extra: Any
) -> tuple[int, dict[str, Any]]:
    body = {
        "amount": {"value": "10.00", "currency": "RUB"},
        "capture": False,
        "save_payment_method": True,
        "confirmation": {"type": "redirect", "return_url": "https://t.me/dms_cabinet_bot"},
        "description": "Привязка карты",
        **extra,
    }
    async with http.post(
        f"{sandbox.url}/v3/payments", json=body, headers={**AUTH, "Idempotence-Key": key}
    ) as response:
        return response.status, await response.json()


async def test_payment_api_checks_credentials_and_idempotence(
    sandbox: Sandbox, http: ClientSession
) -> None:
    async with http.post(
        f"{sandbox.url}/v3/payments", json={}, headers={**basic("x", "y"), "Idempotence-Key": "k"}
    ) as response:
        assert response.status == 401
        assert (await response.json())["code"] == "invalid_credentials"

    status, first = await create_payment(http, sandbox, "binding-1")
    assert status == 200 and first["status"] == "pending" and first["paid"] is False
    status, again = await create_payment(http, sandbox, "binding-1")
    assert again["id"] == first["id"], "the same key gives the same payment"
    status, clash = await create_payment(http, sandbox, "binding-1", description="other")
    assert status == 400 and clash["code"] == "invalid_request"
    status, bad = await create_payment(
        http, sandbox, "binding-2", amount={"value": "-1", "currency": "RUB"}
    )
    assert status == 400 and bad["parameter"] == "amount"


async def test_hosted_page_with_3ds_saves_the_card_and_notifies(
    sandbox: Sandbox, http: ClientSession
) -> None:
    async with receiving("/payments/notifications") as (url, received):
        sandbox.bank.notification_url = url
        _, payment = await create_payment(http, sandbox, "binding-3ds")
        page_url = payment["confirmation"]["confirmation_url"]
        async with http.get(page_url) as response:
            assert "Номер карты" in await response.text()
        async with http.post(page_url, data=card_form("5555 5555 5555 4477")) as response:
            assert "Подтверждение 3-D Secure" in await response.text()
        async with http.post(page_url, data={"step": "3ds", "code": "000000"}) as response:
            assert "Неверный код" in await response.text()
        async with http.post(page_url, data={"step": "3ds", "code": "123456"}) as response:
            assert "Готово" in await response.text()

        _, note = await asyncio.wait_for(received.get(), timeout=PATIENCE)
        assert note["event"] == "payment.waiting_for_capture"
        card = note["object"]["payment_method"]
        assert (
            card["saved"] is True
            and card["card"]["last4"] == "4477"
            and card["card"]["first6"] == "555555"
        )

        async with http.post(
            f"{sandbox.url}/v3/payments/{payment['id']}/cancel",
            json={},
            headers={**AUTH, "Idempotence-Key": "cancel-1"},
        ) as response:
            cancelled = await response.json()
        assert cancelled["status"] == "canceled"
        async with http.get(f"{sandbox.url}/v3/payments/{payment['id']}", headers=AUTH) as response:
            assert (await response.json())["status"] == "canceled"


async def test_declined_card(sandbox: Sandbox, http: ClientSession) -> None:
    _, payment = await create_payment(http, sandbox, "binding-declined")
    page_url = payment["confirmation"]["confirmation_url"]
    await http.post(page_url, data=card_form(DECLINED_CARD))
    async with http.post(page_url, data={"step": "3ds", "code": "123456"}) as response:
        assert re.search("отклонён: банк отказал", await response.text())
    async with http.get(f"{sandbox.url}/v3/payments/{payment['id']}", headers=AUTH) as response:
        declined = await response.json()
    assert (
        declined["status"] == "canceled"
        and declined["cancellation_details"]["reason"] == "general_decline"
    )


def field_value(page: str, name: str) -> str | None:
    found = re.search(rf'<input name="{name}"[^>]*?value="([^"]*)"', page)
    return found.group(1) if found else None


async def test_hosted_page_names_the_shop_and_says_a_binding_is_returned(
    http: ClientSession,
) -> None:
    config = SandboxConfig(port=0, smtp_port=0, bank_shop_name="Демо Страхование")
    async with running_sandbox(config) as sandbox:
        _, binding = await create_payment(http, sandbox, "binding-look")
        page_url = binding["confirmation"]["confirmation_url"]
        async with http.get(page_url, headers={"Accept-Language": "ru-RU,ru;q=0.9"}) as r:
            russian = await r.text()
        async with http.get(page_url, headers={"Accept-Language": "en-GB,en;q=0.9,ru;q=0.5"}) as r:
            english = await r.text()
        _, purchase = await create_payment(
            http,
            sandbox,
            "purchase-look",
            amount={"value": "1234.50", "currency": "RUB"},
            capture=True,
            save_payment_method=False,
            description="Доля франшизы за визит",
        )
        async with http.get(purchase["confirmation"]["confirmation_url"] + "?lang=en") as r:
            paying = await r.text()

    nbsp = "\xa0"
    assert "Демо Страхование" in russian and "Привязка карты" in russian
    assert f"Привязка карты: проверочный платёж 10,00{nbsp}₽, он сразу возвращается" in russian
    assert ">Привязать карту</button>" in russian and "Оплатить" not in russian
    assert (
        "Card binding: a check payment of ₽10.00 that" in english and "returned at once" in english
    )
    assert ">Link the card</button>" in english and 'lang="en"' in english
    assert "Доля франшизы за визит" in paying and "Card binding" not in paying
    assert ">Pay ₽1,234.50</button>" in paying
    for number in ("5555 5555 5555 4477", "5555 5555 5555 4592", "5555 5555 5555 4535"):
        assert number in russian, "the sandbox lists its test cards"
    assert "Sandbox bank</h2>" not in russian and "<style>" in russian


async def test_card_fields_are_checked_and_the_expiry_stored_as_typed(
    sandbox: Sandbox, http: ClientSession
) -> None:
    _, payment = await create_payment(http, sandbox, "binding-fields")
    page_url = payment["confirmation"]["confirmation_url"]
    typed = "5555 5555 5555 4478"  # one digit off: the Luhn sum fails
    async with http.post(
        page_url, data={"step": "card", "number": typed, "expiry": "01/20", "cvc": "12"}
    ) as r:
        page = await r.text()
    assert "контрольная сумма Луна" in page and "Срок действия карты истёк" in page
    assert "CVC: три цифры" in page
    assert field_value(page, "number") == typed, "the number stays after an error"

    async with http.post(
        page_url, data={"step": "card", "number": SUCCESS, "expiry": "13/30", "cvc": "123"}
    ) as r:
        page = await r.text()
    assert "ММ/ГГ" in page and "Подтверждение 3-D Secure" not in page

    async with http.post(
        page_url, data={"step": "card", "number": SUCCESS, "expiry": "12/30", "cvc": "123"}
    ) as r:
        assert "Подтверждение 3-D Secure" in await r.text()
    async with http.post(page_url, data={"step": "3ds", "code": "123456"}) as r:
        done = await r.text()
    assert "Готово: карта •••• 4477 привязана" in done
    async with http.get(f"{sandbox.url}/v3/payments/{payment['id']}", headers=AUTH) as r:
        card = (await r.json())["payment_method"]["card"]
    assert (card["expiry_month"], card["expiry_year"]) == ("12", "2030")


SUCCESS = "5555 5555 5555 4477"


async def test_three_wrong_codes_decline_and_a_finished_link_shows_its_outcome(
    sandbox: Sandbox, http: ClientSession
) -> None:
    async with receiving("/payments/notifications") as (url, received):
        sandbox.bank.notification_url = url
        _, failing = await create_payment(http, sandbox, "binding-3-codes")
        failing_url = failing["confirmation"]["confirmation_url"]
        await http.post(failing_url, data=card_form())
        for left in (2, 1):
            async with http.post(failing_url, data={"step": "3ds", "code": "000000"}) as r:
                assert f"Неверный код. Осталось попыток: {left}" in await r.text()
        async with http.post(failing_url, data={"step": "3ds", "code": "000000"}) as r:
            assert "три раза введён неверный код 3-D Secure" in await r.text()
        _, note = await asyncio.wait_for(received.get(), timeout=PATIENCE)
        assert note["event"] == "payment.canceled"
        assert note["object"]["cancellation_details"]["reason"] == "3d_secure_failed"
        async with http.post(failing_url, data={"step": "3ds", "code": "123456"}) as r:
            assert "Платёж отклонён" in await r.text(), "the right code comes too late"

        _, binding = await create_payment(http, sandbox, "binding-reopen")
        page_url = binding["confirmation"]["confirmation_url"]
        await http.post(page_url, data=card_form())
        await http.post(page_url, data={"step": "3ds", "code": "123456"})
        async with http.post(
            f"{sandbox.url}/v3/payments/{binding['id']}/cancel",
            json={},
            headers={**AUTH, "Idempotence-Key": "return-the-check"},
        ) as r:
            assert (await r.json())["status"] == "canceled"  # the bot returns the 10 RUB
        async with http.get(page_url, headers={"Accept-Language": "en"}) as r:
            reopened = await r.text()
    assert "Done: the card •••• 4477 is linked" in reopened and "declined" not in reopened


async def test_mail_and_message_times_follow_the_bots_clock(
    sandbox: Sandbox, http: ClientSession
) -> None:
    """The bot's clock (`/dev/clock`, faked here) reads 1 March 2031; a day's travel sends a
    letter while the bot's ticks run, which is dated the new day already."""
    mailer = Mailer(
        SmtpConfig(host="127.0.0.1", port=sandbox.config.smtp_port, sender="cabinet@example.org")
    )
    bot_now = ["2031-03-01T09:00:00+00:00"]

    async def show(request: web.Request) -> web.Response:
        return web.json_response({"now": bot_now[0]})

    async def travel(request: web.Request) -> web.Response:
        if (await request.json())["advance"] != "1d":
            return web.json_response({"error": "advance: one of 1h, 1d, 1w, 1m"}, status=400)
        bot_now[0] = "2031-03-02T09:00:00+00:00"
        await mailer.send("anna@example.org", "Долг", "Оплатите долю")  # a tick's notice
        return web.json_response({"now": bot_now[0]})

    app = web.Application()
    app.router.add_get("/dev/clock", show)
    app.router.add_post("/dev/clock", travel)
    async with serving(app) as base:
        sandbox.clock_url = base + "/dev/clock"
        async with http.get(f"{sandbox.url}/sandbox/api/clock") as r:  # the web chat's clock
            assert (await r.json())["now"].startswith("2031-03-01")
        await mailer.send("anna@example.org", "Код", "123456")
        async with http.post(f"{sandbox.url}/sandbox/api/users", json={"first_name": "Анна"}) as r:
            user = await r.json()
        async with http.post(
            f"{sandbox.url}/sandbox/api/users/{user['id']}/messages", json={"text": "привет"}
        ) as r:
            assert r.status == 200
        async with http.post(f"{sandbox.url}/sandbox/api/clock", json={"advance": "1d"}) as r:
            assert (await r.json())["now"].startswith("2031-03-02")
        async with http.post(f"{sandbox.url}/sandbox/api/clock", json={"advance": "1y"}) as r:
            assert r.status == 400
        await mailer.send("anna@example.org", "Код", "654321")

    async with http.get(f"{sandbox.url}/sandbox/api/mail") as r:
        letters = (await r.json())["messages"]
    assert [x["received_at"][:13] for x in letters] == [
        "2031-03-01T09",
        "2031-03-02T09",
        "2031-03-02T09",
    ], "a refused travel leaves the clock where it was"
    async with http.get(f"{sandbox.url}/sandbox/api/users/{user['id']}/messages") as r:
        [message] = (await r.json())["messages"]
    assert datetime.fromtimestamp(message["date"], UTC).date().isoformat() == "2031-03-01"


async def test_the_mailbox_keeps_the_newest_letters_and_reads_each_when_asked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A long run's mailbox stays bounded (the oldest let go first); a letter is parsed when
    it is read, and reads as written."""
    monkeypatch.setattr(sandbox_mail, "KEPT", 3)
    mailbox = sandbox_mail.Mailbox()
    for n in range(5):
        envelope = Envelope()
        envelope.mail_from = "cabinet@example.org"
        envelope.rcpt_tos = [f"Person{n}@Example.org"]
        envelope.content = letter(
            "cabinet@example.org", f"person{n}@example.org", f"Код {n}", f"Ваш код: {n}00000"
        ).as_bytes()
        await mailbox.handle_DATA(None, None, envelope)  # type: ignore[arg-type]
    kept = mailbox.find(None)
    assert [(m["to"], m["subject"], m["text"].strip()) for m in kept] == [
        ([f"person{n}@example.org"], f"Код {n}", f"Ваш код: {n}00000") for n in (2, 3, 4)
    ]
    assert [m["id"] for m in kept] == [3, 4, 5]


class _PeerBox(sandbox_mail.Mailbox):
    """A mailbox that notes which connection (the client's port) each letter came over."""

    def __init__(self) -> None:
        super().__init__()
        self.peers: list[int] = []
        self.connections: list[Any] = []  # the server's side of each letter's connection
        self.goodbyes = 0  # QUITs received

    async def handle_QUIT(self, server: Any, session: Any, envelope: Envelope) -> str:
        self.goodbyes += 1
        return "221 Bye"

    async def handle_DATA(self, server: Any, session: Any, envelope: Envelope) -> str:
        self.peers.append(session.peer[1])
        self.connections.append(server.transport)
        return await super().handle_DATA(server, session, envelope)


@contextlib.asynccontextmanager
async def smtp_server(box: _PeerBox, idle_timeout: float = 300) -> AsyncIterator[int]:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(box, hostname="test.local", timeout=idle_timeout), "127.0.0.1", 0
    )
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()


async def test_letters_go_over_a_kept_connection_and_the_mailer_says_goodbye() -> None:
    box = _PeerBox()
    async with smtp_server(box) as port:
        mailer = Mailer(SmtpConfig(host="127.0.0.1", port=port, sender="cabinet@example.org"))
        for n in range(3):
            await mailer.send(f"p{n}@example.org", "Код", f"Ваш код: {n}")
        assert len(set(box.peers)) == 1, "one connection for letters one after another"
        # Letters at once: each its own connection, all kept (up to KEPT) for the next ones.
        await asyncio.gather(*(mailer.send(f"q{n}@example.org", "Код", "—") for n in range(3)))
        assert len(box.letters) == 6 and len(set(box.peers)) == 3
        await mailer.close()
        await eventually(lambda: all(c.is_closing() for c in box.connections))


async def test_a_connection_the_server_dropped_is_replaced_and_the_letter_arrives() -> None:
    box = _PeerBox()
    async with smtp_server(box, idle_timeout=0.3) as port:
        mailer = Mailer(SmtpConfig(host="127.0.0.1", port=port, sender="cabinet@example.org"))
        await mailer.send("anna@example.org", "Код", "Ваш код: 111111")
        await asyncio.sleep(0.8)  # the server lets the idle connection go
        await mailer.send("anna@example.org", "Код", "Ваш код: 222222")
        # Dropped at the very moment the kept connection is used: sent again on a new one.
        box.connections[-1].close()
        await mailer.send("anna@example.org", "Код", "Ваш код: 333333")
        assert [m["text"].split()[-1] for m in box.find("anna@example.org")] == [
            "111111",
            "222222",
            "333333",
        ]
        assert len(set(box.peers)) == 3
        await mailer.close()


async def test_a_kept_connection_left_unused_is_closed_with_a_goodbye(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Not left open until the next letter (a walker saw one idle for four minutes): after
    `IDLE_FOR` the mailer says QUIT and the server sees the connection end."""
    monkeypatch.setattr(mail_module, "IDLE_FOR", 0.3)
    box = _PeerBox()
    async with smtp_server(box) as port:
        mailer = Mailer(SmtpConfig(host="127.0.0.1", port=port, sender="cabinet@example.org"))
        await mailer.send("anna@example.org", "Код", "Ваш код: 111111")
        [connection] = box.connections
        await asyncio.sleep(0.1)
        assert not connection.is_closing(), "kept for the next letter meanwhile"
        await eventually(connection.is_closing)
        assert box.goodbyes == 1
        await mailer.send("anna@example.org", "Код", "Ваш код: 222222")  # a new connection
        assert len(set(box.peers)) == 2
        await mailer.close()


async def test_the_logs_keep_no_recipients_address(
    sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    """With `main.py`'s logging, the sandbox's SMTP exchange (each RCPT TO) is not logged: an
    address is personal data (a walker found them in the log)."""
    configure_logging()
    caplog.set_level(logging.INFO)
    assert not logging.getLogger("mail.log").isEnabledFor(logging.INFO)
    mailer = Mailer(
        SmtpConfig(host="127.0.0.1", port=sandbox.config.smtp_port, sender="cabinet@example.org")
    )
    await mailer.send("private.person@example.org", "Код", "Ваш код: 123456")
    await mailer.close()
    assert sandbox.mailbox.find("private.person@example.org")
    assert "private.person" not in caplog.text
