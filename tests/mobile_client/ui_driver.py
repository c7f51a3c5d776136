"""Drives the real app in its own process: a real Kivy window, touches through the window's
event loop, screenshots of what was on screen. Run by ``test_ui.py``:

    python -m tests.mobile_client.ui_driver --scenario tour --server URL --token T \
        --data-dir D --out ARTIFACTS --result result.json [--feature venues ...]

Writes ``result.json``: ``{"checks": {name: [ok, detail]}, "screenshots": [...], "error": ...}``.
A scenario is a generator that yields waits: a number (seconds), ``until(pred, timeout)``
or ``frames(n)``; it never sleeps, so the window keeps rendering while it waits."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

WIDTH, HEIGHT = 360, 640  # a small phone, in dp (density 1 on the desktop)


class Abort(Exception):
    pass


# A wait is as long as a scenario says times this: on a loaded machine (CI beside other work)
# a server answer or a frame can take several times its usual time. Only a failing wait is
# slower for it. (2.5 was not enough at load 17-20 on the 2-core machine with both engines'
# passes on two xdist workers each: 'street tiles on screen', 'who has seen my location'.)
PATIENCE = 4.0


class Until:
    def __init__(self, pred: Callable[[], Any], timeout: float, what: str) -> None:
        self.pred, self.timeout, self.what = pred, timeout * PATIENCE, what


class Frames:
    def __init__(self, n: int) -> None:
        self.n = n


class Driver:
    """Touches, waits, checks and screenshots for a scenario."""

    def __init__(self, app: Any, args: argparse.Namespace) -> None:
        self.app = app
        self.args = args
        self.out = Path(args.out)
        self.out.mkdir(parents=True, exist_ok=True)
        self.checks: dict[str, list[Any]] = {}
        self.screenshots: list[str] = []
        self.features = set(args.feature or [])
        self.prefix = args.prefix
        self.t0 = time.monotonic()

    # -- finding widgets ------------------------------------------------------------------
    def screen(self, name: str) -> Any:
        return self.app.root.get_screen(name)

    def find(self, root: Any, pred: Callable[[Any], bool]) -> Any | None:
        for w in root.walk(restrict=True):
            if pred(w):
                return w
        return None

    def by_text(self, root: Any, text: str) -> Any:
        w = self.find(root, lambda w: getattr(w, "text", None) == text and hasattr(w, "dispatch"))
        if w is None:
            raise Abort(f"no widget with text {text!r} on {getattr(root, 'name', root)}")
        return w

    def check(self, name: str, ok: bool, detail: Any = "") -> None:
        self.checks[name] = [bool(ok), str(detail)[:500]]
        self.log(f"check {'ok' if ok else 'FAILED'}: {name}")

    def log(self, text: str) -> None:
        print(f"[driver {time.monotonic() - self.t0:6.1f}s] {text}", file=sys.stderr, flush=True)

    # -- acting ---------------------------------------------------------------------------
    def _visible(self, widget: Any) -> None:
        from kivy.uix.scrollview import ScrollView

        parent = widget.parent
        for _ in range(100):  # the window is its own parent
            if parent is None:
                break
            if isinstance(parent, ScrollView):
                _, wy = widget.to_window(widget.x, widget.y)
                _, sy = parent.to_window(parent.x, parent.y)
                visible = sy <= wy and wy + widget.height <= sy + parent.height
                if not visible and parent.viewport_size[1] > parent.height:
                    parent.scroll_to(widget, padding=20, animate=False)
                break
            parent = parent.parent

    def _into_view(self, widget: Any) -> Iterator[Any]:
        """Scroll ``widget`` into the window and wait until its centre is inside it (a panel
        that just appeared can move it after the first scroll, while the layout settles)."""
        from kivy.core.window import Window

        def inside() -> bool:
            self._visible(widget)
            x, y = widget.to_window(*widget.center)
            return 0 <= x <= Window.width and 0 <= y <= Window.height

        for _ in range(5):  # a panel that redraws (the SOS delivery lines) can move it again
            yield Frames(3)
            yield Until(inside, 3, f"{getattr(widget, 'text', 'the widget')!r} in view")
            yield Frames(2)
            if inside():
                return
        raise Abort(f"{getattr(widget, 'text', widget)!r} does not stay in view")

    def tap(self, widget: Any) -> Iterator[Any]:
        from kivy.tests.common import UnitTestTouch

        # A ScreenManager ignores touches while a transition runs.
        yield Until(lambda: not self.app.root.transition.is_active, 3, "the screen transition")
        yield Frames(3)  # a widget added this frame is laid out on the next ones
        if widget.get_root_window() is None:
            raise Abort(f"{getattr(widget, 'text', widget)!r} is no longer on screen")
        yield from self._into_view(widget)
        x, y = widget.to_window(*widget.center)
        self.log(f"tap {getattr(widget, 'text', widget.__class__.__name__)!r} at {x:.0f},{y:.0f}")
        touch = UnitTestTouch(x, y)
        touch.touch_down()
        yield 0.35  # longer than ScrollView's scroll_timeout: a tap, not a scroll
        touch.touch_up()
        yield Frames(2)

    def hold(
        self, widget: Any, seconds: float, done: Callable[[], Any] | None = None
    ) -> Iterator[Any]:
        """Press ``widget`` for ``seconds``; with ``done``, keep holding (up to 10 s more)
        until it is true: a loaded machine draws few frames, and a hold counts frames' time."""
        from kivy.tests.common import UnitTestTouch

        yield Until(lambda: not self.app.root.transition.is_active, 3, "the screen transition")
        yield from self._into_view(widget)
        x, y = widget.to_window(*widget.center)
        self.log(f"hold {getattr(widget, 'text', widget.__class__.__name__)!r} at {x:.0f},{y:.0f}")
        touch = UnitTestTouch(x, y)
        touch.touch_down()
        yield seconds
        if done is not None:
            yield Until(done, 10, "the hold to take effect")
        touch.touch_up()
        yield Frames(2)

    def hold_at(self, x: float, y: float, seconds: float) -> Iterator[Any]:
        """Press and hold a window point (a spot on a map, not a widget)."""
        from kivy.tests.common import UnitTestTouch

        touch = UnitTestTouch(x, y)
        touch.touch_down()
        yield seconds
        touch.touch_up()
        yield Frames(2)

    def type_into(self, field: Any, text: str) -> Iterator[Any]:
        yield from self.tap(field)
        field.text = text  # the soft keyboard's job; focus came from the tap
        yield Frames(2)

    def go(self, name: str) -> Iterator[Any]:
        self.app.go(name)
        yield Until(lambda: self.app.root.current == name, 3, f"screen {name}")
        yield 0.3

    def shot(self, name: str) -> Iterator[Any]:
        from kivy.core.window import Window

        yield 0.4  # let a screen transition finish
        yield Frames(6)
        from tests.mobile_client.ui_scenarios import min_target_ok, raw_text_on

        current = self.app.root.current
        if current != "blank":
            ok, detail = min_target_ok(self, current)
            self.check(f"touch targets >= 48dp on {current} ({name})", ok, detail)
        raw = raw_text_on(self, current)
        self.check(f"no raw dict, ISO time or None on {current} ({name})", not raw, raw)
        final = self.out / f"{self.prefix}{name}.png"
        final.unlink(missing_ok=True)
        tmp = self.out / f".{self.prefix}{name}.png"
        path = Window.screenshot(name=str(tmp))
        if path:
            os.replace(path, final)
            self.screenshots.append(final.name)
            self.log(f"screenshot {final.name}")


