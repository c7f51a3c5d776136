"""AppState: everything the screens show, in one observable object (no Kivy here).

The core writes with ``update(...)`` from any thread; listeners get the names that changed.
The Kivy side subscribes once and hops to the UI thread (see ``mobile_client.ui.bridge``)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

Listener = Callable[[set[str]], None]


@dataclass
class AppState:
    server_url: str = ""
    uid: str | None = None
    display_name: str | None = None
    ward_code: str | None = None
    signed_in: bool = False
    online: bool | None = None
    busy: bool = False
    message: str = ""
    position: tuple[float, float] | None = None
    accuracy_m: float | None = None
    places: list[dict[str, Any]] = field(default_factory=list)
    # "as of 04:31, not updated: no signal" while the list is the stored one, else ""
    places_note: str = ""
    # the partnership's late-night options, shown when the nearest walk is long (else None)
    late_night: dict[str, Any] | None = None
    app_config: dict[str, Any] | None = None
    offline_map: str | None = None  # the downloaded MBTiles pack's path
    offline_map_note: str = ""
    selected_place: dict[str, Any] | None = None
    destination: dict[str, Any] | None = None
    journey: dict[str, Any] | None = None
    contacts: list[dict[str, Any]] = field(default_factory=list)
    invitation: dict[str, Any] | None = None
    viewers: list[dict[str, Any]] = field(default_factory=list)
    shared_with_me: list[dict[str, Any]] = field(default_factory=list)
    watching: dict[str, Any] | None = None
    watch_track: list[tuple[float, float]] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    categories: list[dict[str, Any]] = field(default_factory=list)
    my_reports: list[dict[str, Any]] = field(default_factory=list)
    # the report being written: where (pin) and the photos picked, and the last one sent
    report_pin: dict[str, Any] | None = None
    # why the place typed for the pin was not found (what is accepted), until the next try
    report_place_problem: str = ""
    report_photos: list[str] = field(default_factory=list)
    last_report: dict[str, Any] | None = None
    surveys: list[dict[str, Any]] = field(default_factory=list)
    # (before ``survey``: the bridge applies fields in this order, and the form is drawn
    # when ``survey`` changes)
    # the open survey's language (a code of its ``languages``) and the contract's or the
    # server's complaints about its answers, by question name
    survey_language: str | None = None
    survey_errors: dict[str, list[str]] = field(default_factory=dict)
    # my earlier answers to the open survey (values), shown in the form to change them
    survey_answers: dict[str, Any] = field(default_factory=dict)
    # surveys whose answers are saved on this phone and not yet taken by the server
    surveys_waiting: list[int] = field(default_factory=list)
    survey: dict[str, Any] | None = None
    outbox_pending: int = 0
    outbox_failed: int = 0
    # the SOS on screen (``sos.describe``): stays until dismissed, also across restarts
    sos: dict[str, Any] | None = None
    # who the next journey is shared with (user ids): what the screen shows is what is sent
    share_selection: list[int] = field(default_factory=list)
    # a confirmation that stays until dismissed: ``{"kind", "text"}``
    notice: dict[str, Any] | None = None
    # a watched person stopped sharing: "Sam stopped sharing with you at 04:37"
    watch_ended: str | None = None

    def __post_init__(self) -> None:
        self._lock = threading.RLock()
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(changed_names)`` after every update; returns an unsubscribe."""
        with self._lock:
            self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def update(self, **changes: Any) -> set[str]:
        """Set several fields at once and notify listeners of the ones that changed."""
        known = {f.name for f in fields(self)}
        unknown = set(changes) - known
        if unknown:
            raise AttributeError(f"AppState has no field(s) {', '.join(sorted(unknown))}")
        with self._lock:
            changed = {k for k, v in changes.items() if getattr(self, k) != v}
            for key in changed:
                setattr(self, key, changes[key])
            listeners = list(self._listeners)
        if changed:
            for listener in listeners:
                listener(changed)
        return changed

    def add_alert(self, alert: dict[str, Any]) -> None:
        with self._lock:
            alerts = [*self.alerts, alert]
        self.update(alerts=alerts)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {f.name: getattr(self, f.name) for f in fields(self)}
