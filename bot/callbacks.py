"""CallbackData factories: short prefixes, typed fields, never split by hand.

Callback data comes back from the client and can be anything (an old message, a forged
payload): every field is parsed strictly here, so a handler only ever sees values it can
use. A payload that does not parse matches no handler and gets the "no longer works" answer
(bot/handlers/fallback.py); ids are still checked against the person in `core`.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Literal

from aiogram.filters.callback_data import CallbackData
from aiogram.utils.i18n import gettext as _
from pydantic import Field, field_validator

from core.accounts.consents import ConsentKind
from core.accounts.identity import FileKind, RejectReason
from core.accounts.zones import ZONES
from core.appeals.models import AppealKind
from core.documents.compose import DocumentKind as PolicyDocumentKind
from core.policies.care import CareType

# A row id (0 where there is none): never beyond a 32-bit column, so a forged huge number
# cannot overflow a database integer.
Id = Annotated[int, Field(ge=0, le=2**31 - 1)]
Page = Annotated[int, Field(ge=0, le=10_000)]
Index = Annotated[int, Field(ge=-1, le=10_000)]  # into a sorted list; -1: not chosen yet
Word = Annotated[str, Field(pattern=r"^[a-z0-9_]{0,24}$")]
# A guide item: a word, or a word and a program id ("outpatient.2").
GuideItem = Annotated[str, Field(pattern=r"^[a-z0-9_]{0,24}(\.[0-9]{1,9})?$")]


class StaleButton(Exception):
    """A button that no longer applies (another step, a gone context): the errors router
    answers "this button no longer works" and logs at INFO."""


def stale_text(in_step: bool = False) -> str:
    """The answer to a stale button; `in_step`: a form waits for an answer (its latest message
    leads on, and /menu would take the person away from it)."""
    if in_step:
        return _("This button is no longer active. Please go on from the latest message below.")
    # Not "open /menu": the person may be at the menu already (a walker was told so there).
    return _(
        "This button is no longer active. Please choose a section in the menu below or send /menu."
    )


class Language(StrEnum):
    RU = "ru"
    EN = "en"


class LanguageCallback(CallbackData, prefix="lang"):
    code: Language


class DocumentKind(StrEnum):
    USER_AGREEMENT = "ua"
    PERSONAL_DATA = "pd"
    HEALTH_DATA = "hd"


class DocumentCallback(CallbackData, prefix="doc"):
    kind: DocumentKind


class ClinicCallback(CallbackData, prefix="cl"):
    """A clinic's venue and card; `policy` is the policy it was found for (0: the person's own)."""

    id: Id
    policy: Id = 0


class ClinicBackCallback(CallbackData, prefix="clb"):
    """Back to a clinic's card from a screen the card turned into (booking): the card comes
    back in that message, under its venue. Not a field of ClinicCallback: the buttons of the
    lists already in people's chats would no longer parse."""

    id: Id
    policy: Id = 0


class RegistrationAction(StrEnum):
    START = "start"
    RESEND = "resend"
    CHANGE_EMAIL = "email"
    RECOVER = "recover"
    OTHER_CONTACT = "other"
    TEXTS = "texts"
    CONSENTS_DONE = "done"
    CONFIRM = "confirm"
    EDIT = "edit"
    SUMMARY = "summary"  # from the choice of a field to edit back to the summary
    RESTART = "restart"  # ask whether to drop the draft and start from step 1
    RESTART_YES = "restart_yes"  # drop it, and say so
    CONTINUE = "continue"  # keep it: back to the step


class RegistrationCallback(CallbackData, prefix="reg"):
    action: RegistrationAction


class SummaryCallback(CallbackData, prefix="rcf"):
    """«Confirm» under a registration summary: `sig` is that summary's, so an older summary's
    button (the draft changed since) confirms nothing it did not show."""

    sig: str


class ConsentCallback(CallbackData, prefix="cns"):
    kind: ConsentKind


class EditField(StrEnum):
    PHONE = "phone"
    EMAIL = "email"
    NAME = "name"
    BIRTH_DATE = "birth"
    SEX = "sex"
    DOCUMENT = "doc"


class EditCallback(CallbackData, prefix="edt"):
    field: EditField


class CancelCallback(CallbackData, prefix="cnl"):
    confirm: bool


class ProfileAction(StrEnum):
    SHOW = "show"  # the profile screen (Back from its sub-screens)
    EDIT = "edit"
    NOTIFICATIONS = "notify"
    CONSENTS = "consents"
    DELETE = "delete"
    DELETE_CONFIRMED = "delete_yes"
    TOGGLE_REMINDERS = "reminders"
    TOGGLE_NEWS = "news"
    VERIFY = "verify"
    TIME_ZONE = "tz"


class ProfileCallback(CallbackData, prefix="prf"):
    action: ProfileAction


