"""Watching: whose journey it is, SOS at the top with its time, last seen, battery, how far
from where they are going, and what I can do: open their position in maps, call them."""

from __future__ import annotations

from typing import Any

from kivy.app import App
from kivy.factory import Factory
from kivy.uix.screenmanager import Screen

from mobile_client.core import geo
from shared_schemas import uktime

NO_NAME = "Your contact"


def owner_name(journey: dict[str, Any] | None) -> str:
    journey = journey or {}
    owner = journey.get("owner") if isinstance(journey.get("owner"), dict) else {}
    return str(journey.get("owner_name") or owner.get("display_name") or NO_NAME)


class WatchingScreen(Screen):
    """Bound to ``app.ui.shared_with_me``, ``watching``, ``watch_track`` and ``alerts``."""

    def on_kv_post(self, base_widget: Any) -> None:
        app = App.get_running_app()
        app.ui.bind(shared_with_me=self._show_shared, alerts=self._show_alerts)
        self._show_shared(app.ui, app.ui.shared_with_me)
        self._show_alerts(app.ui, app.ui.alerts)

    def on_enter(self, *_: Any) -> None:
        app = App.get_running_app()
        app.core.submit(app.core.load_contacts)  # who shared a phone number with me

    def _show_shared(self, _ui: Any, journeys: list[dict[str, Any]] | None) -> None:
        box = self.ids.shared
        box.clear_widgets()
        if not journeys:
            box.add_widget(Factory.Muted(text="Nobody is sharing a journey with you right now."))
        for j in journeys or []:
            state = "SOS" if j.get("sos") else ("overdue" if j.get("overdue") else "sharing")
            button = Factory.FlatButton(text=f"Watch {owner_name(j)} ({state})")
            if j.get("sos"):
                button.background_color = (0.86, 0.20, 0.24, 1)
            button.bind(on_release=lambda *_, jid=j["id"]: self.watch(jid))
            box.add_widget(button)

    def _show_alerts(self, _ui: Any, alerts: list[dict[str, Any]] | None) -> None:
        box = self.ids.alerts
        box.clear_widgets()
        for alert in reversed(alerts or []):
            kind = str(alert.get("kind") or alert.get("type") or "alert")
            banner = Factory.Banner(text=self.alert_text(alert))
            if kind == "sos":
                banner.bg = (0.86, 0.20, 0.24, 1)
                banner.color = (1, 1, 1, 1)
            box.add_widget(banner)

    @staticmethod
    def alert_text(alert: dict[str, Any]) -> str:
        kind = str(alert.get("kind") or alert.get("type") or "alert")
        who = str(alert.get("owner_name") or "Your contact")
        text = {
            "sos": f"SOS: {who} pressed SOS. Call them, or 999 if you think they are in danger.",
            "arrival": f"{who} arrived safely.",
            "arrived": f"{who} arrived safely.",
            "overdue": f"{who} is overdue: not arrived when expected.",
            "stationary": f"{who} has not moved for a while.",
        }.get(kind, str(alert.get("title") or "An alert from your contact"))
        at = uktime.clock(alert.get("raised_at") or alert.get("received_at"))
        if at:
            text += f" ({at})"
        if alert.get("battery") not in (None, ""):
            text += f" Battery {float(alert['battery']):.0f}%."
        return text

    @staticmethod
    def sos_text(watching: dict[str, Any] | None, alerts: list[dict[str, Any]] | None) -> str:
        """The red line at the top: whose SOS and when (UK time)."""
        if not watching or not watching.get("sos"):
            return ""
        mine = [
            a
            for a in alerts or []
            if a.get("kind") == "sos" and a.get("journey_id") == watching.get("id")
        ]
        at = uktime.clock((mine[-1] if mine else {}).get("received_at"))
        when = f" at {at}" if at else ""
        return f"SOS from {owner_name(watching)}{when}. Call them, or 999 if they are in danger."

    def watch(self, journey_id: int) -> None:
        App.get_running_app().core.watch(int(journey_id))

    def refresh(self) -> None:
        app = App.get_running_app()
        app.core.submit(app.core.load_shared_with_me)

    def open_in_maps(self) -> None:
        app = App.get_running_app()
        watching = app.ui.watching or {}
        last = watching.get("last_fix") or {}
        if last.get("lat") is None:
            app.core.state.update(message="No position from them yet.")
            return
        app.open_in_maps(float(last["lat"]), float(last["lon"]), owner_name(watching))

    @staticmethod
    def phone_for(watching: dict[str, Any] | None, contacts: list[dict[str, Any]] | None) -> str:
        """Their number, only when they chose to share it with me (the server says so)."""
        owner_id = (watching or {}).get("owner_id")
        for c in contacts or []:
            if c.get("user_id") == owner_id and c.get("phone"):
                return str(c["phone"])
        return ""

    def call_text(
        self, watching: dict[str, Any] | None, contacts: list[dict[str, Any]] | None
    ) -> str:
        return f"Call {owner_name(watching)}" if self.phone_for(watching, contacts) else ""

    def call(self) -> None:
        app = App.get_running_app()
        number = self.phone_for(app.ui.watching, app.ui.contacts)
        if number:
            app.call_number(number)

    @staticmethod
    def describe(watching: dict[str, Any] | None, track: list | None) -> str:
        if not watching:
            return "Choose a journey to watch."
        last = watching.get("last_fix") or {}
        who = owner_name(watching)
        dest = watching.get("destination") or {}
        label = dest.get("label") or dest.get("postcode") or dest.get("name")
        state = watching.get("state")
        if state in ("arrived", "cancelled", "ended"):
            lines = [f"{who} has {'arrived' if state == 'arrived' else 'stopped sharing'}."]
        else:
            lines = [f"{who} is on the way" + (f" to {label}" if label else "")]
        if last.get("recorded_at"):
            lines.append(
                f"Last seen {uktime.ago(last['recorded_at'])} ({uktime.clock(last['recorded_at'])})"
            )
        else:
            lines.append("No position from them yet")
        if last.get("battery") is not None:
            lines.append(f"Battery {float(last['battery']):.0f}%")
        if last.get("lat") is not None and dest.get("lat") is not None:
            metres = geo.haversine_m(
                float(last["lat"]), float(last["lon"]), float(dest["lat"]), float(dest["lon"])
            )
            lines.append(f"{geo.format_distance(metres)} from " + (label or "their destination"))
        due = uktime.clock(watching.get("expected_arrival_at"))
        if due and state not in ("arrived", "cancelled", "ended"):
            lines.append(
                ("Overdue: expected by " if watching.get("overdue") else "Expected by ") + due
            )
        return "\n".join(lines)
