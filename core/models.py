"""Imports every model so that the metadata (and Alembic) sees all tables."""

from core.accounts.models import User
from core.clinics.models import Clinic
from core.dialog_state import DialogState

__all__ = ["Clinic", "DialogState", "User"]
