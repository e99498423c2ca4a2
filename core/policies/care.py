"""Types of care a DMS program covers (seed 004), with their titles as gettext msgids.

Titles are marked with `N_` so the extractor finds them; whoever shows them translates them
in the reader's language (the bot through aiogram's i18n, documents through a passed gettext).
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum

Translate = Callable[[str], str]


def N_(message: str) -> str:
    return message


class CareType(StrEnum):
    OUTPATIENT = "outpatient"
    DENTAL = "dental"
    HOME_VISIT = "home_visit"
    EMERGENCY = "emergency"
    HOSPITAL = "hospital"
    TELEMEDICINE = "telemedicine"


CARE_TITLES: dict[CareType, str] = {
    CareType.OUTPATIENT: N_("Outpatient care (polyclinic)"),
    CareType.DENTAL: N_("Dental care"),
    CareType.HOME_VISIT: N_("Doctor's home visit"),
    CareType.EMERGENCY: N_("Emergency care"),
    CareType.HOSPITAL: N_("Hospital care"),
    CareType.TELEMEDICINE: N_("Telemedicine"),
}

CARE_TYPES = frozenset(CareType)


def care_title(code: str, translate: Translate) -> str:
    """A known type's title in the reader's language; an unknown code as it came."""
    try:
        return translate(CARE_TITLES[CareType(code)])
    except ValueError:
        return code
