"""Imports every model so that the metadata (and Alembic) sees all tables."""

from core.accounts.identity import IdentityCheck, IdentityFile
from core.accounts.models import Account, ConfirmationCode, Consent, User
from core.billing.models import Bill, Card, Charge, Franchise, Payment, ServiceRegion
from core.clinics.models import Clinic
from core.dialog_state import DialogState
from core.documents.models import DocumentCopy
from core.notifications.outbox import OutboxMessage
from core.policies.models import (
    InsuredPerson,
    LookupAttempt,
    Policy,
    PolicyLink,
    Program,
    ProgramClinic,
)

__all__ = [
    "Account",
    "Bill",
    "Card",
    "Charge",
    "Clinic",
    "ConfirmationCode",
    "Consent",
    "DialogState",
    "DocumentCopy",
    "Franchise",
    "IdentityCheck",
    "IdentityFile",
    "InsuredPerson",
    "LookupAttempt",
    "OutboxMessage",
    "Payment",
    "Policy",
    "PolicyLink",
    "Program",
    "ProgramClinic",
    "ServiceRegion",
    "User",
]
