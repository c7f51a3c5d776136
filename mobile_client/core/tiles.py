"""Map tiles kept on the phone: an XYZ tile is read from the cache folder first and fetched
from the deployment's tile server only when missing (no Kivy here; the map widget asks).
The folder holds at most ``max_bytes`` of tiles: past that, the tiles used longest ago go."""

from __future__ import annotations

import hashlib
import os
import threading
import time
import urllib.request
from collections import OrderedDict
from pathlib import Path

USER_AGENT = "SafeHaven resident app (Wigan Community Safety Partnership)"
TIMEOUT_S = 5.0
# About 3,000 street tiles (15-25 KB each): the streets around home, work and a night out.
# The borough's offline pack (Settings) is the map for everywhere else without signal.
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
# Evicting down to this share of the limit, not just under it, makes it one pass in many
# fetches instead of one per fetch once the folder is full.
EVICT_TO = 0.9
TILE_SUFFIX = ".png"
_use_lock = threading.Lock()
_last_use_ns = 0


class TileCache:
    """Tiles of one URL template (``{z}/{x}/{y}``, optional ``{s}``) under ``folder``, the
    whole folder (every template's tiles) kept within ``max_bytes``, least recently used
    first out; counts what it fetched, read from the cache and could not get (the map says
    "map offline" when nothing could be shown)."""

    def __init__(
        self,
        url_template: str,
        folder: Path | str,
        subdomains: str = "abc",
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        self.url_template = url_template
        self.key = hashlib.sha256(url_template.encode()).hexdigest()[:12]
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.subdomains = subdomains
        self.max_bytes = max(0, int(max_bytes))
        self.fetched = self.cached = self.failed = self.evicted = 0
        self._lock = threading.Lock()
        # Every tile in the folder, least recently used first (a file's mtime is its last
        # use, so the order survives a restart).
        self._used: OrderedDict[str, int] = OrderedDict()
        self.total_bytes = 0
        found = []
        for entry in os.scandir(self.folder):
            if entry.name.endswith(TILE_SUFFIX) and entry.is_file():
                stat = entry.stat()
                found.append((stat.st_mtime_ns, entry.name, stat.st_size))
        for _mtime, name, size in sorted(found):
            self._used[name] = size
            self.total_bytes += size
        with self._lock:
            self._evict(keep=None)

    def path(self, z: int, x: int, y: int) -> Path:
        return self.folder / f"{self.key}_{z}_{x}_{y}{TILE_SUFFIX}"

    def get(self, z: int, x: int, y: int) -> Path | None:
        """The tile's file (from the cache, else fetched and kept), or None if unreachable."""
        path = self.path(z, x, y)
        if path.exists():
            self._touch(path)
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
        part = path.with_name(f"{path.name}.{threading.get_ident()}.part")
        part.write_bytes(data)
        os.replace(part, path)
        self._mark_used(path)
        with self._lock:
            self.total_bytes += len(data) - self._used.pop(path.name, 0)
            self._used[path.name] = len(data)
            self._evict(keep=path.name)
        self._count("fetched")
        return path

    def _touch(self, path: Path) -> None:
        """Mark a tile used now (in memory and in its mtime, for the next start)."""
        try:
            self._mark_used(path)
            size = path.stat().st_size
        except OSError:
            return
        with self._lock:
            if path.name in self._used:
                self._used.move_to_end(path.name)
            else:  # written by another cache on this folder
                self._used[path.name] = size
                self.total_bytes += size
                self._evict(keep=path.name)

    def _mark_used(self, path: Path) -> None:
        """Its mtime is its last use: set from the clock in nanoseconds, always later than
        the last one set (a file system's own times can tie within a clock tick)."""
        global _last_use_ns
        with _use_lock:
            _last_use_ns = max(time.time_ns(), _last_use_ns + 1)
            now = _last_use_ns
        os.utime(path, ns=(now, now))

    def _evict(self, keep: str | None) -> None:
        """Past the limit, delete the least recently used tiles (never ``keep``, the one
        being shown) down to EVICT_TO of it. Called with the lock held."""
        if self.total_bytes <= self.max_bytes:
            return
        target = self.max_bytes * EVICT_TO
        for name in list(self._used):
            if self.total_bytes <= target:
                break
            if name == keep:
                continue
            size = self._used.pop(name)
            self.total_bytes -= size
            (self.folder / name).unlink(missing_ok=True)
            self.evicted += 1

    @property
    def shown_any(self) -> bool:
        return self.fetched + self.cached > 0

    def _count(self, name: str) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + 1)
