"""Helpers for the contacts, journeys and alerts tests: consent, journeys, SSE reading."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

# A walk in Wigan town centre: Wigan Pier -> Mesnes Park.
PIER = (53.5425, -2.6405)
PARK = (53.5519, -2.6353)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def befriend(client, owner, contact) -> int:  # type: ignore[no-untyped-def]
    """``owner`` invites, ``contact`` accepts; returns the contact link id."""
    code = client.post("/api/v1/contacts/invitations", headers=owner.headers).get_json()["code"]
    response = client.post(f"/api/v1/contacts/invitations/{code}/accept", headers=contact.headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def start_journey(client, owner, contacts=(), **extra) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Start a journey from the pier to the park, expected in 30 minutes; with no contacts it
    asks for a watch link (a journey shared with no one is refused)."""
    body = {
        "destination": {"lat": PARK[0], "lon": PARK[1], "label": "Mesnes Park"},
        "expected_arrival_at": iso(datetime.now(UTC) + timedelta(minutes=30)),
        "contact_ids": [c.id for c in contacts],
        **({} if contacts else {"watch_link": True}),
        **extra,
    }
    response = client.post("/api/v1/journeys", json=body, headers=owner.headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def fix(lat: float, lon: float, at: datetime, **extra) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    return {"lat": lat, "lon": lon, "recorded_at": iso(at), **extra}


class SSEReader:
    """Reads events from a streamed (unbuffered) test-client or requests response body."""

    def __init__(self, chunks) -> None:  # type: ignore[no-untyped-def]
        self._chunks = iter(chunks)
        self._buffer = ""

    def next_event(self) -> tuple[str, dict[str, Any]]:
        """The next ``(event, data)``; comments and retry lines are skipped."""
        while True:
            while "\n\n" not in self._buffer:
                chunk = next(self._chunks)
                self._buffer += chunk.decode() if isinstance(chunk, bytes) else chunk
            block, self._buffer = self._buffer.split("\n\n", 1)
            event, data = "message", None
            for line in block.splitlines():
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: "):
                    data = json.loads(line[6:])
            if data is not None:
                return event, data

    def ended(self) -> bool:
        """True when the server closed the stream (after what was already read)."""
        try:
            while True:
                chunk = next(self._chunks)
                text = chunk.decode() if isinstance(chunk, bytes) else chunk
                if "data: " in text:
                    self._buffer += text
                    return False
        except StopIteration:
            return True


def owntracks_location(tst: int, **overrides):  # type: ignore[no-untyped-def]
    """An OwnTracks Android 2.4 location message as the app sends it, extra keys included
    (the tests and bench/location_clients.py post it)."""
    return {
        "_type": "location",
        "BSSID": "aa:bb:cc:dd:ee:ff",
        "SSID": "HomeWiFi",
        "acc": 13,
        "alt": 52,
        "batt": 85,
        "bs": 1,
        "conn": "w",
        "created_at": tst + 1,
        "lat": 53.54251,
        "lon": -2.64049,
        "m": 1,
        "t": "u",
        "tid": "al",
        "topic": "owntracks/alice/pixel",
        "tst": tst,
        "vac": 3,
        "vel": 5,
        "qos": 1,
        "retained": False,
        "source": "fused",
        **overrides,
    }