class TimeZoneCallback(CallbackData, prefix="tzn"):
    zone: str  # an IANA name from core.accounts.zones.ZONES (at most 18 characters)

    @field_validator("zone")
    @classmethod
    def _known(cls, zone: str) -> str:
        if zone not in ZONES:
            raise ValueError("unknown time zone")
        return zone


class IdentityAction(StrEnum):
    REPLACE = "replace"
    SUBMIT = "submit"


class IdentityCallback(CallbackData, prefix="idn"):
    action: IdentityAction
    kind: FileKind | Literal[""] = ""


class IdentityDecisionCallback(CallbackData, prefix="idd"):
    check_id: Id
    approve: bool
    reason: RejectReason | Literal[""] = ""  # "" on a rejection: ask the operator for the reason


class IdentityUndoCallback(CallbackData, prefix="idu"):
    """Back from the reject reasons to Approve / Reject (a mistaken tap on Reject)."""

    check_id: Id


class PoliciesAction(StrEnum):
    LIST = "list"
    ADD = "add"
    BY_NUMBER = "number"
    BY_PASSPORT = "passport"
    CHILD = "child"
    CHILD_RESUME = "child_resume"  # the child's policy left halfway: on from where it stopped
    CHILD_ANEW = "child_anew"  # a child's policy begun while one waits: that one is discarded


class PoliciesCallback(CallbackData, prefix="pol"):
    action: PoliciesAction
    page: Annotated[int, Field(ge=0, le=100)] = 0  # of a long list (LIST)


class PolicyAction(StrEnum):
    CARD = "card"
    PROGRAM = "program"
    CLINICS = "clinics"
    FRANCHISE = "franchise"
    SERVICES = "services"
    REGIONS = "regions"


class PolicyCallback(CallbackData, prefix="pc"):
    """One of the person's policies; the id is checked against their own links on every tap."""

    id: Id
    action: PolicyAction = PolicyAction.CARD


class PolicyPageCallback(CallbackData, prefix="pp"):
    """A further page of a long policy screen (CONVERSATION.md 7): the card's contacts (CARD)
    or the rest of «What is covered» (PROGRAM)."""

    id: Id
    action: Literal[PolicyAction.CARD, PolicyAction.PROGRAM]
    page: Annotated[int, Field(ge=1, le=20)] = 1


class PolicyDocumentCallback(CallbackData, prefix="pdoc"):
    id: Id
    kind: PolicyDocumentKind


class LatinNameCallback(CallbackData, prefix="lat"):
    """Accept the proposed Latin name for the travel policy of policy `id`."""

    id: Id


class FranchiseAction(StrEnum):
    TERMS = "terms"  # the conditions and the consent question
    CONSENT = "consent"  # "I agree": open the card page
    ADD_CARD = "card"
    PAY_CARDS = "pay"  # charge the cards on file again
    PAY_LINK = "link"  # pay on the provider's page
    PAY = "paynow"  # the reminder's button: the cards on file first, then the provider's page


class FranchiseCallback(CallbackData, prefix="fr"):
    id: Id  # the policy
    action: FranchiseAction


class FranchiseCardCallback(CallbackData, prefix="frc"):
    """Activate a policy's franchise with a card already linked: consent and one tap."""

    policy: Id
    card: Id


class CardAction(StrEnum):
    OPEN = "open"
    PRIMARY = "primary"
    REMOVE = "remove"  # asks first
    REMOVE_CONFIRMED = "removed"


class CardCallback(CallbackData, prefix="cd"):
    policy: Id  # the franchise section to come back to
    card: Id
    action: CardAction = CardAction.OPEN


class RegionAction(StrEnum):
    CHOOSE = "choose"  # open the picker
    PICK = "pick"  # tick or untick one subject
    PAGE = "page"
    CLEAR = "clear"  # drop the search
    REVIEW = "review"  # "Confirm": the summary before saving
    SAVE = "save"


class RegionCallback(CallbackData, prefix="rg"):
    """The picker's search and ticks are a dialog draft in the FSM data; every button carries
    its policy, so a button of an older picker (another policy's) says it no longer works."""

    action: RegionAction
    policy: Id = 0  # only CHOOSE carries it; the picker keeps it in the FSM data
    code: Annotated[str, Field(pattern=r"^(\d{2})?$")] = ""  # a federal subject
    page: Page = 0


class ServicesCallback(CallbackData, prefix="sv"):
    id: Id  # the policy
    page: Page = 0
    months: Annotated[int, Field(ge=0, le=120)] = 0  # the last N months, 0 for all


class BillCallback(CallbackData, prefix="bl"):
    """One rendered service; the diagnosis (health data) is shown only on an explicit tap."""

    id: Id
    policy: Id
    diagnosis: bool = False


