"""Dates, money and contacts shown in the user's locale (Babel)."""

from __future__ import annotations

import functools
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date as babel_format_date
from babel.dates import format_time
from babel.numbers import NumberPattern, format_currency, parse_pattern

DATE_PATTERNS = {"ru": "dd.MM.yyyy", "en": "d MMM yyyy"}
# A day of the coming weeks with its weekday, for a button: «пн 23.11», «Mon 23 Nov».
WEEKDAY_PATTERNS = {"ru": "EEE dd.MM", "en": "EEE d MMM"}
MOSCOW = ZoneInfo("Europe/Moscow")  # the insurer's desk and its calendar


@functools.cache
def babel_locale(code: str) -> Locale:
    """One parsed Locale per language: Babel would parse it and load its data on every call."""
    return Locale.parse(code)


@functools.cache
def _number_pattern(locale: str, digits: str | None) -> NumberPattern:
    """A number pattern parsed once: Babel parses it on every call (a clinic list formats five
    distances per update)."""
    if digits is None:
        pattern: NumberPattern = babel_locale(locale).decimal_formats[None]
        return pattern
    return parse_pattern(digits)


def format_number(value: float, locale: str, digits: str | None = None) -> str:
    """As Babel's `format_decimal(value, format=digits, locale=locale)`. The value is rounded
    first as Babel rounds it (its string as a Decimal, to the pattern's fraction digits, half
    to even), so that the few values a screen shows (distances to 0.1 km) are formatted once."""
    pattern = _number_pattern(locale, digits)
    if pattern.scale:
        formatted: str = pattern.apply(value, babel_locale(locale))
        return formatted
    rounded = babel_round(value, pattern.frac_prec[1])
    return _formatted(str(rounded), locale, digits)  # a string: -0 is not 0 here


_QUANTA = [Decimal(1).scaleb(-places) for places in range(10)]


def babel_round(value: float, places: int) -> Decimal:
    """`value` rounded to `places` fraction digits as Babel rounds what it formats: its
    string as a Decimal, half to even (so 0.15, really 0.1499…, gives 0.2)."""
    return Decimal(str(value)).quantize(_QUANTA[min(places, len(_QUANTA) - 1)], ROUND_HALF_EVEN)


@functools.lru_cache(maxsize=4096)
def _formatted(value: str, locale: str, digits: str | None) -> str:
    formatted: str = _number_pattern(locale, digits).apply(Decimal(value), babel_locale(locale))
    return formatted


def format_date(value: date, locale: str) -> str:
    pattern = DATE_PATTERNS.get(locale, "dd.MM.yyyy")
    return babel_format_date(value, pattern, locale=babel_locale(locale))


def format_weekday(value: date, locale: str) -> str:
    pattern = WEEKDAY_PATTERNS.get(locale, "EEE dd.MM")
    return babel_format_date(value, pattern, locale=babel_locale(locale))


def format_day(moment: datetime, locale: str) -> str:
    """The calendar day of a moment, as the insurer's calendar (Moscow time) has it."""
    return format_date(moment.astimezone(MOSCOW).date(), locale)


def format_clock(value: datetime, locale: str) -> str:
    """Hours and minutes in Moscow time, where the insurer's desk works."""
    return format_time(value.astimezone(MOSCOW), "HH:mm", locale=babel_locale(locale))


def format_moment(moment: datetime, locale: str) -> str:
    """A start instant: the day alone when it is 00:00 Moscow time, else the day and the time."""
    local = moment.astimezone(MOSCOW)
    if local.hour == 0 and local.minute == 0:
        return format_day(moment, locale)
    return f"{format_day(moment, locale)} {format_clock(moment, locale)}"


def mask_email(email: str) -> str:
    """`anna.ivanova@example.org` -> `a***@example.org`: enough to recognise, not to read."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


def format_money(kopecks: int, locale: str) -> str:
    """`54400` -> `544 ₽` (whole rubles) or `544,50 ₽`, in the locale's way."""
    pattern = "#,##0 ¤" if kopecks % 100 == 0 else "#,##0.00 ¤"
    return format_currency(
        Decimal(kopecks) / 100,
        "RUB",
        format=pattern,
        locale=babel_locale(locale),
        currency_digits=False,
    )
