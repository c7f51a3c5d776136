"""The opening-times rule the server and the phone's offline list share."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from backend.venues import hours
from shared_schemas.venues import (
    Availability,
    OnArrival,
    availability,
    hours_text,
    on_arrival,
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


def test_open_on_arrival_agrees_with_the_library_asked_at_the_arrival_itself():
    """The rule reads the arrival from the state now and the next changes; the library asked
    at the arrival must say the same: open then, and when it closes after."""
    expressions = [
        "Mo-Su 05:00-23:00",
        "Mo-Su 18:00-03:00",
        "Mo-Fr 09:00-12:00,13:00-17:30; PH off",
        "Mo-Su 05:00-05:20",
        "24/7",
    ]
    for expression in expressions:
        for start in range(0, 24 * 60, 13):
            now = AT + timedelta(minutes=start)
            state = hours.state_at(expression, now)
            for walk in (1, 7, 15, 29, 75, 240):
                arrive = now + timedelta(minutes=walk)
                there = hours.state_at(expression, arrive)
                got = on_arrival(
                    state.open_now,
                    state.closes_s,
                    arrive.timestamp(),
                    state.transitions_s,
                    state.known_until_s,
                )
                closes = there.closes_at.timestamp() if there.closes_at else None
                assert (got.open, got.closes_s if got.open else None) == (
                    there.open_now,
                    closes if there.open_now else None,
                ), (expression, now, walk)
                opened_on_the_way = there.open_now and not (
                    state.open_now
                    and (state.closes_s is None or state.closes_s > arrive.timestamp())
                )
                assert (got.opens_s is not None) == bool(opened_on_the_way), (expression, now, walk)


def test_the_rule_at_its_edges():
    at = AT.timestamp()
    # Closed now, opens 10 min from now and closes 2 h later: a 15-minute walk finds it open.
    opening = [(at + 600, True), (at + 600 + 7200, False)]
    assert on_arrival(False, None, at + 900, opening) == OnArrival(True, at + 600, at + 7800)
    assert availability(False, None, at + 900, 1800, opening) == Availability.OPEN
    assert availability(False, None, at + 300, 1800, opening) == Availability.CLOSED
    assert availability(False, None, at + 6600, 1800, opening) == Availability.CLOSING_SOON
    # Open now, closing exactly as you arrive: not open (with or without the transitions).
    assert availability(True, at + 600, at + 600, 1800) == Availability.CLOSES_BEFORE_ARRIVAL
    assert availability(True, at + 600, at + 600, 1800, [(at + 600, False)]) == (
        Availability.CLOSES_BEFORE_ARRIVAL
    )
    # An arrival beyond what the hours were known for is unknown, never open.
    assert availability(False, None, at + 900, 1800, opening, known_until_s=at + 800) == (
        Availability.UNKNOWN
    )
    text = hours_text(
        Availability.OPEN,
        now=AT,
        closes_at=AT + timedelta(hours=2, minutes=10),
        opens_at=AT + timedelta(minutes=10),
        open_24_7=False,
        opens_before_arrival=True,
    )
    # (01:10 UTC is 02:10 BST: the clocks went forward at 01:00 UTC)
    assert text == "Opens 23:10, before you arrive; open until 02:10"
