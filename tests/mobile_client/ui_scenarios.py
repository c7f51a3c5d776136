"""Scenarios for ``ui_driver``: what a resident does, as touches on the real window.

``d.features`` names the server APIs present ("venues", "journeys", "contacts", "reports",
"surveys"); a step whose API is absent is recorded as skipped, never as passed."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.mobile_client.ui_driver import Abort, Driver, Frames, Until


def min_target_ok(d: Driver, screen_name: str) -> tuple[bool, str]:
    """Every button on a screen is at least 48 dp tall and wide (night, one thumb)."""
    from kivy.metrics import dp
    from kivy.uix.button import Button
    from kivy.uix.togglebutton import ToggleButton

    small = []
    for w in d.screen(screen_name).walk(restrict=True):
        if (
            isinstance(w, Button | ToggleButton)
            and w.opacity > 0
            and not w.disabled
            and w.height > 0
        ):
            if w.height < dp(48) - 0.5 or w.width < dp(48) - 0.5:
                small.append(f"{w.text!r} {w.width:.0f}x{w.height:.0f}")
    return not small, ", ".join(small)


RAW = re.compile(r"\{'|\{\"|\['|\[\{|\d{4}-\d\d-\d\d[T ]\d\d:\d\d|\bNone\b|\+00:00|\d\d:\d\d:\d\d")


def raw_text_on(d: Driver, screen_name: str) -> list[str]:
    """Every Label and Button text on a screen that shows a raw dict or list, an ISO time
    or "None" (a person reads names and UK clock times, never Python)."""
    from kivy.uix.label import Label

    bad = []
    for w in d.screen(screen_name).walk(restrict=True):
        if isinstance(w, Label) and RAW.search(str(w.text or "")):
            bad.append(str(w.text)[:120])
    return bad


def in_sight_unscrolled(widget: Any) -> bool:
    """The widget is wholly inside its page's view with the page at its top: seen at once,
    without scrolling (the window is a 360x640 dp phone)."""
    from kivy.uix.scrollview import ScrollView

    page = widget.parent
    while page is not None and not isinstance(page, ScrollView):
        page = page.parent if page.parent is not page else None
    x, y = widget.to_window(widget.x, widget.y)
    if page is None:
        return widget.height > 0 and y >= 0
    px, py = page.to_window(page.x, page.y)
    at_top = page.scroll_y >= 0.999 or page.viewport_size[1] <= page.height
    return (
        at_top
        and widget.opacity > 0
        and widget.height > 0
        and y >= py - 0.5
        and y + widget.height <= py + page.height + 0.5
    )


def tour(d: Driver) -> Iterator[Any]:
    """Open every screen and drive the main flow with touches; a screenshot per screen."""
    app, core = d.app, d.app.core
    yield Until(lambda: app.root is not None and core.state.signed_in, 20, "sign-in")
    yield Frames(5)
    d.check(
        "home shows the signed-in resident",
        "Signed in as" in _texts(d, "home"),
        _texts(d, "home")[:200],
    )
    d.check(
        "SOS is in sight on the home screen without scrolling",
        in_sight_unscrolled(d.screen("home").ids.sos),
        "",
    )
    yield from d.shot("01_home")

    # Find a safe place.
    yield from d.tap(d.screen("home").ids.find)
    yield Until(lambda: app.root.current == "places", 3, "places screen")
    if "venues" in d.features:
        yield Until(lambda: core.state.places, 15, "safe places")
        d.check(
            "safe places listed with distance and hours",
            all(p.get("distance_text") and p.get("hours_text") for p in core.state.places),
            core.state.places[:1],
        )
    else:
        d.check("safe places (venues API not merged: skipped)", True, "skipped")
    yield 0.5
    yield from d.shot("02_places")

    # Pick a destination: the first place's "Share my walk there", or a long press on the map.
    places_screen = d.screen("places")
    if core.state.places:
        share = d.find(
            places_screen.ids.list, lambda w: getattr(w, "text", "") == "Share my walk there"
        )
        yield from d.tap(share)
    else:
        map_widget = places_screen.ids.map
        yield from d.hold(map_widget, 1.0)
        app.go("journey")
    yield Until(lambda: core.state.destination is not None, 10, "a destination")
    d.check(
        "destination chosen by touch", core.state.destination is not None, core.state.destination
    )
    if app.root.current != "journey":
        yield from d.go("journey")
    if "contacts" in d.features:
        core.submit(core.load_contacts)
        yield Until(lambda: core.state.contacts, 10, "contacts on the journey screen")
        yield 0.3
        toggles = [
            w for w in d.screen("journey").walk(restrict=True) if w.__class__.__name__ == "Toggle"
        ]
        if toggles:
            yield from d.tap(toggles[0])
    yield from d.shot("03_journey_plan")

    if "journeys" in d.features:
        start = d.by_text(d.screen("journey"), "Start sharing")
        yield from d.tap(start)
        yield Until(lambda: core.state.journey, 15, "journey started")
        d.check(
            "journey started from the screen",
            core.state.journey and core.state.journey.get("id"),
            core.state.journey,
        )
        yield Until(
            lambda: core.location is not None and core.location.running, 5, "simulated walk"
        )
        yield 3
        yield Until(lambda: core.state.outbox_pending == 0, 15, "fixes delivered")
        live = d.screen("journey").view.ids
        d.check(
            "I've arrived, SOS and Stop sharing are in sight without scrolling",
            all(in_sight_unscrolled(live[k]) for k in ("arrived", "sos", "cancel")),
            {k: in_sight_unscrolled(live[k]) for k in ("arrived", "sos", "cancel")},
        )
        yield from d.shot("04_journey_live")
        # SOS from home, press and hold.
        yield from d.go("home")
        sos = d.screen("home").ids.sos
        yield from d.hold(sos, 0.6)  # too short: nothing happens
        d.check(
            "a short press saves no SOS and says keep holding",
            core.state.sos is None and core.state.message == "Keep holding to send SOS",
            (core.state.sos, core.state.message),
        )
        yield from d.hold(sos, 2.4, done=lambda: core.state.sos)
        yield Until(lambda: (core.state.sos or {}).get("phase") == "answered", 10, "SOS answered")
        d.check(
            "press-and-hold sends SOS and names who it reached",
            core.state.sos["headline"].startswith("SafeHaven has your SOS. Alerting "),
            core.state.sos,
        )
        yield from d.shot("05_home_sos")
    else:
        d.check("journey (journeys API not merged: skipped)", True, "skipped")
        yield from d.go("home")

    # Contacts: create an invitation.
    yield from d.tap(d.screen("home").ids.nav_contacts)
    yield Until(lambda: app.root.current == "contacts", 3, "contacts screen")
    if "contacts" in d.features:
        yield from d.tap(d.screen("contacts").ids.invite)
        yield Until(lambda: core.state.invitation, 10, "an invitation")
        d.check(
            "invitation created",
            bool((core.state.invitation or {}).get("code")),
            core.state.invitation,
        )
    yield 0.3
    yield from d.shot("06_contacts")

    # Watching.
    yield from d.go("watching")
    yield from d.shot("07_watching")

    # Report a concern.
    yield from d.go("home")
    yield from d.tap(d.screen("home").ids.nav_report)
    yield Until(lambda: app.root.current == "report", 3, "report screen")
    report = d.screen("report")
    if "reports" in d.features:
        yield Until(lambda: core.state.categories, 10, "report categories")
        yield from d.tap(report.ids.category)
        yield 0.4
        from kivy.core.window import Window

        names = report.category_names(core.state.categories)
        wanted = names[-1]
        option = None
        for child in Window.children:
            option = d.find(
                child, lambda w, t=wanted: w.__class__.__name__ == "SpinnerOption" and w.text == t
            )
            if option:
                break
        if option is None:
            raise Abort(f"no dropdown option {wanted!r}")
        yield from d.tap(option)
        d.check(
            "category chosen from the dropdown",
            report.ids.category.text == wanted,
            report.ids.category.text,
        )
        yield from d.type_into(
            report.ids.description, "Street light out on the path behind the station; very dark."
        )
        yield from d.shot("08_report")
        yield from d.tap(report.ids.send)
        yield Until(
            lambda: (
                "Thank you" in (core.state.notice or {}).get("text", "") or core.state.outbox_failed
            ),
            15,
            "report sent",
        )
        d.check(
            "report sent, and the thanks stays until dismissed",
            "Thank you" in (core.state.notice or {}).get("text", ""),
            core.state.notice,
        )
    else:
        d.check("report (reports API not merged: skipped)", True, "skipped")
        yield from d.shot("08_report")

    # Surveys.
    yield from d.go("home")
    yield from d.tap(d.screen("home").ids.nav_surveys)
    yield Until(lambda: app.root.current == "surveys", 3, "surveys screen")
    if "surveys" in d.features:
        yield Until(lambda: core.state.surveys, 10, "open surveys")

        def first_survey() -> Any:
            return d.find(
                d.screen("surveys").ids.list, lambda w: w.__class__.__name__ == "FlatButton"
            )

        yield Until(first_survey, 10, "the list drawn")  # state first, widgets next frame
        yield from d.tap(first_survey())
        yield Until(lambda: core.state.survey, 10, "a survey opened")
        yield 0.5
        screen = d.screen("surveys")
        send = screen.send_button
        yield from d.tap(send)  # nothing answered: the required questions complain
        d.check(
            "unanswered required questions are flagged",
            any(lbl.text for lbl in screen._errors.values()),
            "",
        )
        yield from d.shot("09_survey_errors")
        for key, control in screen.controls.items():
            q = control.q
            if control.widget.get_root_window() is None:  # hidden by an earlier answer
                continue
            toggles = getattr(control, "toggles", None)
            if toggles:
                yield from d.tap(toggles[0])
                # A tap the window dropped (a loaded CI machine) is logged and tapped again;
                # the answer must then be there, or the scenario fails naming the question.
                if toggles[0].state != "down":
                    d.log(f"tap on {toggles[0].text!r} did not take; tapping again")
                    yield from d.tap(toggles[0])
                d.check(f"survey answer {key} chosen by touch", toggles[0].state == "down", key)
            elif q["type"] in ("integer", "text"):
                lo = q.get("min_value") if q.get("min_value") is not None else 1
                yield from d.type_into(
                    control.widget,
                    str(lo) if q["type"] == "integer" else "Better lighting",
                )
        answers = screen.answers()
        core.state.update(message="")  # the first send's complaint is not this send's answer
        yield from d.tap(send)
        # Any message ends the wait: a failure then names what the form or server said,
        # before the app's 8-second message timer clears it.
        yield Until(lambda: core.state.message, 10, "survey answered")
        errors = {k: lbl.text for k, lbl in screen._errors.items() if lbl.text}
        d.check(
            "survey answered (said only once the server has them)",
            "Thank you for answering" in core.state.message,
            f"message {core.state.message!r}; form errors {errors}; answers {answers}",
        )
    yield from d.shot("09_surveys")

    # Settings.
    yield from d.go("home")
    yield from d.tap(d.screen("home").ids.nav_settings)
    yield Until(lambda: app.root.current == "settings", 3, "settings screen")
    yield from d.shot("10_settings")

    # Quick exit clears the screen at once, sharing goes on.
    yield from d.go("home")
    journey_before = core.state.journey
    exit_button = d.by_text(d.screen("home"), "Exit")
    yield from d.tap(exit_button)
    d.check("quick exit clears the screen at once", app.root.current == "blank", app.root.current)
    d.check(
        "quick exit keeps the journey shared",
        core.state.journey == journey_before
        or core.state.journey is not None
        or journey_before is None,
        "",
    )
    yield from d.shot("11_quick_exit")
    yield from d.hold(app.root.get_screen("blank"), 2.4)
    yield Until(lambda: app.root.current == "home", 3, "back home after press-and-hold")
    d.check("press and hold on the blank screen returns home", app.root.current == "home", "")


def _texts(d: Driver, screen: str) -> str:
    return " | ".join(
        str(getattr(w, "text", ""))
        for w in d.screen(screen).walk(restrict=True)
        if getattr(w, "text", "")
    )


def walker(d: Driver) -> Iterator[Any]:
    """Resident A: start a journey shared with B, walk, then press and hold SOS."""
    app, core = d.app, d.app.core
    params = d.args.params
    yield Until(lambda: app.root is not None and core.state.signed_in, 20, "sign-in")
    core.submit(core.load_contacts)
    yield Until(lambda: core.state.contacts, 10, "contacts")
    core.destination_from_map(float(params["dest_lat"]), float(params["dest_lon"]))
    yield from d.tap(d.screen("home").ids.share)
    yield Until(lambda: app.root.current == "journey", 3, "journey screen")
    yield 0.5
    toggles = [
        w for w in d.screen("journey").walk(restrict=True) if w.__class__.__name__ == "Toggle"
    ]
    if not toggles:
        raise Abort("no contact to share with")
    yield from d.tap(toggles[0])
    yield from d.tap(d.by_text(d.screen("journey"), "Start sharing"))
    yield Until(lambda: core.state.journey, 15, "journey started")
    d.check("A started a journey", True, core.state.journey.get("id"))
    yield Until(lambda: core.location is not None and core.location.running, 5, "walking")
    yield float(params.get("walk_s", 6))
    yield from d.shot("walking")
    yield from d.go("home")
    yield from d.hold(d.screen("home").ids.sos, 2.4, done=lambda: core.state.sos)
    yield Until(lambda: (core.state.sos or {}).get("phase") == "answered", 15, "SOS answered")
    d.check(
        "A pressed SOS and the server names B",
        core.state.sos["headline"] == "SafeHaven has your SOS. Alerting Bob",
        core.state.sos,
    )
    yield from d.shot("sos")
    yield from d.go("journey")
    yield Frames(5)
    live = d.screen("journey").view.ids
    d.check(
        "with the SOS panel, I've arrived, SOS and Stop sharing are in sight unscrolled",
        all(in_sight_unscrolled(live[k]) for k in ("arrived", "sos", "cancel")),
        {k: in_sight_unscrolled(live[k]) for k in ("arrived", "sos", "cancel")},
    )
    yield from d.shot("journey_sos")
    yield from d.go("home")
    if params.get("revoke"):
        yield from revoke_during_sos(d)
    yield float(params.get("linger_s", 8))  # keep walking while B watches


def revoke_during_sos(d: Driver) -> Iterator[Any]:
    """A stops sharing with B while B watches the SOS: warned, then press and hold."""
    app, core = d.app, d.app.core
    yield Until(lambda: app.root.current == "home", 3, "home")
    yield from d.tap(d.screen("home").ids.nav_contacts)
    yield Until(lambda: app.root.current == "contacts", 3, "contacts screen")
    contacts = d.screen("contacts")

    def warning() -> str:
        w = d.find(contacts.ids.list, lambda w: "watching your SOS" in str(getattr(w, "text", "")))
        return str(w.text) if w is not None else ""

    yield Until(warning, 10, "the warning that Bob watches the SOS")
    d.check("revoking warns that Bob watches the SOS", warning().startswith("Bob is watching"), "")
    yield from d.tap(d.by_text(contacts, "Who has seen my location?"))
    yield Until(lambda: core.state.viewers, 10, "who has seen my location")
    seen = [v["text"] for v in core.state.viewers]
    d.check(
        "who has seen my location names Bob and a UK time",
        any(re.fullmatch(r"Bob saw your location \(\d\d:\d\d\)", t) for t in seen),
        seen,
    )
    revoke = d.find(contacts.ids.list, lambda w: str(getattr(w, "text", "")).startswith("Hold to"))
    yield from d.hold(revoke, 0.5)
    d.check("a tap revokes nobody", len(core.state.contacts) == 1, core.state.contacts)
    yield from d.shot("revoke_warning")
    yield from d.hold(revoke, 2.4, done=lambda: core.state.busy or not core.state.contacts)
    yield Until(lambda: not core.state.contacts, 10, "Bob revoked")
    d.check(
        "the revoke is confirmed until dismissed",
        (core.state.notice or {}).get("text") == "Bob can no longer see your journeys.",
        core.state.notice,
    )
    yield from d.shot("revoked")


def watcher(d: Driver) -> Iterator[Any]:
    """Resident B: sees A's journey appear, watches it move, receives the SOS."""
    app, core = d.app, d.app.core
    yield Until(lambda: app.root is not None and core.state.signed_in, 20, "sign-in")
    yield from d.tap(d.screen("home").ids.nav_watching)
    yield Until(lambda: app.root.current == "watching", 3, "watching screen")

    pending: list[Any] = []

    def poll() -> bool:
        # One request at a time: a queue of refreshes would keep rebuilding the list.
        if not core.state.shared_with_me and (not pending or pending[-1].done()):
            pending.append(core.submit(core.load_shared_with_me))
        return bool(core.state.shared_with_me) and pending[-1].done()

    yield Until(poll, 40, "A's journey shared with B")

    def watch_button() -> Any:
        shared = d.screen("watching").ids.shared
        return d.find(shared, lambda w: str(getattr(w, "text", "")).startswith("Watch "))

    yield Until(watch_button, 10, "the Watch button")
    yield 0.5
    watch = watch_button()  # found again: the list may have been redrawn meanwhile
    yield from d.tap(watch)
    yield Until(lambda: len(core.state.watch_track) >= 2, 40, "A's position moving")
    d.check(
        "B sees A's journey move", len(core.state.watch_track) >= 2, core.state.watch_track[-3:]
    )
    yield from d.shot("watching")
    yield Until(
        lambda: any((a.get("kind") or a.get("type")) == "sos" for a in core.state.alerts),
        40,
        "the SOS",
    )
    d.check("B receives A's SOS", True, core.state.alerts)
    yield 1
    yield from d.shot("sos")
    watching = d.screen("watching")
    yield Until(lambda: watching.ids.sos_banner.text, 20, "the red SOS line")
    d.check(
        "the SOS is at the top in red with A's name and a UK time",
        re.match(r"SOS from Alice at \d\d:\d\d\.", watching.ids.sos_banner.text) is not None,
        watching.ids.sos_banner.text,
    )
    yield from d.tap(watching.ids.open_maps)
    d.check(
        "Open in maps gives an OpenStreetMap link to A's last position (desktop)",
        re.fullmatch(
            r"https://www\.openstreetmap\.org/\?mlat=53\.\d{5}&mlon=-2\.\d{5}#map=17/53\.\d{5}/-2\.\d{5}",
            app.last_map_link,
        )
        is not None,
        app.last_map_link,
    )
    if d.args.params.get("revoke"):
        yield Until(lambda: core.state.watch_ended, 60, "A stops sharing")
        d.check(
            "B is told who stopped sharing and when",
            re.fullmatch(r"Alice stopped sharing with you at \d\d:\d\d", core.state.watch_ended)
            is not None,
            core.state.watch_ended,
        )
        yield Frames(5)
        yield from d.shot("revoked")


