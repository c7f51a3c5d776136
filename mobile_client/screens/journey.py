"""Journey: choose where and who, then share live until "I've arrived"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from kivy.app import App
from kivy.factory import Factory
from kivy.properties import NumericProperty
from kivy.uix.screenmanager import Screen

from mobile_client.core import geo


class JourneyScreen(Screen):
    """Planning view without a journey; live view with one (bound to ``app.ui.journey``)."""

    minutes = NumericProperty(20)

    def on_kv_post(self, base_widget: Any) -> None:
        app = App.get_running_app()
        self._mode: str | None = None
        self._chosen: set[int] = set()
        app.ui.bind(
            journey=self._switch, contacts=self._show_contacts, destination=self._suggest_minutes
        )
        app.ui.bind(journey=self._describe, outbox_pending=self._describe)
        self.bind(minutes=self._show_minutes)
        self._switch(app.ui, app.ui.journey)

    def _switch(self, _ui: Any, journey: dict[str, Any] | None) -> None:
        mode = "live" if journey else "plan"
        if mode == self._mode:
            return
        self._mode = mode
        holder = self.ids.holder
        holder.clear_widgets()
        self.view = Factory.JourneyLive() if journey else Factory.JourneyPlan()
        holder.add_widget(self.view)
        if journey:
            self._describe()
        else:
            self._show_minutes()
            self._show_contacts(None, App.get_running_app().ui.contacts)

    def _show_minutes(self, *_: Any) -> None:
        if self._mode == "plan":
            self.view.ids.minutes.text = f"{int(self.minutes)} min"

    def _describe(self, *_: Any) -> None:
        ui = App.get_running_app().ui
        if self._mode == "live":
            self.view.ids.describe.text = self.describe(ui.journey, ui.outbox_pending)

    def _suggest_minutes(self, _ui: Any, dest: dict[str, Any] | None) -> None:
        pos = App.get_running_app().ui.position
        if dest and pos and dest.get("lat") is not None:
            d = geo.haversine_m(pos[0], pos[1], float(dest["lat"]), float(dest["lon"]))
            self.minutes = min(180, geo.walking_minutes(d) + 10)

    def _show_contacts(self, _ui: Any, contacts: list[dict[str, Any]] | None) -> None:
        if self._mode != "plan":
            return
        box = self.view.ids.contacts
        box.clear_widgets()
        sharable = [c for c in contacts or [] if c.get("direction") in ("i_trust", "mutual")]
        if not sharable:
            box.add_widget(Factory.Muted(text="No trusted contacts yet: add one in Contacts."))
        for c in sharable:
            toggle = Factory.Toggle(
                text=c["name"], state="down" if c["id"] in self._chosen else "normal"
            )
            toggle.contact_id = int(c["user_id"])
            toggle.bind(state=self._toggle)
            box.add_widget(toggle)

    def _toggle(self, toggle: Any, state: str) -> None:
        (self._chosen.add if state == "down" else self._chosen.discard)(toggle.contact_id)

    def change_minutes(self, delta: int) -> None:
        self.minutes = max(5, min(240, self.minutes + delta))

    def use_postcode(self, text: str) -> None:
        app = App.get_running_app()
        app.core.submit(app.core.destination_from_postcode, text)

    def start(self) -> None:
        app = App.get_running_app()
        arrive = datetime.now(UTC) + timedelta(minutes=int(self.minutes))
        chosen = sorted(self._chosen)

        def run() -> None:
            journey = app.core.start_journey(chosen, expected_arrival=arrive)
            dest = app.core.state.destination or {}
            if journey and dest.get("lat") is not None:
                app.later(lambda: app.start_walk_to(float(dest["lat"]), float(dest["lon"])))

        app.core.submit(run)

    def copy_watch_link(self) -> None:
        from kivy.core.clipboard import Clipboard

        app = App.get_running_app()
        url = (app.ui.journey or {}).get("watch_url")
        if url:
            Clipboard.copy(url)
            app.core.state.update(message="Watch link copied: paste it in a message.")

    @staticmethod
    def describe(journey: dict[str, Any] | None, pending: int | None) -> str:
        if not journey:
            return ""
        state = "SOS raised" if journey.get("sos") else journey.get("state", "active")
        lines = [f"To {journey.get('_label') or 'your destination'}", f"State: {state}"]
        due = journey.get("expected_arrival_at")
        if due:
            try:
                at = datetime.fromisoformat(str(due).replace("Z", "+00:00"))
                lines.append(f"Expected by {at.astimezone():%H:%M}")
            except ValueError:
                pass
        shared = journey.get("contacts") or journey.get("contact_ids") or []
        lines.append(f"Shared with {len(shared)} contact(s)")
        if journey.get("watch_url"):
            lines.append("Watch link ready for someone without the app")
        if pending:
            lines.append(f"{pending} position(s) waiting for signal")
        return "\n".join(lines)
