"""The app core without a server: geometry, the simulated walk, survey checks, SSE parsing,
the token file and the outbox's order and backoff when the network is down."""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime

import pytest

from mobile_client.core import geo
from mobile_client.core.api import ApiClient, ApiError, Offline, parse_sse
from mobile_client.core.auth import Credentials, DemoSignInError, TokenStore, demo_token
from mobile_client.core.controller import describe_place, normalise_contacts
from mobile_client.core.location import DEMO_ROUTE, SimulatedWalk
from mobile_client.core.outbox import Outbox
from mobile_client.core.state import AppState
from mobile_client.core.surveys import problems

T0 = datetime(2026, 11, 21, 1, 30, tzinfo=UTC)
WIGAN = (53.5456, -2.6318)


def closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_distance_bearing_and_walking_time_match_known_values():
    # Wigan Market Place to Leigh town centre is about 9.3 km east-south-east.
    d = geo.haversine_m(53.5456, -2.6318, 53.4975, -2.5190)
    assert 8_700 < d < 9_400
    assert geo.compass_point(geo.bearing_deg(53.5456, -2.6318, 53.4975, -2.5190)) == "SE"
    assert geo.walking_minutes(130) == 2
    assert geo.format_distance(349) == "350 m" and geo.format_distance(1234) == "1.2 km"


def test_shipped_wards_locate_wigan_centre_and_nothing_outside():
    assert len(geo.wards()) == 25
    assert geo.ward_at(*WIGAN)["name"] == "Wigan Central"
    assert geo.ward_at(51.5, -0.12) is None


def test_place_is_described_with_direction_walk_and_hours():
    place = describe_place(
        {
            "id": 1,
            "name": "The Swan",
            "lat": 53.5466,
            "lon": -2.6318,
            "open_now": True,
            "closes_at": "2026-11-21T02:00:00Z",
        },
        WIGAN,
    )
    assert place["direction"] == "N"
    assert place["distance_text"] == "110 m"
    assert place["walk_min"] == 2
    assert place["hours_text"] == "Open now, closes 02:00"
    closed = describe_place({"lat": 53.5, "lon": -2.6, "open_now": False, "distance_m": 10}, None)
    assert closed["hours_text"] == "Closed now"


def test_simulated_walk_emits_fixes_along_the_route_in_time_order():
    got = []
    walk = SimulatedWalk(got.append, route=DEMO_ROUTE, start_time=T0, interval_s=5)
    fixes = walk.advance(60)
    assert fixes == got and len(fixes) == 13  # t = 0, 5, ..., 60
    assert [f.at for f in fixes] == sorted(f.at for f in fixes)
    assert (fixes[0].lat, fixes[0].lon) == DEMO_ROUTE[0]
    moved = geo.haversine_m(fixes[0].lat, fixes[0].lon, fixes[-1].lat, fixes[-1].lon)
    assert moved == pytest.approx(60 * geo.WALKING_SPEED_MPS, rel=0.05)
    walk.advance(10_000)
    assert walk.finished and walk.position_after(10_000) == DEMO_ROUTE[-1]
    assert fixes[0].to_json()["recorded_at"] == "2026-11-21T01:30:00Z"


SURVEY = {
    "id": 1,
    "questions": [
        {"name": "worry", "label": "Worry", "type": "scale5", "required": True},
        {
            "name": "seen",
            "label": "Seen it?",
            "type": "yes_no",
            "required": True,
            "choices": [{"value": "yes", "label": "Yes"}, {"value": "no", "label": "No"}],
        },
        {
            "name": "where",
            "label": "Where",
            "type": "single_choice",
            "required": False,
            "choices": [
                {"value": "park", "label": "Park"},
                {"value": "station", "label": "Station"},
            ],
            "show_if": {"question": "seen", "equals": "yes"},
        },
        {
            "name": "priorities",
            "label": "Priorities",
            "type": "multiple_choice",
            "required": False,
            "choices": [{"value": "asb", "label": "ASB"}, {"value": "drugs", "label": "Drugs"}],
            "max_choices": 1,
        },
        {
            "name": "age",
            "label": "Age",
            "type": "integer",
            "required": False,
            "min_value": 16,
            "max_value": 120,
        },
        {"name": "note", "label": "Note", "type": "text", "required": False, "max_length": 5},
    ],
}


