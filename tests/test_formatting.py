"""Days as people read them, in both languages (core/formatting.py)."""

from __future__ import annotations

from datetime import date

from core.formatting import format_date, format_weekday


def test_a_booking_day_button_names_the_weekday_in_the_person_s_language() -> None:
    monday, sunday = date(2026, 11, 23), date(2026, 11, 29)
    assert format_weekday(monday, "ru") == "пн 23.11"
    assert format_weekday(sunday, "ru") == "вс 29.11"
    assert format_weekday(monday, "en") == "Mon 23 Nov"
    assert format_date(monday, "ru") == "23.11.2026"  # elsewhere the full date, as before
    assert format_date(monday, "en") == "23 Nov 2026"
