"""A stand-in bank speaking the YooKassa v3 HTTP API, with a hosted card page and 3-D Secure.

Test cards (any future expiry, stored as typed; any 3-digit CVC; the 3-D Secure code is 123456,
three wrong codes decline the payment with 3d_secure_failed):
  5555 5555 5555 4477  always succeeds
  5555 5555 5555 4592  declined at binding (general_decline)
  5555 5555 5555 4535  binds, then every charge fails: insufficient_funds
  5555 5555 5555 4600  binds (type this month's expiry), then every charge fails: card_expired
The page speaks Russian or English (`?lang=`, else the browser's Accept-Language).
Faults for tests: `POST /sandbox/api/bank/settings {"lose_next_responses": n}` makes the next n
payment creations happen but answer 500, as a lost response would. `{"top_up": "<card number>"}`
puts money on a card: the 4535 card then pays (its insufficient funds were the only trouble).
"""

from __future__ import annotations

import base64
import html
import json
import secrets
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from aiohttp import ClientSession, ClientTimeout, web
from babel.numbers import format_currency, format_decimal

from sandbox.clock import SandboxClock

SUCCESS_CARD = "5555555555554477"
DECLINED_CARD = "5555555555554592"
POOR_CARD = "5555555555554535"
EXPIRING_CARD = "5555555555554600"
LATER_FAILURES = {POOR_CARD: "insufficient_funds", EXPIRING_CARD: "card_expired"}
THREE_DS_CODE = "123456"
THREE_DS_ATTEMPTS = 3


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _error(status: int, code: str, description: str, parameter: str | None = None) -> web.Response:
    body = {"type": "error", "id": str(uuid.uuid4()), "code": code, "description": description}
    if parameter:
        body["parameter"] = parameter
    return web.json_response(body, status=status)