def test_survey_answers_are_checked_per_question_before_sending():
    assert problems(SURVEY, {"worry": 3, "seen": "yes", "where": "park"}) == {}
    found = problems(
        SURVEY,
        {
            "worry": 9,
            "seen": "no",
            "where": "park",
            "priorities": ["asb", "drugs"],
            "age": 12,
            "note": "too long",
        },
    )
    assert set(found) == {"worry", "where", "priorities", "age", "note"}
    assert set(problems(SURVEY, {})) == {"worry", "seen"}
    assert set(problems(SURVEY, {"worry": 1, "seen": "yes", "age": "x"})) == {"age"}


def test_server_sent_events_are_parsed_with_json_data():
    lines = [
        "event: location",
        'data: {"lat": 1.5,',
        'data: "lon": 2}',
        "",
        ": keepalive",
        "",
        "data: plain",
        "",
    ]
    assert list(parse_sse(iter(lines))) == [
        {"event": "location", "data": {"lat": 1.5, "lon": 2}, "id": None},
        {"event": "message", "data": "plain", "id": None},
    ]


def test_contacts_in_either_direction_become_rows():
    rows = normalise_contacts(
        {
            "trusted": [{"id": 1, "owner": {"id": 9}, "contact": {"id": 5, "display_name": "Bob"}}],
            "trusted_by": [
                {"id": 2, "owner": {"id": 7, "display_name": None}, "contact": {"id": 9}}
            ],
        }
    )
    assert [(r["link_id"], r["user_id"], r["name"], r["direction"]) for r in rows] == [
        (1, 5, "Bob", "i_trust"),
        (2, 7, "A contact with no name set", "trusts_me"),  # a person, never an id
    ]


def test_token_file_is_private_and_round_trips(tmp_path):
    store = TokenStore(tmp_path / "creds.json")
    assert store.load() == Credentials()
    store.save(Credentials("http://127.0.0.1:9", "dev.abc", "alice"))
    assert store.load() == Credentials("http://127.0.0.1:9", "dev.abc", "alice")
    assert stat.S_IMODE(os.stat(tmp_path / "creds.json").st_mode) == 0o600
    assert store.clear_token() == Credentials("http://127.0.0.1:9", None, None)


def test_demo_sign_in_refuses_a_remote_server():
    with pytest.raises(DemoSignInError, match="local server"):
        demo_token("https://safehaven.example.org")


def test_state_notifies_only_changed_fields():
    state, seen = AppState(), []
    state.subscribe(seen.append)
    state.update(online=True, busy=False)
    state.update(online=True)
    assert seen == [{"online"}]
    with pytest.raises(AttributeError):
        state.update(nonsense=1)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_outbox_backs_off_exponentially_while_offline_and_keeps_everything(tmp_path):
    import random

    clock = Clock()
    box = Outbox(
        tmp_path / "o.sqlite3", base_delay_s=2, max_delay_s=60, clock=clock, rng=random.Random(1)
    )
    for i in range(3):
        box.enqueue_fix(7, {"lat": 53.5, "lon": -2.6, "recorded_at": f"2026-11-21T01:30:0{i}Z"})
    box.enqueue_report({"category": "other", "description": "x", "anonymous": True})
    with ApiClient(f"http://127.0.0.1:{closed_port()}", timeout=2) as client:
        delays = []
        for _ in range(7):
            result = box.drain(client, force=True)
            assert result.offline and result.sent == 0 and result.pending == 4
            delays.append(result.retry_at - clock.now)
        # Not due yet: a drain without force does not even try.
        assert box.drain(client).retry_at == result.retry_at
    # Doubling from 2 s with jitter in [0.5, 1), capped at 60 s.
    assert 1 <= delays[0] < 2 and 4 <= delays[2] < 8 and 30 <= delays[6] <= 60
    assert [i.kind for i in box.items()] == ["fix", "fix", "fix", "report"]
    assert box.items()[0].attempts == 7


