"""The street map in the real app (Kivy window, live server): tiles from a loopback tile
server this test starts (tiles rendered here), then from the phone's cache with that server
stopped, then from an MBTiles pack built here and downloaded in Settings, and the ward
outlines with "map offline" when there are no tiles at all. Markers select their venue,
cluster when zoomed out; the offline list recomputes. Screenshots at 360x640."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.mobile_client import test_ui
from tests.mobile_client.test_ui import ARTIFACTS, assert_passed, finish, launch
from tests.support.tiles import HERE, TileServer, build_pack, street_tile, xyz

display = test_ui.display  # the private X display fixture, shared with the other UI tests

SIZE = (360, 640)
ATTRIBUTION = "© Test tiles, © OpenStreetMap contributors"


def test_the_png_writer_and_tile_maths_are_right():
    data = street_tile(15, 16144, 10790)
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR"
    x, y = xyz(HERE[0], HERE[1], 15)

    def north_edge(row: int) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * row / 2**15))))

    assert north_edge(y + 1) < HERE[0] <= north_edge(y)
    assert x / 2**15 * 360 - 180 <= HERE[1] < (x + 1) / 2**15 * 360 - 180


# --- venues around where the app stands --------------------------------------------------------


def north(metres: float) -> float:
    return HERE[0] + metres / 111_200


def east(metres: float) -> float:
    return HERE[1] + metres / (111_200 * math.cos(math.radians(HERE[0])))


def seed_venues() -> None:
    """24/7 places, a bar closing in about 12 minutes (amber), two side by side (a cluster
    when zoomed out): four that stay open and the amber one, the five the app asks for (the
    server answers at most that many, the amber one in the room left)."""
    from tests.backend.venues.factories import make_venue

    local = datetime.now(UTC).astimezone(ZoneInfo("Europe/London"))
    closes = local + timedelta(minutes=12)
    opens = closes - timedelta(hours=3)
    make_venue(
        name="The Late Lamb",
        category="pub_or_bar",
        opening_hours=f"{opens:%H:%M}-{closes:%H:%M}",
        lat=north(120),
        lon=east(40),
        phone="01942 000001",
    )
    make_venue(
        name="Wigan Police Station",
        category="police_station",
        lat=north(-380),
        lon=east(260),
        phone="101",
    )
    make_venue(name="All Night Pharmacy", category="pharmacy", lat=north(260), lon=east(-300))
    for i, name in enumerate(("Station Hotel", "Night Bus Office")):
        make_venue(name=name, category="hotel", lat=north(-700 + i * 15), lon=east(-520 + i * 15))


def seed_early_cafe() -> None:
    """Opens in 8 minutes (UK local time), 1.2 km away: a 15-minute walk."""
    from tests.backend.venues.factories import make_venue

    local = datetime.now(UTC).astimezone(ZoneInfo("Europe/London"))
    opens = local + timedelta(minutes=8)
    closes = opens + timedelta(hours=3)
    make_venue(
        name="Early Bird Cafe",
        category="restaurant",
        opening_hours=f"{opens:%H:%M}-{closes:%H:%M}",
        lat=north(1200),
        lon=HERE[1],
        phone="01942 000002",
    )


# --- the test --------------------------------------------------------------------------------


@pytest.fixture
def tiles():  # type: ignore[no-untyped-def]
    server = TileServer()
    yield server
    server.stop()


def run_phase(display, tmp_path, server_url, person, phase, data_dir):  # type: ignore[no-untyped-def]
    proc, result, log = launch(
        display,
        tmp_path,
        server_url,
        person,
        "street_map",
        prefix=f"map_{phase}_",
        params={"phase": phase},
        feats=("venues",),
        size=SIZE,
        data_name=data_dir,
    )
    data = finish(proc, result, log, tmp_path)
    assert_passed(data)
    return data


def test_street_tiles_then_cache_then_pack_then_wards_markers_and_offline_list(
    display, tmp_path, app, live_server, resident, tiles, monkeypatch
):
    pack = tmp_path / "wigan.mbtiles"
    build_pack(pack)
    for key, value in {
        "TILE_URL": tiles.template,
        "TILE_ATTRIBUTION": ATTRIBUTION,
        "OFFLINE_MAP_FILE": str(pack),
    }.items():
        monkeypatch.setitem(app.config, key, value)
    seed_venues()

    # 1. Online: tiles fetched from the tile server; markers; clusters; the pack downloaded.
    run_phase(display, tmp_path, live_server.url, resident, "online", "phone")
    fetched = [p for p in tiles.requests if p.endswith(".png")]
    assert len(fetched) >= 4, tiles.requests

    # 2. The tile server is gone: the streets come from the phone's cache.
    tiles.stop()
    before = len(tiles.requests)
    run_phase(display, tmp_path, live_server.url, resident, "cache", "phone")
    assert len(tiles.requests) == before

    # 3. No signal at all: the downloaded pack is the map, the list is the stored one.
    live_server.stop()
    run_phase(display, tmp_path, live_server.url, resident, "pack", "phone")
    live_server.start()

    # 4. A phone with no cache and no pack, tiles unreachable: the ward outlines. Walks over
    # 1 min count as long here, so the partnership's late-night options show too. A cafe
    # shut now that opens before you could walk there is listed as open, and says so.
    seed_early_cafe()
    monkeypatch.setitem(app.config, "LONG_WALK_MIN", 1)
    monkeypatch.setitem(
        app.config, "LATE_NIGHT_FILE", "backend/appconfig/data/late_night.example.json"
    )
    run_phase(display, tmp_path, live_server.url, resident, "wards", "fresh")

    for name in (
        "map_online_street_tiles",
        "map_online_clustered",
        "map_online_closing_soon",
        "map_pack_offline_list",
        "map_wards_offline_fallback",
        "map_wards_late_night",
        "map_wards_opens_before_arrival",
    ):
        shot = ARTIFACTS / f"{name}.png"
        assert shot.exists() and shot.stat().st_size > 5_000, f"screenshot {name} missing"
