"""The four documents of a policy, composed as layouts in the reader's language.

Insurer data (product, program and clinic names, exclusions) is printed as the insurer wrote
it; our own wording goes through the passed gettext (`_`).
"""

from __future__ import annotations

from enum import StrEnum

from core.clinics.directory import ProgramClinicView
from core.config import InsurerBranding
from core.documents.layout import Block, Bullets, Fields, Heading, Layout, Paragraph, Table
from core.formatting import format_date
from core.policies.cabinet import PolicyView
from core.policies.care import Translate, care_title
from core.policies.coverage import coverage, territory_text
from core.policies.models import ContractKind, PolicyKind


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
        rows.append((_("Curator"), program.curator))
    return [Heading(_("Contacts")), Fields(rows)]


def policy_layout(view: PolicyView, insurer: InsurerBranding, _: Translate, locale: str) -> Layout:
    policy, program = view.policy, view.program
    fields = _policy_fields(view, _, locale)
    where = territory_text(policy.territory, _)
    if where:
        fields.rows.append((_("Territory"), where))
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
    blocks.append(
        Paragraph(
            _(
                "Show this policy and your passport at the clinic's registry. The insurer pays "
                "for care in the clinics of your program, or in other clinics by referral of "
                "the 24/7 medical desk."
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
        Heading(_("Emergency and hospital care, a doctor at home")),
        Paragraph(
            _(
                "Call the 24/7 medical desk: {phone}. It calls the ambulance, controls its "
                "arrival and arranges emergency and planned hospitalisation."
            ).format(phone=desk)
        ),
        *_contacts(view, insurer, _),
        Heading(_("Clinics of your program")),
        Table(
            [_("Type of care"), _("Clinic"), _("Address"), _("Phones"), _("Hours")],
            [
                [
                    care_title(item.care_type, _),
                    item.clinic.name,
                    f"{item.clinic.city}, {item.clinic.address}",
                    ", ".join(item.clinic.phones),
                    item.clinic.working_hours or "",
                ]
                for item in clinics
            ],
            [16, 24, 30, 16, 14],
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


def program_layout(view: PolicyView, insurer: InsurerBranding, _: Translate, locale: str) -> Layout:
    program = view.program
    assert program is not None
    blocks: list[Block] = [_policy_fields(view, _, locale)]
    for section in coverage(view, _, locale):
        blocks += [Heading(section.title), Bullets(section.lines)]
    title = _("Insurance program: {name}").format(name=program.name)
    return Layout(f"program-{view.policy.number}.pdf", title, insurer.name, blocks)
