"""Imports every model so that the metadata (and Alembic) sees all tables."""

from core.accounts.identity import IdentityCheck, IdentityFile
from core.accounts.models import Account, ConfirmationCode, Consent, User
from core.clinics.models import Clinic
from core.dialog_state import DialogState
from core.documents.models import DocumentCopy
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
    "Clinic",
    "ConfirmationCode",
    "Consent",
    "DialogState",
    "DocumentCopy",
    "IdentityCheck",
    "IdentityFile",
    "InsuredPerson",
    "LookupAttempt",
    "Policy",
    "PolicyLink",
    "Program",
    "ProgramClinic",
    "User",
]
