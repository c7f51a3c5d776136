"""Opening hours: OSM syntax evaluated in Europe/London with UK bank holidays."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from backend.errors import ValidationError
from backend.venues import hours
from tests.backend.venues.factories import SATURDAY_0130, TUESDAY_0130


def test_a_late_pub_is_open_after_midnight_on_saturday_but_not_on_tuesday():
    assert hours.is_open_at("Fr-Sa 17:00-02:00", SATURDAY_0130) is True
    assert hours.is_open_at("Fr-Sa 17:00-02:00", TUESDAY_0130) is False


def test_a_ph_off_venue_is_closed_on_christmas_day():
    expression = "Mo-Su 09:00-18:00; PH off"
    christmas_noon = datetime(2026, 12, 25, 12, 0, tzinfo=UTC)
    assert hours.is_open_at(expression, christmas_noon) is False
    assert hours.is_open_at(expression, datetime(2026, 12, 23, 12, 0, tzinfo=UTC)) is True


def test_summer_time_is_local_time():
    # 17:30 UTC on 1 July is 18:30 in London: a shop closing at 18:00 is shut.
    assert hours.is_open_at("Mo-Su 09:00-18:00", datetime(2026, 7, 1, 16, 30, tzinfo=UTC))
    assert not hours.is_open_at("Mo-Su 09:00-18:00", datetime(2026, 7, 1, 17, 30, tzinfo=UTC))


def test_state_says_when_it_closes_or_opens_in_utc():
    state = hours.state_at("Fr-Sa 17:00-02:00", SATURDAY_0130)
    assert state.open_now is True
    assert state.closes_at == datetime(2026, 11, 21, 2, 0, tzinfo=UTC)
    assert state.opens_at is None
    state = hours.state_at("Fr-Sa 17:00-02:00", TUESDAY_0130)
    assert state.open_now is False
    assert state.opens_at == datetime(2026, 11, 27, 17, 0, tzinfo=UTC)
    summer = hours.state_at("Mo-Su 09:00-18:00", datetime(2026, 7, 1, 12, 0, tzinfo=UTC))
    assert summer.closes_at == datetime(2026, 7, 1, 17, 0, tzinfo=UTC)  # 18:00 BST


def test_unknown_hours_are_neither_open_nor_closed():
    assert hours.state_at(None, SATURDAY_0130).open_now is None
    assert hours.is_open_at(None, SATURDAY_0130) is False


@pytest.mark.parametrize(
    "bad", ["Mo-Fr 25:00-99", "open sometimes", "Mo-Fr 09:00-", "Xx 10:00-11:00"]
)
def test_invalid_expressions_are_refused_naming_the_field(bad):
    with pytest.raises(ValidationError) as excinfo:
        hours.validate(bad)
    assert list(excinfo.value.errors) == ["opening_hours"]


def test_weekday_columns_become_opening_hours():
    columns = {
        "opening_hours_monday": "09:00-18:00",
        "opening_hours_tuesday": "09:00-18:00",
        "opening_hours_wednesday": "09:00-18:00",
        "opening_hours_thursday": "09:00-13:00,13:20-18:00",
        "opening_hours_friday": "09:00-13:00,13:20-18:00",
        "opening_hours_saturday": "CLOSED",
        "opening_hours_sunday": "10:00-16:00",
    }
    expression = hours.from_weekday_columns(columns)
    assert expression == "Mo-We 09:00-18:00; Th,Fr 09:00-13:00,13:20-18:00; Su 10:00-16:00"
    assert hours.validate(expression) == expression
    assert hours.from_weekday_columns({"name": "x"}) is None
    closed = {f"opening_hours_{d}": "CLOSED" for d in ("monday", "tuesday", "sunday")}
    assert hours.from_weekday_columns(closed) == "closed"
    with pytest.raises(ValueError, match="opening_hours_monday"):
        hours.from_weekday_columns({"opening_hours_monday": "9am till late"})
