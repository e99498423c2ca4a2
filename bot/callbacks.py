"""CallbackData factories: short prefixes, typed fields, never split by hand."""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData

from core.documents.compose import DocumentKind as PolicyDocumentKind


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

    id: int
    policy: int = 0


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


class RegistrationCallback(CallbackData, prefix="reg"):
    action: RegistrationAction


class ConsentCallback(CallbackData, prefix="cns"):
    kind: str


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


class IdentityAction(StrEnum):
    REPLACE = "replace"
    SUBMIT = "submit"


class IdentityCallback(CallbackData, prefix="idn"):
    action: IdentityAction
    kind: str = ""


class IdentityDecisionCallback(CallbackData, prefix="idd"):
    check_id: int
    approve: bool
    reason: str = ""  # "" on a rejection: ask the operator for the reason


class IdentityUndoCallback(CallbackData, prefix="idu"):
    """Back from the reject reasons to Approve / Reject (a mistaken tap on Reject)."""

    check_id: int


class PoliciesAction(StrEnum):
    LIST = "list"
    ADD = "add"
    BY_NUMBER = "number"
    BY_PASSPORT = "passport"
    CHILD = "child"


class PoliciesCallback(CallbackData, prefix="pol"):
    action: PoliciesAction


class PolicyAction(StrEnum):
    CARD = "card"
    PROGRAM = "program"
    CLINICS = "clinics"
    FRANCHISE = "franchise"
    SERVICES = "services"
    REGIONS = "regions"


class PolicyCallback(CallbackData, prefix="pc"):
    """One of the person's policies; the id is checked against their own links on every tap."""

    id: int
    action: PolicyAction = PolicyAction.CARD


class PolicyDocumentCallback(CallbackData, prefix="pdoc"):
    id: int
    kind: PolicyDocumentKind


class LatinNameCallback(CallbackData, prefix="lat"):
    """Accept the proposed Latin name for the travel policy of policy `id`."""

    id: int


class FranchiseAction(StrEnum):
    TERMS = "terms"  # the conditions and the consent question
    CONSENT = "consent"  # "I agree": open the card page
    ADD_CARD = "card"
    PAY_CARDS = "pay"  # charge the cards on file again
    PAY_LINK = "link"  # pay on the provider's page
    PAY = "paynow"  # the reminder's button: the cards on file first, then the provider's page


class FranchiseCallback(CallbackData, prefix="fr"):
    id: int  # the policy
    action: FranchiseAction


class FranchiseCardCallback(CallbackData, prefix="frc"):
    """Activate a policy's franchise with a card already linked: consent and one tap."""

    policy: int
    card: int


class CardAction(StrEnum):
    OPEN = "open"
    PRIMARY = "primary"
    REMOVE = "remove"  # asks first
    REMOVE_CONFIRMED = "removed"


class CardCallback(CallbackData, prefix="cd"):
    policy: int  # the franchise section to come back to
    card: int
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
    policy: int = 0
    code: str = ""
    page: int = 0


class ServicesCallback(CallbackData, prefix="sv"):
    id: int  # the policy
    page: int = 0
    months: int = 0  # the period: the last N months, 0 for all


class BillCallback(CallbackData, prefix="bl"):
    """One rendered service; the diagnosis (health data) is shown only on an explicit tap."""

    id: int
    policy: int
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
    search: int = 0
    page: int = 0
    everything: bool = False  # also the clinics the person may not visit, with the reason


class CareCallback(CallbackData, prefix="cc"):
    """The clinics of a policy's program for one type of care ("" lists the care types)."""

    policy: int
    care: str = ""
    page: int = 0
    everything: bool = False


class BookingCallback(CallbackData, prefix="bk"):
    """One step of booking in the chat; each choice rides in the button (indexes into the
    sorted lists, the day as YYYYMMDD, the slot's id), so a restart loses nothing."""

    clinic: int
    policy: int
    specialty: int = -1
    doctor: int = -1
    day: int = 0
    slot: int = 0
    confirm: bool = False


class BookingsAction(StrEnum):
    LIST = "list"
    ASK = "ask"  # "Cancel this visit?"
    CANCEL = "cancel"


class BookingsCallback(CallbackData, prefix="bks"):
    action: BookingsAction = BookingsAction.LIST
    booking: int = 0


class AppealStartCallback(CallbackData, prefix="an"):
    """Start a new appeal ("" kind: choose it); a policy, a service or a clinic may come along."""

    kind: str = ""
    policy: int = 0
    bill: int = 0
    clinic: int = 0


class AppealChoiceCallback(CallbackData, prefix="ac"):
    value: str  # an option of the current step; "skip", "done", "mine" where offered


class AppealSendCallback(CallbackData, prefix="af"):
    send: bool


class AppealsAction(StrEnum):
    LIST = "list"
    OPEN = "open"
    REPLY = "reply"
    CLOSE = "close"
    RATE = "rate"


class AppealsCallback(CallbackData, prefix="al"):
    action: AppealsAction = AppealsAction.LIST
    id: int = 0
    rating: int = 0
    cases: bool = False  # insured-event cases instead of appeals


class DeskAction(StrEnum):
    TAKE = "take"
    ANSWER = "answer"
    CLOSE = "close"
    IDENTITY = "identity"


class DeskCallback(CallbackData, prefix="dk"):
    id: int  # the appeal
    action: DeskAction


class GuideCallback(CallbackData, prefix="hp"):
    topic: str  # help, care, faq, telemed, shop, contacts
    item: str = ""


class MenuCallback(CallbackData, prefix="mn"):
    """«🏠 Menu» under a screen: the main menu."""
