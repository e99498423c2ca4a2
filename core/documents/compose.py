"""The four documents of a policy, composed as layouts in the reader's language.

Insurer data (product, program and clinic names, exclusions) is printed as the insurer wrote
it; our own wording goes through the passed gettext (`_`).
"""

from __future__ import annotations

import re
from enum import StrEnum

from core.clinics.directory import ProgramClinicView
from core.config import InsurerBranding
from core.documents.layout import Block, Bullets, Fields, Heading, Layout, Paragraph, Table
from core.formatting import format_date
from core.policies.cabinet import PolicyView
from core.policies.care import CareType, Translate, care_title
from core.policies.coverage import coverage, territory_text
from core.policies.models import ContractKind, PolicyKind
from core.subjects import names


class DocumentKind(StrEnum):
    POLICY = "policy"
    TRAVEL = "travel"  # needs the Latin name as in the foreign passport
    MEMO = "memo"
    PROGRAM = "program"


def documents_of(view: PolicyView) -> list[DocumentKind]:
    if view.policy.kind == PolicyKind.TRAVEL:
        return [DocumentKind.TRAVEL]
    if view.policy.kind != PolicyKind.DMS or view.program is None:
        return [DocumentKind.POLICY]
    return [DocumentKind.POLICY, DocumentKind.MEMO, DocumentKind.PROGRAM]


def full_name(view: PolicyView) -> str:
    person = view.person
    return " ".join(p for p in (person.surname, person.first_name, person.patronymic) if p)


def _policy_fields(view: PolicyView, _: Translate, locale: str) -> Fields:
    policy = view.policy
    rows = [
        (_("Policy number"), policy.number),
        (_("Product"), policy.product),
        (
            _("Valid"),
            f"{format_date(policy.valid_from, locale)} – {format_date(policy.valid_to, locale)}",
        ),
        (_("Insured person"), full_name(view)),
        (_("Date of birth"), format_date(view.person.birth_date, locale)),
    ]
    person = view.person
    if person.representative_surname:  # a child's policy names the parent who represents them
        representative = (
            person.representative_surname,
            person.representative_first_name,
            person.representative_patronymic,
        )
        rows.append((_("Legal representative"), " ".join(p for p in representative if p)))
    if policy.contract == ContractKind.CORPORATE and policy.policyholder:
        rows.append((_("Policyholder"), policy.policyholder))
    return Fields(rows)


def _contacts(view: PolicyView, insurer: InsurerBranding, _: Translate) -> list[Block]:
    program = view.program
    rows = [(_("24/7 medical desk"), program.desk_phone if program and program.desk_phone else "")]
    rows = [row for row in rows if row[1]]
    rows += [
        (_("Federal number (free)"), insurer.phone_federal),
        (_("Moscow"), insurer.phone_moscow),
        (_("Saint Petersburg"), insurer.phone_spb),
        (_("E-mail"), insurer.email),
    ]
    if program and program.curator:
        rows.append((_("Curator"), without_label(program.curator)))
    return [Heading(_("Contacts")), Fields(rows)]


# An insurer's file may write the curator as "Врач-куратор договора: доктор Орлов А. П., ..."
# where the document already prints the label: the value goes without it.
_CURATOR_LABEL = re.compile(
    r"^\s*(?:врач[-\s]*)?куратор[а-яё\s]{0,30}:\s*"
    r"|^\s*(?:the\s+)?(?:(?:doctor|medical)[-\s]*)?curator[a-z\s']{0,30}:\s*",
    re.IGNORECASE,
)


def without_label(curator: str) -> str:
    """`Врач-куратор: доктор Смирнова Е. В.` -> `доктор Смирнова Е. В.`; else as written."""
    return _CURATOR_LABEL.sub("", curator, count=1) or curator


def policy_layout(
    view: PolicyView,
    insurer: InsurerBranding,
    _: Translate,
    locale: str,
    *,
    regions: list[str] | None = None,
) -> Layout:
    """`regions`: the service regions chosen so far (codes), printed under the territory."""
    policy, program = view.policy, view.program
    fields = _policy_fields(view, _, locale)
    where = territory_text(policy.territory, _)
    if where:
        fields.rows.append((_("Territory"), where))
    if regions:
        fields.rows.append((_("Chosen service regions"), names(regions, locale)))
    if program is not None:
        fields.rows.append((_("Program"), program.name))
        if program.franchise_percent:
            fields.rows.append((_("Co-payment (franchise)"), f"{program.franchise_percent}%"))
        if program.waiting_days:
            fields.rows.append((_("Visits insured from"), format_date(view.covered_from, locale)))
    blocks: list[Block] = [fields]
    if program is not None:
        blocks += [
            Heading(_("Types of care")),
            Bullets([care_title(code, _) for code in program.care_types]),
        ]
    blocks += _contacts(view, insurer, _)
    show = (
        _(
            "Show this policy and the child's birth certificate (or passport, from 14) at the "
            "clinic's registry; a parent or legal representative comes with the child."
        )
        if view.as_child
        else _("Show this policy and your passport at the clinic's registry.")
    )
    blocks.append(
        Paragraph(
            show
            + " "
            + _(
                "The insurer pays for care in the clinics of your program, or in other clinics "
                "by referral of the 24/7 medical desk."
            )
        )
    )
    title = (
        _("DMS policy № {number}") if policy.kind == PolicyKind.DMS else _("Policy № {number}")
    ).format(number=policy.number)
    return Layout(f"policy-{policy.number}.pdf", title, insurer.name, blocks)


