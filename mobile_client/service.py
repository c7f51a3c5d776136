"""Android foreground service for continuous journey sharing (started by buildozer's
``services = JourneySharing:...:foreground``): GPS fixes go into the same offline outbox the
app uses and are sent as the network allows, with the screen off or the app closed.

Not run on a desktop; the desktop app shares from its own process."""

from __future__ import annotations

import os
import time
from pathlib import Path


def main() -> None:  # pragma: no cover - runs only on Android
    from mobile_client.core.controller import Core
    from mobile_client.core.location import PlyerGPS

    data_dir = Path(os.environ.get("ANDROID_PRIVATE", ".")) / "safehaven"
    core = Core(data_dir)
    core.restore_session()
    core.load_active_journey()  # written by the app when the journey started
    core.start_background()
    core.start_location(PlyerGPS(core.on_fix))
    try:
        while True:
            time.sleep(30)
            core.flush()
    finally:
        core.close()


if __name__ == "__main__":  # pragma: no cover
    main()
