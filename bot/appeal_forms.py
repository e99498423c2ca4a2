"""What each kind of appeal asks, step by step (seed 000 3.5, seed 001, seed 004): a schema the
appeals dialog walks, so every kind asks only what it needs and validates it the same way."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from phonenumbers import NumberParseException
from pydantic import BaseModel

from bot.texts import escape
from core.accounts.validation import format_phone
from core.appeals.cases import CaseStage
from core.appeals.models import AppealKind
from core.policies.cabinet import PolicyView


class Ask(StrEnum):
    TEXT = "text"  # a description: at least a few words
    SHORT = "short"  # a line: a name, a topic
    PLACE = "place"  # a line, an address: or a location shared from the attachment menu
    PHONE = "phone"  # defaults to the registered number
    DATE = "date"  # not in the future
    CHOICE = "choice"  # buttons (`choices`)
    POLICY = "policy"  # one of the person's policies (`kinds` filters them)
    FILES = "files"  # photos or PDFs, optional, up to five


@dataclass(frozen=True, slots=True)
class Step:
    field: str
    ask: Ask
    prompt: object  # a lazy text
    label: object
    choices: tuple[tuple[str, object], ...] = ()
    policy_kinds: tuple[str, ...] = ("dms",)
    optional: bool = False


WINDOWS = (
    ("09-12", __("09:00–12:00")),
    ("12-15", __("12:00–15:00")),
    ("15-18", __("15:00–18:00")),
    ("18-21", __("18:00–21:00")),
)
MOODS = (("thanks", __("👍 Thanks")), ("complaint", __("👎 Complaint")))
OTHER_KINDS = ("osago", "kasko", "travel", "property", "accident")

TEXT = Step("text", Ask.TEXT, __("Describe it in a few sentences."), __("Text"))
FILES = Step(
    "files",
    Ask.FILES,
    __("Attach photos or PDF documents if they help (up to five), then tap «Done»."),
    __("Files"),
    optional=True,
)
POLICY = Step("policy", Ask.POLICY, __("Which policy is it about?"), __("Policy"))
PHONE = Step(
    "phone",
    Ask.PHONE,
    __("The phone number to call. Tap your number or type another."),
    __("Phone"),
)

FORMS: dict[AppealKind, tuple[Step, ...]] = {
    AppealKind.COMPLAINT: (POLICY, TEXT, FILES),
    AppealKind.THANKS: (POLICY, TEXT),
    AppealKind.CALLBACK: (
        PHONE,
        Step(
            "window",
            Ask.CHOICE,
            __("When is it convenient to call (Moscow time)?"),
            __("Time"),
            WINDOWS,
        ),
        Step("topic", Ask.SHORT, __("What is the call about?"), __("Topic")),
    ),
    AppealKind.CURATOR: (POLICY, TEXT, FILES),
    AppealKind.APPOINTMENT: (
        POLICY,
        Step("clinic", Ask.SHORT, __("Which clinic?"), __("Clinic")),
        Step("specialty", Ask.SHORT, __("Which doctor or service do you need?"), __("Specialty")),
        Step("dates", Ask.SHORT, __("Which days and hours suit you?"), __("Wished dates")),
        PHONE,
    ),
    AppealKind.ASSISTANCE: (
        POLICY,
        Step("place", Ask.PLACE, __("Where are you (city, address)?"), __("Place")),
        Step("text", Ask.TEXT, __("What happened and what help do you need?"), __("What happened")),
        PHONE,
    ),
    AppealKind.DATA_CHANGE: (
        Step("text", Ask.TEXT, __("What should be changed, and to what?"), __("Change")),
        Step(
            "files",
            Ask.FILES,
            __("Attach the supporting document (a photo or a PDF), then tap «Done»."),
            __("Files"),
            optional=True,
        ),
    ),
    AppealKind.ADD_CLINIC: (
        Step("clinic", Ask.SHORT, __("The clinic's name?"), __("Clinic")),
        Step("address", Ask.PLACE, __("Its address (city, street, building)?"), __("Address")),
        Step("text", Ask.TEXT, __("Why do you need it? (a doctor, the distance...)"), __("Why")),
    ),
    AppealKind.NOT_PROVIDED: (
        Step("text", Ask.TEXT, __("Tell us what was not provided."), __("Text")),
    ),
    AppealKind.FEEDBACK: (
        Step("mood", Ask.CHOICE, __("Thanks or a complaint?"), __("Feedback"), MOODS),
        TEXT,
        FILES,
    ),
    # A case asks for the policy first; the rest depends on its kind (CASE_FORMS).
    AppealKind.INSURED_EVENT: (
        Step("policy", Ask.POLICY, __("Which policy?"), __("Policy"), policy_kinds=OTHER_KINDS),
    ),
    AppealKind.OTHER: (TEXT, FILES),
}

EVENT_DATE = Step(
    "date", Ask.DATE, __("When did it happen? For example 20.11.2026."), __("Date of the event")
)
WHAT_HAPPENED = Step("text", Ask.TEXT, __("What happened?"), __("What happened"))
DAMAGE_PHOTOS = Step(
    "files",
    Ask.FILES,
    __("Attach photos of the damage (up to five), then tap «Done»."),
    __("Files"),
    optional=True,
)
REGISTERED = (
    ("europrotocol", __("European accident report")),
    ("police", __("The traffic police")),
    ("none", __("Not yet")),
)
YES_NO = (("yes", __("Yes, now")), ("no", __("No")))

# Each kind of case asks its own questions (issue 17 item 10).
CASE_FORMS: dict[str, tuple[Step, ...]] = {
    "osago": (
        EVENT_DATE,
        Step("place", Ask.PLACE, __("Where did it happen (city, street)?"), __("Place")),
        Step(
            "other_vehicle",
            Ask.SHORT,
            __("The other vehicle: make, plate number and, if known, the other driver's insurer."),
            __("Other vehicle"),
        ),
        Step(
            "registered",
            Ask.CHOICE,
            __("How was the accident registered?"),
            __("Registered by"),
            REGISTERED,
        ),
        WHAT_HAPPENED,
        Step(
            "files",
            Ask.FILES,
            __(
                "Attach photos of the scene and the damage and the accident report (up to "
                "five), then tap «Done»."
            ),
            __("Files"),
            optional=True,
        ),
    ),
    "kasko": (
        EVENT_DATE,
        Step("place", Ask.PLACE, __("Where did it happen (city, street)?"), __("Place")),
        WHAT_HAPPENED,
        Step(
            "inspection",
            Ask.PLACE,
            __("Where can the car be inspected (address)?"),
            __("Inspection at"),
        ),
        DAMAGE_PHOTOS,
    ),
    "travel": (
        EVENT_DATE,
        Step("country", Ask.SHORT, __("In which country are you?"), __("Country")),
        Step(
            "medical_now",
            Ask.CHOICE,
            __("Do you need medical help now?"),
            __("Medical help needed now"),
            YES_NO,
        ),
        Step(
            "contact",
            Ask.SHORT,
            __("A phone or messenger where we can reach you abroad?"),
            __("Contact abroad"),
        ),
        WHAT_HAPPENED,
        Step(
            "files",
            Ask.FILES,
            __("Attach documents if you have them: receipts, medical reports (up to five)."),
            __("Files"),
            optional=True,
        ),
    ),
    "property": (
        EVENT_DATE,
        Step("place", Ask.SHORT, __("The address of the property?"), __("Address")),
        Step(
            "text",
            Ask.TEXT,
            __("What happened (a flood, a fire, a theft...)?"),
            __("What happened"),
        ),
        DAMAGE_PHOTOS,
    ),
    "accident": (
        EVENT_DATE,
        Step("place", Ask.SHORT, __("Where did it happen?"), __("Place")),
        WHAT_HAPPENED,
        Step(
            "files",
            Ask.FILES,
            __("Attach medical documents if you have them (up to five), then tap «Done»."),
            __("Files"),
            optional=True,
        ),
    ),
}


def steps_of(
    kind: str, case_kind: str | None = None, *, all_cases: bool = False
) -> tuple[Step, ...]:
    """The steps of a kind; a case's follow its policy's kind (all of them for display)."""
    steps = FORMS[AppealKind(kind)]
    if kind == AppealKind.INSURED_EVENT:
        if case_kind in CASE_FORMS:
            return steps + CASE_FORMS[case_kind]
        if all_cases:
            seen = {s.field: s for form in CASE_FORMS.values() for s in form}
            return steps + tuple(seen.values())
    return steps


# The kinds a person picks in "New appeal" (the others start from a service, a clinic, a card).
MENU_KINDS = (
    AppealKind.CALLBACK,
    AppealKind.CURATOR,
    AppealKind.APPOINTMENT,
    AppealKind.ASSISTANCE,
    AppealKind.COMPLAINT,
    AppealKind.THANKS,
    AppealKind.DATA_CHANGE,
    AppealKind.ADD_CLINIC,
    AppealKind.OTHER,
)


def kind_title(kind: str) -> str:
    return {
        AppealKind.COMPLAINT: _("Complaint"),
        AppealKind.THANKS: _("Thanks"),
        AppealKind.CALLBACK: _("Call me back"),
        AppealKind.CURATOR: _("Question to the curator doctor"),
        AppealKind.APPOINTMENT: _("Appointment request"),
        AppealKind.ASSISTANCE: _("Medical assistance"),
        AppealKind.DATA_CHANGE: _("Change of personal or contract data"),
        AppealKind.ADD_CLINIC: _("Add a clinic to the program"),
        AppealKind.NOT_PROVIDED: _("Service was not provided"),
        AppealKind.FEEDBACK: _("Feedback on a service"),
        AppealKind.INSURED_EVENT: _("Insured event"),
        AppealKind.OTHER: _("Other"),
    }[AppealKind(kind)]


def insured_name(view: PolicyView) -> str:
    """The insured person as an appeal names them next to the policy: "Анна Иванова"."""
    return f"{view.person.first_name} {view.person.surname}"


def policy_line(fields: dict[str, str], steps: tuple[Step, ...]) -> str | None:
    """«Policy: …» for an appeal that came with a policy (begun on a policy card) but whose
    form never asks for one (a callback request): what the person sends and the desk sees must
    name it, as the receipt does. None when a step shows it, or there is none."""
    policy = policy_shown(fields)
    if policy is None or any(step.ask is Ask.POLICY for step in steps):
        return None
    return _("Policy: {policy}").format(policy=escape(policy))


def policy_shown(fields: dict[str, str]) -> str | None:
    """The policy an appeal is about, with its insured person: "PRP-0003 (Анна Иванова)"."""
    number = fields.get("policy")
    if not number or number == "—":
        return None
    return f"{number} ({fields['insured']})" if fields.get("insured") else number


def stage_text(stage: CaseStage) -> str:
    """A case's stage in words, for the person and for the desk (each in its language)."""
    return {
        CaseStage.RECEIVED: _("received"),
        CaseStage.DOCUMENTS: _("documents requested"),
        CaseStage.REVIEW: _("under review"),
        CaseStage.PAID: _("decision: payment"),
        CaseStage.REFUSED: _("decision: refusal"),
        CaseStage.CLOSED: _("closed"),
    }[stage]


