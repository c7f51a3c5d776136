"""Home: the three things that matter at night, one thumb away."""

from __future__ import annotations

from kivy.app import App
from kivy.uix.screenmanager import Screen


class HomeScreen(Screen):
    """Find a safe place, share my journey, and SOS (press and hold)."""

    @staticmethod
    def banner(journey: dict | None) -> str:
        if not journey:
            return ""
        label = journey.get("_label") or "your destination"
        if journey.get("sos"):
            return f"SOS raised. Sharing your journey to {label}."
        return f"Sharing your journey to {label}. Tap to see it."

    def find_safe_place(self) -> None:
        app = App.get_running_app()
        app.go("places")
        app.core.submit(app.core.find_safe_places)

    def share_journey(self) -> None:
        app = App.get_running_app()
        app.go("journey")
        app.core.submit(app.core.load_contacts)

    def sos(self) -> None:
        app = App.get_running_app()
        app.core.submit(app.core.sos_anywhere)
        self.ids.sos.text = "SOS sent to your contacts\nHold again to resend"
        self.ids.sos.reset()
