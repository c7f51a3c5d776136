"""Text messages from the phone: plyer's ``sms`` facade on Android; on a desktop a stand-in
that records what would have been sent (``<data dir>/sms_sent.jsonl``), which tests read."""

from __future__ import annotations

import json
import logging
import os
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

log = logging.getLogger(__name__)


class SmsSender(Protocol):
    def send(self, number: str, text: str) -> None:
        """Send (or on Android, hand to the messaging app) one text; raises on failure."""


class PlyerSms:
    """Android: plyer's sms facade."""

    def send(self, number: str, text: str) -> None:
        from plyer import sms  # type: ignore[import-untyped]

        sms.send(recipient=number, message=text)


class RecordedSms:
    """A desktop has no SMS: each text is appended to a JSON-lines file instead."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def send(self, number: str, text: str) -> None:
        line = json.dumps({"to": number, "text": text, "at": datetime.now(UTC).isoformat()})
        with self._lock, open(self.path, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")

    def sent(self) -> list[dict[str, str]]:
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except OSError:
            return []
        return [json.loads(line) for line in lines if line.strip()]


def default_sender(data_dir: Path) -> SmsSender:
    """plyer on Android (python-for-android sets ``ANDROID_ARGUMENT``), else the stand-in."""
    if "ANDROID_ARGUMENT" in os.environ:
        return PlyerSms()
    return RecordedSms(data_dir / "sms_sent.jsonl")


def osm_link(lat: float, lon: float) -> str:
    """An OpenStreetMap link with a marker at the point (opens in any browser)."""
    return (
        f"https://www.openstreetmap.org/?mlat={lat:.5f}&mlon={lon:.5f}#map=17/{lat:.5f}/{lon:.5f}"
    )


def geo_uri(lat: float, lon: float, label: str) -> str:
    """A ``geo:`` URI for a phone's map app, with a labelled pin."""
    from urllib.parse import quote

    return f"geo:{lat:.6f},{lon:.6f}?q={lat:.6f},{lon:.6f}({quote(label)})"
