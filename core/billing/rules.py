"""The insurer's billing settings, as the billing use cases read them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from core.formatting import MOSCOW

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


def last_day_to_pay(debt_since: datetime, rules: BillingRules) -> date:
    """The last day (Moscow calendar) a debt can be paid before franchise clinics are
    suspended: the whole day, so that paying on its evening is in time (a walker found the
    clinics closed at 11:10 on the day the message said to pay by)."""
    return (debt_since + rules.debt_deadline).astimezone(MOSCOW).date()


def suspension_moment(debt_since: datetime, rules: BillingRules) -> datetime:
    """When a debt still open suspends the clinics: 00:00 Moscow time after its last day."""
    return datetime.combine(last_day_to_pay(debt_since, rules) + timedelta(days=1), time(), MOSCOW)


def overdue_before(now: datetime, rules: BillingRules) -> datetime:
    """Debts older than this are past their last day at `now` (`suspension_moment` <= now)."""
    today = datetime.combine(now.astimezone(MOSCOW).date(), time(), MOSCOW)
    return today - rules.debt_deadline
