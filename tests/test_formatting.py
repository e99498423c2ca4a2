"""Days as people read them, in both languages (core/formatting.py)."""

from __future__ import annotations

from datetime import date

import pytest
from babel.numbers import format_decimal
from hypothesis import given
from hypothesis import strategies as st

from bot.handlers.clinics import format_distance
from bot.i18n import create_i18n
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
@pytest.mark.parametrize("value", [0, 0.05, 0.15, 1.25, 2.35, 850.0, 1234.5, 12_345_678.9, -3.5])
def test_a_number_is_formatted_as_babel_formats_it(
    value: float, digits: str | None, locale: str
) -> None:
    assert format_number(value, locale, digits) == format_decimal(
        value, format=digits, locale=locale
    )


@given(
    value=st.floats(min_value=-1e9, max_value=1e9, allow_nan=False),
    digits=st.sampled_from([None, "#,##0.0", "#,##0"]),
    locale=st.sampled_from(["ru", "en"]),
)
def test_any_number_rounded_first_and_remembered_reads_as_babel_writes_it(
    value: float, digits: str | None, locale: str
) -> None:
    # format_number rounds before it asks Babel (and keeps Babel's answers): halves such as
    # 0.15 (really 0.1499…) must still round as Babel rounds their printed form.
    assert format_number(value, locale, digits) == format_decimal(
        value, format=digits, locale=locale
    )


@pytest.mark.parametrize(
    ("km", "ru", "en"),
    [
        (0.0004, "менее 10 м", "under 10 m"),  # not «0 м»
        (0.0051, "10 м", "10 m"),
        (0.8504, "850 м", "850 m"),
        (0.9949, "990 м", "990 m"),
        (0.9996, "1,0 км", "1.0 km"),  # 1 000 m is a kilometre
        (1.25, "1,2 км", "1.2 km"),
        (99.94, "99,9 км", "99.9 km"),
        (99.97, "100 км", "100 km"),  # not «100,0 км» beside «111 км»
        (111.4, "111 км", "111 km"),
        (2412.3, "2\xa0412 км", "2,412 km"),
    ],
)
def test_a_distance_reads_in_the_unit_its_rounded_figure_calls_for(
    km: float, ru: str, en: str
) -> None:
    i18n = create_i18n("ru")
    with i18n.context():
        for locale, expected in (("ru", ru), ("en", en)):
            with i18n.use_locale(locale):
                assert format_distance(km, locale) == expected
