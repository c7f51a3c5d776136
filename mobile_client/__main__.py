"""``python -m mobile_client --server URL [--demo]``: run the app on a desktop (or a phone)."""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
from pathlib import Path

# Start-up lines that are no one's problem: Kivy writing a new config.ini on the first run.
HARMLESS_STARTUP = (
    "Older configuration version detected",
    "Upgrading configuration in progress",
)
# Without xclip or xsel Kivy logs a CRITICAL with two tracebacks about the X "cut buffer"
# (middle-click paste); copy and paste still work through SDL2.
NO_CUT_BUFFER = "Cutbuffer: Unable to find any valuable Cutbuffer provider"


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
    parser.add_argument(
        "--verbose", action="store_true", help="also show Kivy's start-up information"
    )
    return parser.parse_args(argv)


class StartupNoise(logging.Filter):
    """Drops the harmless start-up messages above; everything else at the handler's level
    (warnings and errors by default) is shown."""

    def __init__(self, cut_buffer_tool: bool) -> None:
        super().__init__()
        self.cut_buffer_tool = cut_buffer_tool

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        if text.partition(": ")[2].startswith(HARMLESS_STARTUP):  # after Kivy's "Config: "
            return False
        # With xclip or xsel installed, failing to use them is a real problem: keep it.
        return self.cut_buffer_tool or not text.startswith(NO_CUT_BUFFER)


def configure_logging(verbose: bool) -> None:
    """Python logging for the desktop app (Kivy's ``PYTHON`` log mode): warnings and errors,
    or with ``--verbose`` Kivy's start-up information too, less the harmless noise."""
    os.environ.setdefault("KIVY_LOG_MODE", "PYTHON")
    os.environ.setdefault("KIVY_NO_FILELOG", "1")
    handler = logging.StreamHandler()
    handler.setLevel(logging.INFO if verbose else logging.WARNING)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler.addFilter(StartupNoise(bool(shutil.which("xclip") or shutil.which("xsel"))))
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, handlers=[handler])


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "safehaven-app"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    configure_logging(args.verbose)
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