def run(args: argparse.Namespace) -> dict[str, Any]:
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    from kivy.config import Config

    Config.set("graphics", "width", str(args.width))
    Config.set("graphics", "height", str(args.height))
    Config.set("graphics", "resizable", "0")
    Config.set("kivy", "exit_on_escape", "0")
    from kivy.clock import Clock

    from mobile_client.core.controller import Core
    from mobile_client.ui.app import SafeHavenApp
    from tests.mobile_client import ui_scenarios

    core = Core(args.data_dir, server_url=args.server, token=args.token)
    app = SafeHavenApp(core, simulate=True, speedup=args.speedup)
    driver = Driver(app, args)
    scenario = getattr(ui_scenarios, args.scenario)(driver)
    result: dict[str, Any] = {"error": None}
    state: dict[str, Any] = {"wait_until": 0.0, "until": None, "frames": 0, "done": False}
    deadline = time.monotonic() + args.timeout

    def finish(error: str | None) -> None:
        if state["done"]:
            return
        state["done"] = True
        result["error"] = error
        app.stop()

    def step(_dt: float) -> None:
        if state["done"]:
            return
        now = time.monotonic()
        if now > deadline:
            finish(f"scenario timed out after {args.timeout}s")
            return
        if state["frames"] > 0:
            state["frames"] -= 1
            return
        if now < state["wait_until"]:
            return
        until = state["until"]
        if until is not None:
            try:
                ok = until.pred()
            except Exception:  # noqa: BLE001 - a predicate may look at state not there yet
                ok = False
            if not ok:
                if now > until.started + until.timeout:
                    driver.check(f"waited for {until.what}", False, "timed out")
                    finish(
                        f"timed out waiting for {until.what}; state message: {core.state.message!r}"
                    )
                return
            state["until"] = None
        try:
            item = next(scenario)
        except StopIteration:
            finish(None)
            return
        except Abort as exc:
            finish(str(exc))
            return
        except Exception:  # noqa: BLE001 - report the scenario's own failures
            finish(traceback.format_exc())
            return
        if isinstance(item, Frames):
            state["frames"] = item.n
        elif isinstance(item, Until):
            driver.log(f"waiting for {item.what}")
            item.started = now  # type: ignore[attr-defined]
            state["until"] = item
        elif isinstance(item, int | float):
            state["wait_until"] = now + item

    def begin(_dt: float) -> None:
        Clock.schedule_interval(step, 0)

    Clock.schedule_once(begin, 0.5)
    try:
        app.run()
    except Exception:  # noqa: BLE001
        result["error"] = traceback.format_exc()
    result["checks"] = driver.checks
    result["screenshots"] = driver.screenshots
    result["final_state"] = {
        k: v
        for k, v in core.state.snapshot().items()
        if k
        in (
            "signed_in",
            "journey",
            "alerts",
            "watching",
            "outbox_pending",
            "outbox_failed",
            "message",
            "sos",
            "notice",
        )
    }
    return result


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scenario", required=True)
    parser.add_argument("--server", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--result", required=True)
    parser.add_argument("--feature", action="append")
    parser.add_argument("--prefix", default="")
    parser.add_argument("--speedup", type=float, default=1.0)
    parser.add_argument("--timeout", type=float, default=100.0)
    parser.add_argument("--width", type=int, default=WIDTH)
    parser.add_argument("--height", type=int, default=HEIGHT)
    parser.add_argument("--param", action="append", default=[], help="key=value for the scenario")
    args = parser.parse_args()
    args.params = dict(p.split("=", 1) for p in args.param)
    import faulthandler

    # A hung window must not hang the suite: dump every thread's stack and exit.
    faulthandler.dump_traceback_later(args.timeout + 5, exit=True)
    result = run(args)
    Path(args.result).write_text(json.dumps(result, indent=2, default=str), encoding="utf-8")
    sys.stderr.flush()
    os._exit(0)  # don't wait on the app's daemon threads


if __name__ == "__main__":
    # Run the importable module, not ``__main__``: scenarios import Until/Frames from it.
    from tests.mobile_client import ui_driver

    sys.exit(ui_driver.main())
