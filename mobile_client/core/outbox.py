"""The offline outbox: a small SQLite file of requests waiting for the network.

Location fixes and reports are written here first and sent strictly in the order they were
queued, except an SOS, which goes before everything queued earlier (fixes queued on the
phone never hold an SOS back) and is retried every few seconds at most. Consecutive fixes for the same journey go out as one batch (the API takes batches,
with the phone's own timestamps). A network failure or a server error stops the drain and
schedules the next attempt with exponential backoff; a request the server refuses for good
(a 4xx other than 401/408/429) is set aside as ``failed`` with the reason, so one bad item
cannot block the rest.
"""

from __future__ import annotations

import json
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mobile_client.core.api import ApiClient, ApiError, ContractError, Offline

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT 'pending',
    last_error TEXT
);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (status, id);
"""
MAX_BATCH = 200
STOP_ON = (401, 408, 425, 429)
# the shared schema each kind of queued body is checked against before it is sent
REQUEST_SCHEMAS = {"report": "report.in", "survey": "survey.response.in"}
SOS_MAX_DELAY_S = 5.0  # an unsent SOS is tried again at least this often


@dataclass
class Item:
    id: int
    kind: str
    method: str
    path: str
    body: Any
    attempts: int
    next_attempt_at: float
    status: str
    last_error: str | None


@dataclass
class DrainResult:
    """What one drain did: items sent, items set aside, and whether work is left."""

    sent: int = 0
    failed: int = 0
    pending: int = 0
    offline: bool = False
    retry_at: float | None = None
    responses: list[Any] | None = None
    # per item: what the server answered, what it refused, what could not be sent now
    answered: list[tuple[Item, Any]] = field(default_factory=list)
    refused: list[tuple[Item, ApiError]] = field(default_factory=list)
    unsent: list[tuple[Item, str]] = field(default_factory=list)


class Outbox:
    """Durable FIFO of API requests; safe to use from several threads."""

    def __init__(
        self,
        path: Path | str,
        base_delay_s: float = 2.0,
        max_delay_s: float = 300.0,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        self.path = str(path)
        self.base_delay_s = base_delay_s
        self.max_delay_s = max_delay_s
        self.clock = clock
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not security
        self._lock = threading.RLock()
        self._drain_lock = threading.Lock()  # one drain at a time: nothing is sent twice
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        with self._db() as conn:
            conn.executescript(SCHEMA)

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        with self._lock, closing(sqlite3.connect(self.path, timeout=10)) as conn:
            conn.row_factory = sqlite3.Row
            with conn:
                yield conn

    # -- queueing -------------------------------------------------------------------------
    def enqueue(self, kind: str, method: str, path: str, body: Any) -> int:
        """Queue one request; returns its id."""
        with self._db() as conn:
            cur = conn.execute(
                "INSERT INTO outbox (kind, method, path, body, created_at) VALUES (?, ?, ?, ?, ?)",
                (kind, method, path, json.dumps(body), self.clock()),
            )
            return int(cur.lastrowid or 0)

    def enqueue_fix(self, journey_id: int, fix: dict[str, Any]) -> int:
        return self.enqueue("fix", "POST", f"/api/v1/journeys/{int(journey_id)}/locations", fix)

    def enqueue_report(self, report: dict[str, Any]) -> int:
        return self.enqueue("report", "POST", "/api/v1/reports", report)

    def remove(self, item_id: int) -> None:
        """Forget one item (an SOS the server refused for good has been dealt with)."""
        self._delete([item_id])

    def retry_now(self, kind: str) -> None:
        """Make every pending item of ``kind`` due now ("keep holding to retry")."""
        with self._db() as conn:
            conn.execute(
                "UPDATE outbox SET next_attempt_at = 0 WHERE kind = ? AND status = 'pending'",
                (kind,),
            )

    # -- reading --------------------------------------------------------------------------
    def items(self, status: str | None = "pending") -> list[Item]:
        with self._db() as conn:
            if status:
                rows = conn.execute(
                    "SELECT * FROM outbox WHERE status = ? ORDER BY id", (status,)
                ).fetchall()
            else:
                rows = conn.execute("SELECT * FROM outbox ORDER BY id").fetchall()
        return [_item(r) for r in rows]

    def pending_count(self) -> int:
        with self._db() as conn:
            return int(
                conn.execute("SELECT count(*) FROM outbox WHERE status = 'pending'").fetchone()[0]
            )

    def failed(self) -> list[Item]:
        return self.items("failed")

    def next_attempt_at(self) -> float | None:
        with self._db() as conn:
            row = conn.execute(
                "SELECT next_attempt_at FROM outbox WHERE status = 'pending' ORDER BY id LIMIT 1"
            ).fetchone()
        return float(row[0]) if row else None

    def drop_journey(self, journey_id: int) -> int:
        """Forget queued fixes of a journey that has ended elsewhere (e.g. cancelled)."""
        with self._db() as conn:
            return conn.execute(
                "DELETE FROM outbox WHERE kind = 'fix' AND path = ? AND status = 'pending'",
                (f"/api/v1/journeys/{int(journey_id)}/locations",),
            ).rowcount

    def clear(self) -> None:
        """Forget everything (sign-out, account deletion)."""
        with self._db() as conn:
            conn.execute("DELETE FROM outbox")

    # -- sending --------------------------------------------------------------------------
    def _head(self) -> list[Item]:
        """The next thing to send: a pending SOS first; else the first pending item, plus
        the consecutive fixes that follow it on the same journey (one batch)."""
        with self._db() as conn:
            rows = conn.execute(
                "SELECT * FROM outbox WHERE status = 'pending'"
                " ORDER BY kind = 'sos' DESC, id LIMIT ?",
                (MAX_BATCH,),
            ).fetchall()
        batch: list[Item] = []
        for r in rows:
            item = _item(r)
            if not batch:
                batch.append(item)
                if item.kind != "fix":
                    break
            elif item.kind == "fix" and item.path == batch[0].path:
                batch.append(item)
            else:
                break
        return batch

    def _backoff(
        self, ids: list[int], attempts: int, error: str, floor: float | None, kind: str = ""
    ) -> float:
        delay = min(self.max_delay_s, self.base_delay_s * (2 ** max(0, attempts - 1)))
        delay = delay * (0.5 + self.rng.random() / 2)  # jitter so phones don't retry in step
        if floor:
            delay = max(delay, floor)
        if kind == "sos":
            delay = min(delay, SOS_MAX_DELAY_S)
        retry_at = self.clock() + delay
        with self._db() as conn:
            conn.executemany(
                "UPDATE outbox SET attempts = ?, next_attempt_at = ?, last_error = ? WHERE id = ?",
                [(attempts, retry_at, error, i) for i in ids],
            )
        return retry_at

    def drain(self, client: ApiClient, force: bool = False) -> DrainResult:
        """Send what is due, in order, until the queue is empty or the network fails.

        ``force`` ignores the backoff schedule (the user pressed "retry now", or the
        network just came back)."""
        with self._drain_lock:
            return self._drain(client, force)

    def _drain(self, client: ApiClient, force: bool) -> DrainResult:
        result = DrainResult()
        responses: list[Any] = []
        result.responses = responses
        while True:
            batch = self._head()
            if not batch:
                break
            head = batch[0]
            if not force and head.next_attempt_at > self.clock():
                result.retry_at = head.next_attempt_at
                break
            ids = [i.id for i in batch]
            body = {"fixes": [i.body for i in batch]} if head.kind == "fix" else head.body
            try:
                if head.kind == "fix":
                    response = client.request(
                        head.method, head.path, body=body, request_schema="locations.in"
                    )
                else:
                    is_report = head.kind == "report"
                    response = client.request(
                        head.method,
                        head.path,
                        body=body,
                        request_schema=REQUEST_SCHEMAS.get(head.kind),
                        # An anonymous report goes without the sign-in token: nothing to link.
                        signed=not (is_report and isinstance(body, dict) and body.get("anonymous")),
                    )
            except Offline as exc:
                result.offline = True
                result.retry_at = self._backoff(ids, head.attempts + 1, str(exc), None, head.kind)
                result.unsent.append((head, "offline"))
                break
            except ApiError as exc:
                if exc.retryable or exc.status in STOP_ON:
                    result.retry_at = self._backoff(
                        ids,
                        head.attempts + 1,
                        f"{exc.status} {exc.message}",
                        exc.retry_after,
                        head.kind,
                    )
                    result.unsent.append((head, f"{exc.status}"))
                    break
                self._mark(ids, "failed", f"{exc.status} {exc.field_message()}")
                result.failed += len(ids)
                result.refused.append((head, exc))
                continue
            except ContractError as exc:
                # Delivered, but the reply is odd: the server has it, so don't send it twice.
                self._mark(ids, "sent", str(exc))
                result.sent += len(ids)
                continue
            self._delete(ids)
            result.sent += len(ids)
            responses.append(response)
            result.answered.append((head, response))
            force = True  # the server answered: what was waiting on the network can go now
        result.pending = self.pending_count()
        return result

    def _mark(self, ids: list[int], status: str, error: str | None) -> None:
        with self._db() as conn:
            conn.executemany(
                "UPDATE outbox SET status = ?, last_error = ? WHERE id = ?",
                [(status, error, i) for i in ids],
            )

    def _delete(self, ids: list[int]) -> None:
        with self._db() as conn:
            conn.executemany("DELETE FROM outbox WHERE id = ?", [(i,) for i in ids])


def _item(row: sqlite3.Row) -> Item:
    """An outbox row as an Item."""
    return Item(
        row["id"],
        row["kind"],
        row["method"],
        row["path"],
        json.loads(row["body"]),
        row["attempts"],
        row["next_attempt_at"],
        row["status"],
        row["last_error"],
    )
