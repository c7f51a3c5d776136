"""What every domain of the app core shares: the signed-in API client, the offline outbox
and its pump, the state the screens show, the data folder and the clock."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mobile_client.core.api import ApiClient
from mobile_client.core.auth import TokenStore
from mobile_client.core.outbox import DrainResult, Outbox
from mobile_client.core.state import AppState

log = logging.getLogger(__name__)

ACTIVE_STATES = {"active", "overdue", "sos"}


def iso(dt: datetime) -> str:
    """An aware datetime as ISO 8601 UTC with a ``Z``."""
    return dt.astimezone(UTC).isoformat().replace("+00:00", "Z")


class Context:
    """The shared parts of one app: ``client`` is replaced when the server changes, so
    domains read it here each time instead of keeping their own."""

    def __init__(
        self,
        data_dir: Path | str,
        server_url: str | None = None,
        token: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.store = TokenStore(self.data_dir / "credentials.json")
        creds = self.store.load()
        if server_url:
            creds.server_url = server_url
        if token:
            creds.token = token
        self.creds = creds
        self.clock = clock
        self.state = AppState(server_url=creds.server_url)
        self.client = ApiClient(creds.server_url, creds.token)
        self.outbox = Outbox(self.data_dir / "outbox.sqlite3", clock=clock)
        self._pump_wake = threading.Event()
        self._pump_stop = threading.Event()
        self._pump: threading.Thread | None = None
        # called after every drain with its result (the SOS flow reads its answers)
        self.after_flush: list[Callable[[DrainResult], None]] = []
        # called on every pump cycle; each says how soon it wants the next (None: idle)
        self.tickers: list[Callable[[], float | None]] = []
        self.refresh_outbox_counts()

    # -- outbox ---------------------------------------------------------------------------
    def flush(self, force: bool = False) -> DrainResult:
        """Send queued work now (an SOS first, then fixes, actions and reports in order)."""
        result = self.outbox.drain(self.client, force=force)
        if result.offline:
            self.state.update(online=False)
        elif result.sent:
            self.state.update(online=True)
        for response in result.responses or []:
            current = self.state.journey
            if (
                isinstance(response, dict)
                and response.get("state") in ACTIVE_STATES
                and current
                and response.get("id") == current.get("id")
            ):
                self.state.update(journey=current | response)
        for hook in self.after_flush:
            hook(result)
        self.refresh_outbox_counts()
        return result

    def refresh_outbox_counts(self) -> None:
        self.state.update(
            outbox_pending=self.outbox.pending_count(), outbox_failed=len(self.outbox.failed())
        )

    # -- the pump -------------------------------------------------------------------------
    def start_pump(self) -> None:
        """Start the outbox pump (sends queued work as soon as the network allows)."""
        if self._pump is None:
            self._pump_stop.clear()
            self._pump = threading.Thread(target=self._pump_loop, name="outbox-pump", daemon=True)
            self._pump.start()

    def _pump_loop(self) -> None:
        while not self._pump_stop.is_set():
            wait = 30.0
            try:
                result = self.flush()
                if result.retry_at is not None:
                    wait = max(0.2, min(wait, result.retry_at - self.clock()))
            except Exception:  # noqa: BLE001 - keep the pump alive
                log.exception("outbox pump")
            for ticker in self.tickers:
                try:
                    soon = ticker()
                except Exception:  # noqa: BLE001 - keep the pump alive
                    log.exception("pump ticker")
                    soon = None
                if soon is not None:
                    wait = max(0.2, min(wait, soon))
            self._pump_wake.wait(wait)
            self._pump_wake.clear()

    def kick(self) -> None:
        """Ask the pump to try now."""
        self._pump_wake.set()

    def stop_pump(self) -> None:
        self._pump_stop.set()
        self._pump_wake.set()
        if self._pump is not None:
            self._pump.join(timeout=5)
            self._pump = None

    def read_json(self, name: str) -> Any:
        """A small JSON file in the data folder, or None."""
        import json

        try:
            return json.loads((self.data_dir / name).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def write_json(self, name: str, data: Any) -> None:
        """Write (or with None remove) a small JSON file in the data folder, atomically."""
        import json
        import os

        path = self.data_dir / name
        if data is None:
            path.unlink(missing_ok=True)
            return
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data), encoding="utf-8")
        os.replace(tmp, path)