def history_line(text: str) -> str:
    """A case's stage note ("[review] ...") in words."""
    found = re.match(r"\[(\w+)\] ?(.*)", text, re.S)
    if not found or found.group(1) not in CaseStage.__members__.values():
        return text
    stage = stage_text(CaseStage(found.group(1)))
    return f"{stage}: {found.group(2)}" if found.group(2) else stage


def answers(kind: str, fields: dict[str, str], filed_text: str) -> list[str]:
    """The form's answers as «Label: value» lines (plain text), for the person's view of the
    appeal and the e-mail receipt: what an appointment request asked for (the clinic, the
    doctor, the days, the phone) was kept for the desk only. The text filed as the first
    message, the policy and the files are shown apart; skipped answers are left out."""
    lines = (
        [_("Service: {service}").format(service=fields["service"])] if "service" in fields else []
    )
    for step in steps_of(kind, fields.get("case_kind")):
        value = fields.get(step.field)
        if step.ask in (Ask.TEXT, Ask.POLICY, Ask.FILES) or not value or value == "—":
            continue
        if value == filed_text:  # a call-back's topic is the appeal's text itself
            continue
        lines.append(f"{step.label}: {shown(step, value)}")
    return lines


def shown(step: Step, value: str) -> str:
    """An answer as the person reads it: a choice by its title, a phone as +7 916 123-45-67."""
    if step.ask is Ask.CHOICE:
        return str(dict(step.choices).get(value, value))
    if step.ask is Ask.PHONE:
        try:
            return format_phone(value)
        except NumberParseException:
            return value
    return value


