"""``python -m mobile_client --server URL [--demo]``: run the app on a desktop (or a phone)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m mobile_client", description=__doc__)
    parser.add_argument(
        "--server", default=None, help="SafeHaven server, e.g. http://127.0.0.1:5000"
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        help="sign in as demo-resident (local dev server) and simulate walking",
    )
    parser.add_argument(
        "--token",
        default=os.environ.get("SAFEHAVEN_TOKEN"),
        help="sign-in token (or SAFEHAVEN_TOKEN)",
    )
    parser.add_argument("--data-dir", default=None, help="where the app keeps its token and outbox")
    parser.add_argument("--simulate", action="store_true", help="simulate walking instead of GPS")
    parser.add_argument(
        "--speedup", type=float, default=1.0, help="simulated walking time multiplier"
    )
    parser.add_argument("--size", default="405x800", help="desktop window size WxH")
    return parser.parse_args(argv)


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "safehaven-app"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    data_dir = Path(args.data_dir) if args.data_dir else default_data_dir()
    os.environ.setdefault("KIVY_HOME", str(data_dir / "kivy"))
    Path(os.environ["KIVY_HOME"]).mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    width, _, height = args.size.partition("x")
    from kivy.config import Config

    Config.set("graphics", "width", width or "405")
    Config.set("graphics", "height", height or "800")
    Config.set("input", "mouse", "mouse,multitouch_on_demand")
    Config.set("kivy", "exit_on_escape", "0")

    from mobile_client.core.controller import Core
    from mobile_client.ui.app import SafeHavenApp

    core = Core(data_dir, server_url=args.server, token=args.token)
    app = SafeHavenApp(
        core, demo=args.demo, simulate=args.simulate or args.demo, speedup=args.speedup
    )
    app.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
