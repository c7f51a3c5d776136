"""The deployment's settings for the phone app, and its offline map pack."""

from __future__ import annotations

from flask import send_file

from backend.appconfig import service
from backend.appconfig.schemas import AppConfigSchema
from backend.arguments import Blueprint

blp = Blueprint("appconfig", __name__, url_prefix="/api/v1", description="App configuration")

CACHE_S = 300


@blp.get("/app-config")
@blp.response(200, AppConfigSchema, headers=None)
def app_config():
    """Map tiles, offline map pack, opening-time and long-walk thresholds, late-night options."""
    return service.app_config(), 200, {"Cache-Control": f"public, max-age={CACHE_S}"}


@blp.get("/app-config/offline-map.mbtiles")
@blp.response(200, content_type="application/vnd.sqlite3")
def offline_map():
    """The borough's offline map pack (MBTiles), if the partnership provides one."""
    response = send_file(
        service.offline_map_path(),
        mimetype="application/vnd.sqlite3",
        download_name="offline-map.mbtiles",
        conditional=True,
        max_age=3600,
    )
    return response
