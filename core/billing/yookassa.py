"""The YooKassa v3 HTTP API through aiohttp (the sandbox bank speaks the same API).

Basic auth with the shop id and secret key; an Idempotence-Key on every POST, chosen by the
caller from its own row so that a retry after a timeout is the same request.
"""

from __future__ import annotations

import base64
from typing import Any

from aiohttp import ClientError, ClientSession, ClientTimeout

from core.billing.provider import ProviderPayment, ProviderRefused, ProviderUnavailable, SavedCard


def to_kopecks(value: str) -> int:
    rubles, _, kopecks = value.partition(".")
    return int(rubles) * 100 + int((kopecks + "00")[:2])


def to_value(kopecks: int) -> str:
    return f"{kopecks // 100}.{kopecks % 100:02d}"


def parse_payment(data: dict[str, Any]) -> ProviderPayment:
    method = data.get("payment_method") or {}
    card_data = method.get("card")
    card = None
    if method.get("id") and card_data:
        card = SavedCard(
            method_id=method["id"],
            first6=card_data.get("first6", ""),
            last4=card_data.get("last4", ""),
            expiry_month=int(card_data.get("expiry_month", 0)),
            expiry_year=int(card_data.get("expiry_year", 0)),
            card_type=card_data.get("card_type", ""),
            saved=bool(method.get("saved")),
        )
    return ProviderPayment(
        id=data["id"],
        status=data["status"],
        amount=to_kopecks(data["amount"]["value"]),
        confirmation_url=(data.get("confirmation") or {}).get("confirmation_url"),
        reason=(data.get("cancellation_details") or {}).get("reason"),
        card=card,
        metadata=data.get("metadata") or {},
    )


class YooKassa:
    def __init__(
        self, base_url: str, shop_id: str, secret_key: str, *, timeout: float = 15.0
    ) -> None:
        self._base = base_url.rstrip("/") + "/v3"
        token = base64.b64encode(f"{shop_id}:{secret_key}".encode()).decode()
        self._headers = {"Authorization": f"Basic {token}"}
        self._timeout = ClientTimeout(total=timeout)
        self._http: ClientSession | None = None

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None

    async def _request(
        self, method: str, path: str, *, key: str | None = None, body: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        if self._http is None or self._http.closed:
            self._http = ClientSession(timeout=self._timeout, headers=self._headers)
        headers = {"Idempotence-Key": key} if key else {}
        try:
            async with self._http.request(
                method, self._base + path, json=body, headers=headers
            ) as response:
                data: dict[str, Any] = await response.json(content_type=None)
                if response.status >= 500 or response.status == 429:
                    raise ProviderUnavailable(f"{response.status}: {data.get('description')}")
                if response.status >= 400:
                    raise ProviderRefused(f"{response.status}: {data.get('description')}")
                return data
        except (ClientError, TimeoutError) as error:
            raise ProviderUnavailable(type(error).__name__) from error

    async def _create(self, key: str, body: dict[str, Any]) -> ProviderPayment:
        return parse_payment(await self._request("POST", "/payments", key=key, body=body))

    async def create_binding(
        self, key: str, *, amount: int, description: str, return_url: str, metadata: dict[str, str]
    ) -> ProviderPayment:
        return await self._create(
            key,
            {
                "amount": {"value": to_value(amount), "currency": "RUB"},
                "capture": False,
                "save_payment_method": True,
                "confirmation": {"type": "redirect", "return_url": return_url},
                "description": description,
                "metadata": metadata,
            },
        )

    async def create_link(
        self, key: str, *, amount: int, description: str, return_url: str, metadata: dict[str, str]
    ) -> ProviderPayment:
        return await self._create(
            key,
            {
                "amount": {"value": to_value(amount), "currency": "RUB"},
                "capture": True,
                "confirmation": {"type": "redirect", "return_url": return_url},
                "description": description,
                "metadata": metadata,
            },
        )

    async def charge_saved(
        self, key: str, *, amount: int, method_id: str, description: str, metadata: dict[str, str]
    ) -> ProviderPayment:
        return await self._create(
            key,
            {
                "amount": {"value": to_value(amount), "currency": "RUB"},
                "capture": True,
                "payment_method_id": method_id,
                "description": description,
                "metadata": metadata,
            },
        )

    async def get(self, payment_id: str) -> ProviderPayment:
        return parse_payment(await self._request("GET", f"/payments/{payment_id}"))

    async def capture(self, key: str, payment_id: str) -> ProviderPayment:
        return parse_payment(
            await self._request("POST", f"/payments/{payment_id}/capture", key=key, body={})
        )

    async def cancel(self, key: str, payment_id: str) -> ProviderPayment:
        return parse_payment(
            await self._request("POST", f"/payments/{payment_id}/cancel", key=key, body={})
        )

    async def refund(self, key: str, payment_id: str, amount: int) -> str:
        data = await self._request(
            "POST",
            "/refunds",
            key=key,
            body={
                "payment_id": payment_id,
                "amount": {"value": to_value(amount), "currency": "RUB"},
            },
        )
        return str(data["status"])
