"""UK time: an instant is shown in UK local time (summer time aware); a time without an offset
is UTC when it is an instant and UK wall-clock time when it is a time of day in the UK."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared_schemas import uktime
from shared_schemas.venues import Availability, NearestQuerySchema, hours_text

# 2026: the clocks go forward at 01:00 UTC on Sunday 29 March (01:00 GMT becomes 02:00 BST)
# and back at 01:00 UTC on Sunday 25 October (02:00 BST becomes 01:00 GMT).
SPRING = datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
AUTUMN = datetime(2026, 10, 25, 1, 0, tzinfo=UTC)


def test_clock_follows_british_summer_time():
    assert uktime.clock(datetime(2026, 12, 6, 4, 37, tzinfo=UTC)) == "04:37"  # GMT
    assert uktime.clock(datetime(2026, 7, 1, 3, 37, tzinfo=UTC)) == "04:37"  # BST


def test_clock_jumps_an_hour_when_the_clocks_go_forward():
    assert uktime.clock(SPRING - timedelta(minutes=1)) == "00:59"
    assert uktime.clock(SPRING) == "02:00"


def test_clock_shows_the_repeated_hour_twice_when_the_clocks_go_back():
    assert uktime.clock(AUTUMN - timedelta(minutes=30)) == "01:30"  # BST
    assert uktime.clock(AUTUMN + timedelta(minutes=30)) == "01:30"  # GMT, an hour later
    assert uktime.clock(AUTUMN - timedelta(minutes=1)) == "01:59"
    assert uktime.clock(AUTUMN) == "01:00"


def test_clock_reads_the_apis_text_and_text_without_an_offset_as_utc():
    assert uktime.clock("2026-07-01T03:37:00Z") == "04:37"
    assert uktime.clock("2026-07-01T03:37:00+00:00") == "04:37"
    assert uktime.clock("2026-07-01T03:37:00") == "04:37"
    assert uktime.clock("2026-07-01T05:37:00+02:00") == "04:37"


@pytest.mark.parametrize("nothing", [None, "", "soon", "2026-13-01T00:00:00Z"])
def test_no_time_shows_nothing(nothing):
    now = datetime(2026, 12, 6, 4, 40, tzinfo=UTC)
    assert uktime.clock(nothing) == ""
    assert uktime.clock_ahead(nothing, now) == ""
    assert uktime.day_and_clock(nothing, now) == ""
    assert uktime.when(nothing, now) == ""
    assert uktime.ago(nothing, now) == ""
    assert uktime.date_time(nothing) == ""


def test_day_and_clock_names_the_day_only_when_it_is_not_today():
    now = datetime(2026, 12, 6, 4, 40, tzinfo=UTC)
    assert uktime.day_and_clock(datetime(2026, 12, 6, 0, 5, tzinfo=UTC), now) == "00:05"
    assert uktime.day_and_clock(datetime(2026, 12, 5, 23, 10, tzinfo=UTC), now) == "Sat 5 Dec 23:10"


def test_today_is_the_uk_day_not_the_utc_day():
    # 23:30 UTC on 30 June is 00:30 BST on 1 July: today for someone in Wigan on 1 July.
    now = datetime(2026, 7, 1, 8, 0, tzinfo=UTC)
    late = datetime(2026, 6, 30, 23, 30, tzinfo=UTC)
    assert uktime.day_and_clock(late, now) == "00:30"
    assert uktime.when(late, now) == "00:30"
    assert uktime.when(late - timedelta(hours=1), now) == "yesterday 23:30"


def test_when_says_yesterday_across_the_night_the_clocks_go_forward():
    now = SPRING + timedelta(hours=8)  # 10:00 BST on Sunday
    assert uktime.when(SPRING - timedelta(minutes=30), now) == "00:30"  # GMT, same Sunday
    assert uktime.when(SPRING - timedelta(hours=1, minutes=30), now) == "yesterday 23:30"
    assert uktime.when(SPRING - timedelta(days=3), now) == "26 Mar 01:00"


def test_ago_counts_real_minutes_across_the_night_the_clocks_go_back():
    # From 01:50 BST to 01:10 GMT is 20 minutes, though the clock went back 40.
    before = AUTUMN - timedelta(minutes=10)
    now = AUTUMN + timedelta(minutes=10)
    assert (uktime.clock(before), uktime.clock(now)) == ("01:50", "01:10")
    assert uktime.ago(before, now) == "20 min ago"
    assert uktime.ago(now - timedelta(seconds=30), now) == "just now"
    assert uktime.ago(now - timedelta(minutes=65), now) == "1 h 5 min ago"
    assert uktime.ago(now - timedelta(hours=2), now) == "2 h ago"
    assert uktime.ago(now - timedelta(days=2), now) == "23 Oct 02:10"


def test_date_time_is_day_month_year_on_the_24_hour_clock():
    assert uktime.date_time("2026-11-20T22:15:00Z") == "20/11/2026 22:15"
    assert uktime.date_time(datetime(2026, 7, 20, 22, 15, tzinfo=UTC)) == "20/07/2026 23:15"


def test_clock_ahead_names_the_weekday_only_for_a_time_a_day_away():
    now = datetime(2026, 11, 21, 22, 0, tzinfo=UTC)  # Saturday night
    assert uktime.clock_ahead(datetime(2026, 11, 22, 2, 0, tzinfo=UTC), now) == "02:00"
    assert uktime.clock_ahead(datetime(2026, 11, 23, 9, 0, tzinfo=UTC), now) == "Mon 09:00"


def test_a_pub_closing_at_three_says_three_on_both_nights_the_clocks_change():
    # Open since Saturday evening; it closes at 03:00 on the UK clock, which is 02:00 UTC in
    # summer time (after the clocks went forward) and 03:00 UTC after they went back.
    for now, closes_at in [
        (SPRING - timedelta(hours=2), datetime(2026, 3, 29, 2, 0, tzinfo=UTC)),
        (AUTUMN - timedelta(hours=2), datetime(2026, 10, 25, 3, 0, tzinfo=UTC)),
    ]:
        text = hours_text(
            Availability.OPEN, now=now, closes_at=closes_at, opens_at=None, open_24_7=False
        )
        assert text == "Open until 03:00"


def test_an_instant_without_an_offset_is_utc_even_in_the_hours_the_uk_clock_skips_or_repeats():
    for naive in [datetime(2026, 3, 29, 1, 30), datetime(2026, 10, 25, 1, 30)]:
        assert uktime.naive_as_utc(naive) == naive.replace(tzinfo=UTC)
        assert uktime.instant_from_text(naive.isoformat()) == naive.replace(tzinfo=UTC)
    aware = datetime(2026, 7, 1, 12, 0, tzinfo=uktime.LONDON)
    assert uktime.naive_as_utc(aware) is aware


def test_a_repeated_uk_hour_is_the_first_one_unless_fold_says_the_second():
    first = uktime.naive_as_uk_local(datetime(2026, 10, 25, 1, 30))
    second = uktime.naive_as_uk_local(datetime(2026, 10, 25, 1, 30, fold=1))
    # Compared in UTC: two datetimes in the same zone compare by wall clock, ignoring fold.
    assert first.astimezone(UTC) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 01:30 BST
    assert second.astimezone(UTC) == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)  # 01:30 GMT
    read = uktime.uk_local_from_text("2026-10-25T01:30:00")
    assert read is not None and read.astimezone(UTC) == first.astimezone(UTC)


def test_a_skipped_uk_hour_is_read_with_the_offset_from_before_the_change():
    missing = uktime.naive_as_uk_local(datetime(2026, 3, 29, 1, 30))
    assert missing.astimezone(UTC) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert uktime.clock(missing) == "02:30"  # what the clocks show at that moment


def test_uk_local_text_with_an_offset_or_z_keeps_it():
    assert uktime.uk_local_from_text("2026-07-01T12:00:00Z") == datetime(
        2026, 7, 1, 12, 0, tzinfo=UTC
    )
    assert uktime.uk_local_from_text("2026-07-01T12:00:00").astimezone(UTC) == datetime(
        2026, 7, 1, 11, 0, tzinfo=UTC
    )
    assert uktime.uk_local_from_text("half past") is None


@pytest.mark.parametrize(
    "text",
    ["2026-03-29T01:30:00", "2026-10-25T01:30:00", "2026-10-25T00:59:00", "2026-07-01T12:00"],
)
def test_the_nearest_query_reads_a_time_without_an_offset_by_the_same_rule(text):
    """The schemas' ``AwareDateTime(default_timezone=LONDON)`` and naive_as_uk_local agree,
    also on the hours the clocks skip or repeat."""
    loaded = NearestQuerySchema().load({"lat": 53.54, "lon": -2.63, "at": text})["at"]
    assert loaded.astimezone(UTC) == uktime.naive_as_uk_local(
        datetime.fromisoformat(text)
    ).astimezone(UTC)
