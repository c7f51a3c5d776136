"""Watching: a contact's live journey on the offline map, with its alerts."""

from __future__ import annotations

from typing import Any

from kivy.app import App
from kivy.factory import Factory
from kivy.uix.screenmanager import Screen


class WatchingScreen(Screen):
    """Bound to ``app.ui.shared_with_me``, ``app.ui.watching``, ``watch_track`` and ``alerts``."""

    def on_kv_post(self, base_widget: Any) -> None:
        app = App.get_running_app()
        app.ui.bind(shared_with_me=self._show_shared, alerts=self._show_alerts)
        self._show_shared(app.ui, app.ui.shared_with_me)
        self._show_alerts(app.ui, app.ui.alerts)

    def _show_shared(self, _ui: Any, journeys: list[dict[str, Any]] | None) -> None:
        box = self.ids.shared
        box.clear_widgets()
        if not journeys:
            box.add_widget(Factory.Muted(text="Nobody is sharing a journey with you right now."))
        for j in journeys or []:
            owner = j.get("owner") or {}
            name = (
                j.get("owner_name")
                or owner.get("display_name")
                or owner.get("uid")
                or "your contact"
            )
            state = "SOS" if j.get("sos") else j.get("state", "active")
            button = Factory.FlatButton(text=f"Watch {name} (journey {j['id']}, {state})")
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
        text = {
            "sos": "SOS! They pressed SOS. Call them, or 999 if you think they are in danger.",
            "arrival": "Arrived safely.",
            "overdue": "Overdue: they have not arrived when expected.",
            "stationary": "They have not moved for a while.",
            "arrived": "Arrived safely.",
        }.get(kind, kind)
        if alert.get("battery") is not None:
            text += f" Battery {float(alert['battery']):.0f}%."
        return text

    def watch(self, journey_id: int) -> None:
        App.get_running_app().core.watch(int(journey_id))

    def refresh(self) -> None:
        app = App.get_running_app()
        app.core.submit(app.core.load_shared_with_me)

    @staticmethod
    def describe(watching: dict[str, Any] | None, track: list | None) -> str:
        if not watching:
            return "Choose a journey to watch."
        last = watching.get("last_fix") or {}
        who = watching.get("owner_name") or "Your contact"
        state = "SOS" if watching.get("sos") else watching.get("state", "active")
        lines = [f"{who}: {state}"]
        dest = watching.get("destination") or {}
        if dest.get("label") or dest.get("postcode"):
            lines.append(f"Going to {dest.get('label') or dest.get('postcode')}")
        if watching.get("expected_arrival_at"):
            lines.append(f"Expected by {str(watching['expected_arrival_at'])[11:16]} UTC")
        if last.get("recorded_at"):
            lines.append(f"Last seen {str(last['recorded_at'])[11:19]} UTC")
        if last.get("battery") is not None:
            lines.append(f"Battery {float(last['battery']):.0f}%")
        lines.append(f"{len(track or [])} position(s) received")
        return "\n".join(lines)
