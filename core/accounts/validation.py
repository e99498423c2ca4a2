"""What a person types, checked and normalised the way the cabinets of seeds 001 and 003 do."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

import phonenumbers
from babel.dates import get_month_names
from email_validator import EmailNotValidError, validate_email

from core.errors import DomainError

ADULT_AGE = 18
MAX_AGE = 120
MAX_NAME_LENGTH = 60


class Problem(StrEnum):
    PHONE_INVALID = "phone_invalid"
    PHONE_NOT_MOBILE = "phone_not_mobile"
    EMAIL_INVALID = "email_invalid"
    NAME_INVALID = "name_invalid"
    NAME_MIXED_SCRIPTS = "name_mixed_scripts"
    NAME_TOO_LONG = "name_too_long"
    DATE_INVALID = "date_invalid"
    DATE_NO_SUCH_DAY = "date_no_such_day"  # read, but not in the calendar: 31.02
    DATE_FUTURE = "date_future"
    DATE_TOO_OLD = "date_too_old"
    UNDERAGE = "underage"
    DOCUMENT_INVALID = "document_invalid"
    LATIN_NAME_INVALID = "latin_name_invalid"
    NAME_NOT_CYRILLIC = "name_not_cyrillic"  # a Latin part of the name for a Russian passport
    NAME_OTHER_ALPHABET = "name_other_alphabet"  # a part in another alphabet than the surname


class InvalidInput(DomainError):
    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.value)
        self.problem = problem


class DocumentType(StrEnum):
    RU_PASSPORT = "ru_passport"
    FOREIGN_PASSPORT = "foreign_passport"


class Sex(StrEnum):
    MALE = "male"
    FEMALE = "female"


def parse_phone(text: str) -> str:
    """A Russian mobile number in any common writing -> E.164 (`+79161234567`)."""
    try:
        number = phonenumbers.parse(text, "RU")
    except phonenumbers.NumberParseException:
        raise InvalidInput(Problem.PHONE_INVALID) from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidInput(Problem.PHONE_INVALID)
    mobile = {
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    }
    if phonenumbers.number_type(number) not in mobile:
        raise InvalidInput(Problem.PHONE_NOT_MOBILE)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def format_phone(e164: str) -> str:
    number = phonenumbers.parse(e164, None)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def normalize_email(text: str) -> str:
    """Syntax only (no network); stored lower-case so that one address is one account."""
    try:
        checked = validate_email(text.strip(), check_deliverability=False)
    except EmailNotValidError:
        raise InvalidInput(Problem.EMAIL_INVALID) from None
    return checked.normalized.lower()


_CYRILLIC = re.compile(r"^[А-Яа-яЁё]+(?:[ '\-][А-Яа-яЁё]+)*$")
_LATIN = re.compile(r"^[A-Za-z]+(?:[ '\-][A-Za-z]+)*$")
_SEPARATORS = re.compile(r"([ '\-])")


def normalize_name(text: str) -> str:
    """Surname, name or patronymic: letters of one script, hyphens, spaces, apostrophes.

    Capitalised per part ("иванова-петрова" -> "Иванова-Петрова"); ё is kept as typed.
    """
    value = re.sub(r"\s+", " ", text.strip().replace("’", "'"))
    if len(value) > MAX_NAME_LENGTH:
        raise InvalidInput(Problem.NAME_TOO_LONG)
    if not (_CYRILLIC.match(value) or _LATIN.match(value)):
        letters = [c for c in value if c.isalpha()]
        cyrillic = any("а" <= c.lower() <= "я" or c.lower() == "ё" for c in letters)
        latin = any("a" <= c.lower() <= "z" for c in letters)
        if cyrillic and latin:
            raise InvalidInput(Problem.NAME_MIXED_SCRIPTS)
        raise InvalidInput(Problem.NAME_INVALID)
    return "".join(part[:1].upper() + part[1:].lower() for part in _SEPARATORS.split(value))


def is_latin(name: str) -> bool:
    """A name written in Latin letters (a Russian passport has it in Cyrillic)."""
    return _LATIN.match(name) is not None


def check_name_script(part: str, *, surname: str | None, document_type: str | None) -> None:
    """A part of the full name (normalised) against the rest: a Russian passport writes it in
    Cyrillic, and one passport writes it in one alphabet, the surname's (`surname` is given for
    the parts after it)."""
    if document_type == DocumentType.RU_PASSPORT and is_latin(part):
        raise InvalidInput(Problem.NAME_NOT_CYRILLIC)
    if surname and is_latin(surname) != is_latin(part):
        raise InvalidInput(Problem.NAME_OTHER_ALPHABET)


def _month_number(word: str) -> int | None:
    word = word.lower().rstrip(".")
    for locale in ("ru", "en"):
        for width in ("wide", "abbreviated"):
            for context in ("format", "stand-alone"):
                names = get_month_names(width, context=context, locale=locale)
                for number, name in names.items():
                    if name.lower().rstrip(".") == word:
                        return int(number)
    return None


_NUMERIC = (
    re.compile(r"^(?P<d>\d{1,2})[./-](?P<m>\d{1,2})[./-](?P<y>\d{4})$"),
    re.compile(r"^(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})$"),
)
_ORDINAL = r"(?:st|nd|rd|th)?"
_WORDS = (
    # 15 января 1985, 2 July 1979, 2nd July, 1979
    re.compile(
        rf"^(?P<d>\d{{1,2}}){_ORDINAL}\s+(?P<month>[^\W\d_]+\.?),?\s+(?P<y>\d{{4}})"
        r"(?:\s*(?:г\.?|года))?$"
    ),
    # July 2, 1979 (the English order), Jul 2nd 1979
    re.compile(rf"^(?P<month>[^\W\d_]+\.?)\s+(?P<d>\d{{1,2}}){_ORDINAL},?\s+(?P<y>\d{{4}})$"),
)


def parse_date(text: str) -> date:
    """`15.01.1985`, `15/01/1985`, `1985-01-15`, `15 января 1985`, `15 Jan 1985`,
    `July 2, 1979`."""
    value = text.strip()
    for pattern in _NUMERIC:
        match = pattern.match(value)
        if match:
            day, month, year = int(match["d"]), int(match["m"]), int(match["y"])
            break
    else:
        match = next((m for m in (p.match(value) for p in _WORDS) if m), None)
        month_number = _month_number(match["month"]) if match else None
        if match is None or month_number is None:
            raise InvalidInput(Problem.DATE_INVALID)
        day, month, year = int(match["d"]), month_number, int(match["y"])
    try:
        return date(year, month, day)
    except ValueError:
        raise InvalidInput(Problem.DATE_NO_SUCH_DAY) from None


def age_on(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def parse_birth_date(text: str, today: date, *, adult: bool = True) -> date:
    """A birth date in the past, at most 120 years ago; the holder registers only as an adult."""
    birth = parse_date(text)
    if birth > today:
        raise InvalidInput(Problem.DATE_FUTURE)
    age = age_on(birth, today)
    if age > MAX_AGE:
        raise InvalidInput(Problem.DATE_TOO_OLD)
    if adult and age < ADULT_AGE:
        raise InvalidInput(Problem.UNDERAGE)
    return birth


@dataclass(frozen=True, slots=True)
class IdentityDocument:
    type: DocumentType
    number: str  # normalised: "4506 123456" / "75 1234567"
    mask: str  # what may be shown: "45 ** ****56"


_DOCUMENT_DIGITS = {DocumentType.RU_PASSPORT: (4, 6), DocumentType.FOREIGN_PASSPORT: (2, 7)}


def parse_document(kind: DocumentType, text: str) -> IdentityDocument:
    """Russian passport: series of 4 digits + number of 6 (seed 001), with or without spaces;
    foreign passport: 2 + 7 digits."""
    series_length, number_length = _DOCUMENT_DIGITS[kind]
    digits = re.sub(r"[\s\-№]", "", text)
    if not digits.isdigit() or len(digits) != series_length + number_length:
        raise InvalidInput(Problem.DOCUMENT_INVALID)
    series, number = digits[:series_length], digits[series_length:]
    mask_series = series[:2] + (" " + "*" * (series_length - 2) if series_length > 2 else "")
    mask = f"{mask_series} {'*' * (number_length - 2)}{number[-2:]}"
    return IdentityDocument(kind, f"{series} {number}", mask)
