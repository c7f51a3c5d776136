"""Many residents posting at once to a served app (two gunicorn processes, threads), through
the app's fix route, OwnTracks and Traccar's OsmAnd protocol: no 5xx, and every fix answered
with a 2xx is stored (the embedded SQLite once answered 500 to 1.7-3.4% of OwnTracks posts
after storing their fix)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
import requests
from sqlalchemy import func, select

from backend.extensions import db
from backend.journeys.models import LocationFix
from tests.backend.journeys.test_location_clients import basic, owntracks_location
from tests.support.apps import TEST_SECRET
from tests.support.journeys import befriend, iso, start_journey
from tests.support.servers import gunicorn

pytestmark = pytest.mark.slow

RESIDENTS = 24  # in pairs, the first sharing her journey with the second
POSTS_EACH = 15  # a third each through the app's route, OwnTracks and OsmAnd


def test_many_residents_posting_at_once_get_no_5xx_and_every_accepted_fix_is_stored(
    database_url, client, make_person
):
    people = [make_person(f"crowd-{n:02d}") for n in range(RESIDENTS)]
    for one, two in zip(people[::2], people[1::2], strict=True):
        befriend(client, one, two)
    journeys, devices = [], []
    for n, person in enumerate(people):
        watchers = [people[n + 1]] if n % 2 == 0 else []  # OwnTracks replies with it
        journeys.append(start_journey(client, person, watchers)["id"])
        made = client.post("/api/v1/location-clients", json={}, headers=person.headers)
        assert made.status_code == 201
        devices.append(made.get_json())
    env = {
        "SAFEHAVEN_ENV": "testing",
        "SAFEHAVEN_AUTH": "dev",
        "SECRET_KEY": TEST_SECRET,
        "DATABASE_URL": database_url,
        "SAFEHAVEN_RATELIMIT": "false",
    }
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=POSTS_EACH + 60)
    answers: list[tuple[str, int, str | None]] = []
    lock = threading.Lock()
    go = threading.Barrier(RESIDENTS)

    def walk(base: str, n: int) -> None:
        person, journey_id, device = people[n], journeys[n], devices[n]
        mine = []
        with requests.Session() as http:
            go.wait()
            for k in range(POSTS_EACH):
                at = start + timedelta(seconds=k)
                lat, lon = 53.5425 + k / 20000, -2.6405 + n / 20000
                route = ("app", "owntracks", "osmand")[k % 3]
                if route == "app":
                    fix = {"lat": lat, "lon": lon, "recorded_at": iso(at), "battery": 80}
                    r = http.post(
                        f"{base}/api/v1/journeys/{journey_id}/locations",
                        json={"fixes": [fix]},
                        headers=person.headers,
                    )
                elif route == "owntracks":
                    r = http.post(
                        f"{base}/owntracks",
                        json=owntracks_location(int(at.timestamp()), lat=lat, lon=lon),
                        headers=basic(device["username"], device["secret"]),
                    )
                else:
                    r = http.post(
                        f"{base}/osmand",
                        data={
                            "id": device["secret"],
                            "timestamp": str(int(at.timestamp())),
                            "lat": str(lat),
                            "lon": str(lon),
                            "speed": "2.7",
                            "batt": "79",
                        },
                    )
                mine.append((route, r.status_code, r.headers.get("X-SafeHaven-Rejected")))
        with lock:
            answers.extend(mine)

    with gunicorn(env, workers=2, threads=8) as base:
        threads = [threading.Thread(target=walk, args=(base, n)) for n in range(RESIDENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=300)
    assert len(answers) == RESIDENTS * POSTS_EACH
    failed = [a for a in answers if a[1] >= 500]
    assert failed == [], f"{len(failed)} answers were 5xx: {failed[:5]}"
    accepted = [a for a in answers if 200 <= a[1] < 300 and a[2] is None]
    assert {route for route, _, _ in accepted} == {"app", "owntracks", "osmand"}
    stored = db.session.scalar(
        select(func.count()).select_from(LocationFix).where(LocationFix.journey_id.in_(journeys))
    )
    assert stored == len(accepted)
    assert len(accepted) == len(answers), [a for a in answers if a not in accepted][:5]
