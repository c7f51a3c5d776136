"""Shared widgets: the SOS panel, lasting notices, the press-and-hold button and the
offline ward map."""

from __future__ import annotations

import math
from typing import Any

from kivy.clock import Clock
from kivy.core.text import Label as CoreLabel
from kivy.graphics import Color, Ellipse, Line, Rectangle, RoundedRectangle
from kivy.metrics import dp, sp
from kivy.properties import BooleanProperty, ListProperty, NumericProperty, ObjectProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.button import Button
from kivy.uix.label import Label
from kivy.uix.stencilview import StencilView

from mobile_client.core import geo
from mobile_client.core.geo import cluster_markers, marker_text

# A place's marker colour by its hours (``describe_place``'s tone): amber closes soon.
TONE_COLOURS = {
    "cluster": (0.25, 0.35, 0.62, 1),
    "open": (0.5, 0.82, 0.73, 1),
    "amber": (0.96, 0.73, 0.26, 1),
    "closed": (0.62, 0.66, 0.72, 1),
    "unknown": (0.62, 0.66, 0.72, 1),
}


MARKER_GAP_DP = 3  # kept between two markers, and between a marker and a ward name
LABEL_GROUP = "ward_label"  # canvas groups: what the map drew where (tests read them)
MARKER_GROUP = "place_marker"


class Banner(Label):
    """A coloured panel of text (amber by default; red for danger)."""

    bg = ListProperty([0.96, 0.73, 0.26, 1])


class SosPanel(BoxLayout):
    """The SOS on screen (``app.ui.sos``): one headline from the phone's record or the
    server's answer, per-recipient delivery, and what to do next. Stays until dismissed."""

    sos = ObjectProperty(None, allownone=True)
    compact = BooleanProperty(False)

    def on_sos(self, _panel: Any, sos: dict[str, Any] | None) -> None:
        self.ids.lines.text = "\n".join(
            [*(sos or {}).get("lines", []), (sos or {}).get("raised_text", "")]
        ).strip()


class NoticeBar(BoxLayout):
    """A confirmation that stays until "OK" (``app.ui.notice``): arrival, revoke, a report
    sent, a share refused. Never a line that vanishes after a few seconds."""

    notice = ObjectProperty(None, allownone=True)


