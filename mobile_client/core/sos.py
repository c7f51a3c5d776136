"""SOS: save first, then speak.

Pressing SOS writes it to the phone's state file (``sos`` table beside the outbox) and
queues ``POST /api/v1/sos`` with a client-made UUID before anything is said. The outbox
sends it before any older fix and resends it with the same ``client_id`` until the server
answers (the server makes one SOS of any number of sends). What the screen says comes only
from that record:

- ``sending``: saved, not answered yet: "Sending…"
- ``not_sent``: a send failed (no signal, server down): "Not sent yet: …"
- ``answered``: the server's answer, with its recipients and their delivery
- ``no_contacts``: the server had no one to alert (409 ``no_trusted_contacts``)
- ``refused``: the server refused it for another reason (shown with its words)

An SOS stays on screen until dismissed, also across restarts. Not answered within 30 s,
it is texted to the numbers the resident keeps for contacts (once, automatically); answered
but delivered to no phone within 60 s, the screen offers that text."""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import uuid
from contextlib import closing
from datetime import UTC, datetime
from typing import Any

from mobile_client.core.api import ApiError, Offline
from mobile_client.core.contacts import Contacts
from mobile_client.core.context import Context
from mobile_client.core.journeys import Positioning
from mobile_client.core.outbox import DrainResult
from mobile_client.core.sms import SmsSender, default_sender, osm_link
from shared_schemas import uktime

log = logging.getLogger(__name__)

TEXT_AFTER_UNSENT_S = 30.0  # not answered by then: text the contacts
OFFER_TEXT_AFTER_S = 60.0  # answered, delivered to no phone by then: offer the text
POLL_EVERY_S = 5.0  # refresh per-recipient delivery while the SOS is on screen
OUTBOX_KIND = "sos"
PATH = "/api/v1/sos"
NO_CONTACTS = "no_trusted_contacts"
OPEN_PHASES = ("waiting_position", "sending", "not_sent")

SCHEMA = """
CREATE TABLE IF NOT EXISTS sos (
    client_id TEXT PRIMARY KEY,
    created_at REAL NOT NULL,
    body TEXT NOT NULL,
    phase TEXT NOT NULL,
    reason TEXT,
    answer TEXT,
    texted TEXT,
    dismissed INTEGER NOT NULL DEFAULT 0
)
"""