def _headline(core: Any) -> str:
    return str((core.state.sos or {}).get("headline", ""))


def sos_offline(d: Driver) -> Iterator[Any]:
    """No signal, no journey: hold SOS. The phone saves it and says it is not sent; when
    the network returns the outbox sends it and the panel names who it reached."""
    app, core = d.app, d.app.core
    yield Until(lambda: app.root is not None and core.state.position is not None, 20, "start")
    yield Frames(5)
    home = d.screen("home")
    yield from d.hold(home.ids.sos, 0.5)
    d.check(
        "a short press says keep holding and saves nothing",
        core.state.message == "Keep holding to send SOS" and core.state.sos is None,
        (core.state.message, core.state.sos),
    )
    yield from d.shot("sos_keep_holding")
    yield from d.hold(home.ids.sos, 2.4, done=lambda: core.state.sos)
    yield Until(lambda: (core.state.sos or {}).get("phase") == "not_sent", 20, "SOS not sent")
    d.check(
        "offline: the panel says not sent, no signal",
        _headline(core)
        == "Not sent yet: no signal. Keep holding to retry, call 999, or text your contacts",
        core.state.sos,
    )
    texts = _texts(d, "home")
    d.check("offline: nothing on screen claims delivery", "Delivered" not in texts, texts)
    yield from d.shot("sos_not_sent")
    # The test restarts the server when it sees this file.
    (Path(d.args.data_dir) / "network_may_return").write_text("1")
    yield Until(lambda: (core.state.sos or {}).get("phase") == "answered", 40, "SOS answered")
    d.check(
        "back online: the panel names who it reached",
        _headline(core) == "SafeHaven has your SOS. Alerting Bob",
        core.state.sos,
    )
    yield Frames(5)
    yield from d.shot("sos_delivered")


