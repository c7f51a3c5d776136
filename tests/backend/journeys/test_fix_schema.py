"""The fix batch's direct load: whatever arrives, it loads exactly what the shared schema
loads, or leaves the batch to the schema (which then words the errors)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.journeys.schemas import load_plain_batch
from shared_schemas import journeys as shared

SHARED = shared.FixBatchSchema()

numbers = st.one_of(
    st.sampled_from(
        [math.nan, math.inf, -math.inf, 90, 90.0, -90, 90.0000001, 180.0, -180.0000001, 0, -0.0]
    ),
    st.sampled_from([100, 100.5, 100_000, 100_001, 1000, -1, 10**400, True, False, None]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.sampled_from(["53.5", "nan", "", "east", [], {}]),
)
times = st.one_of(
    st.sampled_from(
        [
            "2026-03-01T20:00:00Z",
            "2026-03-01T20:00:00+00:00",
            "2026-03-01T20:00:00.123456+01:30",
            "2026-03-01T20:00:00",
            "2026-03-01",
            "20260301T200000Z",
            "2026-03-01 20:00:00+00:00",
            "yesterday",
            "",
            "2026-13-01T20:00:00Z",
        ]
    ),
    st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=-5))])).map(
        datetime.isoformat
    ),
    st.datetimes().map(datetime.isoformat),
    st.sampled_from([None, 1700000000, [], {}]),
)
keys = st.sampled_from(["lat", "lon", "recorded_at", "accuracy_m", "battery", "speed_mps", "x"])
fixes = st.dictionaries(keys, st.one_of(numbers, times), max_size=7)
plausible = st.fixed_dictionaries(
    {"lat": numbers, "lon": numbers, "recorded_at": times},
    optional={"accuracy_m": numbers, "battery": numbers, "speed_mps": numbers},
)
aware = st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30))]))
valid = st.fixed_dictionaries(
    {
        "lat": st.one_of(st.floats(-90, 90), st.integers(-90, 90)),
        "lon": st.one_of(st.floats(-180, 180), st.integers(-180, 180)),
        "recorded_at": aware.map(datetime.isoformat),
    },
    optional={
        "accuracy_m": st.one_of(st.none(), st.floats(0, 100_000), st.integers(0, 100_000)),
        "battery": st.one_of(st.none(), st.floats(0, 100), st.integers(0, 100)),
        "speed_mps": st.one_of(st.none(), st.floats(0, 1000)),
    },
)
batches = st.one_of(
    st.fixed_dictionaries({"fixes": st.lists(valid, min_size=1, max_size=3)}),
    st.fixed_dictionaries({"fixes": st.lists(st.one_of(valid, plausible), min_size=1, max_size=3)}),
    st.fixed_dictionaries({"fixes": st.lists(st.one_of(plausible, fixes), max_size=4)}),
    st.fixed_dictionaries({"fixes": st.lists(plausible, min_size=1, max_size=3)}),
    st.fixed_dictionaries({"fixes": st.just([])}, optional={"extra": st.just(1)}),
    st.sampled_from([None, [], {}, "fixes", {"fixes": {}}, {"fixes": None}]),
)


@settings(max_examples=400, derandomize=True, deadline=None, database=None)
@given(batches)
def test_the_direct_load_is_the_schemas_load_or_leaves_it_to_the_schema(data):
    direct = load_plain_batch(data)
    if direct is not None:
        assert direct == SHARED.load(data)
        loaded = SHARED.load(data)["fixes"]
        assert [list(fix) for fix in direct["fixes"]] == [list(fix) for fix in loaded]
        assert [[type(v) for v in fix.values()] for fix in direct["fixes"]] == [
            [type(v) for v in fix.values()] for fix in loaded
        ]


def test_the_common_post_takes_the_direct_load():
    one = {
        "lat": 53.5425,
        "lon": -2,
        "recorded_at": "2026-03-01T20:00:00+00:00",
        "battery": 80,
        "accuracy_m": None,
    }
    assert load_plain_batch({"fixes": [one]}) == SHARED.load({"fixes": [one]})
    assert load_plain_batch({"fixes": [one] * 500}) is not None


@pytest.mark.parametrize(
    "data",
    [
        {"fixes": []},
        {"fixes": [{"lat": 1, "lon": 1, "recorded_at": "2026-03-01T20:00:00Z"}] * 501},
        {"fixes": [{"lat": True, "lon": 1, "recorded_at": "2026-03-01T20:00:00Z"}]},
        {"fixes": [{"lat": "1", "lon": 1, "recorded_at": "2026-03-01T20:00:00Z"}]},
        {"fixes": [{"lat": 1, "lon": 1, "recorded_at": "2026-03-01T20:00:00"}]},
        {"fixes": [{"lat": 1, "lon": 1, "recorded_at": "2026-03-01T20:00:00Z", "x": 1}]},
        {"fixes": [{"lat": 1, "lon": 1, "recorded_at": "2026-03-01T20:00:00Z"}], "x": 1},
    ],
)
def test_anything_unusual_is_left_to_the_schema(data):
    assert load_plain_batch(data) is None
