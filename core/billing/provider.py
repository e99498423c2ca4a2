"""One interface for payment providers; YooKassa's v3 API (and the sandbox bank) behind it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from core.errors import DomainError


@dataclass(frozen=True, slots=True)
class SavedCard:
    method_id: str
    first6: str
    last4: str
    expiry_month: int
    expiry_year: int
    card_type: str
    saved: bool


@dataclass(frozen=True, slots=True)
class ProviderPayment:
    id: str
    status: str  # pending, waiting_for_capture, succeeded, canceled
    amount: int  # kopecks
    confirmation_url: str | None = None
    reason: str | None = None  # cancellation_details.reason
    card: SavedCard | None = None
    metadata: dict[str, str] | None = None


class ProviderUnavailable(DomainError):
    """Timeout, connection error or 5xx: the outcome is unknown; retry with the same key."""


class ProviderRefused(DomainError):
    """A definitive 4xx answer: the request will never succeed as it is."""


class PaymentProvider(Protocol):
    async def create_binding(
        self, key: str, *, amount: int, description: str, return_url: str, metadata: dict[str, str]
    ) -> ProviderPayment:
        """A held payment on the hosted page that saves the card (capture: false)."""

    async def create_link(
        self, key: str, *, amount: int, description: str, return_url: str, metadata: dict[str, str]
    ) -> ProviderPayment:
        """A payment the person makes on the hosted page (capture: true)."""

    async def charge_saved(
        self, key: str, *, amount: int, method_id: str, description: str, metadata: dict[str, str]
    ) -> ProviderPayment:
        """A charge from a saved card, without the person."""

    async def get(self, payment_id: str) -> ProviderPayment: ...

    async def capture(self, key: str, payment_id: str) -> ProviderPayment: ...

    async def cancel(self, key: str, payment_id: str) -> ProviderPayment: ...

    async def refund(self, key: str, payment_id: str, amount: int) -> str:
        """Returns the refund's status."""