def names_text(names: list[str]) -> str:
    """'Sam', 'Sam and Jo', 'Sam, Jo and Ali'."""
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def describe(record: dict[str, Any] | None, now: float) -> dict[str, Any] | None:
    """What the screen shows for an SOS record: one headline, per-recipient lines, and
    which actions to offer. Only the server's answer can say "Delivered"."""
    if record is None or record.get("dismissed"):
        return None
    phase = record["phase"]
    answer = record.get("answer") or {}
    recipients = [r for r in answer.get("recipients") or [] if isinstance(r, dict)]
    age = now - float(record["created_at"])
    lines: list[str] = []
    offer_text = True
    if phase == "answered" and recipients:
        names = [str(r.get("display_name") or "a contact with no name") for r in recipients]
        reached = [
            n for n, r in zip(names, recipients, strict=True) if r.get("delivery") == "delivered"
        ]
        # "Delivered" only for the phones that said so; until then what is true is that the
        # server has the SOS and is alerting these people.
        headline = (
            f"Delivered to {names_text(reached)}"
            if reached
            else f"SafeHaven has your SOS. Alerting {names_text(names)}"
        )
        for name, r in zip(names, recipients, strict=True):
            if r.get("delivery") == "delivered":
                at = uktime.clock(r.get("delivered_at"))
                lines.append(f"{name}: delivered to phone" + (f" at {at}" if at else ""))
            else:
                lines.append(f"{name}: not delivered yet")
        anyone = any(r.get("delivery") == "delivered" for r in recipients)
        offer_text = not anyone and age >= OFFER_TEXT_AFTER_S
        if offer_text:
            lines.append("No phone has shown it yet. Text your contacts or call 999.")
        if answer.get("status") == "ended":
            lines.append("This SOS has ended.")
    elif phase in ("answered", "no_contacts"):
        headline = "No one to alert: you have no trusted contacts. Call 999."
    elif phase == "refused":
        headline = (
            f"Not sent: the server refused the SOS ({record.get('reason') or 'no reason'}). "
            "Call 999 or text your contacts."
        )
    elif phase == "waiting_position":
        headline = (
            "Not sent yet: waiting for your location. Keep holding to retry, call 999, "
            "or text your contacts"
        )
    elif phase == "not_sent" and record.get("reason") == "offline":
        headline = "Not sent yet: no signal. Keep holding to retry, call 999, or text your contacts"
    elif phase == "not_sent":
        headline = (
            "Not sent yet: the server is not answering. Keep holding to retry, call 999, "
            "or text your contacts"
        )
    else:
        headline = "Sending…"
        offer_text = False
    texted = record.get("texted")
    if isinstance(texted, dict) and texted.get("to"):
        lines.append(f"Texted {names_text(list(texted['to']))} at {uktime.clock(texted.get('at'))}")
    elif isinstance(texted, dict) and texted.get("none"):
        lines.append("No phone numbers saved for your contacts: add them in Contacts.")
    raised = uktime.clock(answer.get("raised_at")) or uktime.clock(
        datetime.fromtimestamp(float(record["created_at"]), UTC)
    )
    return {
        "client_id": record["client_id"],
        "phase": phase,
        "headline": headline,
        "lines": lines,
        "raised_text": f"SOS pressed at {raised}",
        "offer_text": offer_text,
        "delivered": phase == "answered" and bool(recipients),
        "recipients": recipients,
        "server_id": answer.get("id"),
    }


