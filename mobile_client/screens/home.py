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
        return f"Sharing your journey to {label}. Tap to see it."

    @staticmethod
    def who(signed_in: bool | None, name: str | None, online: bool | None) -> str:
        if not signed_in:
            return "Not signed in: open Settings"
        if name:
            return f"Signed in as {name}" + (" (no connection)" if online is False else "")
        if online is False:
            return "Signed in (no connection)"
        return "Signed in. Add your name in Settings so contacts know it is you."

    def find_safe_place(self) -> None:
        app = App.get_running_app()
        app.go("places")
        app.core.submit(app.core.find_safe_places)

    def share_journey(self) -> None:
        app = App.get_running_app()
        app.go("journey")
        app.core.submit(app.core.load_contacts)

    def sos(self) -> None:
        """Held long enough: the SOS is saved on the phone first (no network here), then
        sent; what the panel says comes from that record and the server's answer."""
        app = App.get_running_app()
        app.core.press_sos()
        app.core.state.update(message="")  # an earlier "keep holding" hint is done with
        app.core.submit(app.core.send_sos)

    def keep_holding(self) -> None:
        App.get_running_app().core.state.update(message="Keep holding to send SOS")
