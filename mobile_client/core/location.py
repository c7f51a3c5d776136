"""Where the phone is: plyer GPS on a phone, a simulated walk along a route on a desktop.

Both deliver :class:`Fix` objects to one callback, from whatever thread they run on; the
controller decides what to do with them (state, outbox)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from mobile_client.core import geo

log = logging.getLogger(__name__)

FixCallback = Callable[["Fix"], None]

# Wigan town centre (Market Place) towards Wigan Pier along Wallgate: a demo route on real streets.
DEMO_ROUTE: tuple[tuple[float, float], ...] = (
    (53.54560, -2.63180),
    (53.54470, -2.63330),
    (53.54390, -2.63470),
    (53.54300, -2.63620),
    (53.54220, -2.63790),
    (53.54150, -2.63950),
)


@dataclass(frozen=True)
class Fix:
    """One position: WGS84 degrees, a UTC time, accuracy in metres, battery percent."""

    lat: float
    lon: float
    at: datetime
    accuracy_m: float | None = None
    battery: int | None = None

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "lat": round(self.lat, 7),
            "lon": round(self.lon, 7),
            "recorded_at": self.at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        }
        if self.accuracy_m is not None:
            out["accuracy_m"] = round(float(self.accuracy_m), 1)
        if self.battery is not None:
            out["battery"] = int(self.battery)
        return out


class LocationSource:
    """A source of fixes; ``start``/``stop`` may be called more than once."""

    def __init__(self, on_fix: FixCallback) -> None:
        self.on_fix = on_fix

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    @property
    def running(self) -> bool:
        raise NotImplementedError


@dataclass
class SimulatedWalk(LocationSource):
    """A walk along ``route`` at ``speed_mps``, one fix every ``interval_s`` of simulated time.

    ``advance(seconds)`` moves the clock by hand (tests, scripted demos); ``start()`` runs a
    thread that advances in real time multiplied by ``speedup``."""

    on_fix: FixCallback
    route: Sequence[tuple[float, float]] = DEMO_ROUTE
    speed_mps: float = geo.WALKING_SPEED_MPS
    interval_s: float = 5.0
    start_time: datetime = field(default_factory=lambda: datetime.now(UTC))
    speedup: float = 1.0
    accuracy_m: float = 8.0
    battery: int = 80
    _elapsed: float = 0.0
    _next_fix_at: float = 0.0
    _thread: threading.Thread | None = None
    _stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        if len(self.route) < 2:
            raise ValueError("a route needs at least two points")
        self._legs = [
            geo.haversine_m(*self.route[i], *self.route[i + 1]) for i in range(len(self.route) - 1)
        ]
        self.length_m = sum(self._legs)

    def position_after(self, seconds: float) -> tuple[float, float]:
        """Where the walker is ``seconds`` after setting off (stays at the end once there)."""
        remaining = max(0.0, seconds) * self.speed_mps
        for i, leg in enumerate(self._legs):
            if remaining <= leg:
                return geo.interpolate(
                    *self.route[i], *self.route[i + 1], remaining / leg if leg else 0
                )
            remaining -= leg
        return self.route[-1]

    @property
    def finished(self) -> bool:
        return self._elapsed * self.speed_mps >= self.length_m

    def advance(self, seconds: float) -> list[Fix]:
        """Move simulated time on; emits and returns the fixes that fall due."""
        self._elapsed += seconds
        fixes = []
        while self._next_fix_at <= self._elapsed:
            lat, lon = self.position_after(self._next_fix_at)
            battery = max(5, self.battery - int(self._next_fix_at // 600))
            # Positions move at the simulated pace; times stay on the wall clock's pace, so a
            # sped-up demo never sends fixes from the future.
            fix = Fix(
                lat,
                lon,
                self.start_time + timedelta(seconds=self._next_fix_at / self.speedup),
                self.accuracy_m,
                battery,
            )
            fixes.append(fix)
            self._next_fix_at += self.interval_s
            self.on_fix(fix)
        return fixes

    def start(self) -> None:
        if self.running:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="simulated-walk", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        tick = max(0.05, self.interval_s / max(self.speedup, 1e-6) / 4)
        while not self._stop.wait(tick):
            self.advance(tick * self.speedup)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=2)
        self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()


class PlyerGPS(LocationSource):
    """The phone's GPS through plyer (Android/iOS). Needs the location permission granted
    first; on Android continuous sharing also needs the foreground service (see README)."""

    def __init__(
        self, on_fix: FixCallback, min_time_ms: int = 5000, min_distance_m: float = 5
    ) -> None:
        super().__init__(on_fix)
        self.min_time_ms = min_time_ms
        self.min_distance_m = min_distance_m
        self._running = False
        self.status = "stopped"

    def _battery(self) -> int | None:
        try:
            from plyer import battery

            pct = battery.status.get("percentage")
            return int(pct) if pct is not None else None
        except Exception:  # noqa: BLE001 - battery is optional information
            return None

    def _on_location(self, **kwargs: float) -> None:
        try:
            fix = Fix(
                float(kwargs["lat"]),
                float(kwargs["lon"]),
                datetime.now(UTC),
                float(kwargs["accuracy"]) if kwargs.get("accuracy") is not None else None,
                self._battery(),
            )
        except (KeyError, TypeError, ValueError):
            log.warning("ignored a GPS reading without a position: %r", kwargs)
            return
        self.on_fix(fix)

    def _on_status(self, stype: str, status: str) -> None:
        self.status = f"{stype}: {status}"

    def start(self) -> None:
        from plyer import gps

        gps.configure(on_location=self._on_location, on_status=self._on_status)
        gps.start(minTime=self.min_time_ms, minDistance=self.min_distance_m)
        self._running = True

    def stop(self) -> None:
        if self._running:
            from plyer import gps

            gps.stop()
        self._running = False

    @property
    def running(self) -> bool:
        return self._running


def gps_available() -> bool:
    """True where plyer has a GPS backend (Android, iOS)."""
    try:
        from kivy.utils import platform  # only present with the client extra
    except ImportError:
        return False
    return platform in ("android", "ios")
