"""Map tiles made by tests: a PNG writer, street-like tiles, a loopback XYZ tile server and
an MBTiles pack (the format's own sqlite tables)."""

from __future__ import annotations

import math
import sqlite3
import struct
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HERE = (53.54560, -2.63180)  # where the desktop app stands (DEMO_ROUTE[0])


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
