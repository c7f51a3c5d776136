"""Map tiles kept on the phone: an XYZ tile is read from the cache folder first and fetched
from the deployment's tile server only when missing (no Kivy here; the map widget asks)."""

from __future__ import annotations

import hashlib
import os
import threading
import urllib.request
from pathlib import Path

USER_AGENT = "SafeHaven resident app (Wigan Community Safety Partnership)"
TIMEOUT_S = 5.0


class TileCache:
    """Tiles of one URL template (``{z}/{x}/{y}``, optional ``{s}``) under ``folder``; counts
    what it fetched, read from the cache and could not get (the map says "map offline" when
    nothing could be shown)."""

    def __init__(self, url_template: str, folder: Path | str, subdomains: str = "abc") -> None:
        self.url_template = url_template
        self.key = hashlib.sha256(url_template.encode()).hexdigest()[:12]
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.subdomains = subdomains
        self.fetched = self.cached = self.failed = 0
        self._lock = threading.Lock()

    def path(self, z: int, x: int, y: int) -> Path:
        return self.folder / f"{self.key}_{z}_{x}_{y}.png"

    def get(self, z: int, x: int, y: int) -> Path | None:
        """The tile's file (from the cache, else fetched and kept), or None if unreachable."""
        path = self.path(z, x, y)
        if path.exists():
            self._count("cached")
            return path
        sub = self.subdomains[(x + y) % len(self.subdomains)] if self.subdomains else ""
        url = self.url_template.format(z=z, x=x, y=y, s=sub)
        if not url.startswith(("http://", "https://")):
            self._count("failed")
            return None
        request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})  # noqa: S310 - http(s) checked above
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:  # noqa: S310
                data = response.read()
        except (OSError, ValueError):
            self._count("failed")
            return None
        part = path.with_name(path.name + ".part")
        part.write_bytes(data)
        os.replace(part, path)
        self._count("fetched")
        return path

    @property
    def shown_any(self) -> bool:
        return self.fetched + self.cached > 0

    def _count(self, name: str) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + 1)
