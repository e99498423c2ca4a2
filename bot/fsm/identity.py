"""The identity check dialog: which of the three images is expected next."""

from aiogram.fsm.state import State, StatesGroup

EXPECTING_KEY = "identity_expecting"


class IdentityUpload(StatesGroup):
    waiting_file = State()
