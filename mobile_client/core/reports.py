"""Concern reports: categories, where (a pin: here, or a place typed in words), photos, sending one
(through the outbox, so it survives going offline), its reference once the server has it,
and my earlier reports with what was done. An anonymous report is followed with the receipt
kept in this phone's data folder only (``reports.json``); the server never learns who holds
it."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mobile_client.core.api import ApiError, ContractError, Offline, load_schema
from mobile_client.core.context import Context, iso
from mobile_client.core.outbox import DrainResult

log = logging.getLogger(__name__)
RECEIPTS = "reports.json"
MAX_PHOTOS = 3
MAX_PHOTO_BYTES = 5 * 1024 * 1024


class Reports:
    """Reporting a concern."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        ctx.after_flush.append(self._after_flush)
        sent = self._book().get("sent") or []
        ctx.state.update(last_report=sent[0] if sent else None)

    # -- the local book of sent reports (receipts stay on this phone) ----------------------
    def _book(self) -> dict[str, Any]:
        book = self.ctx.read_json(RECEIPTS)
        if not isinstance(book, dict):
            book = {}
        book.setdefault("pending", {})
        book.setdefault("sent", [])
        return book

    def _save(self, book: dict[str, Any]) -> None:
        self.ctx.write_json(RECEIPTS, book)

    # -- where: the pin --------------------------------------------------------------------
    def pin_here(self) -> dict[str, Any] | None:
        """Pin the report at the phone's current position (None when it is not known)."""
        position = self.ctx.state.position
        if not position:
            self.ctx.state.update(report_pin=None)
            return None
        pin = {"lat": position[0], "lon": position[1], "label": "Where you are now"}
        self.ctx.state.update(report_pin=pin, report_place_problem="")
        return pin

    def pin_place(self, text: str) -> dict[str, Any]:
        """Pin the report at a place the person typed: a postcode, a town, a street with its
        town or a safe place (the server's borough gazetteer finds it). The pin carries the
        place's name, to be shown before sending, and the other places of that name. Raises
        ApiError (not a place in the borough: the message says what is accepted) or Offline."""
        try:
            found = self.ctx.client.places(text)
        except ApiError as exc:
            problems = exc.errors.get("q") if exc.status == 422 else None
            if problems:
                # Shown under the field until the next try, not only as a passing message.
                self.ctx.state.update(report_place_problem=str(problems[0]))
                raise ApiError(422, str(problems[0]), local=True) from None
            raise
        best, others = found["places"][0], found["places"][1:]
        pin = {
            "lat": best["lat"],
            "lon": best["lon"],
            "label": f"{best['name']} ({best['kind_words']}, {best['ward_name']} ward)",
            "query": text.strip(),
            "others": [p["name"] for p in others[:4]],
        }
        self.ctx.state.update(report_pin=pin, report_place_problem="")
        return pin

    # -- photos ----------------------------------------------------------------------------
    def add_photo(self, path: str) -> list[str]:
        """Attach a photo file (sent after the report, up to 3); the server strips its
        location and camera details. Raises ApiError (local) for a 4th, missing or huge file."""
        photos = list(self.ctx.state.report_photos)
        file = Path(path)
        if len(photos) >= MAX_PHOTOS:
            raise ApiError(422, "3 photos at most", {"photo": ["3 photos at most"]}, local=True)
        if not file.is_file():
            raise ApiError(422, "photo not found", {"photo": ["that file is gone"]}, local=True)
        if file.stat().st_size > MAX_PHOTO_BYTES:
            raise ApiError(422, "photo too large", {"photo": ["5 MB at most"]}, local=True)
        photos.append(str(file))
        self.ctx.state.update(report_photos=photos)
        return photos

    def remove_photo(self, path: str) -> None:
        self.ctx.state.update(report_photos=[p for p in self.ctx.state.report_photos if p != path])

    def load_categories(self) -> list[dict[str, Any]]:
        cats = self.ctx.client.report_categories()
        self.ctx.state.update(categories=cats)
        return cats

    def submit_report(
        self,
        category: str,
        description: str,
        anonymous: bool,
        lat: float | None = None,
        lon: float | None = None,
        postcode: str | None = None,
        observed_at: datetime | None = None,
        contact_ok: bool = False,
        photos: list[str] | None = None,
    ) -> DrainResult:
        """Queue a concern report (at the pin unless told where) and try to send it; it
        survives going offline. Its photos follow once the server has given a reference."""
        ctx = self.ctx
        body: dict[str, Any] = {
            "category": category,
            "description": description.strip(),
            "anonymous": bool(anonymous),
            "observed_at": iso(observed_at or datetime.now(UTC)),
        }
        pin = ctx.state.report_pin
        if postcode:
            body["postcode"] = postcode.strip()
        elif lat is not None and lon is not None:
            body["lat"], body["lon"] = float(lat), float(lon)
        elif pin:
            body["lat"], body["lon"] = float(pin["lat"]), float(pin["lon"])
        elif ctx.state.position:
            body["lat"], body["lon"] = ctx.state.position
        if contact_ok and not anonymous:
            body["consent_to_contact"] = True
        known = {c.get("code"): c for c in ctx.state.categories}
        if anonymous and known.get(category, {}).get("anonymous_allowed") is False:
            raise ApiError(
                422,
                "this kind of report cannot be anonymous",
                {"anonymous": [f"{known[category].get('name')} reports need a way to reach you"]},
                local=True,
            )
        schema = load_schema("report.in")
        if schema is not None:
            problems = schema.validate(body)
            if problems:
                raise ApiError(422, "check the report", problems, local=True)
        item = ctx.outbox.enqueue_report(body)
        book = self._book()
        book["pending"][str(item)] = {
            "photos": list(ctx.state.report_photos if photos is None else photos),
            "anonymous": bool(anonymous),
            "category": category,
        }
        self._save(book)
        ctx.state.update(report_photos=[], last_report=None)
        ctx.refresh_outbox_counts()
        result = ctx.flush(force=True)
        if result.offline:
            ctx.state.update(
                notice={
                    "kind": "report",
                    "text": "No connection: your report is saved on this phone and will be "
                    "sent when you are back online.",
                }
            )
        elif result.failed:
            ctx.state.update(
                message=f"The report was refused: {ctx.outbox.failed()[-1].last_error}"
            )
        else:
            sent = ctx.state.last_report or {}
            reference = sent.get("reference")
            text = "Thank you. Your report was sent."
            ctx.state.update(
                notice={
                    "kind": "report",
                    "text": f"{text} Your reference is {reference}." if reference else text,
                }
            )
        return result

    def _after_flush(self, result: DrainResult) -> None:
        """Reports the server accepted: keep their reference (and an anonymous one's receipt)
        on this phone, then send their photos."""
        delivered = [(item.id, r) for item, r in result.answered if item.kind == "report"]
        book = self._book()
        if delivered:
            for item_id, answer in delivered:
                queued = book["pending"].pop(str(item_id), {})
                if not isinstance(answer, dict) or not answer.get("reference"):
                    continue
                record = {
                    "id": answer.get("id"),
                    "reference": answer["reference"],
                    "receipt": answer.get("receipt"),
                    "anonymous": bool(answer.get("anonymous")),
                    "category": answer.get("category"),
                    "created_at": answer.get("created_at"),
                    "photos_left": list(queued.get("photos") or []),
                    "photos_sent": 0,
                }
                book["sent"].insert(0, record)
            self._save(book)
            self.ctx.state.update(last_report=book["sent"][0])
        if any(r.get("photos_left") for r in book["sent"]):
            self._send_photos(book)

    def _send_photos(self, book: dict[str, Any]) -> None:
        client = self.ctx.client
        try:
            for record in book["sent"]:
                while record.get("photos_left"):
                    path = record["photos_left"][0]
                    try:
                        client.upload_report_photo(record["reference"], path, record.get("receipt"))
                        record["photos_sent"] = int(record.get("photos_sent") or 0) + 1
                    except (ApiError, ContractError) as exc:
                        if isinstance(exc, ApiError) and (exc.retryable or exc.status == 429):
                            return
                        log.warning("photo %s not accepted: %s", path, exc)
                        self.ctx.state.update(message=f"A photo was not accepted: {exc}")
                    record["photos_left"].pop(0)
        except Offline:
            return  # the next flush tries again
        finally:
            self._save(book)
            sent = book["sent"]
            self.ctx.state.update(last_report=sent[0] if sent else None)

    def load_my_reports(self) -> list[dict[str, Any]]:
        """My named reports from the server and my anonymous ones followed by the receipts on
        this phone, newest first, each with its status, public note and history."""
        ctx = self.ctx
        reports = list(ctx.client.my_reports()) if ctx.state.signed_in else []
        for record in self._book()["sent"]:
            if not record.get("receipt"):
                continue
            try:
                followed = ctx.client.follow_report(record["reference"], record["receipt"])
            except ApiError as exc:
                if exc.status != 404:
                    raise
                continue  # the partnership removed it
            reports.append({**followed, "anonymous": True})
        reports.sort(key=lambda r: str(r.get("created_at") or ""), reverse=True)
        ctx.state.update(my_reports=reports)
        return reports