class SosStore:
    """The SOS records, in the app's state file (they survive a restart)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.Lock()
        with self._lock, closing(sqlite3.connect(path, timeout=10)) as conn, conn:
            conn.execute(SCHEMA)

    def _run(self, sql: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self._lock, closing(sqlite3.connect(self.path, timeout=10)) as conn, conn:
            conn.row_factory = sqlite3.Row
            return conn.execute(sql, args).fetchall()

    def insert(self, client_id: str, created_at: float, body: dict[str, Any], phase: str) -> None:
        self._run(
            "INSERT INTO sos (client_id, created_at, body, phase) VALUES (?, ?, ?, ?)",
            (client_id, created_at, json.dumps(body), phase),
        )

    def update(self, client_id: str, **changes: Any) -> None:
        for key in ("body", "answer", "texted"):
            if key in changes:
                changes[key] = json.dumps(changes[key])
        sets = ", ".join(f"{k} = ?" for k in changes)  # keys are this module's own names
        self._run(f"UPDATE sos SET {sets} WHERE client_id = ?", (*changes.values(), client_id))  # noqa: S608

    def get(self, client_id: str) -> dict[str, Any] | None:
        rows = self._run("SELECT * FROM sos WHERE client_id = ?", (client_id,))
        return _record(rows[0]) if rows else None

    def current(self) -> dict[str, Any] | None:
        """The newest SOS not dismissed."""
        rows = self._run("SELECT * FROM sos WHERE dismissed = 0 ORDER BY created_at DESC LIMIT 1")
        return _record(rows[0]) if rows else None

    def clear(self) -> None:
        self._run("DELETE FROM sos")


def _record(row: sqlite3.Row) -> dict[str, Any]:
    out = dict(row)
    for key in ("body", "answer", "texted"):
        out[key] = json.loads(out[key]) if out[key] else None
    return out


class Sos:
    """The SOS button's work, GUI-free. ``press`` only writes on the phone (safe on the UI
    thread); ``send_now`` and ``tick`` talk to the server (core or pump thread)."""

    def __init__(
        self,
        ctx: Context,
        contacts: Contacts,
        positioning: Positioning,
        sms: SmsSender | None = None,
    ) -> None:
        self.ctx = ctx
        self.contacts = contacts
        self.positioning = positioning
        self.sms = sms or default_sender(ctx.data_dir)
        self.store = SosStore(ctx.outbox.path)
        self._last_poll = 0.0
        self._lock = threading.RLock()
        ctx.after_flush.append(self._after_flush)
        ctx.tickers.append(self.tick)
        self.publish()

    # -- pressing -------------------------------------------------------------------------
    def press(self) -> dict[str, Any] | None:
        """Save an SOS (or, while one is still unsent, make it due again). Returns what
        the screen now shows. Never says anything the server has not confirmed."""
        with self._lock:
            current = self.store.current()
            if current is not None and current["phase"] in OPEN_PHASES:
                self.ctx.outbox.retry_now(OUTBOX_KIND)
                self._queue_if_positioned(current)
                self.ctx.kick()
                return self.publish()
            if current is not None and current["phase"] == "answered":
                answer = current.get("answer") or {}
                if answer.get("status") == "active" and answer.get("recipients"):
                    self._last_poll = 0.0  # held again: refresh delivery at once
                    self.ctx.kick()
                    return self.publish()
            client_id = str(uuid.uuid4())
            body = self._body(client_id)
            phase = "sending" if body.get("lat") is not None else "waiting_position"
            self.store.insert(client_id, self.ctx.clock(), body, phase)
            if phase == "sending":
                self.ctx.outbox.enqueue(OUTBOX_KIND, "POST", PATH, body)
            self.ctx.refresh_outbox_counts()
            self.ctx.kick()
            return self.publish()

    def _body(self, client_id: str) -> dict[str, Any]:
        state = self.ctx.state
        fix = self.positioning.last_fix
        journey = state.journey
        body: dict[str, Any] = {
            "client_id": client_id,
            "lat": None,
            "lon": None,
            "accuracy_m": None,
            "battery": None,
            "recorded_at": datetime.now(UTC).isoformat(),
            "journey_id": int(journey["id"]) if journey and journey.get("id") else None,
        }
        if state.position:
            body["lat"], body["lon"] = (round(float(v), 7) for v in state.position)
        if fix is not None and state.position == (fix.lat, fix.lon):
            body["accuracy_m"] = fix.accuracy_m
            body["battery"] = int(fix.battery) if fix.battery is not None else None
        if body["battery"] is None:
            body["battery"] = self.positioning.battery()
        return body

    def _queue_if_positioned(self, record: dict[str, Any]) -> None:
        """An SOS pressed before the first GPS fix goes out with the first position."""
        if record["phase"] != "waiting_position" or not self.ctx.state.position:
            return
        body = dict(record["body"])
        body["lat"], body["lon"] = (round(float(v), 7) for v in self.ctx.state.position)
        self.store.update(record["client_id"], body=body, phase="sending")
        self.ctx.outbox.enqueue(OUTBOX_KIND, "POST", PATH, body)
        self.ctx.refresh_outbox_counts()

    def on_position(self) -> None:
        """A position arrived: an SOS waiting for one can go."""
        with self._lock:
            current = self.store.current()
            if current is not None and current["phase"] == "waiting_position":
                self._queue_if_positioned(current)
                self.ctx.kick()
                self.publish()

    def send_now(self) -> dict[str, Any] | None:
        """Try to send now (after a press); then refresh delivery."""
        self.ctx.flush(force=True)
        self.tick()
        return self.ctx.state.sos

    def dismiss(self) -> None:
        """Take the SOS off the screen. An SOS not yet sent still goes when it can: an
        alarm raised is never silently dropped."""
        current = self.store.current()
        if current is not None:
            self.store.update(current["client_id"], dismissed=1)
        self.publish()

    # -- what the server said -------------------------------------------------------------
    def _after_flush(self, result: DrainResult) -> None:
        changed = False
        for item, answer in result.answered:
            if item.kind == OUTBOX_KIND and isinstance(answer, dict):
                self.store.update(
                    str(item.body["client_id"]), phase="answered", answer=answer, reason=None
                )
                changed = True
        for item, exc in result.refused:
            if item.kind != OUTBOX_KIND:
                continue
            self.ctx.outbox.remove(item.id)
            no_one = exc.status == 409 and exc.mentions(NO_CONTACTS)
            self.store.update(
                str(item.body["client_id"]),
                phase="no_contacts" if no_one else "refused",
                reason=None if no_one else exc.field_message(),
            )
            changed = True
        for item, reason in result.unsent:
            if item.kind == OUTBOX_KIND:
                self.store.update(str(item.body["client_id"]), phase="not_sent", reason=reason)
                changed = True
        if changed:
            self.publish()

    def tick(self) -> float | None:
        """Timers of the SOS on screen: text after 30 s unanswered, refresh delivery every
        few seconds while it is active. Returns how soon to tick again (None: idle)."""
        with self._lock:
            current = self.store.current()
        if current is None:
            return None
        now = self.ctx.clock()
        age = now - float(current["created_at"])
        if current["phase"] in OPEN_PHASES and age >= TEXT_AFTER_UNSENT_S:
            if not current.get("texted"):
                self.text_contacts()
        answer = current.get("answer") or {}
        active = current["phase"] == "answered" and answer.get("status") == "active"
        if active and now - self._last_poll >= POLL_EVERY_S:
            self.refresh(current)
        self.publish()
        if current["phase"] in OPEN_PHASES or (active and age < OFFER_TEXT_AFTER_S + 1):
            return 1.0  # a timer of this SOS is still running
        return POLL_EVERY_S if active else None

    def refresh(self, current: dict[str, Any] | None = None) -> None:
        """Ask the server how far an answered, active SOS has got (per-recipient delivery)."""
        current = current or self.store.current()
        answer = (current or {}).get("answer") or {}
        if current is None or current["phase"] != "answered" or answer.get("status") != "active":
            return
        self._last_poll = self.ctx.clock()
        try:
            fresh = self.ctx.client.sos(int(answer["id"]))
        except (Offline, ApiError) as exc:
            log.info("SOS delivery refresh failed: %s", exc)
            return
        if isinstance(fresh, dict):
            self.store.update(current["client_id"], answer=fresh)
        self.publish()

    # -- the text fallback ----------------------------------------------------------------
    def text_contacts(self) -> list[str]:
        """Text the last position to the numbers kept for contacts; returns their names."""
        with self._lock:
            current = self.store.current()
            numbers = self.contacts.text_numbers()
            position = self.ctx.state.position
            if current is not None and current["body"].get("lat") is not None:
                position = (current["body"]["lat"], current["body"]["lon"])
            me = self.ctx.state.display_name or "your contact"
            if position:
                where = f"My last position: {osm_link(*position)}"
            else:
                where = "My phone has no position yet."
            text = (
                f"SOS from {me} (SafeHaven): I need help. {where} If you cannot reach me, call 999."
            )
            sent: list[str] = []
            for name, number in numbers:
                try:
                    self.sms.send(number, text)
                    sent.append(name)
                except Exception:  # noqa: BLE001 - try every number; say who was texted
                    log.exception("text to a contact failed")
            texted = {"to": sent, "at": datetime.now(UTC).isoformat()} if sent else {"none": True}
            if current is not None:
                self.store.update(current["client_id"], texted=texted)
            self.publish()
            return sent

    # -- the screen -----------------------------------------------------------------------
    def publish(self) -> dict[str, Any] | None:
        view = describe(self.store.current(), self.ctx.clock())
        self.ctx.state.update(sos=view)
        return view
