"""The Kivy application: loads the theme and every screen, binds them to the core's state."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from kivy.app import App
from kivy.clock import Clock
from kivy.lang import Builder
from kivy.uix.screenmanager import NoTransition, ScreenManager, SlideTransition
from kivy.utils import platform

from mobile_client.core.controller import Core
from mobile_client.ui import widgets  # noqa: F401 - registers Banner, HoldButton, WardMap
from mobile_client.ui.bridge import UIState

log = logging.getLogger(__name__)

KV_DIR = Path(__file__).resolve().parent.parent / "kv"
SCREENS = [
    ("home", "mobile_client.screens.home", "HomeScreen"),
    ("places", "mobile_client.screens.places", "PlacesScreen"),
    ("journey", "mobile_client.screens.journey", "JourneyScreen"),
    ("contacts", "mobile_client.screens.contacts", "ContactsScreen"),
    ("watching", "mobile_client.screens.watching", "WatchingScreen"),
    ("report", "mobile_client.screens.report", "ReportScreen"),
    ("my_reports", "mobile_client.screens.my_reports", "MyReportsScreen"),
    ("surveys", "mobile_client.screens.surveys", "SurveysScreen"),
    ("settings", "mobile_client.screens.settings", "SettingsScreen"),
    ("blank", "mobile_client.screens.blank", "BlankScreen"),
]


class SafeHavenApp(App):
    """SafeHaven for residents. ``core`` does the work; ``ui`` mirrors its state for kv."""

    title = "SafeHaven"

    def __init__(
        self,
        core: Core,
        demo: bool = False,
        simulate: bool = False,
        speedup: float = 1.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.core = core
        self.demo = demo
        self.simulate = simulate
        self.speedup = speedup
        self.ui = UIState(core.state)
        self.sm: ScreenManager | None = None
        self.last_directions: str | None = None
        self.last_map_link = ""
        self._clear_message = Clock.create_trigger(lambda *_: core.state.update(message=""), 8)
        self.ui.bind(message=self._restart_message_timer)

    def _restart_message_timer(self, *_: Any) -> None:
        """Each new line gets its full 8 s: an earlier line's timer must not wipe it at once.
        (What must stay, SOS, arrival, revoke, reports, is a notice, not a line.)"""
        self._clear_message.cancel()
        self._clear_message()

    def build(self) -> ScreenManager:
        import importlib

        Builder.load_file(str(KV_DIR / "theme.kv"))
        self.sm = ScreenManager(transition=SlideTransition(duration=0.15))
        for name, module_name, class_name in SCREENS:
            Builder.load_file(str(KV_DIR / f"{name}.kv"))
            cls = getattr(importlib.import_module(module_name), class_name)
            self.sm.add_widget(cls(name=name))
        return self.sm

    def on_start(self) -> None:
        self.core.start_background()
        Clock.schedule_interval(lambda *_: self.core.poll_push_inbox(), 1.0)
        if platform == "android":
            self._android_permissions()
        if self.demo and not self.core.state.signed_in:
            self.core.submit(self._run_demo)
        elif self.core.creds.token and not self.core.state.signed_in:
            self.core.submit(self.core.restore_session)
        if self.simulate or platform not in ("android", "ios"):
            # Desktop and demo: stand at the start of the demo walk until a journey starts.
            from mobile_client.core.location import DEMO_ROUTE

            if self.core.state.position is None:
                self.core.set_position(*DEMO_ROUTE[0])
        else:
            from mobile_client.core.location import PlyerGPS

            self.core.start_location(PlyerGPS(self.core.on_fix))

    def on_stop(self) -> None:
        self.core.close()

    def on_pause(self) -> bool:
        return True  # keep running (journey sharing) while in the background

    # -- navigation -----------------------------------------------------------------------
    def go(self, name: str) -> None:
        assert self.sm is not None  # noqa: S101 - build() ran
        if self.sm.current == "blank" and name != "home":
            return
        self.sm.transition = SlideTransition(duration=0.15)
        self.sm.current = name

    def quick_exit(self) -> None:
        """Clear the screen at once (someone is looking over my shoulder). Sharing goes on;
        on Android the app also drops to the background."""
        assert self.sm is not None  # noqa: S101
        self.sm.transition = NoTransition()
        self.sm.current = "blank"
        self.core.state.update(message="")
        if platform == "android":
            try:
                from jnius import autoclass

                activity = autoclass("org.kivy.android.PythonActivity").mActivity
                activity.moveTaskToBack(True)
            except Exception:  # noqa: BLE001 - the screen is already cleared
                log.warning("could not move the app to the background")

    def start_walk_to(self, lat: float, lon: float) -> None:
        """Desktop/demo: walk from here to the destination, posting fixes as a phone would."""
        if platform in ("android", "ios") and not self.simulate:
            return
        walk = self.core.simulated_walk(to=(lat, lon), speedup=self.speedup, interval_s=5)
        self.core.start_location(walk)

    def _run_demo(self) -> None:
        """``--demo`` (core worker thread): sign in as the demo resident, share a journey to
        the nearest open safe place and walk there."""
        from mobile_client.core.demo import start_demo_journey

        self.core.sign_in_demo()
        destination = start_demo_journey(self.core)
        if destination is None:
            return
        journey = self.core.state.journey or {}
        print(  # the one line a demo prints: what it is doing
            f"demo: journey {journey.get('id')} shared, walking to {destination['label']}",
            flush=True,
        )

        def walk() -> None:
            self.go("journey")
            self.start_walk_to(destination["lat"], destination["lon"])

        self.later(walk)

    def _android_permissions(self) -> None:
        try:
            from android.permissions import Permission, request_permissions  # type: ignore[import-not-found]

            request_permissions(
                [
                    Permission.ACCESS_FINE_LOCATION,
                    Permission.ACCESS_COARSE_LOCATION,
                    Permission.POST_NOTIFICATIONS,
                ]
            )
        except Exception:  # noqa: BLE001 - older toolchains: permissions come from the manifest
            log.warning("runtime permission request unavailable")

    def call_number(self, number: str) -> None:
        """Dial a number on a phone; on a desktop say what to dial."""
        try:
            from plyer import call

            call.makecall(tel=number)
        except Exception:  # noqa: BLE001 - no dialer on a desktop
            self.core.state.update(message=f"Call {number} from your phone.")

    def _android_view(self, uri: str) -> bool:
        """Hand ``uri`` to whichever Android app views it (ACTION_VIEW); False if none did."""
        try:
            from jnius import autoclass, cast

            intent_cls = autoclass("android.content.Intent")
            intent = intent_cls(intent_cls.ACTION_VIEW, autoclass("android.net.Uri").parse(uri))
            activity = autoclass("org.kivy.android.PythonActivity").mActivity
            cast("android.app.Activity", activity).startActivity(intent)
            return True
        except Exception:  # noqa: BLE001 - no app takes it
            log.warning("no app took %s", uri.split(":", 1)[0])
            return False

    def open_directions(self, url: str) -> None:
        """Hand the walk to the phone's own maps app (Android: a ``geo:`` intent any maps app
        answers); on a desktop, OpenStreetMap's walking directions in the browser."""
        self.last_directions = url
        if platform == "android":
            if not self._android_view(url):
                self.core.state.update(message="No maps app found to show directions.")
            return
        import webbrowser

        if not webbrowser.open(url):
            self.core.state.update(message=f"Directions: {url}")

    def text_contacts(self) -> None:
        """Text the last position to the numbers kept for contacts (SOS fallback)."""
        self.core.submit(self.core.text_contacts)

    def open_in_maps(self, lat: float, lon: float, name: str) -> None:
        """A pin in the phone's map app (``geo:``); an OpenStreetMap page on a desktop."""
        from mobile_client.core.sms import geo_uri, osm_link

        if platform == "android" and self._android_view(geo_uri(lat, lon, name)):
            return
        import webbrowser

        self.last_map_link = osm_link(lat, lon)
        webbrowser.open(self.last_map_link)

    def later(self, fn: Any, delay: float = 0) -> None:
        Clock.schedule_once(lambda *_: fn(), delay)
