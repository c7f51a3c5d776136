"""UK local time for people: summer time aware."""

from __future__ import annotations

from datetime import UTC, datetime

from backend.uktime import clock, day_and_clock


def test_clock_follows_british_summer_time():
    assert clock(datetime(2026, 12, 6, 4, 37, tzinfo=UTC)) == "04:37"  # GMT
    assert clock(datetime(2026, 7, 1, 3, 37, tzinfo=UTC)) == "04:37"  # BST
    # the night the clocks go back: 00:30 UTC is 01:30 BST, 01:30 UTC is 01:30 GMT
    assert clock(datetime(2026, 10, 25, 0, 30, tzinfo=UTC)) == "01:30"
    assert clock(datetime(2026, 10, 25, 1, 30, tzinfo=UTC)) == "01:30"


def test_day_and_clock_names_the_day_only_when_it_is_not_today():
    now = datetime(2026, 12, 6, 4, 40, tzinfo=UTC)
    assert day_and_clock(datetime(2026, 12, 6, 0, 5, tzinfo=UTC), now) == "00:05"
    assert day_and_clock(datetime(2026, 12, 5, 23, 10, tzinfo=UTC), now) == "Sat 5 Dec 23:10"
