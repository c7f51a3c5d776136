"""Safe places: the nearest open ones on a street map and in a list."""

from __future__ import annotations

from typing import Any

from kivy.app import App
from kivy.clock import Clock
from kivy.factory import Factory
from kivy.metrics import dp
from kivy.properties import BooleanProperty, DictProperty, NumericProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.screenmanager import Screen
from kivy.utils import platform

from mobile_client.ui import streetmap  # noqa: F401 - registers StreetMap and PlaceMarker

MAP_SHARE = 0.95  # the map's share beside the list (the list's is 1)
MIN_MAP_DP = 110  # the least map the late-night options leave


class PlaceRow(BoxLayout):
    """One safe place: name, distance and direction, walking time, hours, and three actions:
    call it, get directions in the phone's maps app, or share my walk there with contacts."""

    place = DictProperty({})
    number = NumericProperty(0)
    selected = BooleanProperty(False)

    def share_walk(self) -> None:
        app = App.get_running_app()
        app.core.choose_place(dict(self.place))
        app.go("journey")
        app.core.submit(app.core.load_contacts)

    def directions(self) -> None:
        app = App.get_running_app()
        url = app.core.directions(dict(self.place), android=platform == "android")
        app.open_directions(url)

    def call(self) -> None:
        phone = self.place.get("phone")
        if phone:
            App.get_running_app().call_number(phone)


class LateNightBox(BoxLayout):
    """The partnership's late-night options, shown when the nearest open place is far."""

    options = DictProperty({})

    def nearest_text(self, place: dict[str, Any] | None) -> str:
        """The nearest staffed place as its button says it (none without signal: the app
        does not guess)."""
        if not place:
            return ""
        return (
            f"Staffed all night: {place.get('name')}, {place.get('distance_text')} "
            f"{place.get('direction')}, {place.get('walk_min')} min: directions"
        )

    def directions(self) -> None:
        place = self.options.get("staffed_nearest")
        if place:
            app = App.get_running_app()
            app.open_directions(app.core.directions(dict(place), android=platform == "android"))

    def on_kv_post(self, base_widget: Any) -> None:
        self.on_options(self, self.options)

    def on_options(self, _box: Any, options: dict[str, Any]) -> None:
        if "taxis" not in self.ids:  # set before the kv rule built the box: on_kv_post fills it
            return
        taxis = self.ids.taxis
        taxis.clear_widgets()
        for taxi in options.get("taxis") or []:
            button = Factory.FlatButton(
                # (the number on a line of its own: never broken across two)
                text=f"Call {taxi['name']}\n{taxi['phone']}",
                font_size="16sp",
                background_color=(0.16, 0.22, 0.36, 1),
            )
            button.bind(on_release=lambda _b, n=taxi["phone"]: App.get_running_app().call_number(n))
            taxis.add_widget(button)
            taxis.add_widget(Factory.Muted(text=f"Source: {taxi['source']}", font_size="13sp"))


class PlacesScreen(Screen):
    """Bound to ``app.ui.places``, ``app.ui.selected_place`` and ``app.ui.late_night``."""

    def on_kv_post(self, base_widget: Any) -> None:
        app = App.get_running_app()
        app.ui.bind(
            places=self._show_places,
            late_night=self._show_places,
            selected_place=self._show_selected,
        )
        self._rows: list[PlaceRow] = []
        self._late: LateNightBox | None = None
        self._fit = Clock.create_trigger(self.fit_map, 0)
        ids = self.ids
        for widget in (ids.layout, ids.top, ids.map_buttons, ids.note, ids.status):
            widget.bind(height=self._fit)
        self._show_places(app.ui, app.ui.places)

    def fit_map(self, *_: Any) -> None:
        """While the late-night options show, the map gives up what they need to be in
        sight without scrolling (keeping at least MIN_MAP_DP); otherwise its usual share."""
        ids = self.ids
        box = self._late
        if box is None or box.parent is None:
            ids.map.size_hint_y = MAP_SHARE
            return
        fixed = ids.top.height + ids.map_buttons.height + ids.note.height + ids.status.height
        free = ids.layout.height - fixed
        needed = box.height + ids.list.padding[1] + ids.list.padding[3] + dp(4)
        usual = free * MAP_SHARE / (MAP_SHARE + 1)
        ids.map.size_hint_y = None
        ids.map.height = max(dp(MIN_MAP_DP), min(usual, free - needed))

    def on_pre_enter(self, *_: Any) -> None:
        app = App.get_running_app()
        if app.ui.app_config is None:
            app.core.submit(app.core.load_app_config)

    def _show_places(self, *_: Any) -> None:
        app = App.get_running_app()
        places = app.ui.places or []
        box = self.ids.list
        box.clear_widgets()
        self._late = None
        if app.ui.late_night:
            self._late = LateNightBox(options=dict(app.ui.late_night))
            self._late.bind(height=self._fit)
            box.add_widget(self._late)
        self._fit()
        selected = (app.ui.selected_place or {}).get("id")
        self._rows = []
        for i, place in enumerate(places, start=1):
            row = PlaceRow(place=place, number=i, selected=place.get("id") == selected)
            self._rows.append(row)
            box.add_widget(row)
        if not places:
            box.add_widget(
                Factory.Muted(text="No places yet. Tap Refresh, or check your connection.")
            )

    def _show_selected(self, _ui: Any, place: dict[str, Any] | None) -> None:
        chosen = (place or {}).get("id")
        for row in self._rows:
            row.selected = chosen is not None and row.place.get("id") == chosen
            if row.selected:
                self.ids.scroll.scroll_to(row, padding=8, animate=False)

    def select(self, place: dict[str, Any]) -> None:
        """A marker was tapped: that place is selected and its row brought into view."""
        App.get_running_app().core.select_place(dict(place))

    def note_text(self, places_note: str | None, destination: dict[str, Any] | None) -> str:
        if places_note:
            return f"List {places_note}. Distances and hours worked out on this phone."
        if destination and destination.get("lat") is not None and not destination.get("venue_id"):
            return f"Destination set: {destination.get('label', 'map point')}"
        return ""

    def refresh(self) -> None:
        app = App.get_running_app()
        app.core.submit(app.core.find_safe_places)

    def pick_on_map(self, lat: float, lon: float) -> None:
        App.get_running_app().core.destination_from_map(lat, lon)
