"""The deployment's settings for the phone: tiles, offline map pack, opening-time stay, long
walk threshold and the partnership's late-night options (all from backend config)."""

from __future__ import annotations

import functools
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import current_app, url_for
from marshmallow import ValidationError as SchemaError

from backend.appconfig.schemas import LateNightSchema
from backend.errors import NotFound
from shared_schemas.appconfig import DEFAULT_TILE_CACHE_MB

# Until the partnership configures its own (SAFEHAVEN_LATE_NIGHT_FILE): the categories that
# are staffed all night, and the reminder, with no taxi numbers (none is invented).
DEFAULT_LATE_NIGHT: dict[str, Any] = {
    "staffed_safe_haven": {
        "text": "Police stations and A&E are staffed all night",
        "categories": ["police_station", "hospital"],
        "source": "SafeHaven default (the partnership has not set its own)",
    },
    "taxis": [],
    "taxi_reminder": "Use a licensed taxi: book it by phone and check the driver's badge "
    "before you get in.",
}


class LateNightFileError(RuntimeError):
    """The partnership's late-night file is not valid (raised at start-up and on read)."""


@functools.lru_cache(maxsize=4)
def _late_night(path: str, mtime_ns: int) -> dict[str, Any]:
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
        return LateNightSchema().load(raw)  # type: ignore[no-any-return]
    except (OSError, ValueError, SchemaError) as exc:
        raise LateNightFileError(f"{path}: {exc}") from exc


def late_night() -> dict[str, Any]:
    """The partnership's late-night options (re-read when the file changes); raises
    LateNightFileError for a broken file."""
    path = current_app.config.get("LATE_NIGHT_FILE")
    if not path:
        return DEFAULT_LATE_NIGHT
    return _late_night(str(path), Path(path).stat().st_mtime_ns)


def offline_map_path() -> Path:
    """The MBTiles pack the partnership provides; raises NotFound when there is none."""
    path = current_app.config.get("OFFLINE_MAP_FILE")
    if not path or not Path(path).is_file():
        raise NotFound("this deployment has no offline map pack")
    return Path(path)


def app_config() -> dict[str, Any]:
    """What the phone needs to know about this deployment."""
    config = current_app.config
    offline = None
    if config.get("OFFLINE_MAP_FILE"):
        stat = offline_map_path().stat()
        offline = {
            "url": url_for("appconfig.offline_map", _external=True),
            "size_bytes": stat.st_size,
            "updated_at": datetime.fromtimestamp(stat.st_mtime, UTC),
        }
    return {
        "tiles": {
            "url_template": config["TILE_URL"],
            "attribution": config["TILE_ATTRIBUTION"],
            "cache_max_mb": config.get("TILE_CACHE_MB", DEFAULT_TILE_CACHE_MB),
        },
        "offline_map": offline,
        "open_long_enough_min": config.get("OPEN_LONG_ENOUGH_MIN", 30),
        "long_walk_min": config.get("LONG_WALK_MIN", 20),
        "late_night": late_night(),
    }
