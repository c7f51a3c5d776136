"""Opening hours for people: the OSM string built from rows or a phrase, and read back in
words from the library's own evaluation (one builder, one description)."""

from __future__ import annotations

import pytest

from backend.errors import ValidationError
from backend.venues import hours


@pytest.mark.parametrize(
    ("phrase", "osm"),
    [
        ("Mon-Sat 5pm till 3am", "Mo-Sa 17:00-03:00"),
        ("24/7", "24/7"),
        ("9 to 5 weekdays", "Mo-Fr 09:00-17:00"),
        ("Fri and Sat 8pm to 4am, Sun closed", "Fr,Sa 20:00-04:00"),
        ("every day 10-22", "Mo-Su 10:00-22:00"),
        ("Mon-Fri 9am-5:30pm, Sat 10am to 4pm", "Mo-Fr 09:00-17:30; Sa 10:00-16:00"),
        ("Mo-Th 11:00-23:00; PH off", "Mo-Th 11:00-23:00; PH off"),  # already OSM
    ],
)
def test_common_phrases_become_osm_strings(phrase, osm):
    assert hours.from_phrase(phrase) == osm


@pytest.mark.parametrize("phrase", ["whenever", "Mon-Sat 5pm", "Mon 25pm to 3am", ""])
def test_a_phrase_that_cannot_be_read_names_the_field_with_examples(phrase):
    with pytest.raises(ValidationError) as caught:
        hours.from_phrase(phrase)
    assert "hours_phrase" in caught.value.errors


def test_a_late_saturday_still_runs_into_sunday_morning():
    """A closed Sunday is left out, not written "Su off", which would cut Saturday at 00:00."""
    expression = hours.build([None, None, None, None, None, "17:00-03:00", None])
    assert expression == "Sa 17:00-03:00"
    assert hours.describe(expression) == (
        "Monday to Friday: closed. Saturday: 17:00 to 03:00 (next day). Sunday: closed."
    )


@pytest.mark.parametrize(
    ("expression", "words"),
    [
        ("24/7", "Open 24 hours, every day."),
        ("Mo-Su 17:00-24:00", "Every day: 17:00 to midnight."),
        (
            "Mo-Fr 09:00-12:00,13:00-17:00; PH off",
            "Monday to Friday: 09:00 to 12:00, 13:00 to 17:00. Saturday and Sunday: closed. "
            "Bank holidays: closed.",
        ),
        ("Sa,Su 00:00-24:00", "Monday to Friday: closed. Saturday and Sunday: open 24 hours."),
        ("", "Hours not given"),
    ],
)
def test_hours_in_words(expression, words):
    assert hours.describe(expression) == words


def test_weekday_columns_and_rows_share_the_builder():
    columns = {
        "opening_hours_monday": "09:00-18:00",
        "opening_hours_tuesday": "09:00-18:00",
        "opening_hours_wednesday": "09:00-18:00",
        "opening_hours_thursday": "09:00-18:00",
        "opening_hours_friday": "09:00-18:00",
        "opening_hours_saturday": "CLOSED",
        "opening_hours_sunday": "closed",
    }
    assert hours.from_weekday_columns(columns) == hours.build(["09:00-18:00"] * 5 + [None, None])
    assert hours.build(["00:00-24:00"] * 7) == "24/7"