def share_twice(d: Driver) -> Iterator[Any]:
    """Share with no one (refused, plainly); then with Bob; arrive; then with Jo only."""
    app, core = d.app, d.app.core
    params = d.args.params
    yield Until(lambda: app.root is not None and core.state.signed_in, 20, "sign-in")
    core.submit(core.load_contacts)
    yield Until(lambda: len(core.state.contacts) >= 2, 10, "two contacts")
    dest = (float(params["dest_lat"]), float(params["dest_lon"]))
    core.destination_from_map(*dest)
    yield from d.tap(d.screen("home").ids.share)
    yield Until(lambda: app.root.current == "journey", 3, "journey screen")
    yield 0.5
    journey_screen = d.screen("journey")
    yield from d.tap(d.by_text(journey_screen, "Start sharing"))
    yield Until(lambda: core.state.notice, 10, "the refusal")
    d.check(
        "sharing with no one is refused in a sentence",
        (core.state.notice or {}).get("kind") == "no_recipients" and core.state.journey is None,
        core.state.notice,
    )
    yield from d.shot("share_no_one")
    yield from d.tap(d.by_text(journey_screen, "OK"))  # the refusal stays until dismissed
    d.check("the refusal is dismissed by OK", core.state.notice is None, core.state.notice)

    def toggles() -> dict[str, Any]:
        return {
            w.text: w
            for w in journey_screen.walk(restrict=True)
            if w.__class__.__name__ == "Toggle"
        }

    yield from d.tap(toggles()["Bob"])
    d.check(
        "Bob chosen",
        core.state.share_selection == [params_id(core, "Bob")],
        core.state.share_selection,
    )
    yield from d.tap(d.by_text(journey_screen, "Start sharing"))
    yield Until(lambda: core.state.journey, 15, "first journey")
    yield Frames(5)
    yield from d.shot("share_first_live")
    yield from d.tap(journey_screen.view.ids.arrived)
    yield Until(lambda: core.state.journey is None, 15, "arrived")
    d.check(
        "arrival confirmed and kept on screen",
        (core.state.notice or {}).get("text", "").startswith("You've arrived"),
        core.state.notice,
    )
    yield from d.shot("arrived")
    core.destination_from_map(*dest)
    yield 0.5
    shown = {name: t.state for name, t in toggles().items()}
    d.check("after a journey nobody is chosen", shown == {"Bob": "normal", "Jo": "normal"}, shown)
    yield from d.tap(toggles()["Jo"])
    yield from d.shot("share_second_plan")
    shown = {name: t.state for name, t in toggles().items()}
    d.check("only Jo is shown chosen", shown == {"Bob": "normal", "Jo": "down"}, shown)
    yield from d.tap(d.by_text(journey_screen, "Start sharing"))
    yield Until(lambda: core.state.journey, 15, "second journey")
    d.check(
        "the second journey goes to Jo only",
        core.state.journey.get("contact_ids") == [params_id(core, "Jo")],
        core.state.journey,
    )