def intro(kind: AppealKind, desk: str) -> str:
    """What the person should know before this kind's questions."""
    if kind is AppealKind.ADD_CLINIC:
        return _(
            "The insurer checks whether the clinic can join your program (a contract, prices, "
            "the quality of care). The answer comes within a day; joining takes up to a month."
        )
    if kind is AppealKind.ASSISTANCE:
        return _(
            "In an emergency call 112 first. Then the desk {desk} will help with the rest."
        ).format(desk=desk)
    return ""


class AppealDraft(BaseModel):
    kind: AppealKind
    step: int = 0
    fields: dict[str, str] = {}
    files: list[dict[str, str]] = []
    policy_id: int | None = None
    bill_id: int | None = None
    clinic_id: int | None = None
    case_kind: str | None = None  # the policy's kind, for a case: osago, kasko, travel...
    # Which form this is: its buttons carry it, so that a button of an earlier form (discarded,
    # sent, or replaced by this one) cannot act on this one (CONVERSATION.md, 4).
    form: int = 0
    prompt: int = 0  # the message of the latest question (or the summary): the form's place
    summaries: list[int] = []  # every summary shown («Continue the draft» shows it again)

    @property
    def steps(self) -> tuple[Step, ...]:
        return steps_of(self.kind, self.case_kind)

    @property
    def current(self) -> Step | None:
        return self.steps[self.step] if self.step < len(self.steps) else None
