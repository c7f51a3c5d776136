"""Watching someone else: the journeys my contacts share with me, their live position,
and the alerts they raise (from pushes, the live stream and refreshes), each shown once."""

from __future__ import annotations

import json
import logging
import threading
from datetime import UTC, datetime
from typing import Any

from mobile_client.core.alerts import SeenAlerts, parse_alert_id
from mobile_client.core.api import ApiError, ContractError, Offline
from mobile_client.core.context import ACTIVE_STATES, Context
from shared_schemas import uktime

log = logging.getLogger(__name__)


class Watching:
    """Journeys shared with me and the alerts they raise."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._watch_stop = threading.Event()
        self._watcher: threading.Thread | None = None
        # Alerts shown: by server alert id (kept between runs), and by (kind, journey) for
        # what a refresh learns from the journey's flags, which carry no id.
        self.seen_alerts = SeenAlerts(ctx.data_dir / "seen_alerts.json")
        self._alerts_lock = threading.Lock()
        # pushes (UI thread) and refreshes (core thread) both change ``shared_with_me``
        self._shared_lock = threading.Lock()
        self._seen_alerts: set[Any] = set()
        self._shown_without_id: set[Any] = set()
        ctx.after_flush.append(self._drop_refused_acks)

    # -- telling the server an alert reached this phone ------------------------------------
    def acknowledge(self, alert_id: int) -> None:
        """Queue ``POST /api/v1/alerts/{id}/received``: the resident in trouble then sees
        "delivered to phone" for me. Queued, so it goes when the network allows."""
        self.ctx.outbox.enqueue("ack", "POST", f"/api/v1/alerts/{int(alert_id)}/received", {})
        self.ctx.refresh_outbox_counts()
        self.ctx.kick()

    def _drop_refused_acks(self, result: Any) -> None:
        # an alert that is gone (or a server without acknowledgements) needs no retry
        for item, _exc in result.refused:
            if item.kind == "ack":
                self.ctx.outbox.remove(item.id)

    def load_shared_with_me(self) -> list[dict[str, Any]]:
        """Journeys my contacts share with me: those announced by push notifications, plus
        the server's list where it offers one (``GET /api/v1/journeys?watching=true``);
        ended ones are dropped."""
        state, client = self.ctx.state, self.ctx.client
        items = list(state.shared_with_me)
        known = {i.get("id") for i in items}
        try:
            data = client.watching()
            listed = data if isinstance(data, list) else (data or {}).get("items", [])
            for j in listed:
                if all(i.get("id") != j.get("id") for i in items):
                    items.append(j)
        except ApiError as exc:
            if exc.status not in (404, 405, 422):
                raise
        fresh = []
        for item in items:
            try:
                fresh.append(client.journey(int(item["id"])))
            except ApiError as exc:
                if exc.status not in (403, 404, 410):
                    raise
        fresh = [j for j in fresh if j.get("state") in ACTIVE_STATES]
        with self._shared_lock:
            # A push that announced a journey while this refresh ran is kept, not lost: the
            # next refresh checks it.
            announced = [
                j
                for j in state.shared_with_me
                if j.get("id") not in known and all(f.get("id") != j.get("id") for f in fresh)
            ]
            state.update(shared_with_me=fresh + announced)
        return fresh + announced

    def on_push(self, data: dict[str, Any]) -> None:
        """A push notification's data (FCM ``data``: string values with ``journey_id``,
        ``kind``...): the journey becomes watchable and its alert is recorded."""
        if not data.get("journey_id"):
            return
        state = self.ctx.state
        journey_id = int(data["journey_id"])
        with self._shared_lock:
            known = state.shared_with_me
            if all(int(j.get("id", 0)) != journey_id for j in known):
                entry = {"id": journey_id, "owner_name": data.get("owner_name")}
                state.update(shared_with_me=[*known, entry])
        if data.get("kind") in ("sos", "overdue", "stationary", "arrival"):
            alert = {"kind": data["kind"], "journey_id": journey_id, "battery": data.get("battery")}
            if data.get("owner_name"):
                alert["owner_name"] = data["owner_name"]
            alert_id = parse_alert_id(data.get("alert_id"))
            if alert_id is not None:
                alert["alert_id"] = alert_id
            self.record_alert(alert)

    def poll_push_inbox(self) -> int:
        """Deliver push payloads dropped as JSON files in ``<data_dir>/push/`` (oldest
        first) to :meth:`on_push`. On a desktop nothing receives FCM, so this folder is
        where a notification bridge (or a test harness) hands them over."""
        inbox = self.ctx.data_dir / "push"
        if not inbox.is_dir():
            return 0
        count = 0
        for path in sorted(inbox.glob("*.json")):
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                log.warning("unreadable push payload %s", path.name)
                data = None
            path.unlink(missing_ok=True)
            if isinstance(data, dict):
                self.on_push({str(k): v for k, v in data.items()})
                count += 1
        return count

    def refresh_watch(self, journey_id: int) -> dict[str, Any]:
        journey = self.ctx.client.journey(journey_id)
        self.apply_watched(journey)
        return journey

    def apply_watched(self, journey: dict[str, Any]) -> None:
        state = self.ctx.state
        last = journey.get("last_fix")
        track = list(state.watch_track)
        if isinstance(last, dict) and last.get("lat") is not None:
            point = (float(last["lat"]), float(last["lon"]))
            if not track or track[-1] != point:
                track.append(point)
        state.update(watching=journey, watch_track=track)
        battery = (last or {}).get("battery")
        if journey.get("sos"):
            self.record_alert({"kind": "sos", "journey_id": journey.get("id"), "battery": battery})
        if journey.get("overdue"):
            self.record_alert({"kind": "overdue", "journey_id": journey.get("id")})

    def record_alert(self, alert: dict[str, Any]) -> None:
        alert.setdefault("received_at", datetime.now(UTC).isoformat())
        if not alert.get("owner_name"):
            known = [self.ctx.state.watching or {}, *self.ctx.state.shared_with_me]
            for journey in known:
                if journey.get("id") == alert.get("journey_id") and journey.get("owner_name"):
                    alert["owner_name"] = journey["owner_name"]
                    break
        self._record(alert)

    def _record(self, alert: dict[str, Any]) -> None:
        """Show an alert once. One with an ``alert_id`` (a push, the live stream) is shown
        unless that id was shown before, even in an earlier run: FCM may deliver a repeated
        send. One known only from the journey's flags (a refresh; no id) is shown unless that
        kind was already shown for the journey, and the push of that same event is then
        taken as already shown. Two different alerts of one kind (stationary twice) both
        show."""
        key = (alert.get("kind"), alert.get("journey_id"))
        alert_id = alert.get("alert_id")
        if alert_id is not None:
            # every copy is acknowledged: the first acknowledgement may have been lost
            self.acknowledge(int(alert_id))
        with self._alerts_lock:
            if alert_id is not None:
                if not self.seen_alerts.first_time(alert_id):
                    return
                if key in self._shown_without_id:
                    self._shown_without_id.discard(key)
                    return
            elif key in self._seen_alerts:
                return
            else:
                self._shown_without_id.add(key)
            self._seen_alerts.add(key)
        self.ctx.state.add_alert(alert)

    def on_stream_event(self, event: dict[str, Any]) -> None:
        """A live event of a watched journey: ``fix`` moves the marker, ``alert`` is shown,
        ``state`` (and ``resync``, sent after the server's broker may have missed updates)
        replaces the journey."""
        state = self.ctx.state
        kind, data = event.get("event"), event.get("data")
        if not isinstance(data, dict):
            return
        watching = dict(state.watching or {})
        if kind == "fix" and data.get("lat") is not None:
            track = [*state.watch_track, (float(data["lat"]), float(data["lon"]))]
            fields = ("lat", "lon", "recorded_at", "accuracy_m", "battery")
            watching["last_fix"] = {k: data.get(k) for k in fields}
            state.update(watching=watching, watch_track=track)
        elif kind == "alert":
            extra: dict[str, Any] = data["data"] if isinstance(data.get("data"), dict) else {}
            alert = {
                "kind": data.get("kind"),
                "journey_id": watching.get("id") or extra.get("journey_id"),
                "title": data.get("title"),
                "body": data.get("body"),
                "battery": extra.get("battery"),
            }
            alert_id = parse_alert_id(data.get("alert_id"))
            if alert_id is not None:
                alert["alert_id"] = alert_id
            self.record_alert(alert)
        elif kind in ("state", "resync") and isinstance(data.get("journey"), dict):
            self.apply_watched(data["journey"])
        elif kind == "revoked":
            self.revoked(data)

    def revoked(self, data: dict[str, Any]) -> None:
        """The person I watch stopped sharing with me: say who and when (UK time), and
        take their journey off my screen."""
        watching = self.ctx.state.watching or {}
        who = data.get("by_display_name") or watching.get("owner_name") or "Your contact"
        at = uktime.clock(data.get("at") or datetime.now(UTC))  # else: when this phone learnt it
        text = f"{who} stopped sharing with you" + (f" at {at}" if at else "")
        gone = watching.get("id")
        self.ctx.state.update(
            watch_ended=text,
            watching=None,
            watch_track=[],
            # what they shared is no longer mine to show, their old alerts included
            alerts=[a for a in self.ctx.state.alerts if a.get("journey_id") != gone],
            shared_with_me=[j for j in self.ctx.state.shared_with_me if j.get("id") != gone],
        )

    def watch(self, journey_id: int, poll_s: float = 2.0) -> None:
        """Follow a journey live in the background: the server's event stream, falling back
        to polling when the stream is unavailable."""
        self.stop_watching()
        self._watch_stop = stop = threading.Event()
        self.ctx.state.update(watch_track=[], watching=None, watch_ended=None)

        def run() -> None:
            use_stream = True
            while not stop.is_set():
                try:
                    self.refresh_watch(journey_id)
                    if use_stream:
                        for event in self.ctx.client.stream(journey_id, timeout=poll_s * 5):
                            if stop.is_set():
                                return
                            self.on_stream_event(event)
                            if event.get("event") == "revoked":
                                return
                except ApiError as exc:
                    if exc.status in (403, 404, 410):
                        if exc.status != 404 or not use_stream:
                            # Seen before and now hidden (the server answers 403 or 404
                            # alike once consent ends): the person stopped sharing.
                            seen = (self.ctx.state.watching or {}).get("id") == journey_id
                            if seen and exc.status in (403, 404):
                                self.revoked({})
                            elif not self.ctx.state.watch_ended:
                                self.ctx.state.update(
                                    watch_ended="This journey is no longer shared with you."
                                )
                            return
                    use_stream = False
                except (Offline, ContractError):
                    self.ctx.state.update(online=False)
                except Exception:  # noqa: BLE001 - a watcher must not die silently mid-walk
                    log.exception("watcher")
                    use_stream = False
                stop.wait(poll_s)

        self._watcher = threading.Thread(target=run, name="watcher", daemon=True)
        self._watcher.start()

    def stop_watching(self) -> None:
        self._watch_stop.set()
        if self._watcher is not None and self._watcher is not threading.current_thread():
            self._watcher.join(timeout=0.5)
        self._watcher = None