def params_id(core: Any, name: str) -> int:
    return next(int(c["user_id"]) for c in core.state.contacts if c["name"] == name)


def reporter(d: Driver) -> Iterator[Any]:
    """A resident reports with the pin and a photo, gets the reference, and reads the
    officer's note in My reports (the harness adds the note once the report exists)."""
    from kivy.core.window import Window

    app, core = d.app, d.app.core
    params = d.args.params
    yield Until(lambda: core.state.signed_in, 15, "sign-in")
    core.client.register_device(params["device"])
    yield from d.tap(d.screen("home").ids.nav_report)
    yield Until(lambda: app.root.current == "report", 3, "report screen")
    report = d.screen("report")
    yield Until(lambda: core.state.categories, 10, "report categories")
    yield Until(lambda: core.state.report_pin, 10, "the pin at the current position")
    d.check(
        "pin defaults to where I am",
        core.state.report_pin["label"] == "Where you are now",
        core.state.report_pin,
    )
    yield from d.tap(report.ids.category)
    yield 0.4
    wanted = "Sexual harassment or violence (outside the home)"
    options = []
    for child in Window.children:
        for w in child.walk(restrict=True):
            if w.__class__.__name__ == "SpinnerOption":
                options.append(w)
    cut = [
        o.text
        for o in options
        if o.texture_size[0] > o.width + 1 or o.texture_size[1] > o.height + 1
    ]
    d.check(
        "every category shows in full in the list", bool(options) and not cut, cut or len(options)
    )
    yield from d.shot("12_report_categories")
    option = next((o for o in options if o.text == wanted), None)
    if option is None:
        raise Abort(f"no dropdown option {wanted!r}")
    yield from d.tap(option)
    spinner = report.ids.category
    d.check(
        "the chosen category shows in full",
        spinner.text == wanted
        and spinner.texture_size[0] <= spinner.width
        and spinner.texture_size[1] <= spinner.height,
        (spinner.texture_size, spinner.size),
    )
    yield from d.type_into(
        report.ids.description, "A man followed me from the bus station and grabbed my arm."
    )
    # A place the borough's data does not hold: what is accepted stays on screen.
    yield from d.type_into(report.ids.place, "Wigan Pier")
    yield from d.tap(report.ids.find_place)
    yield Until(lambda: core.state.report_place_problem, 10, "the place refused")
    yield Frames(3)
    d.check(
        "what is accepted is on screen under the field",
        "a street with its town (Market Street, Hindley)" in report.ids.place_problem.text
        and report.ids.place_problem.height > 0,
        report.ids.place_problem.text,
    )
    report.ids.page.scroll_to(report.ids.place_problem, animate=False)
    yield Frames(3)
    yield from d.shot("13b_report_place_unknown")
    report.ids.place.text = ""
    yield from d.type_into(report.ids.place, "Market Street, Hindley")
    yield from d.tap(report.ids.find_place)
    yield Until(
        lambda: (core.state.report_pin or {}).get("label", "").startswith("Market Street, Hindley"),
        10,
        "the pin at the street, by name",
    )
    yield Frames(3)
    d.check(
        "the place's name is on screen before sending",
        "Market Street, Hindley (street, Hindley ward)" in report.ids.where.text,
        report.ids.where.text,
    )
    report.ids.page.scroll_to(report.ids.where, animate=False)
    yield Frames(3)
    yield from d.shot("13a_report_place_named")
    core.add_report_photo(params["photo"])  # the file chooser's job
    yield Until(lambda: len(core.state.report_photos) == 1, 5, "the photo attached")
    report.ids.anonymous.active = False
    report.ids.page.scroll_to(report.ids.photos_line, animate=False)
    yield Frames(3)
    d.check(
        "the photo is listed",
        "IMG_2044.jpg" in report.ids.photos_line.text,
        report.ids.photos_line.text,
    )
    yield from d.shot("13_report_pin_photo")
    yield from d.tap(report.ids.send)
    yield Until(
        lambda: core.state.last_report and core.state.last_report.get("photos_sent") == 1,
        20,
        "the report and its photo sent",
    )
    yield Until(lambda: "WGN-" in report.sent_text, 5, "the reference on screen")
    reference = core.state.last_report["reference"]
    d.check("the reference is shown", reference in report.ids.sent_banner.text, report.sent_text)
    yield Frames(3)
    banner_y = report.ids.sent_banner.to_window(*report.ids.sent_banner.pos)[1]
    d.check("the reference is on screen, not scrolled away", 0 < banner_y < Window.height, banner_y)
    (Path(d.args.data_dir) / "reference.txt").write_text(reference)
    yield 0.3
    yield from d.shot("14_report_sent")
    yield from d.tap(report.ids.my_reports)
    yield Until(lambda: app.root.current == "my_reports", 3, "My reports")
    note = params["note"]

    def noted() -> bool:
        mine = core.state.my_reports or []
        if not any(r.get("public_note") == note for r in mine):
            core.submit(core.load_my_reports)
            return False
        return True

    yield Until(noted, 30, "the officer's note")
    yield 0.5
    texts = _texts(d, "my_reports")
    d.check("My reports shows the note", note in texts, texts[:300])
    d.check("My reports shows the reference", reference in texts, texts[:300])
    d.check(
        "dates are UK style", bool(re.search(r"\d\d/\d\d/20\d\d \d\d:\d\d", texts)), texts[:300]
    )
    yield from d.shot("15_my_reports")


