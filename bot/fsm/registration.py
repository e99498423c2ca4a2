"""The registration dialog: its states and its typed draft."""

from __future__ import annotations

import hashlib
from datetime import date

from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from pydantic import BaseModel

from core.accounts.models import Account

DRAFT_KEY = "registration"


class Registration(StatesGroup):
    phone = State()
    email = State()
    email_code = State()
    surname = State()
    first_name = State()
    patronymic = State()
    birth_date = State()
    sex = State()
    document_type = State()
    document_number = State()
    consents = State()
    summary = State()
    recovery_code = State()


# The order of the steps: "Back" goes to the previous one.
ORDER = [
    Registration.phone,
    Registration.email,
    Registration.surname,
    Registration.first_name,
    Registration.patronymic,
    Registration.birth_date,
    Registration.sex,
    Registration.document_type,
    Registration.document_number,
    Registration.consents,
    Registration.summary,
]
# Where a sub-step goes back to.
BACK = {Registration.email_code: Registration.email, Registration.recovery_code: Registration.phone}
STEP_NUMBER = {
    Registration.phone: 1,
    Registration.email: 2,
    Registration.email_code: 2,
    Registration.surname: 3,
    Registration.first_name: 3,
    Registration.patronymic: 3,
    Registration.birth_date: 4,
    Registration.sex: 5,
    Registration.document_type: 6,
    Registration.document_number: 6,
    Registration.consents: 7,
    Registration.summary: 8,
}
TOTAL_STEPS = 8


class RegistrationDraft(BaseModel):
    """What was entered so far. The passport number is kept only encrypted (a Fernet token)."""

    phone: str | None = None
    email: str | None = None
    email_confirmed: bool = False
    surname: str | None = None
    first_name: str | None = None
    patronymic: str | None = None
    no_patronymic: bool = False
    birth_date: date | None = None
    sex: str | None = None
    document_type: str | None = None
    document_token: str | None = None
    document_mask: str | None = None
    editing: bool = False  # came from the summary: return there after the step
    names_again: bool = False  # a Latin name with a Russian passport: the names, then the number

    def signature(self) -> str:
        """Changes with anything the summary shows (and the passport number behind its mask)."""
        shown = (
            self.phone, self.email, self.surname, self.first_name, self.patronymic,
            self.no_patronymic, self.birth_date, self.sex, self.document_type,
            self.document_token,
        )  # fmt: skip
        return hashlib.sha256(repr(shown).encode()).hexdigest()[:12]

    def answers(self) -> list[tuple[State, bool]]:
        """Each question before the consents, in order, and whether it is answered."""
        return [
            (Registration.phone, bool(self.phone)),
            (Registration.email, self.email_confirmed),
            (Registration.surname, bool(self.surname)),
            (Registration.first_name, bool(self.first_name)),
            (Registration.patronymic, bool(self.patronymic or self.no_patronymic)),
            (Registration.birth_date, self.birth_date is not None),
            (Registration.sex, bool(self.sex)),
            (Registration.document_type, bool(self.document_type)),
            (Registration.document_number, bool(self.document_token)),
        ]

    @property
    def steps_done(self) -> int:
        return sum(done for _, done in self.answers())

    def missing(self) -> list[State]:
        return [step for step, done in self.answers() if not done]

    def first_missing(self) -> State:
        """Where the dialog resumes: the first unanswered question, else the consents."""
        return next(iter(self.missing()), Registration.consents)


async def load_draft(state: FSMContext) -> RegistrationDraft:
    return RegistrationDraft.model_validate((await state.get_data()).get(DRAFT_KEY) or {})


async def save_draft(state: FSMContext, draft: RegistrationDraft) -> None:
    await state.update_data(
        {DRAFT_KEY: draft.model_dump(mode="json"), "steps_done": draft.steps_done}
    )


def draft_from_account(account: Account) -> RegistrationDraft:
    """The account as a draft, to change it through the same steps (until it is locked)."""
    return RegistrationDraft(
        phone=account.phone,
        email=account.email,
        email_confirmed=True,
        surname=account.surname,
        first_name=account.first_name,
        patronymic=account.patronymic,
        no_patronymic=account.patronymic is None,
        birth_date=account.birth_date,
        sex=account.sex,
        document_type=account.document_type,
        document_token=account.document_encrypted,
        document_mask=account.document_mask,
        editing=True,
    )
