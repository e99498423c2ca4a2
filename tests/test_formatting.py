"""Days as people read them, in both languages (core/formatting.py)."""

from __future__ import annotations

from datetime import date

import pytest
from babel.numbers import format_decimal

from core.formatting import format_date, format_number, format_weekday


def test_a_booking_day_button_names_the_weekday_in_the_person_s_language() -> None:
    monday, sunday = date(2026, 11, 23), date(2026, 11, 29)
    assert format_weekday(monday, "ru") == "пн 23.11"
    assert format_weekday(sunday, "ru") == "вс 29.11"
    assert format_weekday(monday, "en") == "Mon 23 Nov"
    assert format_date(monday, "ru") == "23.11.2026"  # elsewhere the full date, as before
    assert format_date(monday, "en") == "23 Nov 2026"


@pytest.mark.parametrize("locale", ["ru", "en"])
@pytest.mark.parametrize("digits", [None, "#,##0.0", "#,##0"])
@pytest.mark.parametrize("value", [0, 0.05, 1.25, 850.0, 1234.5, 12_345_678.9, -3.5])
def test_a_number_is_formatted_as_babel_formats_it(
    value: float, digits: str | None, locale: str
) -> None:
    assert format_number(value, locale, digits) == format_decimal(
        value, format=digits, locale=locale
    )
