"""What a program covers and excludes, as text generated from the program's data (seed 004).

The chat and the PDF program show the same sections, so the wording lives here once; the caller
passes a gettext bound to the reader's language.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.formatting import format_date
from core.policies.cabinet import PolicyView, Status
from core.policies.care import Translate, care_title
from core.policies.models import Territory


@dataclass(frozen=True, slots=True)
class Section:
    title: str
    lines: list[str]


def territory_text(territory: str, _: Translate) -> str | None:
    return {
        Territory.MOSCOW: _("Moscow and the Moscow oblast"),
        Territory.SPB: _("Saint Petersburg and the Leningrad oblast"),
        Territory.REGIONAL: _("the regions of Russia you choose in the cabinet"),
        Territory.REGIONAL_EXCLUDING_CAPITALS: _(
            "the regions you choose, except Moscow, the Moscow oblast, Saint Petersburg and "
            "the Leningrad oblast"
        ),
    }.get(Territory(territory))


def coverage(view: PolicyView, _: Translate, locale: str) -> list[Section]:
    program = view.program
    if program is None:
        return []
    sections = [
        Section(
            _("Covered"),
            [care_title(code, _) for code in program.care_types],
        ),
        Section(
            _("When to use it"),
            [
                _(
                    "With complaints about your health, an acute illness, an exacerbation of a "
                    "chronic disease, an injury or a poisoning."
                )
            ],
        ),
    ]
    conditions = []
    where = territory_text(view.policy.territory, _)
    if where:
        conditions.append(_("Where: {territory}.").format(territory=where))
    if program.waiting_days:
        waiting = _("Waiting period: {days} days from the start of the policy.").format(
            days=program.waiting_days
        )
        if view.status in (Status.WAITING, Status.NOT_YET_ACTIVE):
            waiting += " " + _("Visits become insured events on {date}.").format(
                date=format_date(view.covered_from, locale)
            )
        conditions.append(waiting)
    if program.franchise_percent:
        conditions.append(
            _(
                "Co-payment (franchise): {share} of each service's cost. Nothing is paid in "
                "the clinic: your share is charged from your card automatically about a month "
                "after the visit."
            ).format(share=f"{program.franchise_percent}%")
        )
    if conditions:
        sections.append(Section(_("Conditions"), conditions))
    sections.append(
        Section(
            _("Not covered"),
            [*program.exclusions, _("The full list of exclusions is in the policy memo.")],
        )
    )
    return sections
