"""A stand-in bank speaking the YooKassa v3 HTTP API, with a hosted card page and 3-D Secure.

Test cards (any future expiry, any CVC; the 3-D Secure code is 123456):
  5555 5555 5555 4477  always succeeds
  5555 5555 5555 4592  declined at binding (general_decline)
  5555 5555 5555 4535  binds, then every charge fails: insufficient_funds
  5555 5555 5555 4600  binds (expires this month), then every charge fails: card_expired
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
from typing import Any

from aiohttp import ClientSession, ClientTimeout, web

SUCCESS_CARD = "5555555555554477"
DECLINED_CARD = "5555555555554592"
POOR_CARD = "5555555555554535"
EXPIRING_CARD = "5555555555554600"
LATER_FAILURES = {POOR_CARD: "insufficient_funds", EXPIRING_CARD: "card_expired"}
THREE_DS_CODE = "123456"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _error(status: int, code: str, description: str, parameter: str | None = None) -> web.Response:
    body = {"type": "error", "id": str(uuid.uuid4()), "code": code, "description": description}
    if parameter:
        body["parameter"] = parameter
    return web.json_response(body, status=status)


class Bank:
    def __init__(self, shop_id: str, secret_key: str, public_url: str) -> None:
        self.shop_id = shop_id
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
        return _page(payment, step="card" if payment["status"] == "pending" else "done")

    async def checkout_submit(self, request: web.Request) -> web.Response:
        payment = self.payments.get(request.match_info["payment_id"])
        if payment is None:
            raise web.HTTPNotFound(text="payment not found")
        if payment["status"] != "pending":
            return _page(payment, step="done")
        form = await request.post()
        if form.get("step") == "card":
            number = "".join(ch for ch in str(form.get("number", "")) if ch.isdigit())
            if len(number) < 16:
                return _page(
                    payment,
                    step="card",
                    error="Введите номер карты из 16 цифр / Enter a 16-digit card number",
                )
            payment["_card"] = number
            return _page(payment, step="3ds")
        if str(form.get("code", "")).strip() != THREE_DS_CODE:
            return _page(payment, step="3ds", error="Неверный код / Wrong code")
        number = payment.pop("_card", "")
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
            today = datetime.now(UTC)
            expires = today if number == EXPIRING_CARD else today.replace(year=today.year + 3)
            method_id = str(uuid.uuid4())
            payment["payment_method"] = {
                "type": "bank_card",
                "id": method_id,
                "saved": payment["_save"],
                "title": f"Bank card *{number[-4:]}",
                "card": {
                    "first6": number[:6],
                    "last4": number[-4:],
                    "expiry_month": f"{expires.month:02d}",
                    "expiry_year": str(expires.year),
                    "card_type": "MasterCard" if number.startswith("5") else "Visa",
                },
            }
            if payment["_save"]:
                self.methods[method_id] = {"number": number, "public": payment["payment_method"]}
        await self._notify(payment)
        return _page(payment, step="done")

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


def _page(payment: dict[str, Any], *, step: str, error: str | None = None) -> web.Response:
    amount = html.escape(payment["amount"]["value"])
    description = html.escape(payment.get("description") or "")
    notice = f'<p class="error">{html.escape(error)}</p>' if error else ""
    if step == "card":
        body = f"""<form method="post"><input type="hidden" name="step" value="card">
<label>Номер карты / Card number<input name="number" inputmode="numeric" autocomplete="off" placeholder="5555 5555 5555 4477"></label>
<label>Срок / Expiry<input name="expiry" placeholder="12/30"></label>
<label>CVC<input name="cvc" placeholder="123"></label>
<button>Оплатить {amount} ₽ / Pay</button></form>"""
    elif step == "3ds":
        body = """<form method="post"><input type="hidden" name="step" value="3ds">
<p>3-D Secure: код из SMS (в песочнице 123456) / code from SMS (123456 in the sandbox)</p>
<label>Код / Code<input name="code" inputmode="numeric" autocomplete="one-time-code"></label>
<button>Подтвердить / Confirm</button></form>"""
    else:
        ok = payment["status"] in ("waiting_for_capture", "succeeded")
        text = (
            "Готово, вернитесь в чат с ботом. / Done, go back to the bot."
            if ok
            else "Платёж отклонён. / The payment was declined."
        )
        return_url = (payment.get("confirmation") or {}).get("return_url")
        link = (
            f'<p><a href="{html.escape(return_url)}">Вернуться / Go back</a></p>'
            if return_url
            else ""
        )
        body = f"<p>{text}</p>{link}"
    page = f"""<!doctype html><html lang="ru"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Sandbox bank</title><style>body{{font-family:sans-serif;max-width:420px;margin:40px auto}}label{{display:block;margin:8px 0}}
input{{display:block;width:100%;padding:6px;font-size:16px}}button{{padding:8px 16px;font-size:16px}}.error{{color:#b00}}</style></head>
<body><h2>Sandbox bank</h2><p>{description}</p><p>Сумма / Amount: {amount} ₽</p>{notice}{body}</body></html>"""
    return web.Response(text=page, content_type="text/html")