class HoldButton(Button):
    """A button that acts only after being held for ``hold_seconds`` (SOS, deleting the
    account): a stray touch in a pocket does nothing. A ring fills while it is held;
    ``on_hold`` fires when it completes, releasing early cancels."""

    hold_seconds = NumericProperty(2.0)
    progress = NumericProperty(0.0)
    ring_color = ListProperty([1, 1, 1, 1])
    __events__ = ("on_hold", "on_short")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._held_for = 0.0
        self._ticker = None
        self._done = False
        self._fired = False  # on_hold fired during this touch (reset() may clear _done)
        self.bind(pos=self._draw, size=self._draw, progress=self._draw)

    def on_touch_down(self, touch: Any) -> bool:
        if not self.collide_point(*touch.pos) or self.disabled:
            return super().on_touch_down(touch)
        touch.grab(self)
        self._held_for, self._done, self._fired = 0.0, False, False
        self.state = "down"
        self._ticker = Clock.schedule_interval(self._tick, 1 / 30)
        return True

    def _tick(self, dt: float) -> None:
        self._held_for += dt
        self.progress = min(1.0, self._held_for / self.hold_seconds)
        if self.progress >= 1.0 and not self._done:
            self._done = self._fired = True
            self._stop()
            self.dispatch("on_hold")

    def _stop(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            self._ticker = None

    def on_touch_move(self, touch: Any) -> bool:
        return touch.grab_current is self or super().on_touch_move(touch)

    def on_touch_up(self, touch: Any) -> bool:
        if touch.grab_current is not self:
            return super().on_touch_up(touch)
        touch.ungrab(self)
        self._stop()
        self.state = "normal"
        if not self._done:
            self.progress = 0.0
        if not self._fired:
            self.dispatch("on_short")
        return True

    def on_hold(self) -> None:
        """Held long enough."""

    def on_short(self) -> None:
        """Let go too early: nothing was done."""

    def reset(self) -> None:
        self.progress, self._done = 0.0, False

    def _draw(self, *_: Any) -> None:
        self.canvas.after.clear()
        if self.progress <= 0:
            return
        with self.canvas.after:
            Color(*self.ring_color)
            r = min(self.width, self.height) / 2 - dp(6)
            Line(
                circle=(self.center_x, self.center_y, max(r, dp(10)), 0, 360 * self.progress),
                width=dp(3),
            )


class WardMap(StencilView):
    """An offline map: ward outlines shipped with the app, safe places, my position, a
    destination and a watched track. Tapping picks a point (``on_pick(lat, lon)``); a
    stencil keeps the drawing inside the widget."""

    places = ListProperty([])
    position = ObjectProperty(None, allownone=True)
    destination = ObjectProperty(None, allownone=True)
    track = ListProperty([])
    radius_m = NumericProperty(1500.0)
    follow = BooleanProperty(True)
    center_ll = ObjectProperty(None, allownone=True)
    # Boxes (x, y, width, height) the ward names keep off: a badge drawn over the map.
    keep_clear = ListProperty([])
    __events__ = ("on_pick",)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._labels: dict[tuple[str, int], Any] = {}
        # As last drawn (the canvas groups LABEL_GROUP and MARKER_GROUP hold the same).
        self.label_boxes: list[tuple[Any, geo.Box]] = []
        self.marker_boxes: list[geo.Box] = []
        self.marker_hits: list[tuple[geo.Box, list[dict[str, Any]]]] = []
        self._trigger = Clock.create_trigger(self._redraw, 0)
        self.bind(
            pos=self._trigger,
            size=self._trigger,
            places=self._trigger,
            position=self._trigger,
            destination=self._trigger,
            track=self._trigger,
            radius_m=self._trigger,
            center_ll=self._trigger,
            keep_clear=self._trigger,
        )

    # -- projection -----------------------------------------------------------------------
    def view_center(self) -> tuple[float, float]:
        if self.center_ll:
            return tuple(self.center_ll)  # type: ignore[return-value]
        if self.track:
            return tuple(self.track[-1])  # type: ignore[return-value]
        if self.position:
            return tuple(self.position)  # type: ignore[return-value]
        min_lon, min_lat, max_lon, max_lat = geo.wards_bounds()
        return (min_lat + max_lat) / 2, (min_lon + max_lon) / 2

    def _scale(self) -> tuple[float, float, float, float]:
        lat0, lon0 = self.view_center()
        m_per_deg_lat = 111_320.0
        m_per_deg_lon = 111_320.0 * math.cos(math.radians(lat0))
        px_per_m = min(self.width, self.height) / (2 * self.radius_m) if self.radius_m else 1
        return lat0, lon0, m_per_deg_lat * px_per_m, m_per_deg_lon * px_per_m

    def to_xy(self, lat: float, lon: float) -> tuple[float, float]:
        lat0, lon0, ky, kx = self._scale()
        return self.center_x + (lon - lon0) * kx, self.center_y + (lat - lat0) * ky

    def to_latlon(self, x: float, y: float) -> tuple[float, float]:
        lat0, lon0, ky, kx = self._scale()
        return lat0 + (y - self.center_y) / ky, lon0 + (x - self.center_x) / kx

    def zoom(self, factor: float) -> None:
        self.radius_m = max(200.0, min(20_000.0, self.radius_m * factor))

    def show_borough(self) -> None:
        min_lon, min_lat, max_lon, max_lat = geo.wards_bounds()
        self.center_ll = ((min_lat + max_lat) / 2, (min_lon + max_lon) / 2)
        self.radius_m = geo.haversine_m(min_lat, min_lon, max_lat, min_lon) / 2 * 1.1

    # -- drawing --------------------------------------------------------------------------
    def _label(self, text: str, size: float, color=(1, 1, 1, 1)) -> Any:
        key = (text, int(size))
        if key not in self._labels:
            label = CoreLabel(text=text, font_size=size, color=color, bold=True)
            label.refresh()
            self._labels[key] = label.texture
        return self._labels[key]

    def _redraw(self, *_: Any) -> None:
        self.canvas.clear()
        if self.width < 10 or self.height < 10:
            return
        x0, y0, x1 = self.x, self.y, self.right
        gap = dp(MARKER_GAP_DP)
        # Markers first (clustered until none touches another), then what must stay clear
        # of the ward names: markers, me, the destination, the scale bar and attribution.
        r = dp(13)
        placed = [
            (*self.to_xy(float(p["lat"]), float(p["lon"])), i, p)
            for i, p in enumerate(self.places, start=1)
            if p.get("lat") is not None
        ]
        groups = cluster_markers(
            placed,
            2 * r,
            width=lambda text: self._label(text, sp(14)).width + dp(10),
            gap=gap,
        )
        markers = []
        for x, y, members in groups:
            text = marker_text([n for n, _p in members])
            tex = self._label(text, sp(14))
            markers.append((geo.marker_box(x, y, max(2 * r, tex.width + dp(10)), 2 * r), tex))
        keep_clear: list[geo.Box] = [box for box, _tex in markers]
        if self.destination and self.destination.get("lat") is not None:
            dx, dy = self.to_xy(float(self.destination["lat"]), float(self.destination["lon"]))
            keep_clear.append((dx - dp(18), dy - dp(18), dp(36), dp(54)))
        for point in (self.position, self.track[-1] if self.track else None):
            if point:
                px, py = self.to_xy(*point)
                keep_clear.append((px - dp(11), py - dp(11), dp(22), dp(22)))
        bar_m = _nice_length(self.radius_m / 2)
        bar_px = bar_m * self._scale()[2] / 111_320.0
        scale_tex = self._label(geo.format_distance(bar_m), sp(11))
        credit_tex = self._label("Wards: ONS (c) Crown copyright 2023", sp(9))
        keep_clear.append(
            (x0, y0, dp(16) + max(bar_px, scale_tex.width), dp(18) + scale_tex.height)
        )
        keep_clear.append(
            (x1 - credit_tex.width - dp(8), y0, credit_tex.width + dp(8), credit_tex.height + dp(6))
        )
        keep_clear += [tuple(box) for box in self.keep_clear]  # type: ignore[misc]
        names = []
        # The ward under the middle of the map is named even when its middle is off it.
        here = geo.ward_at(*self.to_latlon(self.center_x, self.center_y))
        for ward in geo.wards():
            ring = max(ward["rings"], key=len)
            x, y = self.to_xy(
                sum(p[1] for p in ring) / len(ring), sum(p[0] for p in ring) / len(ring)
            )
            tex = self._label(ward["name"], sp(11))
            inside = self.x < x < self.right and self.y < y < self.top
            if not inside and here is not None and here["code"] == ward["code"]:
                x, y = self.center_x, self.center_y + dp(40)
            names.append((tex, x, y, tex.width, tex.height))
        self.label_boxes = geo.place_labels(
            names,
            keep_clear,
            (x0 + dp(2), y0 + dp(2), self.width - dp(4), self.height - dp(4)),
            gap,
        )
        self.marker_boxes = [box for box, _tex in markers]
        self.marker_hits = [
            (box, [place for _n, place in members])
            for (box, _tex), (_x, _y, members) in zip(markers, groups, strict=True)
        ]
        with self.canvas:
            Color(0.05, 0.08, 0.14, 1)
            Rectangle(pos=self.pos, size=self.size)
            Color(0.35, 0.45, 0.62, 1)
            for ward in geo.wards():
                for ring in ward["rings"]:
                    pts: list[float] = []
                    for lon, lat in ring:
                        pts.extend(self.to_xy(lat, lon))
                    Line(points=pts, width=dp(1), close=True)
            # Ward names, each where no marker, no other name and nothing of mine is.
            Color(0.55, 0.63, 0.78, 1)
            for tex, box in self.label_boxes:
                Rectangle(texture=tex, size=box[2:], pos=box[:2], group=LABEL_GROUP)
            if len(self.track) >= 2:
                Color(0.5, 0.82, 0.73, 1)
                pts = []
                for lat, lon in self.track:
                    pts.extend(self.to_xy(lat, lon))
                Line(points=pts, width=dp(2.5))
            for ((bx, by, bw, bh), tex), (_x, _y, members) in zip(markers, groups, strict=True):
                tone = str(members[0][1].get("tone")) if len(members) == 1 else "cluster"
                Color(*TONE_COLOURS.get(tone, TONE_COLOURS["open"]))
                RoundedRectangle(pos=(bx, by), size=(bw, bh), radius=[r], group=MARKER_GROUP)
                Color(*((1, 1, 1, 1) if tone == "cluster" else (0.04, 0.06, 0.12, 1)))
                Rectangle(
                    texture=tex,
                    size=tex.size,
                    pos=(bx + (bw - tex.width) / 2, by + (bh - tex.height) / 2),
                )
            if self.destination and self.destination.get("lat") is not None:
                x, y = self.to_xy(float(self.destination["lat"]), float(self.destination["lon"]))
                Color(0.96, 0.73, 0.26, 1)
                Line(circle=(x, y, dp(16)), width=dp(3))
                Line(points=[x, y + dp(16), x, y + dp(34)], width=dp(2))
            if self.position:
                x, y = self.to_xy(*self.position)
                Color(1, 1, 1, 1)
                Ellipse(pos=(x - dp(11), y - dp(11)), size=(dp(22), dp(22)))
                Color(0.25, 0.55, 1, 1)
                Ellipse(pos=(x - dp(8), y - dp(8)), size=(dp(16), dp(16)))
            if self.track:
                x, y = self.to_xy(*self.track[-1])
                Color(1, 1, 1, 1)
                Ellipse(pos=(x - dp(11), y - dp(11)), size=(dp(22), dp(22)))
                Color(0.95, 0.35, 0.45, 1)
                Ellipse(pos=(x - dp(8), y - dp(8)), size=(dp(16), dp(16)))
            # Scale bar and attribution.
            Color(0.9, 0.92, 0.96, 1)
            Line(points=[x0 + dp(12), y0 + dp(12), x0 + dp(12) + bar_px, y0 + dp(12)], width=dp(2))
            Rectangle(texture=scale_tex, size=scale_tex.size, pos=(x0 + dp(12), y0 + dp(16)))
            Color(0.6, 0.66, 0.76, 1)
            Rectangle(
                texture=credit_tex,
                size=credit_tex.size,
                pos=(x1 - credit_tex.width - dp(6), y0 + dp(4)),
            )

    def on_touch_down(self, touch: Any) -> bool:
        if self.collide_point(*touch.pos) and not touch.is_mouse_scrolling:
            touch.grab(self)
            touch.ud["map_start"] = touch.pos
            return True
        return super().on_touch_down(touch)

    def on_touch_move(self, touch: Any) -> bool:
        if touch.grab_current is self:
            sx, sy = touch.ud["map_start"]
            if abs(touch.x - sx) + abs(touch.y - sy) > dp(12):
                lat, lon = self.to_latlon(self.center_x - touch.dx, self.center_y - touch.dy)
                self.center_ll = (lat, lon)
                touch.ud["map_dragged"] = True
            return True
        return super().on_touch_move(touch)

    def on_touch_up(self, touch: Any) -> bool:
        if touch.grab_current is self:
            touch.ungrab(self)
            if not touch.ud.get("map_dragged"):
                self.dispatch("on_pick", *self.to_latlon(*touch.pos))
            return True
        return super().on_touch_up(touch)

    def on_pick(self, lat: float, lon: float) -> None:
        """A point was tapped."""


def _nice_length(metres: float) -> float:
    for step in (50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000):
        if step >= metres * 0.6:
            return float(step)
    return 10000.0
