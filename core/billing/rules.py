"""The insurer's billing settings, as the billing use cases read them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

# YooKassa's published notification sources; the sandbox adds localhost.
YOOKASSA_NETWORKS = (
    "185.71.76.0/27",
    "185.71.77.0/27",
    "77.75.153.0/25",
    "77.75.156.11/32",
    "77.75.156.35/32",
    "77.75.154.128/25",
    "2a02:5180::/32",
)


@dataclass(frozen=True, slots=True)
class BillingRules:
    return_url: str  # where the provider's page sends the person back (the bot's chat)
    binding_amount: int = 1000  # kopecks: the 10 RUB verification payment (seed 000 2.3.1)
    charge_delay: timedelta = timedelta(days=30)  # "about a month after the visit" (seed 002)
    debt_deadline: timedelta = timedelta(days=14)  # then franchise clinics are suspended
    stale_claim: timedelta = timedelta(minutes=10)  # a claimed charge nobody finished
