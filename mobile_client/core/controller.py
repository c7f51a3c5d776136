"""The app's operations, GUI-free: each method does one resident action against the API,
the outbox and the location source, and records the outcome in :class:`AppState`.

Methods are synchronous and may block on the network; the UI runs them on a worker thread
(``Core.submit``). Tests call them directly."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from mobile_client.core import geo
from mobile_client.core.alerts import SeenAlerts, parse_alert_id
from mobile_client.core.api import ApiClient, ApiError, ContractError, Offline
from mobile_client.core.auth import Credentials, TokenStore, demo_token
from mobile_client.core.location import Fix, LocationSource, SimulatedWalk
from mobile_client.core.outbox import DrainResult, Outbox
from mobile_client.core.state import AppState
from mobile_client.core.surveys import validate_answers

log = logging.getLogger(__name__)

ACTIVE_STATES = {"active", "overdue", "sos"}


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat().replace("+00:00", "Z")


def describe_place(place: dict[str, Any], origin: tuple[float, float] | None) -> dict[str, Any]:
    """A venue from the API with what the list shows: distance, compass direction, minutes
    on foot and an open/closes line (the server's figures when given, else computed)."""
    out = dict(place)
    lat, lon = float(place.get("lat", 0)), float(place.get("lon", 0))
    distance = place.get("distance_m")
    if distance is None and origin:
        distance = geo.haversine_m(origin[0], origin[1], lat, lon)
    bearing = place.get("compass")
    if not isinstance(bearing, str):
        angle = place.get("bearing_deg")
        if isinstance(angle, int | float):
            bearing = geo.compass_point(float(angle))
        elif origin:
            bearing = geo.compass_point(geo.bearing_deg(origin[0], origin[1], lat, lon))
        else:
            bearing = ""
    walk = place.get("walking_minutes") or place.get("walk_minutes")
    if walk is None and distance is not None:
        walk = geo.walking_minutes(float(distance))
    out["distance_m"] = distance
    out["direction"] = bearing
    out["walk_min"] = walk
    out["distance_text"] = geo.format_distance(float(distance)) if distance is not None else ""
    closes, opens = place.get("closes_at"), place.get("opens_at")
    if place.get("open_now") is None and "open_now" in place:
        out["hours_text"] = "Opening hours unknown: call first"
    elif place.get("open_now", True):
        out["hours_text"] = f"Open now, closes {_clock(closes)}" if closes else "Open now"
    else:
        out["hours_text"] = f"Closed, opens {_clock(opens)}" if opens else "Closed now"
    return out


def _clock(value: Any) -> str:
    """'23:00' from an ISO time (shown in UK local time on the phone's clock)."""
    if not value:
        return ""
    try:
        dt = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return str(value)
    try:
        from zoneinfo import ZoneInfo

        dt = dt.astimezone(ZoneInfo("Europe/London"))
    except Exception:  # noqa: BLE001 - no tz database on some phones: show as sent
        log.debug("no Europe/London time zone data; showing the time as sent")
    return dt.strftime("%H:%M")


class Core:
    """One signed-in app: client, outbox, location and state, wired together."""

    def __init__(
        self,
        data_dir: Path | str,
        server_url: str | None = None,
        token: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.store = TokenStore(self.data_dir / "credentials.json")
        creds = self.store.load()
        if server_url:
            creds.server_url = server_url
        if token:
            creds.token = token
        self.creds = creds
        self.clock = clock
        self.state = AppState(server_url=creds.server_url)
        self.client = ApiClient(creds.server_url, creds.token)
        self.outbox = Outbox(self.data_dir / "outbox.sqlite3", clock=clock)
        self.location: LocationSource | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._pump_wake = threading.Event()
        self._pump_stop = threading.Event()
        self._pump: threading.Thread | None = None
        self._watch_stop = threading.Event()
        self._watcher: threading.Thread | None = None
        # Alerts shown: by server alert id (kept between runs), and by (kind, journey) for
        # what a refresh learns from the journey's flags, which carry no id.
        self.seen_alerts = SeenAlerts(self.data_dir / "seen_alerts.json")
        self._alerts_lock = threading.Lock()
        # pushes (UI thread) and refreshes (core thread) both change ``shared_with_me``
        self._shared_lock = threading.Lock()
        self._seen_alerts: set[Any] = set()
        self._shown_without_id: set[Any] = set()
        self._refresh_outbox_counts()

    # -- lifecycle ------------------------------------------------------------------------
    def submit(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Future:
        """Run ``fn`` on the core's worker thread; errors end up in ``state.message``."""
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="core")

        def run() -> Any:
            self.state.update(busy=True)
            try:
                return fn(*args, **kwargs)
            except Offline:
                self.state.update(
                    online=False, message="No connection. Saved; will send when back online."
                )
            except ApiError as exc:
                self.state.update(message=exc.field_message())
            except ContractError as exc:
                log.error("%s", exc)
                self.state.update(message="The server sent something unexpected.")
            except Exception as exc:
                log.exception("core task failed")
                self.state.update(message=f"Something went wrong: {exc}")
            finally:
                self.state.update(busy=False)
            return None

        return self._executor.submit(run)

    def start_background(self) -> None:
        """Start the outbox pump (sends queued work as soon as the network allows)."""
        if self._pump is None:
            self._pump_stop.clear()
            self._pump = threading.Thread(target=self._pump_loop, name="outbox-pump", daemon=True)
            self._pump.start()

    def _pump_loop(self) -> None:
        while not self._pump_stop.is_set():
            wait = 30.0
            try:
                result = self.flush()
                if result.retry_at is not None:
                    wait = max(0.2, min(wait, result.retry_at - self.clock()))
            except Exception:  # noqa: BLE001 - keep the pump alive
                log.exception("outbox pump")
            self._pump_wake.wait(wait)
            self._pump_wake.clear()

    def kick(self) -> None:
        """Ask the pump to try now."""
        self._pump_wake.set()

    def close(self) -> None:
        self.stop_location()
        self.stop_watching()
        self._pump_stop.set()
        self._pump_wake.set()
        if self._pump is not None:
            self._pump.join(timeout=5)
            self._pump = None
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None
        self.client.close()

    # -- sign-in and settings -------------------------------------------------------------
    def set_server(self, url: str) -> None:
        url = url.strip().rstrip("/")
        if not url.startswith(("http://", "https://")):
            self.state.update(message="The server address must start with http:// or https://")
            return
        self.creds.server_url = url
        self.client.close()
        self.client = ApiClient(url, self.creds.token)
        self.store.save(self.creds)
        self.state.update(server_url=url)

    def sign_in(self, token: str) -> dict[str, Any]:
        """Use ``token`` (a Firebase ID token, or a dev token on a dev server); checks it with
        ``GET /api/v1/me`` before keeping it."""
        probe = ApiClient(self.creds.server_url, token.strip())
        try:
            me = probe.me()
        finally:
            probe.close()
        self.client.token = token.strip()
        self.creds = Credentials(self.creds.server_url, token.strip(), me["uid"])
        self.store.save(self.creds)
        self.state.update(
            signed_in=True,
            uid=me["uid"],
            display_name=me.get("display_name"),
            ward_code=me.get("ward_code"),
            online=True,
            message=f"Signed in as {me.get('display_name') or me['uid']}",
        )
        return me

    def sign_in_demo(self) -> dict[str, Any]:
        return self.sign_in(demo_token(self.creds.server_url))

    def restore_session(self) -> dict[str, Any] | None:
        """Sign in again with the stored token, if any."""
        if not self.creds.token:
            return None
        return self.sign_in(self.creds.token)

    def sign_out(self) -> None:
        self.stop_location()
        self.stop_watching()
        self.outbox.clear()
        self.creds = self.store.clear_token()
        self.client.token = None
        self.seen_alerts.clear()
        self.state.update(
            signed_in=False, uid=None, journey=None, contacts=[], watching=None, alerts=[]
        )
        self._refresh_outbox_counts()

    def export_data(self) -> Path:
        """Download everything the server holds about me into the app's folder."""
        import json

        data = self.client.export_me()
        path = self.data_dir / f"safehaven-export-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
        path.write_text(json.dumps(data, indent=2), encoding="utf-8")
        self.state.update(message=f"Your data was saved to {path}")
        return path

    def delete_account(self) -> None:
        self.client.delete_me()
        self.sign_out()
        self.state.update(message="Your account and data were deleted.")

    # -- position -------------------------------------------------------------------------
    def set_position(self, lat: float, lon: float) -> None:
        self.state.update(position=(lat, lon))

    def start_location(self, source: LocationSource) -> None:
        self.stop_location()
        self.location = source
        source.start()

    def simulated_walk(
        self, to: tuple[float, float] | None = None, speedup: float = 1.0, interval_s: float = 5.0
    ) -> SimulatedWalk:
        """A walk from the current position to ``to`` (default: the demo route in Wigan)."""
        if to and self.state.position:
            route: list[tuple[float, float]] = [self.state.position, to]
        else:
            from mobile_client.core.location import DEMO_ROUTE

            route = list(DEMO_ROUTE)
        return SimulatedWalk(self.on_fix, route=route, speedup=speedup, interval_s=interval_s)

    def stop_location(self) -> None:
        if self.location is not None:
            self.location.stop()
            self.location = None

    def on_fix(self, fix: Fix) -> None:
        """A new position: shown at once; queued for the journey when one is active."""
        self.state.update(position=(fix.lat, fix.lon))
        journey = self.state.journey
        if journey and journey.get("state", journey.get("status")) in ACTIVE_STATES:
            self.outbox.enqueue_fix(int(journey["id"]), fix.to_json())
            self._refresh_outbox_counts()
            self.kick()

    # -- outbox ---------------------------------------------------------------------------
    def flush(self, force: bool = False) -> DrainResult:
        """Send queued fixes, actions and reports now (in order)."""
        result = self.outbox.drain(self.client, force=force)
        if result.offline:
            self.state.update(online=False)
        elif result.sent:
            self.state.update(online=True)
        for response in result.responses or []:
            current = self.state.journey
            if (
                isinstance(response, dict)
                and response.get("state") in ACTIVE_STATES
                and current
                and response.get("id") == current.get("id")
            ):
                self.state.update(journey=current | response)
        self._refresh_outbox_counts()
        return result

    def _refresh_outbox_counts(self) -> None:
        self.state.update(
            outbox_pending=self.outbox.pending_count(), outbox_failed=len(self.outbox.failed())
        )

    # -- safe places ----------------------------------------------------------------------
    def find_safe_places(self, limit: int = 5, at: datetime | None = None) -> list[dict[str, Any]]:
        if not self.state.position:
            self.state.update(message="Waiting for your location...")
            return []
        lat, lon = self.state.position
        raw = self.client.nearest_venues(lat, lon, limit=limit, at=iso(at) if at else None)
        places = [describe_place(p, (lat, lon)) for p in raw]
        self.state.update(
            places=places,
            online=True,
            message=""
            if places
            else "No open safe place found nearby. If you are in danger, call 999.",
        )
        return places

    def choose_place(self, place: dict[str, Any]) -> None:
        """Make a safe place the journey's destination."""
        self.state.update(
            selected_place=place,
            destination={
                "venue_id": place.get("id"),
                "lat": place.get("lat"),
                "lon": place.get("lon"),
                "label": place.get("name", "Safe place"),
            },
        )

    def destination_from_postcode(self, postcode: str) -> dict[str, Any]:
        found = self.client.postcode(postcode)
        dest = {
            "postcode": found["postcode"],
            "lat": found["lat"],
            "lon": found["lon"],
            "label": found["postcode"],
        }
        self.state.update(destination=dest)
        return dest

    def destination_from_map(self, lat: float, lon: float) -> dict[str, Any]:
        ward = geo.ward_at(lat, lon)
        label = f"Map point in {ward['name']}" if ward else f"Map point {lat:.4f}, {lon:.4f}"
        dest = {"lat": lat, "lon": lon, "label": label}
        self.state.update(destination=dest)
        return dest

    # -- contacts -------------------------------------------------------------------------
    def load_contacts(self) -> list[dict[str, Any]]:
        data = self.client.contacts()
        contacts = normalise_contacts(data)
        self.state.update(contacts=contacts, online=True)
        return contacts

    def create_invitation(self) -> dict[str, Any]:
        invitation = self.client.create_invitation()
        self.state.update(invitation=invitation)
        return invitation

    def accept_invitation(self, code: str) -> dict[str, Any]:
        accepted = self.client.accept_invitation(code)
        self.load_contacts()
        self.state.update(message="Invitation accepted: you are now trusted contacts.")
        return accepted

    def revoke_contact(self, contact_id: int) -> None:
        self.client.revoke_contact(contact_id)
        self.load_contacts()

    def load_viewers(self) -> list[dict[str, Any]]:
        """Who looked at my location, and when."""
        data = self.client.contact_views()
        items = data if isinstance(data, list) else (data or {}).get("items", [])
        self.state.update(viewers=items)
        return items

    # -- my journey -----------------------------------------------------------------------
    def start_journey(
        self,
        contact_ids: list[int],
        expected_arrival: datetime | None = None,
        destination: dict[str, Any] | None = None,
        watch_link: bool = True,
    ) -> dict[str, Any]:
        dest = destination or self.state.destination
        if not dest:
            raise ApiError(
                422,
                "choose a destination first",
                {"destination": ["choose a destination"]},
                local=True,
            )
        target: dict[str, Any]
        if dest.get("venue_id"):
            target = {"venue_id": int(dest["venue_id"])}
        elif dest.get("postcode"):
            target = {"postcode": dest["postcode"]}
        else:
            target = {"lat": float(dest["lat"]), "lon": float(dest["lon"])}
        if dest.get("label"):
            target["label"] = str(dest["label"])[:160]
        body: dict[str, Any] = {
            "destination": target,
            "contact_ids": [int(c) for c in contact_ids],
            "watch_link": bool(watch_link),
        }
        if self.state.position:
            body["start"] = {"lat": self.state.position[0], "lon": self.state.position[1]}
        if expected_arrival is not None:
            body["expected_arrival_at"] = iso(expected_arrival)
        journey = self.client.start_journey(body) | {"_label": dest.get("label", "")}
        self._remember_journey(journey)
        self.state.update(
            journey=journey, sos_sent=False, online=True, message="Sharing your journey"
        )
        return journey

    def _journey_action(self, action: str, body: dict[str, Any] | None = None) -> None:
        journey = self.state.journey
        if not journey:
            raise ApiError(409, "no journey is active", local=True)
        self.outbox.enqueue(
            "action", "POST", f"/api/v1/journeys/{int(journey['id'])}/{action}", body or {}
        )
        self._refresh_outbox_counts()
        result = self.flush(force=True)
        if result.offline:
            self.state.update(
                message="No connection: queued, will send the moment you are back online. If you are in danger, call 999."
            )

    def sos(self) -> None:
        """Raise an SOS on the active journey; the server sends contacts the last position
        and battery. Queued if offline, after the fixes already waiting, so the position
        the contacts get is the latest."""
        self._journey_action("sos")
        journey = dict(self.state.journey or {})
        self.state.update(sos_sent=True, journey=journey | {"sos": True} if journey else None)

    def _remember_journey(self, journey: dict[str, Any] | None) -> None:
        """Keep the active journey on disk: the Android sharing service (another process)
        reads it to know where to send fixes."""
        import json

        path = self.data_dir / "active_journey.json"
        if journey is None:
            path.unlink(missing_ok=True)
        else:
            path.write_text(json.dumps({"id": journey["id"], "state": journey.get("state")}))

    def load_active_journey(self) -> dict[str, Any] | None:
        import json

        try:
            journey = json.loads((self.data_dir / "active_journey.json").read_text())
        except (OSError, ValueError):
            return None
        self.state.update(journey=journey)
        return journey

    def sos_anywhere(self) -> None:
        """SOS from the home screen: without a journey, first share one to where I stand
        with every contact who agreed to watch, so the SOS reaches someone."""
        if not self.state.journey:
            if not self.state.position:
                raise ApiError(409, "No location yet: call 999 if you are in danger", local=True)
            contacts = self.load_contacts()
            ids = [int(c["user_id"]) for c in contacts if c["direction"] in ("i_trust", "mutual")]
            lat, lon = self.state.position
            self.start_journey(ids, destination={"lat": lat, "lon": lon, "label": "where I am"})
        self.sos()

    def arrived(self) -> None:
        self._journey_action("arrived")
        self.stop_location()
        self._remember_journey(None)
        self.state.update(journey=None, message="Arrived. Your contacts have been told.")

    def cancel_journey(self) -> None:
        self._journey_action("cancel")
        self.stop_location()
        self._remember_journey(None)
        self.state.update(journey=None, message="Journey sharing stopped.")

    # -- watching someone else ------------------------------------------------------------
    def load_shared_with_me(self) -> list[dict[str, Any]]:
        """Journeys my contacts share with me: those announced by push notifications, plus
        the server's list where it offers one (``GET /api/v1/journeys?watching=true``);
        ended ones are dropped."""
        items = list(self.state.shared_with_me)
        known = {i.get("id") for i in items}
        try:
            data = self.client.watching()
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
                fresh.append(self.client.journey(int(item["id"])))
            except ApiError as exc:
                if exc.status not in (403, 404, 410):
                    raise
        fresh = [j for j in fresh if j.get("state") in ACTIVE_STATES]
        with self._shared_lock:
            # A push that announced a journey while this refresh ran is kept, not lost: the
            # next refresh checks it.
            announced = [
                j
                for j in self.state.shared_with_me
                if j.get("id") not in known and all(f.get("id") != j.get("id") for f in fresh)
            ]
            self.state.update(shared_with_me=fresh + announced)
        return fresh + announced

    def on_push(self, data: dict[str, Any]) -> None:
        """A push notification's data (FCM ``data``: string values with ``journey_id``,
        ``kind``...): the journey becomes watchable and its alert is recorded."""
        if not data.get("journey_id"):
            return
        journey_id = int(data["journey_id"])
        with self._shared_lock:
            known = self.state.shared_with_me
            if all(int(j.get("id", 0)) != journey_id for j in known):
                entry = {"id": journey_id, "owner_name": data.get("owner_name")}
                self.state.update(shared_with_me=[*known, entry])
        if data.get("kind") in ("sos", "overdue", "stationary", "arrival"):
            alert = {"kind": data["kind"], "journey_id": journey_id, "battery": data.get("battery")}
            alert_id = parse_alert_id(data.get("alert_id"))
            if alert_id is not None:
                alert["alert_id"] = alert_id
            self._record_alert(alert)

    def poll_push_inbox(self) -> int:
        """Deliver push payloads dropped as JSON files in ``<data_dir>/push/`` (oldest
        first) to :meth:`on_push`. On a desktop nothing receives FCM, so this folder is
        where a notification bridge (or a test harness) hands them over."""
        import json

        inbox = self.data_dir / "push"
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
        journey = self.client.journey(journey_id)
        self._apply_watched(journey)
        return journey

    def _apply_watched(self, journey: dict[str, Any]) -> None:
        last = journey.get("last_fix")
        track = list(self.state.watch_track)
        if isinstance(last, dict) and last.get("lat") is not None:
            point = (float(last["lat"]), float(last["lon"]))
            if not track or track[-1] != point:
                track.append(point)
        self.state.update(watching=journey, watch_track=track)
        battery = (last or {}).get("battery")
        if journey.get("sos"):
            self._record_alert({"kind": "sos", "journey_id": journey.get("id"), "battery": battery})
        if journey.get("overdue"):
            self._record_alert({"kind": "overdue", "journey_id": journey.get("id")})

    def _record_alert(self, alert: dict[str, Any]) -> None:
        """Show an alert once. One with an ``alert_id`` (a push, the live stream) is shown
        unless that id was shown before, even in an earlier run: FCM may deliver a repeated
        send. One known only from the journey's flags (a refresh; no id) is shown unless that
        kind was already shown for the journey, and the push of that same event is then
        taken as already shown. Two different alerts of one kind (stationary twice) both
        show."""
        key = (alert.get("kind"), alert.get("journey_id"))
        alert_id = alert.get("alert_id")
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
        self.state.add_alert(alert)

    def on_stream_event(self, event: dict[str, Any]) -> None:
        """A live event of a watched journey: ``fix`` moves the marker, ``alert`` is shown,
        ``state`` (and ``resync``, sent after the server's broker may have missed updates)
        replaces the journey."""
        kind, data = event.get("event"), event.get("data")
        if not isinstance(data, dict):
            return
        watching = dict(self.state.watching or {})
        if kind == "fix" and data.get("lat") is not None:
            track = [*self.state.watch_track, (float(data["lat"]), float(data["lon"]))]
            fields = ("lat", "lon", "recorded_at", "accuracy_m", "battery")
            watching["last_fix"] = {k: data.get(k) for k in fields}
            self.state.update(watching=watching, watch_track=track)
        elif kind == "alert":
            extra = data.get("data") if isinstance(data.get("data"), dict) else {}
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
            self._record_alert(alert)
        elif kind in ("state", "resync") and isinstance(data.get("journey"), dict):
            self._apply_watched(data["journey"])

    def watch(self, journey_id: int, poll_s: float = 2.0) -> None:
        """Follow a journey live in the background: the server's event stream, falling back
        to polling when the stream is unavailable."""
        self.stop_watching()
        self._watch_stop = stop = threading.Event()
        self.state.update(watch_track=[], watching=None)

        def run() -> None:
            use_stream = True
            while not stop.is_set():
                try:
                    self.refresh_watch(journey_id)
                    if use_stream:
                        for event in self.client.stream(journey_id, timeout=poll_s * 5):
                            if stop.is_set():
                                return
                            self.on_stream_event(event)
                except ApiError as exc:
                    if exc.status in (403, 404, 410):
                        if exc.status != 404 or not use_stream:
                            self.state.update(message="This journey is no longer shared with you.")
                            return
                    use_stream = False
                except (Offline, ContractError):
                    self.state.update(online=False)
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

    # -- reports --------------------------------------------------------------------------
    def load_categories(self) -> list[dict[str, Any]]:
        cats = self.client.report_categories()
        self.state.update(categories=cats)
        return cats

    def submit_report(
        self,
        category: str,
        description: str,
        anonymous: bool,
        lat: float | None = None,
        lon: float | None = None,
        postcode: str | None = None,
        observed_at: datetime | None = None,
        contact_ok: bool = False,
    ) -> DrainResult:
        """Queue a concern report and try to send it; it survives going offline."""
        body: dict[str, Any] = {
            "category": category,
            "description": description.strip(),
            "anonymous": bool(anonymous),
            "observed_at": iso(observed_at or datetime.now(UTC)),
        }
        if postcode:
            body["postcode"] = postcode.strip()
        elif lat is not None and lon is not None:
            body["lat"], body["lon"] = float(lat), float(lon)
        elif self.state.position:
            body["lat"], body["lon"] = self.state.position
        if contact_ok and not anonymous:
            body["consent_to_contact"] = True
        known = {c.get("code"): c for c in self.state.categories}
        if anonymous and known.get(category, {}).get("anonymous_allowed") is False:
            raise ApiError(
                422,
                "this kind of report cannot be anonymous",
                {"anonymous": [f"{known[category].get('name')} reports need a way to reach you"]},
                local=True,
            )
        from mobile_client.core.api import load_schema

        schema = load_schema("report.in")
        if schema is not None:
            problems = schema.validate(body)
            if problems:
                raise ApiError(422, "check the report", problems, local=True)
        self.outbox.enqueue_report(body)
        self._refresh_outbox_counts()
        result = self.flush(force=True)
        if result.offline:
            self.state.update(
                message="No connection: your report is saved and will be sent when you are back online."
            )
        elif result.failed:
            self.state.update(
                message=f"The report was refused: {self.outbox.failed()[-1].last_error}"
            )
        else:
            self.state.update(message="Thank you. Your report was sent.")
        return result

    def load_my_reports(self) -> list[dict[str, Any]]:
        reports = self.client.my_reports()
        self.state.update(my_reports=reports)
        return reports

    # -- surveys --------------------------------------------------------------------------
    def load_surveys(self) -> list[dict[str, Any]]:
        surveys = self.client.surveys()
        self.state.update(surveys=surveys)
        return surveys

    def open_survey(self, survey_id: int) -> dict[str, Any]:
        survey = self.client.survey(survey_id)
        self.state.update(survey=survey)
        return survey

    def answer_survey(self, survey: dict[str, Any], answers: dict[str, Any]) -> Any:
        """Check answers against each question here first, then send them."""
        problems = validate_answers(survey, answers)
        if problems:
            raise ApiError(422, "check your answers", problems, local=True)
        result = self.client.answer_survey(
            int(survey["id"]), {k: v for k, v in answers.items() if v not in (None, "", [])}
        )
        self.state.update(message="Thank you for answering.")
        return result


def normalise_contacts(data: Any) -> list[dict[str, Any]]:
    """``GET /api/v1/contacts`` as rows ``{id, user_id, name, direction}``: ``id`` is the
    link (for revoking), ``user_id`` the other person (for sharing a journey with them)."""
    rows: list[dict[str, Any]] = []
    if not isinstance(data, dict):
        return rows
    for key, direction, other_key in (
        ("trusted", "i_trust", "contact"),
        ("trusted_by", "trusts_me", "owner"),
    ):
        for c in data.get(key) or []:
            other = c.get(other_key) or {}
            name = other.get("display_name") or f"Resident {other.get('id', '?')}"
            rows.append(c | {"user_id": other.get("id"), "name": name, "direction": direction})
    return rows


def expected_arrival_for(
    distance_m: float, now: datetime | None = None, margin_min: int = 10
) -> datetime:
    """Walking time plus a margin, from now."""
    now = now or datetime.now(UTC)
    return now + timedelta(minutes=geo.walking_minutes(distance_m) + margin_min)