class ClinicsAction(StrEnum):
    HUB = "hub"
    BY_NAME = "name"
    BY_CARE = "care"
    BOOKINGS = "bookings"


class ClinicsCallback(CallbackData, prefix="cs"):
    action: ClinicsAction


class ListKind(StrEnum):
    NAME = "name"  # the query is in the saved search
    NEAR = "near"  # the shared point is in the saved search


class ClinicPageCallback(CallbackData, prefix="cp"):
    """A page of a clinic list; `search` is the saved search (core.clinics.searches) it shows."""

    kind: ListKind
    search: Id = 0
    page: Page = 0
    everything: bool = False  # also the clinics the person may not visit, with the reason


class CareCallback(CallbackData, prefix="cc"):
    """The clinics of a policy's program for one type of care ("" lists the care types)."""

    policy: Id
    care: CareType | Literal[""] = ""
    page: Page = 0
    everything: bool = False


def day_code(day: date) -> int:
    """A day as YYYYMMDD, the way `BookingCallback.day` carries it."""
    return day.year * 10000 + day.month * 100 + day.day


def code_day(code: int) -> date:
    """`day_code` undone; ValueError for no such day."""
    return date(code // 10000, code // 100 % 100, code % 100)


class BookingCallback(CallbackData, prefix="bk"):
    """One step of booking in the chat; each choice rides in the button (indexes into the
    sorted lists, the day as YYYYMMDD, the slot's id), so a restart loses nothing."""

    clinic: Id
    policy: Id
    specialty: Index = -1
    doctor: Index = -1
    day: Annotated[int, Field(ge=0, le=99991231)] = 0  # YYYYMMDD
    slot: Id = 0
    confirm: bool = False

    @field_validator("day")
    @classmethod
    def _a_day(cls, day: int) -> int:
        if day:
            code_day(day)  # ValueError for no such day
        return day


class BookingsAction(StrEnum):
    LIST = "list"
    ASK = "ask"  # "Cancel this visit?"
    CANCEL = "cancel"


class BookingsCallback(CallbackData, prefix="bks"):
    action: BookingsAction = BookingsAction.LIST
    booking: Id = 0


class AppealStartCallback(CallbackData, prefix="an"):
    """Start a new appeal ("" kind: choose it); a policy, a service or a clinic may come along."""

    kind: AppealKind | Literal[""] = ""
    policy: Id = 0
    bill: Id = 0
    clinic: Id = 0


class AppealAnewCallback(AppealStartCallback, prefix="an2"):
    """The same start, chosen while a draft waits: the draft is discarded. A prefix of its own
    (not a field of the start): the start buttons already in people's chats keep working."""

    replaces: Id = 0  # the form of the draft to discard (AppealDraft.form): another is kept


class AppealChoiceCallback(CallbackData, prefix="ac"):
    form: Id  # the draft's AppealDraft.form: a button of another form is stale
    value: Annotated[str, Field(max_length=40)]  # an option of the current step; "done", "mine"


class AppealSendCallback(CallbackData, prefix="af"):
    form: Id  # the draft's AppealDraft.form: a button of another form is stale
    send: bool


class AppealsAction(StrEnum):
    LIST = "list"
    OPEN = "open"
    REPLY = "reply"
    CLOSE = "close"
    RATE = "rate"
    RESUME = "resume"  # the unfinished draft kept in the FSM data
    REOPEN = "reopen"
    UNREPLY = "unreply"  # the Cancel under "write your message to appeal N"


class AppealsCallback(CallbackData, prefix="al"):
    action: AppealsAction = AppealsAction.LIST
    id: Id = 0  # the appeal; for RESUME the draft's form
    rating: Annotated[int, Field(ge=0, le=5)] = 0
    cases: bool = False  # insured-event cases instead of appeals


class ReceiptAppealsCallback(AppealsCallback, prefix="alr"):
    """«My appeals» under an appeal's receipt: the receipt is history (bot/notify.is_notice),
    so the list comes below it instead of replacing it."""


class DeskAction(StrEnum):
    TAKE = "take"
    ANSWER = "answer"
    CLOSE = "close"
    IDENTITY = "identity"
    # a dispute's explicit outcome (closes it)
    CONFIRM = "confirm"
    REJECT = "reject"
    # a case's stages
    DOCUMENTS = "docs"
    REVIEW = "review"
    PAY = "pay"
    REFUSE = "refuse"


class DeskCallback(CallbackData, prefix="dk"):
    id: Id  # the appeal
    action: DeskAction


class GuideCallback(CallbackData, prefix="hp"):
    topic: Literal["help", "care", "faq", "telemed", "shop", "contacts"]
    item: GuideItem = ""


class MenuCallback(CallbackData, prefix="mn"):
    """«🏠 Menu» under a screen: the main menu."""
