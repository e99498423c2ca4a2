"""Adding a policy: by number, or a child's policy with the child's data."""

from __future__ import annotations

from datetime import date

from aiogram.fsm.state import State, StatesGroup
from pydantic import BaseModel

CHILD_KEY = "child_policy"


class AddPolicy(StatesGroup):
    number = State()
    child_number = State()
    child_surname = State()
    child_first_name = State()
    child_patronymic = State()
    child_birth_date = State()


class ChildDraft(BaseModel):
    number: str | None = None
    surname: str | None = None
    first_name: str | None = None
    patronymic: str | None = None
    patronymic_done: bool = False  # answered, maybe with «No patronymic»
    birth_date: date | None = None


LATIN_KEY = "latin_name_policy_id"


class PolicyDocuments(StatesGroup):
    latin_name = State()  # the travel policy's name as in the foreign passport