# --- the street map (test_ui_map) --------------------------------------------------------------


def _map_tiles_shown(street_map: Any) -> int:
    mapview = street_map.mapview
    if mapview is None:
        return 0
    return sum(1 for tile in mapview._tiles if getattr(tile, "texture", None) is not None)


def _drawn_boxes(widget: Any, group: str) -> list[tuple[float, float, float, float]]:
    """Where a widget's canvas drew the instructions of ``group`` (x, y, width, height)."""
    # (a textured rectangle brings a BindTexture into its group: it has no place)
    return [(*i.pos, *i.size) for i in widget.canvas.get_group(group) if hasattr(i, "pos")]


def _in_sight(scroll: Any, widget: Any) -> bool:
    """The whole widget is inside the scroll view's visible part, and in the window."""
    _, wy = widget.to_window(widget.x, widget.y)
    _, sy = scroll.to_window(scroll.x, scroll.y)
    return (
        _on_screen(widget)
        and sy - 0.5 <= wy
        and wy + widget.height <= sy + scroll.height + 0.5
        and widget.height > 4
    )


def _on_screen(widget: Any) -> bool:
    from kivy.core.window import Window

    x, y = widget.to_window(widget.x, widget.y)
    return (
        widget.opacity > 0
        and widget.width > 4
        and 0 <= x
        and x + widget.width <= Window.width + 0.5
        and 0 <= y
        and y + widget.height <= Window.height + 0.5
    )


def _row_visible(d: Driver, row: Any) -> bool:
    scroll = d.screen("places").ids.scroll
    _, ry = row.to_window(row.x, row.y)
    _, sy = scroll.to_window(scroll.x, scroll.y)
    return sy - 1 <= ry and ry + min(row.height, scroll.height) <= sy + scroll.height + 1


