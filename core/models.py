"""Imports every model so that the metadata (and Alembic) sees all tables."""

from core.accounts.identity import IdentityCheck, IdentityFile
from core.accounts.models import Account, ConfirmationCode, Consent, User
from core.clinics.models import Clinic
from core.dialog_state import DialogState

__all__ = [
    "Account",
    "Clinic",
    "ConfirmationCode",
    "Consent",
    "DialogState",
    "IdentityCheck",
    "IdentityFile",
    "User",
]
