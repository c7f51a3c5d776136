"""Safe places: the nearest open ones on an offline map and in a list."""

from __future__ import annotations

from typing import Any

from kivy.app import App
from kivy.factory import Factory
from kivy.properties import DictProperty, NumericProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.screenmanager import Screen


class PlaceRow(BoxLayout):
    """One safe place: name, distance and direction, walking time, hours, call and go."""

    place = DictProperty({})
    number = NumericProperty(0)

    def go_here(self) -> None:
        app = App.get_running_app()
        app.core.choose_place(dict(self.place))
        app.go("journey")
        app.core.submit(app.core.load_contacts)

    def call(self) -> None:
        phone = self.place.get("phone")
        if phone:
            App.get_running_app().call_number(phone)


class PlacesScreen(Screen):
    """Bound to ``app.ui.places`` and ``app.ui.position``."""

    def on_kv_post(self, base_widget: Any) -> None:
        app = App.get_running_app()
        app.ui.bind(places=self._show_places)
        self._show_places(app.ui, app.ui.places)

    def _show_places(self, _ui: Any, places: list[dict[str, Any]] | None) -> None:
        box = self.ids.list
        box.clear_widgets()
        for i, place in enumerate(places or [], start=1):
            box.add_widget(PlaceRow(place=place, number=i))
        if not places:
            box.add_widget(
                Factory.Muted(text="No places yet. Tap Refresh, or check your connection.")
            )

    def refresh(self) -> None:
        app = App.get_running_app()
        app.core.submit(app.core.find_safe_places)

    def pick_on_map(self, lat: float, lon: float) -> None:
        App.get_running_app().core.destination_from_map(lat, lon)
