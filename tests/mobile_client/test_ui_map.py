"""The street map in the real app (Kivy window, live server): tiles from a loopback tile
server this test starts (tiles rendered here), then from the phone's cache with that server
stopped, then from an MBTiles pack built here and downloaded in Settings, and the ward
outlines with "map offline" when there are no tiles at all. Markers select their venue,
cluster when zoomed out; the offline list recomputes. Screenshots at 360x640."""

from __future__ import annotations

import math
import sqlite3
import struct
import threading
import zlib
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.mobile_client import test_ui
from tests.mobile_client.test_ui import ARTIFACTS, assert_passed, finish, launch

display = test_ui.display  # the private X display fixture, shared with the other UI tests

SIZE = (360, 640)
ATTRIBUTION = "© Test tiles, © OpenStreetMap contributors"
HERE = (53.54560, -2.63180)  # where the desktop app stands (DEMO_ROUTE[0])


# --- tiles rendered by the test ------------------------------------------------------------


def png(width: int, height: int, pixel) -> bytes:  # type: ignore[no-untyped-def]
    """A PNG (RGB, 8 bits) of ``pixel(x, y) -> (r, g, b)``: the format's own chunks."""
    rows = b"".join(
        b"\x00" + bytes(c for x in range(width) for c in pixel(x, y)) for y in range(height)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 6))
        + chunk(b"IEND", b"")
    )


def street_tile(z: int, x: int, y: int, ground=(236, 232, 222)) -> bytes:  # type: ignore[no-untyped-def]
    """A street-like 256 px tile: ground, a park, white roads with grey kerbs; the pattern
    shifts with the tile so neighbours differ."""
    shift = (x * 37 + y * 59 + z * 11) % 64

    def pixel(px: int, py: int) -> tuple[int, int, int]:
        for offset in (shift, shift + 128):
            for d in (px - offset, py - (offset + 40) % 256):
                if -9 <= d <= 9:
                    return (255, 255, 255) if -7 <= d <= 7 else (190, 182, 168)
        if 150 < (px + shift) % 256 < 220 and 30 < py < 100:
            return (196, 226, 182)
        return ground

    return png(256, 256, pixel)


class TileServer:
    """XYZ tiles on 127.0.0.1, rendered on request; counts what it served."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                server.requests.append(self.path)
                try:
                    z, x, y = (int(p) for p in self.path.strip("/").removesuffix(".png").split("/"))
                except ValueError:
                    self.send_error(404)
                    return
                body = street_tile(z, x, y)
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def template(self) -> str:
        return f"http://127.0.0.1:{self.port}/{{z}}/{{x}}/{{y}}.png"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


def xyz(lat: float, lon: float, z: int) -> tuple[int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def build_pack(path: Path) -> None:
    """An MBTiles pack (sqlite, TMS rows) of the streets around Wigan centre, zooms 12-16,
    in a bluer ground colour than the tile server's so the screenshot tells them apart."""
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE metadata (name text, value text)")
        db.execute(
            "CREATE TABLE tiles (zoom_level integer, tile_column integer, tile_row integer, "
            "tile_data blob)"
        )
        db.executemany(
            "INSERT INTO metadata VALUES (?, ?)",
            [
                ("name", "Wigan test pack"),
                ("format", "png"),
                ("minzoom", "12"),
                ("maxzoom", "16"),
                ("center", f"{HERE[1]},{HERE[0]},15"),
                ("bounds", "-2.70,53.50,-2.56,53.59"),
                ("attribution", "© Test pack, © OpenStreetMap contributors"),
            ],
        )
        for z in range(12, 17):
            cx, cy = xyz(*HERE, z)
            for x in range(cx - 3, cx + 4):
                for y in range(cy - 4, cy + 5):
                    tms_row = 2**z - 1 - y
                    db.execute(
                        "INSERT INTO tiles VALUES (?, ?, ?, ?)",
                        (z, x, tms_row, street_tile(z, x, y, ground=(214, 228, 240))),
                    )
    db.close()


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
    """24/7 places, a bar closing in about 12 minutes (amber), three side by side (a cluster
    when zoomed out)."""
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
    for i, name in enumerate(("Station Hotel", "Café Nero", "Night Bus Office")):
        make_venue(name=name, category="hotel", lat=north(-700 + i * 15), lon=east(-520 + i * 15))


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
    # 1 min count as long here, so the partnership's late-night options show too.
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
    ):
        shot = ARTIFACTS / f"{name}.png"
        assert shot.exists() and shot.stat().st_size > 5_000, f"screenshot {name} missing"