def street_map(d: Driver) -> Iterator[Any]:
    """``phase``: online (tiles fetched, markers, clusters, pack downloaded), cache (tile
    server stopped), pack (no signal at all), wards (no tiles, no pack)."""
    from mobile_client.core.geo import boxes_overlap
    from mobile_client.ui.streetmap import CachedTileSource
    from mobile_client.ui.widgets import LABEL_GROUP, MARKER_GROUP

    app, core = d.app, d.app.core
    phase = d.args.params["phase"]
    app.open_directions = lambda url: core.state.update(message=f"directions {url}")
    yield Until(lambda: app.root is not None, 20, "the app")
    if phase != "pack":
        yield Until(lambda: core.state.signed_in, 20, "sign-in")
    yield from d.go("places")
    yield Until(lambda: core.state.app_config is not None, 15, "the app config")
    core.submit(core.find_safe_places)
    yield Until(lambda: core.state.places, 15, "safe places")
    screen = d.screen("places")
    street = screen.ids.map
    attribution = core.state.app_config["tiles"]["attribution"]

    if phase in ("online", "cache"):
        yield Until(lambda: isinstance(street.source, CachedTileSource), 10, "the tile source")
        yield Until(lambda: _map_tiles_shown(street) >= 4, 20, "street tiles on screen")
        source = street.source
        if phase == "online":
            d.check("tiles fetched from the tile server", source.fetched >= 4, source.fetched)
        else:
            d.check(
                "tiles shown from the phone's cache, none fetched",
                source.cached >= 4 and source.fetched == 0,
                (source.cached, source.fetched, source.failed),
            )
        d.check("the street map is shown, not the wards", street.mode == "tiles", street.mode)
        label = street.ids.attribution
        d.check(
            "attribution visible on the map",
            label.text == attribution and _on_screen(label),
            (label.text, label.opacity, label.pos),
        )

    if phase == "online":
        street.show_all()
        yield Frames(8)
        yield Until(lambda: _map_tiles_shown(street) >= 4, 20, "street tiles after fitting")
        yield Frames(4)
        yield from d.shot("street_tiles")
        # Tap a single marker: its venue is selected and its row scrolled into view.
        yield Until(lambda: street._place_layer.markers, 5, "markers")
        singles = [m for m in street._place_layer.markers if m.place is not None]
        far = max(singles, key=lambda m: m.place.get("distance_m") or 0)
        yield from d.tap(far)
        yield Until(
            lambda: (core.state.selected_place or {}).get("id") == far.place["id"],
            5,
            "the tapped marker's venue selected",
        )
        yield Frames(4)
        rows = [r for r in screen._rows if r.selected]
        d.check(
            "the tapped marker's row is selected and in view",
            len(rows) == 1 and rows[0].place["id"] == far.place["id"] and _row_visible(d, rows[0]),
            [r.place.get("name") for r in rows],
        )
        d.check(
            "tapping a marker does not set a map point",
            core.state.destination is None,
            core.state.destination,
        )
        # Zoomed out, nearby places cluster and no marker covers another.
        street.mapview.zoom = street.mapview.zoom - 1
        yield Frames(8)
        markers = street._place_layer.markers
        clusters = [m for m in markers if len(m.members) >= 2]
        overlapping = [
            (a.text, b.text)
            for i, a in enumerate(markers)
            for b in markers[i + 1 :]
            if abs(a.center_x - b.center_x) < a.width and abs(a.center_y - b.center_y) < a.height
        ]
        d.check("places cluster when zoomed out", bool(clusters), [m.text for m in markers])
        d.check("no marker covers another", not overlapping, overlapping)
        yield from d.shot("clustered")
        # A destination set by holding the map is confirmed on screen.
        street.mapview.zoom = 15
        street.centre_on_me()
        yield Frames(6)
        # Hold a spot of the map at least two markers' width from every marker.
        spots = [
            (street.x + street.width * fx, street.y + street.height * fy)
            for fx in (0.1, 0.3, 0.5, 0.7, 0.9)
            for fy in (0.2, 0.5, 0.8)
        ]
        markers = street._place_layer.markers
        spot = max(
            spots,
            key=lambda p: min(
                [abs(m.center_x - p[0]) + abs(m.center_y - p[1]) for m in markers] or [1e9]
            ),
        )
        mv = street.mapview
        held = mv.get_latlon_at(spot[0] - mv.x, spot[1] - mv.y)
        yield from d.hold_at(*street.to_window(*spot), 1.0)
        yield Until(lambda: core.state.destination is not None, 5, "a map destination")
        yield Frames(4)
        dest = core.state.destination
        d.check(
            "the destination is the point the map was held at",
            abs(dest["lat"] - held[0]) < 1e-6 and abs(dest["lon"] - held[1]) < 1e-6,
            (dest, held),
        )
        note = screen.ids.note
        d.check(
            "the map destination is confirmed on screen",
            note.text.startswith("Destination set: Map point") and _on_screen(note),
            note.text,
        )
        # The closing-soon place is listed after those open long enough, in amber.
        amber = [r for r in screen._rows if r.place.get("tone") == "amber"]
        d.check(
            "a place closing soon is amber and listed after the long-open ones",
            len(amber) == 1
            and amber[0].place["hours_text"].startswith("Closes in")
            and screen._rows.index(amber[0]) == len(core.state.places) - 1,
            [(r.place.get("name"), r.place.get("hours_text")) for r in screen._rows],
        )
        screen.ids.scroll.scroll_to(amber[0], padding=4, animate=False)
        yield Frames(4)
        yield from d.shot("closing_soon")
        # Settings: download the borough's offline map pack.
        yield from d.go("settings")
        button = d.screen("settings").ids.offline_map
        yield from d.tap(button)
        yield Until(lambda: core.state.offline_map, 20, "the offline map downloaded")
        d.check("the offline map pack is saved", bool(core.state.offline_map), core.state)

    if phase == "pack":
        yield Until(lambda: core.state.online is False, 10, "no signal noticed")
        yield Until(lambda: street.mode == "pack", 10, "the offline map pack in use")
        yield Until(lambda: _map_tiles_shown(street) >= 4, 20, "pack tiles on screen")
        note = screen.ids.note
        d.check(
            "the stored list says how old it is",
            core.state.places_note.startswith("as of ")
            and "not updated: no signal" in note.text
            and _on_screen(note),
            note.text,
        )
        label = street.ids.attribution
        d.check("the pack's attribution is visible", _on_screen(label) and label.text, label.text)
        d.check(
            "no false 'saved' message",
            "Saved" not in (core.state.message or ""),
            core.state.message,
        )
        yield from d.shot("offline_list")

    if phase == "wards":
        yield Until(lambda: street.mode == "wards", 20, "the ward outlines fallback")
        offline = street.ids.offline
        d.check(
            "'map offline' is on screen",
            offline.text == "map offline" and _on_screen(offline),
            offline.opacity,
        )
        yield Frames(6)
        yield from d.shot("offline_fallback")
        # No marker covers another or a ward name, at every zoom: read from what the map
        # drew (its canvas), zooming out from streets to the whole borough.
        wards = street.ids.wards
        overlaps, labels_seen, markers_seen = [], 0, 0
        for radius in (300, 600, 1200, 2400, 4800, 9600, 19200):
            wards.radius_m = radius
            yield Frames(4)
            drawn_markers = _drawn_boxes(wards, MARKER_GROUP)
            drawn_labels = _drawn_boxes(wards, LABEL_GROUP)
            labels_seen += len(drawn_labels)
            markers_seen += len(drawn_markers)
            overlaps += [
                (radius, "marker", i, "label", j)
                for i, m in enumerate(drawn_markers)
                for j, label in enumerate(drawn_labels)
                if boxes_overlap(m, label)
            ]
            overlaps += [
                (radius, "marker", i, "marker", j)
                for i, m in enumerate(drawn_markers)
                for j, other in enumerate(drawn_markers)
                if i < j and boxes_overlap(m, other)
            ]
            if radius == 2400:
                yield from d.shot("offline_zoomed_out")
        d.check(
            "no marker covers another or a ward name at 7 zooms",
            not overlaps and labels_seen >= 20 and markers_seen >= 7,
            (overlaps[:5], labels_seen, markers_seen),
        )
        wards.radius_m = 600
        yield Frames(4)
        # Every open place is over the long-walk threshold here: the late-night options.
        yield Until(lambda: core.state.late_night, 10, "the late-night options")
        yield Frames(4)
        box = next(w for w in screen.ids.list.children if w.__class__.__name__ == "LateNightBox")
        texts = " | ".join(
            w.text for w in box.walk(restrict=True) if getattr(w, "text", "") and w.opacity > 0
        )
        taxi = core.state.late_night["taxis"][0]
        d.check(
            "late-night options with the licensed-taxi reminder, numbers and sources",
            "Use a licensed taxi" in texts
            and taxi["phone"] in texts
            and f"Source: {taxi['source']}" in texts,
            texts[-300:],
        )
        staffed = box.ids.staffed
        d.check(
            "the nearest staffed place is named, with directions",
            staffed.text.startswith("Staffed all night: Wigan Police Station")
            and staffed.text.endswith("directions"),
            staffed.text,
        )
        # Every option is in sight as the list first shows, at 360x640: nothing scrolled.
        scroll = screen.ids.scroll
        options = [
            box.ids.heading,
            staffed,
            box.ids.reminder,
            *[w for w in box.ids.taxis.children if getattr(w, "text", "")],
        ]
        hidden = [w.text[:40] for w in options if not _in_sight(scroll, w)]
        d.check(
            "the late-night options are in sight without scrolling",
            scroll.scroll_y >= 0.999 and not hidden and len(options) >= 5,
            (scroll.scroll_y, hidden, len(options)),
        )
        # Directions to the staffed place go to the maps app (a link on a desktop).
        yield from d.tap(staffed)
        yield Until(lambda: "directions" in (core.state.message or ""), 5, "directions opened")
        d.check(
            "the staffed place's directions are a walking route",
            "openstreetmap.org/directions" in core.state.message,
            core.state.message,
        )
        core.state.update(message="")
        scroll.scroll_y = 1
        yield Frames(4)
        yield from d.shot("late_night")
        # A tap on a cluster zooms in on it; a tap on a single marker selects its place.
        wards.radius_m = 2400
        yield Frames(4)
        cluster = next((hit for hit in wards.marker_hits if len(hit[1]) > 1), None)
        if cluster is not None:
            (bx, by, bw, bh), _members = cluster
            yield from d.hold_at(*wards.to_window(bx + bw / 2, by + bh / 2), 0.1)
            yield Frames(4)
        d.check("a tap on a cluster zooms in", cluster and wards.radius_m == 1200, cluster)
        wards.radius_m = 600
        wards.center_ll = None
        yield Frames(4)
        (bx, by, bw, bh), (place,) = next(h for h in wards.marker_hits if len(h[1]) == 1)
        yield from d.hold_at(*wards.to_window(bx + bw / 2, by + bh / 2), 0.1)
        yield Until(
            lambda: (core.state.selected_place or {}).get("id") == place["id"],
            5,
            "the tapped fallback marker's place selected",
        )
        d.check(
            "a tap on a fallback marker selects its place, not a map point",
            core.state.destination is None,
            core.state.destination,
        )
        # Shut now, open by the time you could walk there: listed as open, and said so.
        early = next((r for r in screen._rows if r.place.get("name") == "Early Bird Cafe"), None)
        line = (early.place.get("hours_text") if early else "") or ""
        d.check(
            "a place opening before you arrive is open, saying when it opens",
            early is not None
            and early.place.get("open_now") is False
            and early.place.get("tone") == "open"
            and re.fullmatch(r"Opens \d\d:\d\d, before you arrive; open until \d\d:\d\d", line),
            line,
        )
        if early is not None:
            screen.ids.scroll.scroll_to(early, padding=4, animate=False)
            yield Frames(4)
            yield from d.shot("opens_before_arrival")


