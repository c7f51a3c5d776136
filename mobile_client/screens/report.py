"""Report a concern: category with its guidance, what happened, where (a pin: here, tapped on
the map, or a place typed in words and shown by name), photos, anonymous or not; then its
reference."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kivy.app import App
from kivy.properties import StringProperty
from kivy.uix.screenmanager import Screen
from kivy.utils import platform

DANGER_LINE = "If anyone is in danger now, call 999."
PHOTO_TYPES = ["*.jpg", "*.jpeg", "*.png", "*.webp", "*.JPG", "*.JPEG", "*.PNG"]


class ReportScreen(Screen):
    """Bound to ``app.ui.categories``, ``report_pin``, ``report_photos`` and ``last_report``;
    reports go through the offline outbox."""

    sent_text = StringProperty("")

    def on_pre_enter(self, *_: Any) -> None:
        app = App.get_running_app()
        if not app.core.state.report_pin:
            app.core.submit(app.core.pin_report_here)

    def category_names(self, categories: list[dict[str, Any]] | None) -> list[str]:
        return [c.get("name") or c.get("label") or c.get("code") for c in categories or []]

    def category(self, name: str) -> dict[str, Any] | None:
        for c in App.get_running_app().ui.categories or []:
            if name in (c.get("name"), c.get("label"), c.get("code")):
                return c
        return None

    def guidance(self, name: str) -> str:
        c = self.category(name)
        if not c:
            return DANGER_LINE
        text = c.get("guidance") or ""
        team = c.get("team") or c.get("handled_by")
        if team:
            text += f"\nHandled by: {team}"
        if c.get("anonymous_allowed") is False:
            text += "\nThis kind of report cannot be anonymous."
        return text.strip() or DANGER_LINE

    def on_category(self, name: str) -> None:
        """A category that needs a way back to the reporter turns the anonymous switch off."""
        c = self.category(name)
        allowed = not c or c.get("anonymous_allowed", True)
        self.ids.anonymous.disabled = not allowed
        if not allowed:
            self.ids.anonymous.active = False

    # -- where ----------------------------------------------------------------------------
    def pin_at(self, lat: float, lon: float) -> None:
        self.ids.place.text = ""
        App.get_running_app().core.state.update(
            report_pin={"lat": lat, "lon": lon, "label": "The pin you placed on the map"},
            report_place_problem="",
        )

    def pin_here(self) -> None:
        self.ids.place.text = ""
        app = App.get_running_app()
        app.core.state.update(report_place_problem="")
        app.core.submit(app.core.pin_report_here)

    def find_place(self) -> None:
        """Look the typed place up; the pin moves there and its name is shown to check."""
        app = App.get_running_app()
        text = self.ids.place.text.strip()
        if text:
            app.core.submit(app.core.pin_report_place, text)

    def where_text(self, pin: dict[str, Any] | None) -> str:
        if not pin:
            return "Where: not placed yet - tap the map, or type a place and tap Find"
        text = f"Where: {pin.get('label')}"
        if pin.get("query"):
            text += "\nIs this right? If not, add the town, type a postcode or tap the map."
        else:
            text += " (tap the map to move the pin)"
        if pin.get("others"):
            text += "\nAlso called that: " + "; ".join(pin["others"])
        return text

    # -- photos ---------------------------------------------------------------------------
    def photos_text(self, photos: list[str] | None) -> str:
        if not photos:
            return "Photos: none (up to 3; location details are removed before they are kept)"
        names = ", ".join(Path(p).name for p in photos)
        return f"Photos ({len(photos)} of 3): {names}"

    def choose_photo(self) -> None:
        """The phone's picker on Android/iOS; a file chooser on a desktop."""
        if platform in ("android", "ios"):
            from plyer import filechooser

            filechooser.open_file(on_selection=self._picked, filters=[["Photos", *PHOTO_TYPES]])
            return
        from kivy.uix.boxlayout import BoxLayout
        from kivy.uix.button import Button
        from kivy.uix.filechooser import FileChooserListView
        from kivy.uix.popup import Popup

        box = BoxLayout(orientation="vertical")
        chooser = FileChooserListView(path=str(Path.home()), filters=PHOTO_TYPES)
        box.add_widget(chooser)
        pick = Button(text="Add this photo", size_hint_y=None, height="56dp")
        box.add_widget(pick)
        popup = Popup(title="Choose a photo", content=box, size_hint=(0.95, 0.9))

        def done(*_: Any) -> None:
            popup.dismiss()
            self._picked(chooser.selection)

        pick.bind(on_release=done)
        popup.open()

    def _picked(self, selection: list[str] | None) -> None:
        app = App.get_running_app()
        for path in (selection or [])[:1]:
            app.core.submit(app.core.add_report_photo, path)

    # -- sending --------------------------------------------------------------------------
    def submit(self) -> None:
        app = App.get_running_app()
        ids = self.ids
        c = self.category(ids.category.text)
        if not c:
            app.core.state.update(message="Choose a category first.")
            return
        pin = app.core.state.report_pin
        typed = ids.place.text.strip()
        if typed and (not pin or pin.get("query") != typed):
            # The name of the place is shown before anything is sent.
            app.core.state.update(
                message=f"Tap Find first: the pin moves to '{typed}' and shows its name, "
                "so you can check it before sending."
            )
            return
        if not pin:
            app.core.state.update(message="Put the pin where it happened, or type a place.")
            return
        self.sent_text = ""
        app.core.submit(
            self._send,
            app,
            c.get("code") or c.get("id"),
            ids.description.text,
            ids.anonymous.active,
            ids.contact_ok.active,
        )

    def _send(self, app: Any, code: str, text: str, anonymous: bool, contact_ok: bool) -> None:
        result = app.core.submit_report(code, text, anonymous, contact_ok=contact_ok)
        sent = app.core.state.last_report if result.sent else None
        if sent:
            message = f"Sent. Your reference is {sent['reference']}."
            if sent.get("anonymous"):
                message += " It is anonymous: only this phone can follow it."
            message += " See it in My reports."
        elif result.offline:
            message = "Saved on this phone. It will be sent when you are back online; the reference comes then."
        else:
            message = ""
        app.later(lambda: self._after_send(message, bool(result.sent or result.offline)))

    def _after_send(self, message: str, clear: bool) -> None:
        self.sent_text = message
        self.ids.page.scroll_y = 1  # the reference, at the top, is what matters now
        if clear:
            self.ids.description.text = ""