def test_client_reports_unreachable_server_as_offline():
    with (
        ApiClient(f"http://127.0.0.1:{closed_port()}", timeout=2) as client,
        pytest.raises(Offline),
    ):
        client.me()


def test_api_error_names_the_first_field():
    err = ApiError(422, "Invalid input", {"lat": ["Must be between -90 and 90."]})
    assert err.field_message() == "lat: Must be between -90 and 90." and not err.retryable
    assert ApiError(503, "down").retryable and ApiError(429, "slow").retryable


def test_markers_closer_than_their_size_become_one_naming_the_list_numbers_it_holds():
    places = [{"id": i} for i in range(6)]
    placed = [
        (100.0, 100.0, 1, places[0]),
        (300.0, 100.0, 2, places[1]),
        (110.0, 95.0, 3, places[2]),
        (305.0, 130.0, 4, places[3]),  # 30 px from 2: apart at size 26, together at 40
        (500.0, 500.0, 5, places[4]),
    ]
    groups = geo.cluster_markers(placed, 26)
    assert [[n for n, _p in members] for _x, _y, members in groups] == [[1, 3], [2], [4], [5]]
    assert [(x, y) for x, y, _m in groups][0] == (100.0, 100.0)
    together = geo.cluster_markers(placed, 40)
    assert [[n for n, _p in m] for _x, _y, m in together] == [[1, 3], [2, 4], [5]]
    assert [geo.marker_text(n) for n in ([4], [3, 4, 5], [1, 6])] == ["4", "3-5", "1,6"]


def test_a_cluster_made_wider_by_its_text_takes_in_a_marker_it_would_cover():
    places = [{"id": i} for i in range(3)]
    # 1 and 2 join ("1-2", 40 px wide at 10 px a character); 3 stands 28 px from them:
    # apart from a 26 px marker, but under the wider cluster, so it joins too.
    placed = [(100.0, 100.0, 1, places[0]), (104.0, 100.0, 2, places[1])]
    placed.append((128.0, 100.0, 3, places[2]))
    groups = geo.cluster_markers(placed, 26, width=lambda text: 10.0 * len(text), gap=2)
    assert [[n for n, _p in members] for _x, _y, members in groups] == [[1, 2, 3]]
    apart = geo.cluster_markers(placed[:1] + placed[2:], 26, width=lambda t: 10.0 * len(t))
    assert len(apart) == 2


def test_labels_go_where_no_marker_and_no_other_label_is_or_are_left_out():
    marker = geo.marker_box(100, 100, 30, 26)
    bounds = (0.0, 0.0, 400.0, 300.0)
    placed = geo.place_labels(
        [
            ("under the marker", 100, 100, 60, 14),
            ("same spot", 100, 100, 60, 14),
            ("clear", 300, 200, 60, 14),
            ("off the map", 900, 900, 60, 14),
        ],
        [marker],
        bounds,
        gap=3,
    )
    keys = [key for key, _box in placed]
    assert keys == ["under the marker", "same spot", "clear"]
    boxes = [box for _key, box in placed]
    assert placed[2][1] == (270, 193, 60, 14)  # nothing there: at its own centre
    for i, box in enumerate(boxes):
        assert not geo.boxes_overlap(box, marker)
        assert all(not geo.boxes_overlap(box, other) for other in boxes[i + 1 :])
    # Boxed in on every side: left out rather than drawn over a place.
    crowd = [
        geo.marker_box(200 + dx, 150 + dy, 60, 60) for dx in (-60, 0, 60) for dy in (-60, 0, 60)
    ]
    assert geo.place_labels([("boxed in", 200, 150, 60, 14)], crowd, bounds, gap=3) == []
