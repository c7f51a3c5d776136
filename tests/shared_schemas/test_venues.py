"""The opening-times rule the server and the phone's offline list share."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from backend.venues import hours
from shared_schemas.venues import (
    Availability,
    availability,
    hours_text,
    state_from_transitions,
)

AT = datetime(2026, 3, 28, 23, 0, tzinfo=UTC)  # Saturday 23:00 GMT; clocks go forward at 01:00


def stored(expression: str, at: datetime) -> dict:
    """An answer item's hours as the phone stores them (what the server sends)."""
    state = hours.state_at(expression, at)
    return {
        "open_now": state.open_now,
        "open_24_7": state.open_24_7,
        "transitions": [{"at": m.isoformat(), "open": o} for m, o in state.transitions],
        "hours_known_until": state.known_until.isoformat(),
    }


def item_end(item: dict) -> datetime:
    return datetime.fromisoformat(item["hours_known_until"])


def test_the_stored_transitions_give_the_librarys_answer_at_later_moments():
    expressions = ["Mo-Su 18:00-03:00", "Fr-Sa 17:00-02:00", "Mo-Fr 09:00-17:30; PH off"]
    for expression in expressions:
        item = stored(expression, AT)
        for minutes in range(0, 24 * 60, 7):
            later = AT + timedelta(minutes=minutes)
            fresh = hours.state_at(expression, later)
            # An opening beyond what the phone was told is not named ("Closed now").
            told = fresh.opens_at if fresh.opens_at and fresh.opens_at < item_end(item) else None
            assert state_from_transitions(item, later) == (
                fresh.open_now,
                fresh.closes_at,
                told,
            ), (expression, later)


def test_after_a_day_the_phone_says_unknown_rather_than_miss_a_closing():
    item = stored("Mo-Su 18:00-03:00", AT)
    assert state_from_transitions(item, AT + timedelta(hours=24)) == (None, None, None)
    assert state_from_transitions(stored("24/7", AT), AT + timedelta(days=9))[0] is True


def test_the_rule_orders_long_enough_then_closing_soon_and_never_calls_a_closed_place_open():
    closes = AT.timestamp() + 3 * 60
    assert availability(True, closes, AT.timestamp() + 120, 1800) == Availability.CLOSING_SOON
    assert availability(True, closes, AT.timestamp() + 180, 1800) == (
        Availability.CLOSES_BEFORE_ARRIVAL
    )
    assert availability(True, None, AT.timestamp() + 180, 1800) == Availability.OPEN
    assert availability(None, None, AT.timestamp(), 1800) == Availability.UNKNOWN
    text = hours_text(
        Availability.CLOSING_SOON,
        now=AT,
        closes_at=AT + timedelta(minutes=6, seconds=40),
        opens_at=None,
        open_24_7=False,
    )
    assert text == "Closes in 6 min (23:06)"
    closed = hours_text(
        Availability.CLOSED,
        now=AT,
        closes_at=None,
        opens_at=AT + timedelta(hours=33),  # Monday 08:00 UTC = 09:00 BST
        open_24_7=False,
    )
    assert closed == "Closed, opens Mon 09:00"
