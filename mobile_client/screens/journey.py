"""Journey: choose where and who, then share live until "I've arrived"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from kivy.app import App
from kivy.factory import Factory
from kivy.properties import NumericProperty
from kivy.uix.screenmanager import Screen

from mobile_client.core import geo
from shared_schemas import uktime


class JourneyScreen(Screen):
    """Planning view without a journey; live view with one (bound to ``app.ui.journey``)."""

    minutes = NumericProperty(20)

    def on_kv_post(self, base_widget: Any) -> None:
        app = App.get_running_app()
        self._mode: str | None = None
        app.ui.bind(
            journey=self._switch,
            contacts=self._show_contacts,
            share_selection=self._show_contacts,
            destination=self._suggest_minutes,
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
        self.ids.page.scroll_y = 1  # the new view starts at its top: SOS and arrival in sight
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

    def _show_contacts(self, *_: Any) -> None:
        """One toggle per person I trust, drawn from the core's selection by ``user_id``
        (the id that is sent): what is shown down is exactly who the journey goes to."""
        if self._mode != "plan":
            return
        ui = App.get_running_app().ui
        box = self.view.ids.contacts
        box.clear_widgets()
        chosen = set(ui.share_selection or [])
        sharable = [c for c in ui.contacts or [] if c.get("direction") in ("i_trust", "mutual")]
        if not sharable:
            box.add_widget(
                Factory.Muted(text="No trusted contacts yet: add someone before you share.")
            )
        for c in sharable:
            toggle = Factory.Toggle(
                text=c["name"], state="down" if c["user_id"] in chosen else "normal"
            )
            toggle.user_id = int(c["user_id"])
            toggle.bind(on_release=self._toggle)
            box.add_widget(toggle)

    def _toggle(self, toggle: Any) -> None:
        App.get_running_app().core.set_shared(toggle.user_id, toggle.state == "down")

    def change_minutes(self, delta: int) -> None:
        self.minutes = max(5, min(240, self.minutes + delta))

    def use_postcode(self, text: str) -> None:
        app = App.get_running_app()
        app.core.submit(app.core.destination_from_postcode, text)

    def start(self) -> None:
        app = App.get_running_app()
        arrive = datetime.now(UTC) + timedelta(minutes=int(self.minutes))
        chosen = list(app.core.state.share_selection)  # exactly the toggles shown down

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
    def sharing_text(journey: dict[str, Any] | None, contacts: list[dict[str, Any]] | None) -> str:
        """'Sharing live with Sam and Jo' from the journey's own contact ids."""
        ids = set((journey or {}).get("contact_ids") or [])
        names = sorted({c["name"] for c in contacts or [] if c.get("user_id") in ids})
        if not names:
            return "Sharing live"
        who = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        return f"Sharing live with {who}"

    @staticmethod
    def describe(journey: dict[str, Any] | None, pending: int | None) -> str:
        if not journey:
            return ""
        lines = [f"To {journey.get('_label') or 'your destination'}"]
        due = uktime.clock(journey.get("expected_arrival_at"))
        if due:
            lines.append(f"Expected by {due}")
        if journey.get("watch_url"):
            lines.append("Watch link ready for someone without the app")
        if pending:
            lines.append(f"{pending} position(s) waiting for signal")
        return "\n".join(lines)
