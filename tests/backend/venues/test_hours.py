"""Opening hours: OSM syntax evaluated in Europe/London with UK bank holidays."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


def test_hours_are_uk_clock_times_on_the_nights_the_clocks_change():
    # Sunday 29 March 2026: 01:00 GMT becomes 02:00 BST. Sunday 25 October: 02:00 BST
    # becomes 01:00 GMT. A pub open Saturday 20:00-03:00 closes at 03:00 on the UK clock.
    spring = hours.state_at("Sa 20:00-03:00", datetime(2026, 3, 28, 23, 0, tzinfo=UTC))
    assert (spring.open_now, spring.closes_at) == (True, datetime(2026, 3, 29, 2, 0, tzinfo=UTC))
    autumn = hours.state_at("Sa 20:00-03:00", datetime(2026, 10, 24, 23, 0, tzinfo=UTC))
    assert (autumn.open_now, autumn.closes_at) == (True, datetime(2026, 10, 25, 3, 0, tzinfo=UTC))
    # and a Sunday opening at 09:00 opens at 09:00 on the UK clock, whichever side of the change
    sunday = "Su 09:00-17:00"
    assert hours.state_at(sunday, datetime(2026, 3, 29, 0, 0, tzinfo=UTC)).opens_at == datetime(
        2026, 3, 29, 8, 0, tzinfo=UTC
    )
    assert hours.state_at(sunday, datetime(2026, 10, 25, 0, 0, tzinfo=UTC)).opens_at == datetime(
        2026, 10, 25, 9, 0, tzinfo=UTC
    )


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


SPAN_EXPRESSIONS = [
    "Fr-Sa 17:00-02:00",
    "Mo-Fr 09:00-17:30; PH off",
    "Mo-Sa 09:00-18:00; Su 10:00-16:00",
    "24/7",
    "Mo-Su 07:00-23:00",
    'Mo-Fr 09:00-17:00 unknown "call first"',
    "Dec 25 off; Mo-Su 08:00-20:00",
    "Mo-Fr 09:00-13:00,13:20-18:00",
    "Sa 23:59-00:01",
    "closed",
    "not hours at all",
    None,
]


def fresh(expression, at):  # type: ignore[no-untyped-def]
    """The library's own answer at ``at``, without any remembered span."""
    hours._SPANS.clear()
    return hours.Clock(at).state(expression)


@settings(max_examples=300, derandomize=True, deadline=None, database=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(SPAN_EXPRESSIONS),
            # Around the clock changes of 2026 and Christmas, to the minute and the second.
            st.datetimes(
                min_value=datetime(2026, 3, 27),
                max_value=datetime(2026, 3, 31),
                timezones=st.just(UTC),
            )
            | st.datetimes(
                min_value=datetime(2026, 10, 23),
                max_value=datetime(2026, 10, 27),
                timezones=st.just(UTC),
            )
            | st.datetimes(
                min_value=datetime(2026, 12, 23),
                max_value=datetime(2026, 12, 28),
                timezones=st.just(UTC),
            ),
        ),
        min_size=2,
        max_size=12,
    )
)
def test_a_remembered_span_answers_as_the_library_does_at_every_moment(reads):
    hours._SPANS.clear()
    # Reads in time order reuse spans, as searches at "now" do; then in any order.
    for expression, at in [*sorted(reads, key=lambda r: r[1]), *reads]:
        served = hours.Clock(at).state(expression)
        expected = fresh(expression, at)
        assert served == expected, (expression, at)
        assert hours.Clock(at).is_open(expression) is (expected.open_now is True)


def test_a_search_at_a_later_moment_in_the_span_evaluates_nothing(monkeypatch):
    hours._SPANS.clear()
    friday_evening = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)
    first = hours.Clock(friday_evening).state("Fr-Sa 17:00-02:00")
    assert first.open_now is True
    monkeypatch.setattr(hours, "_parse", lambda expression: pytest.fail("evaluated again"))
    later = hours.Clock(datetime(2026, 11, 21, 1, 59, tzinfo=UTC)).state("Fr-Sa 17:00-02:00")
    assert later == first
    monkeypatch.undo()
    assert hours.Clock(first.closes_at).state("Fr-Sa 17:00-02:00").open_now is False