def travel_layout(
    view: PolicyView, insurer: InsurerBranding, latin_name: str, _: Translate, locale: str
) -> Layout:
    fields = _policy_fields(view, _, locale)
    fields.rows.insert(3, (_("Name as in the foreign passport"), latin_name))
    blocks: list[Block] = [
        fields,
        Heading(_("If you need medical help abroad")),
        Bullets(
            [
                _("Call the 24/7 assistance desk before going to a doctor: {phone}.").format(
                    phone=insurer.phone_moscow
                ),
                _("Tell them the policy number and where you are."),
                _("Keep every receipt and medical document."),
            ]
        ),
        *_contacts(view, insurer, _),
    ]
    title = _("Travel medical insurance policy № {number}").format(number=view.policy.number)
    return Layout(f"travel-policy-{view.policy.number}.pdf", title, insurer.name, blocks)


def memo_layout(
    view: PolicyView,
    clinics: list[ProgramClinicView],
    insurer: InsurerBranding,
    _: Translate,
    locale: str,
) -> Layout:
    program = view.program
    assert program is not None
    desk = program.desk_phone or insurer.phone_federal
    blocks: list[Block] = [
        _policy_fields(view, _, locale),
        Heading(_("How to get care")),
        Bullets(
            [
                _("Go directly to the registry of a clinic of your program (see the list)."),
                _("Or file a request for care in the insurer's Telegram bot."),
                _("Or call the 24/7 medical desk: {phone}. It books clinics in every city.").format(
                    phone=desk
                ),
            ]
        ),
        *_desk_care(program.care_types, desk, _),
        *_contacts(view, insurer, _),
        Heading(_("Clinics of your program")),
        Table(
            [_("Type of care"), _("Clinic"), _("Address"), _("Phones"), _("Hours")],
            [
                [
                    care_title(item.care_type, _),
                    item.clinic.name,
                    f"{item.clinic.city}, {item.clinic.address}",
                    "\n".join(_unbroken(phone) for phone in item.clinic.phones),
                    item.clinic.working_hours or "",
                ]
                for item in clinics
                if item.care_type in program.care_types
            ],
            [18, 23, 28, 17, 14],
        ),
        Heading(_("Not covered")),
        Bullets(list(program.exclusions)),
        Paragraph(
            _(
                "The insurer pays only for care in the clinics listed here, or in other clinics "
                "by referral of the 24/7 medical desk."
            )
        ),
    ]
    title = _("Memo for the insured person: {product}").format(product=view.policy.product)
    return Layout(f"memo-{view.policy.number}.pdf", title, insurer.name, blocks)


def _unbroken(phone: str) -> str:
    """A phone number kept on one line (it may still break at its own hyphens)."""
    return phone.replace(" ", "\u00a0")


def _desk_care(care_types: list[str], desk: str, _: Translate) -> list[Block]:
    """What the 24/7 desk arranges, for the care this program covers and nothing else."""
    lines = {
        CareType.EMERGENCY: _(
            "Emergency care: the desk calls the ambulance and controls its arrival."
        ),
        CareType.HOSPITAL: _(
            "Hospital care: the desk arranges emergency and planned hospitalisation."
        ),
        CareType.HOME_VISIT: _("A doctor at home: the desk sends a doctor to your address."),
    }
    covered = [line for care, line in lines.items() if care in care_types]
    if not covered:
        return []
    return [
        Heading(_("Through the 24/7 medical desk")),
        Paragraph(_("Call the 24/7 medical desk: {phone}.").format(phone=desk)),
        Bullets(covered),
    ]


def program_layout(view: PolicyView, insurer: InsurerBranding, _: Translate, locale: str) -> Layout:
    program = view.program
    assert program is not None
    blocks: list[Block] = [_policy_fields(view, _, locale)]
    for section in coverage(view, _, locale):
        blocks += [Heading(section.title), Bullets(section.lines)]
    title = _("Insurance program: {name}").format(name=program.name)
    return Layout(f"program-{view.policy.number}.pdf", title, insurer.name, blocks)


_POINT = re.compile(r"^\d+[.)]\s")


def text_layout(text: str, filename: str, issuer: str) -> Layout:
    """A plain-text document of `locales/<language>/documents/` (the consents, the agreement).

    Its first line is the title; a blank line or a numbered point starts a paragraph, and so
    does an unindented line after a point; other lines go on the paragraph before (they were
    wrapped by hand).
    """
    lines = text.strip().splitlines()
    title, rest = lines[0].strip(), lines[1:]
    paragraphs: list[str] = []
    current: list[str] = []
    for line in rest:
        if not line.strip() or (not line[0].isspace() and current and _starts(line, current)):
            if current:
                paragraphs.append(" ".join(current))
            current = []
        if line.strip():
            current.append(line.strip())
    if current:
        paragraphs.append(" ".join(current))
    return Layout(filename, title, issuer, [Paragraph(p) for p in paragraphs])


def _starts(line: str, current: list[str]) -> bool:
    """Whether an unindented line starts a paragraph (a numbered point, or after one)."""
    return bool(_POINT.match(line)) or bool(_POINT.match(current[0]))