def _survey_toggle(d: Driver, text: str) -> Any:
    return d.find(
        d.screen("surveys").ids.form,
        lambda w: w.__class__.__name__ in ("ToggleButton", "Toggle") and w.text == text,
    ) or d.by_text(d.screen("surveys").ids.form, text)


def _scroll_top(d: Driver) -> Iterator[Any]:
    from kivy.uix.scrollview import ScrollView

    page = d.screen("surveys").ids.form.parent
    while page is not None and not isinstance(page, ScrollView):
        page = page.parent
    if page is not None:
        page.scroll_y = 1
    yield Frames(4)


def translated_survey(d: Driver) -> Iterator[Any]:
    """A translated, grouped survey in the phone's language (Polish, from LANG): the night
    section appears with "Tak", every new type answered by touch, the contract's complaints
    under their questions, a switch to English that keeps the answers, then sent."""
    app, core = d.app, d.app.core
    params = d.args.params
    want = params.get("language", "pl")
    yield Until(lambda: app.root is not None and core.state.signed_in, 20, "sign-in")
    yield from d.go("home")
    yield from d.tap(d.screen("home").ids.nav_surveys)
    yield Until(lambda: app.root.current == "surveys", 3, "surveys screen")
    yield Until(lambda: core.state.surveys, 10, "open surveys")
    screen = d.screen("surveys")

    def listed() -> Any:
        return d.find(screen.ids.list, lambda w: w.__class__.__name__ == "FlatButton")

    yield Until(listed, 10, "the list drawn")
    yield from d.tap(listed())
    yield Until(lambda: core.state.survey and screen.send_button, 10, "the survey opened")
    yield Frames(4)
    d.check(f"the phone's language ({want}) is the survey's", core.state.survey_language == want)
    title = {"pl": "Bezpieczeństwo w nocy", "ur": "رات کو تحفظ کا احساس"}.get(
        want, "Feeling safe at night"
    )
    d.check("the title is in that language", title in _texts(d, "surveys"), _texts(d, "surveys"))
    night = {"pl": "Twoje ostatnie wyjście wieczorem"}.get(want, "Your last night out")
    d.check(
        "the night section is hidden before its condition holds",
        night not in _texts(d, "surveys"),
        _texts(d, "surveys")[:300],
    )
    yield from d.shot(f"survey_{want}_start")
    if want == "ur":
        return  # the Urdu screenshot shows the rendering; answering is the same in any language

    yield from d.tap(_survey_toggle(d, "Tak"))
    yield Until(lambda: screen._headings["night"].get_root_window() is not None, 5, "the section")
    d.check("the night section appears under its heading", night in _texts(d, "surveys"))
    # Send with the required slider untouched: the contract's complaint shows under it.
    yield from d.tap(screen.send_button)
    yield Until(lambda: screen._errors["feel_safe"].text, 5, "the complaint")
    d.check(
        "the contract's complaint is shown next to the question",
        "required" in screen._errors["feel_safe"].text,
        screen._errors["feel_safe"].text,
    )
    yield from d._into_view(screen._blocks["feel_safe"])  # scroll to it (a tap would answer)
    yield from d.shot(f"survey_{want}_errors")

    controls = screen.controls
    yield from d.type_into(controls["last_out"].widget, "05/11/2026")
    yield from d.type_into(controls["home_by"].widget, "23:30")
    slider = controls["feel_safe"]
    plus = d.find(slider.widget, lambda w: getattr(w, "text", "") == "+")
    for _ in range(5):  # the first press answers with the lowest value, then one step each
        yield from d.tap(plus)
    d.check(
        "the slider shows its value",
        slider.value() == 4 and slider.shown.text.startswith("Your answer: 4 "),
        slider.shown.text,
    )
    yield from d.type_into(controls["walk_km"].widget, "2,5")
    rank = controls["priorities"]
    down = d.find(rank.box, lambda w: getattr(w, "text", "") == "Down" and not w.disabled)
    yield from d.tap(down)  # lighting goes below patrols
    yield Frames(3)
    down = [w for w in rank.box.walk(restrict=True) if getattr(w, "text", "") == "Down"][1]
    yield from d.tap(down)  # and below taxis
    d.check(
        "the rank list moved by touch",
        rank.order == ["patrols", "taxis", "lighting"],
        rank.order,
    )
    if params.get("offline"):
        # The test cuts the network now: the answers are kept, and said not to be sent.
        data = Path(d.args.data_dir)
        (data / "ready_to_send").write_text("1")
        yield Until(lambda: (data / "network_down").exists(), 20, "the network cut")
        core.state.update(message="")
        yield from d.tap(screen.send_button)
        yield Until(lambda: core.state.message, 15, "the phone's answer")
        d.check(
            "without signal the answers are saved on the phone, not claimed sent",
            "saved on this phone, not sent yet" in core.state.message
            and core.state.surveys_waiting == [core.state.survey["id"]],
            core.state.message,
        )
        yield Frames(3)
        d.check(
            "the form says the answers wait on the phone, below the button",
            screen._waiting.get_root_window() is not None,
            _texts(d, "surveys")[-300:],
        )
        yield from d._into_view(screen._waiting)
        yield from d.shot(f"survey_{want}_saved_not_sent")
        (data / "network_may_return").write_text("1")
        yield Until(
            lambda: core.state.message.startswith("Thank you for answering"),
            40,
            "the answers sent once the network is back",
        )
    else:
        yield from d.tap(screen.send_button)  # scrolls to it: reachable at the end of the form
    yield Until(lambda: core.state.message, 10, "an answer from the form or the server")
    yield Frames(3)
    d.check(
        "once the server has them, nothing says they wait",
        screen._waiting.get_root_window() is None,
        core.state.surveys_waiting,
    )
    yield from d.shot(f"survey_{want}_answered")
    d.check(
        "answers sent: said only once the server has them",
        core.state.message.startswith("Thank you for answering"),
        f"{core.state.message!r}; errors {core.state.survey_errors}",
    )

    # The same survey in English: the answers are values, so they stay.
    yield from _scroll_top(d)
    yield from d.tap(_survey_toggle(d, "English"))
    yield Until(lambda: core.state.survey_language == "en", 5, "English")
    yield Frames(4)
    yield Until(lambda: "Your last night out" in _texts(d, "surveys"), 5, "English texts")
    d.check(
        "answers kept across the change of language",
        screen.controls["last_out"].widget.text == "05/11/2026"
        and screen.controls["priorities"].order == ["patrols", "taxis", "lighting"],
        screen.answers(),
    )
    yield from d.shot("survey_en_start")
    yield from d._into_view(screen._blocks["priorities"])
    yield from d.shot("survey_en_answered")
    # Opened again later: my earlier answers, from the server, shown the UK way to change.
    yield from _scroll_top(d)
    core.state.update(survey=None)
    yield Frames(3)
    yield from d.tap(listed())
    yield Until(lambda: core.state.survey and core.state.survey_answers, 10, "my answers")
    yield Frames(4)
    shown = screen.controls
    d.check(
        "my earlier answers are shown to change: the date the UK way",
        shown["last_out"].widget.text == "05/11/2026"
        and shown["home_by"].widget.text == "23:30"
        and shown["walk_km"].widget.text == "2.5"
        and shown["feel_safe"].shown.text.startswith("Your answer: 4 ")
        and shown["priorities"].order == ["patrols", "taxis", "lighting"],
        screen.answers(),
    )
    yield from d._into_view(screen._blocks["last_out"])
    yield from d.shot(f"survey_{want}_reopened")  # in the phone's language again
