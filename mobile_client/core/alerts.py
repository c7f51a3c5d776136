"""The alerts this phone has already shown, by the server's alert id, kept between runs.

The server marks a push as sent only after FCM answers; if it crashes in between it sends
that alert again, and FCM may then deliver it twice. Every push carries its ``alert_id``
(also its collapse key), so the app shows each alert once, even after a restart."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

KEEP = 1000  # the newest ids remembered; far more than the alerts of one night


class SeenAlerts:
    """A small JSON file of alert ids (newest last), written atomically; thread-safe."""

    def __init__(self, path: Path | str, keep: int = KEEP) -> None:
        self.path = Path(path)
        self.keep = keep
        self._lock = threading.Lock()
        self._ids: list[int] = self._load()
        self._set = set(self._ids)

    def _load(self) -> list[int]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return []
        if not isinstance(data, list):
            return []
        return [int(v) for v in data if isinstance(v, int) and not isinstance(v, bool)][
            -self.keep :
        ]

    def first_time(self, alert_id: int) -> bool:
        """Remember ``alert_id``; True if it had not been seen before."""
        with self._lock:
            if alert_id in self._set:
                return False
            self._ids.append(alert_id)
            self._set.add(alert_id)
            if len(self._ids) > self.keep:
                for old in self._ids[: -self.keep]:
                    self._set.discard(old)
                self._ids = self._ids[-self.keep :]
            self._save()
            return True

    def clear(self) -> None:
        with self._lock:
            self._ids, self._set = [], set()
            self._save()

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(self._ids, fh)
        os.replace(tmp, self.path)


def parse_alert_id(value: object) -> int | None:
    """The alert id of a push or stream event (FCM data values are strings), or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value > 0 else None
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 18:
        return int(value) or None
    return None
