"""GET /api/v1/app-config: tiles, the offline map pack, thresholds and late-night options."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from backend.appconfig.service import DEFAULT_LATE_NIGHT
from backend.config import ConfigError, Settings

CONFIG = "/api/v1/app-config"
PACK = "/api/v1/app-config/offline-map.mbtiles"
EXAMPLE = "backend/appconfig/data/late_night.example.json"


def test_the_defaults_are_announced_publicly_and_may_be_cached(client):
    response = client.get(CONFIG)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "public, max-age=300"
    body = response.get_json()
    # (the test app's tiles are on a closed loopback port; a deployment's default is OSM's)
    assert body["tiles"] == {
        "url_template": "http://127.0.0.1:9/{z}/{x}/{y}.png",
        "attribution": "© OpenStreetMap contributors",
        "cache_max_mb": 64,
    }
    assert Settings.from_env({}).tile_url == "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    assert body["offline_map"] is None
    assert (body["open_long_enough_min"], body["long_walk_min"]) == (30, 20)
    assert body["late_night"] == DEFAULT_LATE_NIGHT
    assert client.get(PACK).status_code == 404
    assert client.get(PACK).get_json()["message"] == "this deployment has no offline map pack"


def test_a_deployment_announces_its_tiles_pack_thresholds_and_taxis(
    app, client, tmp_path, monkeypatch
):
    pack = tmp_path / "wigan.mbtiles"
    with sqlite3.connect(pack) as conn:
        conn.execute("CREATE TABLE metadata (name text, value text)")
        conn.execute("INSERT INTO metadata VALUES ('name', 'Wigan')")
    conn.close()
    for key, value in {
        "TILE_URL": "https://tiles.example.org/{z}/{x}/{y}.png",
        "TILE_ATTRIBUTION": "© Example Maps, © OpenStreetMap contributors",
        "OFFLINE_MAP_FILE": str(pack),
        "OPEN_LONG_ENOUGH_MIN": 45,
        "LONG_WALK_MIN": 15,
        "LATE_NIGHT_FILE": EXAMPLE,
        "TILE_CACHE_MB": 200,
    }.items():
        monkeypatch.setitem(app.config, key, value)
    body = client.get(CONFIG).get_json()
    assert body["tiles"]["cache_max_mb"] == 200
    assert body["tiles"]["url_template"] == "https://tiles.example.org/{z}/{x}/{y}.png"
    assert body["tiles"]["attribution"] == "© Example Maps, © OpenStreetMap contributors"
    assert body["offline_map"]["url"] == "http://localhost" + PACK
    assert body["offline_map"]["size_bytes"] == pack.stat().st_size
    assert (body["open_long_enough_min"], body["long_walk_min"]) == (45, 15)
    (taxi,) = body["late_night"]["taxis"]
    assert taxi["phone"] == "01632 960001" and taxi["source"].startswith("EXAMPLE")
    assert body["late_night"]["taxi_reminder"].startswith("Use a licensed taxi")
    with client.get(PACK) as served:
        assert served.status_code == 200
        assert served.data == pack.read_bytes()
        assert served.headers["Content-Length"] == str(pack.stat().st_size)
    with client.get(PACK, headers={"Range": "bytes=0-15"}) as ranged:
        assert ranged.status_code == 206 and ranged.data == b"SQLite format 3\x00"


@pytest.mark.parametrize(
    ("env", "field"),
    [
        ({"SAFEHAVEN_TILE_URL": "https://tiles.example.org/tile.png"}, "SAFEHAVEN_TILE_URL"),
        ({"SAFEHAVEN_TILE_URL": "file:///{z}/{x}/{y}.png"}, "SAFEHAVEN_TILE_URL"),
        ({"SAFEHAVEN_OFFLINE_MAP_FILE": "/nonexistent.mbtiles"}, "SAFEHAVEN_OFFLINE_MAP_FILE"),
        ({"SAFEHAVEN_OPEN_LONG_ENOUGH_MIN": "-5"}, "SAFEHAVEN_OPEN_LONG_ENOUGH_MIN"),
        ({"SAFEHAVEN_LONG_WALK_MIN": "soon"}, "SAFEHAVEN_LONG_WALK_MIN"),
        ({"SAFEHAVEN_TILE_CACHE_MB": "1"}, "SAFEHAVEN_TILE_CACHE_MB"),
    ],
)
def test_bad_map_and_late_night_settings_are_refused_at_start(env, field):
    with pytest.raises(ConfigError, match=field):
        Settings.from_env(env).check()


def test_a_late_night_file_without_sources_is_refused_at_start(tmp_path):
    broken = tmp_path / "late.json"
    options = json.loads(Path(EXAMPLE).read_text(encoding="utf-8"))
    del options["taxis"][0]["source"]
    broken.write_text(json.dumps(options))
    with pytest.raises(ConfigError, match="SAFEHAVEN_LATE_NIGHT_FILE.*source"):
        Settings.from_env({"SAFEHAVEN_LATE_NIGHT_FILE": str(broken)}).check()
    assert Settings.from_env({"SAFEHAVEN_LATE_NIGHT_FILE": EXAMPLE}).check() is None
