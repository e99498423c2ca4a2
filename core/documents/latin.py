"""The Latin name for a travel policy, "as in the foreign passport" (seed 000, 3.1).

Russian foreign passports have transliterated names by ICAO Doc 9303 since 2014 (Order of the
MVD No. 889); `iuliia` implements that scheme. The person can correct our proposal, because
older passports used other schemes.
"""

from __future__ import annotations

import re

import iuliia

from core.accounts.validation import InvalidInput, Problem

MAX_LATIN_NAME = 60
_LATIN_NAME = re.compile(r"[A-Z]+(?:['\-][A-Z]+)*(?: [A-Z]+(?:['\-][A-Z]+)*)+")


def propose_latin_name(surname: str, first_name: str) -> str:
    latin: str = iuliia.ICAO_DOC_9303.translate(f"{surname} {first_name}")
    return latin.upper()


def parse_latin_name(text: str) -> str:
    """`ivanova  anna` -> `IVANOVA ANNA`; surname and name in Latin letters, as printed."""
    name = " ".join(text.split()).upper()
    if len(name) > MAX_LATIN_NAME:
        raise InvalidInput(Problem.NAME_TOO_LONG)
    if not _LATIN_NAME.fullmatch(name):
        raise InvalidInput(Problem.LATIN_NAME_INVALID)
    return name
