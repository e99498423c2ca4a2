"""Imports every model so that the metadata (and Alembic) sees all tables."""

from core.accounts.identity import IdentityCheck, IdentityFile
from core.accounts.models import Account, ConfirmationCode, Consent, User
from core.appeals.models import Appeal, AppealMessage, InsurerCase
from core.billing.models import Bill, Card, Charge, Franchise, Payment, ServiceRegion
from core.clinics.models import Booking, Clinic, ClinicSlot, DirectoryVersion
from core.dialog_state import DialogState
from core.documents.models import DocumentCopy
from core.inbox import ProcessedUpdate
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
    "Appeal",
    "AppealMessage",
    "Bill",
    "Booking",
    "Card",
    "Charge",
    "Clinic",
    "ClinicSlot",
    "ConfirmationCode",
    "Consent",
    "DialogState",
    "DirectoryVersion",
    "DocumentCopy",
    "Franchise",
    "IdentityCheck",
    "IdentityFile",
    "InsuredPerson",
    "InsurerCase",
    "LookupAttempt",
    "OutboxMessage",
    "Payment",
    "Policy",
    "PolicyLink",
    "ProcessedUpdate",
    "Program",
    "ProgramClinic",
    "ServiceRegion",
    "User",
]
