"""The street map: raster tiles from the deployment's XYZ source (kept on the phone once
seen), or the downloaded MBTiles pack without signal, or the shipped ward outlines when there
are no tiles at all ("map offline"). Safe places, my position and its accuracy, and the
destination are drawn on top; markers that would overlap are clustered."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from kivy.clock import Clock
from kivy.core.text import Label as CoreLabel
from kivy.graphics import Color, Ellipse, Line
from kivy.metrics import dp, sp
from kivy.properties import (
    BooleanProperty,
    ListProperty,
    NumericProperty,
    ObjectProperty,
    StringProperty,
)
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.floatlayout import FloatLayout
from kivy.uix.label import Label
from kivy_garden.mapview import MapLayer, MapSource, MapView
from kivy_garden.mapview.downloader import Downloader
from kivy_garden.mapview.mbtsource import MBTilesMapSource

from mobile_client.core.geo import cluster_markers, marker_text
from mobile_client.core.tiles import DEFAULT_MAX_BYTES, TileCache
from mobile_client.ui.widgets import WardMap

log = logging.getLogger(__name__)

MARKER_DP = 36  # a marker's diameter; markers closer than this are clustered
DEFAULT_ZOOM = 15
LONG_PRESS_S = 0.8  # holding the map this long sets a destination there (a tap never does)
WIGAN = (53.5448, -2.6318)


class CachedTileSource(MapSource):
    """The deployment's XYZ tiles through the phone's :class:`TileCache` (a street seen once
    is shown without signal)."""

    def __init__(
        self, url: str, attribution: str, cache_dir: str, max_bytes: int = DEFAULT_MAX_BYTES
    ) -> None:
        self.tiles = TileCache(url, cache_dir, max_bytes=max_bytes)
        super().__init__(
            url=url,
            cache_key=self.tiles.key,
            attribution=attribution,
            min_zoom=3,
            max_zoom=19,
            cache_dir=cache_dir,
        )

    def fill_tile(self, tile: Any) -> None:
        if tile.state == "done":
            return
        Downloader.instance(self.cache_dir).submit(self._load_tile, tile)

    def _load_tile(self, tile: Any) -> Any:
        if tile.state == "done":
            return None
        y = self.get_row_count(tile.zoom) - tile.tile_y - 1  # mapview counts rows from the south
        path = self.tiles.get(tile.zoom, tile.tile_x, y)
        return None if path is None else (tile.set_source, (str(path),))

    @property
    def fetched(self) -> int:
        return self.tiles.fetched

    @property
    def cached(self) -> int:
        return self.tiles.cached

    @property
    def failed(self) -> int:
        return self.tiles.failed

    @property
    def shown_any(self) -> bool:
        return self.tiles.shown_any


class PackSource(MBTilesMapSource):
    """The downloaded MBTiles pack (mapview's source, with its bounds kept as numbers: the
    library leaves a one-shot ``map`` there, which fails the second time it is read)."""

    def __init__(self, filename: str, **kwargs: Any) -> None:
        super().__init__(filename, **kwargs)
        row = self.db.execute("SELECT value FROM metadata WHERE name = 'bounds'").fetchone()
        self.bounds = tuple(float(v) for v in row[0].split(",")) if row else None


class PlaceMarker(ButtonBehavior, Label):
    """A numbered safe place (the list's number), or a cluster of ``count`` of them."""

    place = ObjectProperty(None, allownone=True)
    members = ListProperty([])
    tone = StringProperty("open")
    selected = BooleanProperty(False)
    lat = NumericProperty(0)
    lon = NumericProperty(0)


class PlaceLayer(MapLayer):
    """Safe places as markers that never cover one another: those closer on screen than a
    marker's size are drawn as one cluster showing how many it holds (a tap zooms in)."""

    def __init__(self, owner: StreetMap, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.owner = owner
        self.markers: list[PlaceMarker] = []

    def reposition(self) -> None:
        mapview = self.parent
        if mapview is None:
            return
        self.clear_widgets()
        self.markers = []
        size = dp(MARKER_DP)
        placed = [
            (
                *mapview.get_window_xy_from(float(p["lat"]), float(p["lon"]), mapview.zoom),
                number,
                p,
            )
            for number, p in enumerate(self.owner.places, start=1)
            if p.get("lat") is not None
        ]
        # (a cluster's text makes it wider than one marker; the outline is drawn outside)
        groups = cluster_markers(placed, size, width=_marker_width, gap=dp(8))
        selected = self.owner.selected_id
        margin = size / 2
        for x, y, members in groups:
            # Only markers inside the map are drawn (and so can be tapped).
            if not (
                mapview.x + margin <= x <= mapview.right - margin
                and mapview.y + margin <= y <= mapview.top - margin
            ):
                continue
            if len(members) == 1:
                number, place = members[0]
                marker = PlaceMarker(
                    text=str(number),
                    place=place,
                    tone=str(place.get("tone") or "open"),
                    selected=place.get("id") is not None and place.get("id") == selected,
                    lat=float(place["lat"]),
                    lon=float(place["lon"]),
                )
            else:
                marker = PlaceMarker(
                    # the list numbers it holds: "3-5" (tap to zoom in and part them)
                    text=marker_text([n for n, _p in members]),
                    members=[p for _n, p in members],
                    tone="cluster",
                    lat=sum(float(p["lat"]) for _n, p in members) / len(members),
                    lon=sum(float(p["lon"]) for _n, p in members) / len(members),
                )
            marker.size = (max(size, _marker_width(marker.text)), size)
            marker.center = (x, y)
            marker.bind(on_release=self.owner.marker_tapped)
            self.add_widget(marker)
            self.markers.append(marker)


_WIDTHS: dict[str, float] = {}


def _marker_width(text: str) -> float:
    """A :class:`PlaceMarker`'s width for its text (its kv rule's font, and a margin)."""
    width = _WIDTHS.get(text)
    if width is None:
        label = CoreLabel(text=text, font_size=sp(17), bold=True)
        label.refresh()
        width = _WIDTHS[text] = label.texture.width + dp(14)
    return width


class PositionLayer(MapLayer):
    """My position with its accuracy circle, and the destination, drawn over the tiles."""

    def __init__(self, owner: StreetMap, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.owner = owner

    def reposition(self) -> None:
        mapview = self.parent
        self.canvas.clear()
        if mapview is None:
            return
        owner = self.owner
        with self.canvas:
            if owner.destination and owner.destination.get("lat") is not None:
                x, y = mapview.get_window_xy_from(
                    float(owner.destination["lat"]), float(owner.destination["lon"]), mapview.zoom
                )
                Color(0.04, 0.06, 0.12, 1)
                Line(circle=(x, y, dp(17)), width=dp(5))
                Color(0.96, 0.73, 0.26, 1)
                Line(circle=(x, y, dp(17)), width=dp(3))
            if owner.position:
                lat, lon = owner.position
                x, y = mapview.get_window_xy_from(lat, lon, mapview.zoom)
                if owner.accuracy_m:
                    _x2, y2 = mapview.get_window_xy_from(
                        lat + float(owner.accuracy_m) / 111_320.0, lon, mapview.zoom
                    )
                    r = max(abs(y2 - y), dp(12))
                    Color(0.25, 0.55, 1, 0.18)
                    Ellipse(pos=(x - r, y - r), size=(2 * r, 2 * r))
                    Color(0.25, 0.55, 1, 0.7)
                    Line(circle=(x, y, r), width=dp(1.2))
                Color(1, 1, 1, 1)
                Ellipse(pos=(x - dp(11), y - dp(11)), size=(dp(22), dp(22)))
                Color(0.25, 0.55, 1, 1)
                Ellipse(pos=(x - dp(8), y - dp(8)), size=(dp(16), dp(16)))


class FallbackWards(WardMap):
    """The ward outlines, when no tiles can be shown. Only while ``active`` does it take
    touches; a tap on a numbered place selects it (not a map point)."""

    active = BooleanProperty(True)

    def on_touch_down(self, touch: Any) -> bool:
        return bool(self.active and super().on_touch_down(touch))

    def on_touch_move(self, touch: Any) -> bool:
        return bool(self.active and super().on_touch_move(touch))

    def on_touch_up(self, touch: Any) -> bool:
        if not self.active:
            return False
        if touch.grab_current is self and not touch.ud.get("map_dragged"):
            reach = dp(8)  # a finger is wider than a small marker's edge
            for (bx, by, bw, bh), members in self.marker_hits:
                if (
                    bx - reach <= touch.x <= bx + bw + reach
                    and by - reach <= touch.y <= by + bh + reach
                ):
                    touch.ungrab(self)
                    if len(members) > 1:  # a cluster: zoom in on it to part its places
                        self.center_ll = self.to_latlon(bx + bw / 2, by + bh / 2)
                        self.zoom(0.5)
                    elif isinstance(self.parent, StreetMap):
                        self.parent.dispatch("on_select", members[0])
                    return True
        return bool(super().on_touch_up(touch))


class StreetMap(FloatLayout):
    """The places screen's map. ``tiles`` is the app-config's tile settings, ``offline_map``
    the downloaded pack's path, ``online`` whether the server answers."""

    places = ListProperty([])
    position = ObjectProperty(None, allownone=True)
    accuracy_m = ObjectProperty(None, allownone=True)
    destination = ObjectProperty(None, allownone=True)
    selected_id = ObjectProperty(None, allownone=True)
    tiles = ObjectProperty(None, allownone=True)
    offline_map = ObjectProperty(None, allownone=True)
    online = ObjectProperty(None, allownone=True)
    cache_dir = StringProperty("")
    # "tiles" (the XYZ source and its cache), "pack" (the MBTiles pack) or "wards"
    mode = StringProperty("wards")
    attribution = StringProperty("")
    __events__ = ("on_select", "on_pick")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.mapview: MapView | None = None
        self.source: MapSource | None = None
        self._source_key: tuple[Any, ...] | None = None
        self._place_layer: PlaceLayer | None = None
        self._position_layer: PositionLayer | None = None
        self._centred = False
        self._rebuild = Clock.create_trigger(self._choose_source, 0)
        self._redraw = Clock.create_trigger(self._reposition, 0)
        self.bind(tiles=self._rebuild, offline_map=self._rebuild, online=self._rebuild)
        self.bind(
            places=self._redraw,
            position=self._redraw,
            accuracy_m=self._redraw,
            destination=self._redraw,
            selected_id=self._redraw,
        )
        self._watch = Clock.schedule_interval(self._check_tiles, 0.5)
        self._rebuild()

    # -- which map --------------------------------------------------------------------------
    def _choose_source(self, *_: Any) -> None:
        pack = self.offline_map if self.offline_map and Path(self.offline_map).is_file() else None
        tiles = self.tiles or {}
        if pack and (self.online is False or not tiles.get("url_template")):
            key: tuple[Any, ...] = ("pack", pack)
        elif tiles.get("url_template"):
            cache_mb = tiles.get("cache_max_mb")
            max_bytes = int(cache_mb * 1024 * 1024) if cache_mb else DEFAULT_MAX_BYTES
            key = ("tiles", tiles["url_template"], tiles.get("attribution", ""), max_bytes)
        else:
            key = ("wards",)
        if key == self._source_key:
            return
        self._source_key = key
        if key[0] == "pack":
            pack_source = PackSource(key[1], cache_dir=self.cache_dir)
            self.attribution = pack_source.attribution or str(tiles.get("attribution", ""))
            source: MapSource | None = pack_source
        elif key[0] == "tiles":
            source = CachedTileSource(key[1], key[2], self.cache_dir or "tiles", key[3])
            self.attribution = key[2]
        else:
            source = None
            self.attribution = ""
        self.source = source
        if source is None:
            self.mode = "wards"
            return
        if self.mapview is None:
            lat, lon = self.position or WIGAN
            self.mapview = MapView(
                map_source=source,
                cache_dir=self.cache_dir or "tiles",
                lat=lat,
                lon=lon,
                zoom=DEFAULT_ZOOM,
                double_tap_zoom=True,
                pause_on_action=False,
                animation_duration=0,
                size_hint=(1, 1),
                pos_hint={"x": 0, "y": 0},
            )
            self._position_layer = PositionLayer(self)
            self._place_layer = PlaceLayer(self)
            # My position is drawn over the markers: "you are here" is never hidden.
            self.mapview.add_layer(self._place_layer, mode="window")
            self.mapview.add_layer(self._position_layer, mode="window")
            self.mapview.bind(on_touch_down=self._map_touch_down, on_touch_up=self._map_touch_up)
            self.add_widget(self.mapview, index=len(self.children))
        else:
            self.mapview.map_source = source
        self.mode = "pack" if key[0] == "pack" else "tiles"
        self._redraw()

    def _check_tiles(self, *_: Any) -> None:
        """No tile could be fetched nor found on the phone: fall back to the ward outlines."""
        source = self.source
        if isinstance(source, CachedTileSource):
            self.mode = "wards" if (source.failed and not source.shown_any) else "tiles"

    # -- drawing ------------------------------------------------------------------------------
    def _reposition(self, *_: Any) -> None:
        if self.mapview is None:
            return
        if not self._centred and self.places:
            # The first list: show me and every place, clustered where they crowd.
            self._centred = True
            self.show_all()
        elif not self._centred and self.position:
            self.mapview.center_on(*self.position)
        # Layers only: the tiles already loaded stay (a GPS fix must not reload the map).
        self.mapview.trigger_update(False)

    def centre_on_me(self) -> None:
        if self.mapview is not None and self.position:
            self.mapview.center_on(*self.position)

    def zoom_by(self, steps: int) -> None:
        if self.mapview is not None:
            self.mapview.zoom = max(3, min(19, self.mapview.zoom + steps))

    def show_all(self) -> None:
        """The closest zoom at which me and every place fit inside the map (clusters where
        they still crowd), centred between them."""
        mapview = self.mapview
        if mapview is None:
            return
        points = [(float(p["lat"]), float(p["lon"])) for p in self.places if p.get("lat")]
        if self.position:
            points.append((float(self.position[0]), float(self.position[1])))
        if not points:
            return
        source = mapview.map_source
        room_x = mapview.width - 1.2 * dp(MARKER_DP)  # a marker's half and a little, each side
        room_y = mapview.height - 1.2 * dp(MARKER_DP)
        zoom = source.get_min_zoom()
        for candidate in range(min(17, source.get_max_zoom()), source.get_min_zoom() - 1, -1):
            xs = [source.get_x(candidate, lon) for _lat, lon in points]
            ys = [source.get_y(candidate, lat) for lat, _lon in points]
            if max(xs) - min(xs) <= room_x and max(ys) - min(ys) <= room_y:
                zoom = candidate
                break
        mapview.zoom = zoom
        mapview.center_on(
            (min(p[0] for p in points) + max(p[0] for p in points)) / 2,
            (min(p[1] for p in points) + max(p[1] for p in points)) / 2,
        )

    # -- touches ------------------------------------------------------------------------------
    def marker_tapped(self, marker: PlaceMarker) -> None:
        if marker.place is not None:
            self.dispatch("on_select", marker.place)
        elif self.mapview is not None:
            self.mapview.center_on(marker.lat, marker.lon)
            self.zoom_by(2)

    def _map_touch_down(self, mapview: MapView, touch: Any) -> bool:
        if mapview.collide_point(*touch.pos):
            touch.ud["street_map_down"] = time.monotonic()
        return False

    def _map_touch_up(self, mapview: MapView, touch: Any) -> bool:
        # A long press on the map (not a marker, not a drag) offers that point.
        down = touch.ud.pop("street_map_down", None)
        on_marker = self._place_layer is not None and any(
            marker.collide_point(*touch.pos) for marker in self._place_layer.markers
        )
        if (
            down is not None
            and not on_marker
            and time.monotonic() - down > LONG_PRESS_S
            and abs(touch.x - touch.ox) + abs(touch.y - touch.oy) < dp(10)
        ):
            # (mapview reads the point from its own corner, unlike get_window_xy_from)
            lat, lon = mapview.get_latlon_at(touch.x - mapview.x, touch.y - mapview.y)
            self.dispatch("on_pick", lat, lon)
        return False

    def on_select(self, place: dict[str, Any]) -> None:
        """A marker was tapped."""

    def on_pick(self, lat: float, lon: float) -> None:
        """A point was held on the map."""