class Bank:
    def __init__(
        self,
        shop_id: str,
        secret_key: str,
        public_url: str,
        *,
        shop_name: str = "Sandbox shop",
        clock: SandboxClock | None = None,
    ) -> None:
        self.shop_id = shop_id
        self.shop_name = shop_name
        self.clock = clock or SandboxClock()
        self.secret_key = secret_key
        self.public_url = public_url.rstrip("/")
        self.notification_url: str | None = None
        self.payments: dict[str, dict[str, Any]] = {}
        self.idempotence: dict[str, tuple[str, dict[str, Any]]] = {}
        self.notifications_sent: list[dict[str, Any]] = []
        self.methods: dict[str, dict[str, Any]] = {}  # saved payment methods: id -> card
        self.refunds: dict[str, dict[str, Any]] = {}
        self.lose_next_responses = 0
        self.funded: set[str] = set()  # card numbers money was put on

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/v3/payments", self.create_payment),
            web.get("/v3/payments/{payment_id}", self.get_payment),
            web.post("/v3/payments/{payment_id}/capture", self.capture),
            web.post("/v3/payments/{payment_id}/cancel", self.cancel),
            web.post("/v3/refunds", self.refund),
            web.get("/sandbox/bank/checkout/{payment_id}", self.checkout_page),
            web.post("/sandbox/bank/checkout/{payment_id}", self.checkout_submit),
            web.post("/sandbox/api/bank/settings", self.settings),
        ]

    # --- the API ------------------------------------------------------------------------------
    def _authorized(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            shop, _, secret = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return False
        return secrets.compare_digest(shop, self.shop_id) and secrets.compare_digest(
            secret, self.secret_key
        )

    async def _guarded(self, request: web.Request) -> web.Response | dict[str, Any]:
        if not self._authorized(request):
            return _error(401, "invalid_credentials", "Authentication by given credentials failed")
        key = request.headers.get("Idempotence-Key")
        if not key:
            return _error(
                400, "invalid_request", "Idempotence-Key header is missing", "Idempotence-Key"
            )
        try:
            body = await request.json() if request.can_read_body else {}
        except json.JSONDecodeError:
            return _error(400, "invalid_request", "Request body is not valid JSON")
        return {"key": key, "body": body}

    async def create_payment(self, request: web.Request) -> web.Response:
        guarded = await self._guarded(request)
        if isinstance(guarded, web.Response):
            return guarded
        key, body = guarded["key"], guarded["body"]
        remembered = self.idempotence.get(key)
        if remembered is not None:
            if remembered[0] != json.dumps(body, sort_keys=True):
                return _error(
                    400,
                    "invalid_request",
                    "Idempotence key duplicated with another request body",
                    "Idempotence-Key",
                )
            return web.json_response(self.payments[remembered[1]["id"]])
        amount = body.get("amount") or {}
        try:
            value = float(amount["value"])
        except (KeyError, TypeError, ValueError):
            return _error(400, "invalid_request", "Payment amount is missing or invalid", "amount")
        if value <= 0 or amount.get("currency") != "RUB":
            return _error(400, "invalid_request", "Amount must be positive, in RUB", "amount")
        payment_id = str(uuid.uuid4())
        payment: dict[str, Any] = {
            "id": payment_id,
            "status": "pending",
            "paid": False,
            "amount": {"value": f"{value:.2f}", "currency": "RUB"},
            "created_at": _now(),
            "description": body.get("description", ""),
            "metadata": body.get("metadata") or {},
            "recipient": {"account_id": self.shop_id, "gateway_id": "sandbox"},
            "refundable": False,
            "test": True,
            "_capture": bool(body.get("capture", False)),
            "_save": bool(body.get("save_payment_method", False)),
        }
        confirmation = body.get("confirmation")
        if confirmation:
            if confirmation.get("type") != "redirect":
                return _error(
                    400,
                    "invalid_request",
                    "Only redirect confirmation is supported by the sandbox",
                    "confirmation.type",
                )
            payment["confirmation"] = {
                "type": "redirect",
                "confirmation_url": f"{self.public_url}/sandbox/bank/checkout/{payment_id}",
                "return_url": confirmation.get("return_url"),
            }
        method_id = body.get("payment_method_id")
        if method_id is not None:
            method = self.methods.get(str(method_id))
            if method is None:
                return _error(
                    400, "invalid_request", "Payment method not found", "payment_method_id"
                )
            self._charge_saved(payment, method)
        self.payments[payment_id] = payment
        self.idempotence[key] = (json.dumps(body, sort_keys=True), {"id": payment_id})
        if method_id is not None:
            await self._notify(payment)
        if self.lose_next_responses > 0:
            self.lose_next_responses -= 1
            return _error(500, "internal_server_error", "The response was lost (sandbox fault)")
        return web.json_response(self._public(payment))

    def _charge_saved(self, payment: dict[str, Any], method: dict[str, Any]) -> None:
        failure = LATER_FAILURES.get(method["number"])
        if failure == "insufficient_funds" and method["number"] in self.funded:
            failure = None
        if method.get("revoked"):
            failure = "permission_revoked"
        payment["payment_method"] = method["public"]
        if failure is None:
            payment["status"] = "succeeded" if payment["_capture"] else "waiting_for_capture"
            payment["paid"] = True
            payment["refundable"] = payment["status"] == "succeeded"
            payment["captured_at"] = _now()
        else:
            payment["status"] = "canceled"
            payment["cancellation_details"] = {"party": "payment_network", "reason": failure}

    async def get_payment(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return _error(401, "invalid_credentials", "Authentication by given credentials failed")
        payment = self.payments.get(request.match_info["payment_id"])
        if payment is None:
            return _error(404, "not_found", "Payment not found")
        return web.json_response(self._public(payment))

    async def capture(self, request: web.Request) -> web.Response:
        return await self._finish(request, "succeeded")

    async def cancel(self, request: web.Request) -> web.Response:
        return await self._finish(request, "canceled")

    async def _finish(self, request: web.Request, status: str) -> web.Response:
        guarded = await self._guarded(request)
        if isinstance(guarded, web.Response):
            return guarded
        payment = self.payments.get(request.match_info["payment_id"])
        if payment is None:
            return _error(404, "not_found", "Payment not found")
        if payment["status"] == status:
            return web.json_response(self._public(payment))
        if payment["status"] != "waiting_for_capture":
            return _error(
                400, "invalid_request", f"Payment in status {payment['status']} can't be changed"
            )
        payment["status"] = status
        payment["paid"] = status == "succeeded"
        payment["refundable"] = status == "succeeded"
        if status == "canceled":
            payment["cancellation_details"] = {
                "party": "merchant",
                "reason": "canceled_by_merchant",
            }
        await self._notify(payment)
        return web.json_response(self._public(payment))

    async def settings(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.notification_url = body.get("notification_url", self.notification_url)
        self.lose_next_responses = int(body.get("lose_next_responses", self.lose_next_responses))
        if body.get("top_up"):
            self.funded.add(str(body["top_up"]).replace(" ", ""))
        return web.json_response(
            {
                "notification_url": self.notification_url,
                "lose_next_responses": self.lose_next_responses,
            }
        )

    async def refund(self, request: web.Request) -> web.Response:
        guarded = await self._guarded(request)
        if isinstance(guarded, web.Response):
            return guarded
        key, body = guarded["key"], guarded["body"]
        remembered = self.idempotence.get(key)
        if remembered is not None:
            return web.json_response(self.refunds[remembered[1]["id"]])
        payment = self.payments.get(str(body.get("payment_id")))
        if payment is None:
            return _error(404, "not_found", "Payment not found")
        try:
            value = float(body["amount"]["value"])
        except (KeyError, TypeError, ValueError):
            return _error(400, "invalid_request", "Refund amount is missing or invalid", "amount")
        already = sum(
            float(r["amount"]["value"])
            for r in self.refunds.values()
            if r["payment_id"] == payment["id"]
        )
        if payment["status"] != "succeeded" or value + already > float(payment["amount"]["value"]):
            return _error(400, "invalid_request", "This payment can't be refunded", "amount")
        refund = {
            "id": str(uuid.uuid4()),
            "payment_id": payment["id"],
            "status": "succeeded",
            "amount": {"value": f"{value:.2f}", "currency": "RUB"},
            "created_at": _now(),
        }
        self.refunds[refund["id"]] = refund
        self.idempotence[key] = (json.dumps(body, sort_keys=True), {"id": refund["id"]})
        return web.json_response(refund)

    # --- the hosted page --------------------------------------------------------------------------
    async def checkout_page(self, request: web.Request) -> web.Response:
        payment = self.payments.get(request.match_info["payment_id"])
        if payment is None:
            raise web.HTTPNotFound(text="payment not found")
        view = Checkout(self, payment, _language(request))
        return view.page("card" if payment["status"] == "pending" else "done")

    async def checkout_submit(self, request: web.Request) -> web.Response:
        payment = self.payments.get(request.match_info["payment_id"])
        if payment is None:
            raise web.HTTPNotFound(text="payment not found")
        view = Checkout(self, payment, _language(request))
        if payment["status"] != "pending":
            return view.page("done")
        form = await request.post()
        if form.get("step") == "card":
            number = "".join(ch for ch in str(form.get("number", "")) if ch.isdigit())
            expiry = str(form.get("expiry", "")).strip()
            cvc = str(form.get("cvc", "")).strip()
            errors = _card_errors(number, expiry, cvc, self.clock.now())
            if errors:
                return view.page("card", errors=errors, number=str(form.get("number", "")))
            month, year = _parse_expiry(expiry)
            payment["_card"] = {"number": number, "month": month, "year": year}
            payment["_3ds_failures"] = 0
            return view.page("3ds")
        if "_card" not in payment:  # a 3-D Secure form without a card: start again
            return view.page("card")
        if str(form.get("code", "")).strip() != THREE_DS_CODE:
            payment["_3ds_failures"] = payment.get("_3ds_failures", 0) + 1
            if payment["_3ds_failures"] < THREE_DS_ATTEMPTS:
                left = THREE_DS_ATTEMPTS - payment["_3ds_failures"]
                return view.page("3ds", errors={"code": view.text("wrong_code", left=left)})
            payment.pop("_card")
            payment["status"] = "canceled"
            payment["cancellation_details"] = {
                "party": "payment_network",
                "reason": "3d_secure_failed",
            }
            await self._notify(payment)
            return view.page("done")
        card = payment.pop("_card")
        number = card["number"]
        if number == DECLINED_CARD:
            payment["status"] = "canceled"
            payment["cancellation_details"] = {
                "party": "payment_network",
                "reason": "general_decline",
            }
        else:
            payment["status"] = "waiting_for_capture" if not payment["_capture"] else "succeeded"
            payment["paid"] = True
            payment["refundable"] = payment["status"] == "succeeded"
            method_id = str(uuid.uuid4())
            payment["payment_method"] = {
                "type": "bank_card",
                "id": method_id,
                "saved": payment["_save"],
                "title": f"Bank card *{number[-4:]}",
                "card": {
                    "first6": number[:6],
                    "last4": number[-4:],
                    "expiry_month": f"{card['month']:02d}",
                    "expiry_year": str(card["year"]),
                    "card_type": "MasterCard" if number.startswith("5") else "Visa",
                },
            }
            if payment["_save"]:
                self.methods[method_id] = {"number": number, "public": payment["payment_method"]}
        await self._notify(payment)
        return view.page("done")

    async def _notify(self, payment: dict[str, Any]) -> None:
        event = f"payment.{payment['status']}"
        body = {"type": "notification", "event": event, "object": self._public(payment)}
        self.notifications_sent.append(body)
        if not self.notification_url:
            return
        try:
            async with ClientSession(timeout=ClientTimeout(total=10)) as http:
                await http.post(self.notification_url, json=body)
        except Exception:  # the bot re-checks pending payments itself; a lost notification is fine
            return

    @staticmethod
    def _public(payment: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in payment.items() if not k.startswith("_")}


# --- the hosted page's parts -----------------------------------------------------------------------
TEST_CARDS = (
    (SUCCESS_CARD, "card_ok"),
    (DECLINED_CARD, "card_declined"),
    (POOR_CARD, "card_poor"),
    (EXPIRING_CARD, "card_expiring"),
)
LANGUAGES = ("ru", "en")
TEXTS: dict[str, dict[str, str]] = {
    "ru": {
        "title": "Оплата картой",
        "bank": "Песочница·Банк",
        "shop": "Магазин",
        "purpose": "Назначение",
        "amount": "Сумма",
        "binding": "Привязка карты: проверочный платёж {amount}, он сразу возвращается",
        "number": "Номер карты",
        "expiry": "Срок действия (ММ/ГГ)",
        "cvc": "CVC/CVV",
        "pay": "Оплатить {amount}",
        "bind": "Привязать карту",
        "3ds_title": "Подтверждение 3-D Secure",
        "3ds_hint": "Введите код из SMS (в песочнице {code}).",
        "3ds_card": "Карта {card}",
        "code": "Код из SMS",
        "confirm": "Подтвердить",
        "bad_number": "Номер карты неверен: проверьте цифры (16 цифр, контрольная сумма Луна)",
        "bad_expiry": "Срок действия: месяц и год в виде ММ/ГГ, например 12/30",
        "expired": "Срок действия карты истёк",
        "bad_cvc": "CVC: три цифры с оборота карты",
        "wrong_code": "Неверный код. Осталось попыток: {left}",
        "linked": "Готово: карта {card} привязана. Проверочный платёж {amount} возвращён.",
        "linked_held": (
            "Готово: карта {card} привязана. Проверочный платёж {amount} сразу вернётся."
        ),
        "paid": "Готово: оплачено {amount} картой {card}.",
        "returned": "Платёж {amount} отменён магазином, деньги возвращены на карту {card}.",
        "declined": "Платёж отклонён: {reason}.",
        "back": "Вернуться в чат с ботом",
        "reason_general_decline": "банк отказал в операции",
        "reason_3d_secure_failed": "три раза введён неверный код 3-D Secure",
        "reason_insufficient_funds": "недостаточно средств",
        "reason_card_expired": "истёк срок действия карты",
        "reason_other": "платёж отменён",
        "test_cards": "Тестовые карты песочницы",
        "test_hint": "Срок — любой будущий, CVC — любые 3 цифры, код 3-D Secure — {code}.",
        "card_ok": "всегда успешно",
        "card_declined": "отказ при привязке",
        "card_poor": "привязывается; дальше списания — «недостаточно средств»",
        "card_expiring": "привязывается со сроком в этом месяце ({month}); дальше — «истёк срок»",
        "secure": "Данные карты передаются только банку. Это песочница: деньги не настоящие.",
    },
    "en": {
        "title": "Card payment",
        "bank": "Sandbox·Bank",
        "shop": "Shop",
        "purpose": "Purpose",
        "amount": "Amount",
        "binding": "Card binding: a check payment of {amount} that is returned at once",
        "number": "Card number",
        "expiry": "Expiry (MM/YY)",
        "cvc": "CVC/CVV",
        "pay": "Pay {amount}",
        "bind": "Link the card",
        "3ds_title": "3-D Secure check",
        "3ds_hint": "Enter the code from the SMS ({code} in the sandbox).",
        "3ds_card": "Card {card}",
        "code": "Code from the SMS",
        "confirm": "Confirm",
        "bad_number": "The card number is wrong: check the digits (16 digits, Luhn checksum)",
        "bad_expiry": "Expiry: month and year as MM/YY, e.g. 12/30",
        "expired": "The card has expired",
        "bad_cvc": "CVC: the three digits on the back of the card",
        "wrong_code": "Wrong code. Attempts left: {left}",
        "linked": "Done: the card {card} is linked. The check payment of {amount} is returned.",
        "linked_held": (
            "Done: the card {card} is linked. The check payment of {amount} is returned at once."
        ),
        "paid": "Done: {amount} paid with the card {card}.",
        "returned": "The shop cancelled the payment of {amount}; the money is back on {card}.",
        "declined": "The payment was declined: {reason}.",
        "back": "Back to the bot",
        "reason_general_decline": "the bank refused the operation",
        "reason_3d_secure_failed": "a wrong 3-D Secure code was entered three times",
        "reason_insufficient_funds": "insufficient funds",
        "reason_card_expired": "the card has expired",
        "reason_other": "the payment was cancelled",
        "test_cards": "The sandbox's test cards",
        "test_hint": "Any future expiry, any 3-digit CVC, 3-D Secure code {code}.",
        "card_ok": "always succeeds",
        "card_declined": "declined at binding",
        "card_poor": "binds; later charges fail with “insufficient funds”",
        "card_expiring": "binds with this month's expiry ({month}); later charges: “card expired”",
        "secure": "Card data goes to the bank only. This is a sandbox: no real money moves.",
    },
}


def _language(request: web.Request) -> str:
    """`?lang=` first, then the browser's Accept-Language (by its weights), then Russian."""
    asked = request.query.get("lang", "")
    if asked in LANGUAGES:
        return asked
    weighted: list[tuple[float, int, str]] = []
    for index, part in enumerate(request.headers.get("Accept-Language", "").split(",")):
        tag, _, params = part.strip().partition(";")
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                weight = 0.0
        weighted.append((-weight, index, tag.strip().lower().split("-")[0]))
    for _, _, tag in sorted(weighted):
        if tag in LANGUAGES:
            return tag
    return "ru"


def _luhn(number: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(number)):
        digit = int(char) * (2 if index % 2 else 1)
        total += digit - 9 if digit > 9 else digit
    return total % 10 == 0


def _parse_expiry(expiry: str) -> tuple[int, int]:
    """'12/30', '12 / 2030', '1230' as (month, four-digit year); ValueError otherwise."""
    digits = "".join(ch for ch in expiry if ch.isdigit())
    if "/" in expiry:
        month_text, _, year_text = expiry.partition("/")
        month_text, year_text = month_text.strip(), year_text.strip()
    elif len(digits) in (4, 6):
        month_text, year_text = digits[:2], digits[2:]
    else:
        raise ValueError(expiry)
    if not (month_text.isdigit() and year_text.isdigit() and len(year_text) in (2, 4)):
        raise ValueError(expiry)
    month, year = int(month_text), int(year_text)
    if len(year_text) == 2:
        year += 2000
    if not 1 <= month <= 12:
        raise ValueError(expiry)
    return month, year


def _card_errors(number: str, expiry: str, cvc: str, now: datetime) -> dict[str, str]:
    """Field -> text key of what is wrong with the typed card."""
    errors: dict[str, str] = {}
    if len(number) != 16 or not _luhn(number):
        errors["number"] = "bad_number"
    try:
        month, year = _parse_expiry(expiry)
    except ValueError:
        errors["expiry"] = "bad_expiry"
    else:
        if (year, month) < (now.year, now.month):
            errors["expiry"] = "expired"
        elif year > now.year + 20:
            errors["expiry"] = "bad_expiry"
    if not (cvc.isdigit() and len(cvc) == 3):
        errors["cvc"] = "bad_cvc"
    return errors


STYLE = """
*{box-sizing:border-box}
body{margin:0;min-height:100vh;font:16px/1.45 "Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
 color:#14213d;background:linear-gradient(160deg,#0f4c5c 0%,#1d7874 55%,#e8f1f2 55%)}
.wrap{max-width:440px;margin:0 auto;padding:28px 16px}
.brand{color:#fff;font-weight:700;letter-spacing:.04em;display:flex;justify-content:space-between;
 align-items:center;margin-bottom:18px}
.brand .lang a{color:#d7f0ee;margin-left:8px;font-weight:400;font-size:14px}
.brand .lang b{margin-left:8px;font-size:14px}
.card{background:#fff;border-radius:16px;padding:22px;box-shadow:0 12px 32px rgba(15,76,92,.25)}
.order dt{font-size:12px;text-transform:uppercase;color:#6b7a8f;margin-top:8px}
.order dd{margin:0;font-weight:600}
.order .sum{font-size:28px;color:#0f4c5c}
.binding{background:#fff6dd;border-left:4px solid #f4a259;padding:8px 12px;border-radius:6px;
 margin:14px 0;font-size:14px}
label{display:block;margin:12px 0 0;font-size:13px;color:#40506a}
input{display:block;width:100%;margin-top:4px;padding:11px 12px;font-size:17px;border:1px solid #c6d2de;
 border-radius:10px;font-variant-numeric:tabular-nums}
input:focus{outline:2px solid #1d7874;border-color:#1d7874}
input[aria-invalid=true]{border-color:#c0392b;background:#fff5f4}
.row{display:flex;gap:12px}.row .field{flex:1;min-width:0}
.error{color:#c0392b;font-size:13px;margin:4px 0 0}
h2{font-size:19px;margin:14px 0 6px}
button{width:100%;margin-top:18px;padding:13px;font-size:17px;font-weight:600;color:#fff;border:0;
 border-radius:10px;background:#1d7874;cursor:pointer}
button:hover{background:#0f4c5c}
.outcome{font-size:18px;margin:8px 0}.outcome.ok{color:#1d7874}.outcome.bad{color:#c0392b}
.back{display:inline-block;margin-top:12px;font-weight:600;color:#0f4c5c}
.secure{font-size:12px;color:#6b7a8f;margin-top:14px}
details{margin-top:16px;background:#f3f7f9;border-radius:10px;padding:10px 12px;font-size:14px}
details table{border-collapse:collapse;width:100%;margin-top:6px}
details td{padding:4px 6px;border-top:1px solid #dde5ec;vertical-align:top}
details code{cursor:pointer;color:#0f4c5c;white-space:nowrap}
"""


class Checkout:
    """The hosted page of one payment in one language."""

    def __init__(self, bank: Bank, payment: dict[str, Any], language: str) -> None:
        self.bank, self.payment, self.language = bank, payment, language

    def text(self, key: str, **values: object) -> str:
        return TEXTS[self.language][key].format(**values)

    def money(self, value: str) -> str:
        """'1 234,50 ₽' in Russian; '₽1,234.50' in English (CLDR's English says 'RUB')."""
        if self.language == "ru":
            return format_currency(Decimal(value), "RUB", locale="ru")
        return "₽" + format_decimal(Decimal(value), format="#,##0.00", locale=self.language)

    @property
    def binding(self) -> bool:
        return bool(self.payment["_save"]) and not self.payment["_capture"]

    def page(
        self, step: str, *, errors: dict[str, str] | None = None, number: str = ""
    ) -> web.Response:
        errors = errors or {}
        amount = self.money(self.payment["amount"]["value"])
        esc = html.escape
        order = (
            f'<dl class="order"><dt>{esc(self.text("shop"))}</dt>'
            f'<dd class="shop">{esc(self.bank.shop_name)}</dd>'
        )
        if self.payment.get("description"):
            order += (
                f"<dt>{esc(self.text('purpose'))}</dt>"
                f'<dd class="purpose">{esc(self.payment["description"])}</dd>'
            )
        order += f'<dt>{esc(self.text("amount"))}</dt><dd class="sum">{esc(amount)}</dd></dl>'
        if self.binding:
            order += f'<p class="binding">{esc(self.text("binding", amount=amount))}</p>'
        body = getattr(self, f"_{step.replace('3ds', 'secure')}")(errors, number, amount)
        switch = "".join(
            f"<b>{code}</b>"
            if code == self.language
            else f'<a href="?lang={code}" hreflang="{code}">{code}</a>'
            for code in LANGUAGES
        )
        page = f"""<!doctype html><html lang="{self.language}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(self.text("title"))} · {esc(self.bank.shop_name)}</title><style>{STYLE}</style></head>
<body><div class="wrap"><div class="brand"><span>🏦 {esc(self.text("bank"))}</span>
<span class="lang">{switch}</span></div><main class="card">{order}{body}
<p class="secure">🔒 {esc(self.text("secure"))}</p></main>{self._test_cards(step)}</div>
</body></html>"""
        return web.Response(text=page, content_type="text/html")

    def _field(self, name: str, label: str, errors: dict[str, str], **attrs: str) -> str:
        error = errors.get(name)
        extra = "".join(f' {k.replace("_", "-")}="{html.escape(v)}"' for k, v in attrs.items())
        invalid = f' aria-invalid="true" aria-describedby="{name}-error"' if error else ""
        message = ""
        if error:
            message = f'<p class="error" id="{name}-error">{html.escape(error)}</p>'
        return (
            f'<div class="field"><label>{html.escape(self.text(label))}'
            f'<input name="{name}"{extra}{invalid}></label>{message}</div>'
        )

    def _action(self) -> str:
        return f"?lang={self.language}"

    def _card(self, errors: dict[str, str], number: str, amount: str) -> str:
        shown = {field: self.text(key) for field, key in errors.items()}
        button = self.text("bind") if self.binding else self.text("pay", amount=amount)
        number_field = self._field(
            "number",
            "number",
            shown,
            value=number,
            inputmode="numeric",
            autocomplete="cc-number",
            placeholder="0000 0000 0000 0000",
            maxlength="23",
        )
        expiry = self._field(
            "expiry", "expiry", shown, inputmode="numeric", autocomplete="cc-exp",
            placeholder="12/30", maxlength="7",
        )  # fmt: skip
        cvc = self._field(
            "cvc", "cvc", shown, inputmode="numeric", autocomplete="cc-csc",
            placeholder="123", maxlength="3", type="password",
        )  # fmt: skip
        return f"""<form method="post" action="{self._action()}" novalidate>
<input type="hidden" name="step" value="card">{number_field}
<div class="row">{expiry}{cvc}</div><button>{html.escape(button)}</button></form>"""

    def _secure(self, errors: dict[str, str], number: str, amount: str) -> str:
        card = self.payment.get("_card") or {}
        masked = f"•••• {str(card.get('number', ''))[-4:]}"
        code = self._field(
            "code", "code", errors, inputmode="numeric", autocomplete="one-time-code",
            maxlength="6", autofocus="autofocus",
        )  # fmt: skip
        return f"""<form method="post" action="{self._action()}" novalidate>
<input type="hidden" name="step" value="3ds"><h2>{html.escape(self.text("3ds_title"))}</h2>
<p>{html.escape(self.text("3ds_card", card=masked))}. {html.escape(self.text("3ds_hint", code=THREE_DS_CODE))}</p>
{code}<button>{html.escape(self.text("confirm"))}</button></form>"""

    def _done(self, errors: dict[str, str], number: str, amount: str) -> str:
        payment = self.payment
        method = (payment.get("payment_method") or {}).get("card") or {}
        card = f"•••• {method.get('last4', '')}"
        status = payment["status"]
        reason = (payment.get("cancellation_details") or {}).get("reason", "")
        authorized = bool(method)
        if status in ("waiting_for_capture", "succeeded") or (
            status == "canceled" and authorized and reason == "canceled_by_merchant"
        ):
            ok = True
            if self.binding:
                key = "linked" if status == "canceled" else "linked_held"
            else:
                key = "returned" if status == "canceled" else "paid"
            text = self.text(key, card=card, amount=amount)
        else:
            ok = False
            key = f"reason_{reason}" if f"reason_{reason}" in TEXTS["ru"] else "reason_other"
            text = self.text("declined", reason=self.text(key))
        return_url = (payment.get("confirmation") or {}).get("return_url")
        link = ""
        if return_url:
            link = f'<a class="back" href="{html.escape(return_url)}">← {self.text("back")}</a>'
        mark = "ok" if ok else "bad"
        return f'<p class="outcome {mark}">{"✅" if ok else "⛔"} {html.escape(text)}</p>{link}'

    def _test_cards(self, step: str) -> str:
        if step != "card":
            return ""
        month = self.bank.clock.now().strftime("%m/%y")
        rows = "".join(
            f'<tr><td><code data-card="{number}">{" ".join(number[i : i + 4] for i in (0, 4, 8, 12))}'
            f"</code></td><td>{html.escape(self.text(key, month=month))}</td></tr>"
            for number, key in TEST_CARDS
        )
        hint = html.escape(self.text("test_hint", code=THREE_DS_CODE))
        return f"""<details class="card test-cards" open><summary>🧪 {html.escape(self.text("test_cards"))}</summary>
<p>{hint}</p><table>{rows}</table></details>
<script>document.querySelectorAll("code[data-card]").forEach((c) => c.onclick = () => {{
 const n = document.querySelector("input[name=number]"); if (n) {{ n.value = c.textContent; n.focus(); }} }});</script>"""
