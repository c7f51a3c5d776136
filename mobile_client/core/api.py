"""HTTP client for the SafeHaven API; requests and responses are checked against ``shared_schemas``.

Every call returns plain JSON (dicts and lists). A body the contract refuses is never sent
(:class:`ApiError` with ``local=True``); a response that breaks the contract raises
:class:`ContractError`; no network raises :class:`Offline` so callers can queue the work.
"""

from __future__ import annotations

import importlib
import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests

log = logging.getLogger(__name__)

# Which shared schema checks which body: "module:Class" under ``shared_schemas``. A schema whose
# module has not landed yet is skipped (logged once), so the client still works meanwhile.
SCHEMAS: dict[str, str] = {
    "me": "account:MeSchema",
    "me.update": "account:MeUpdateSchema",
    "postcode": "areas:PostcodeSchema",
    "places": "areas:PlaceMatchesSchema",
    "ward_at_point": "areas:WardAtPointSchema",
    "venue.nearest": "venues:NearestResultSchema",
    "venue": "venues:VenueSchema",
    "app_config": "appconfig:AppConfigSchema",
    "contact": "contacts:ContactSchema",
    "contacts": "contacts:ContactListSchema",
    "invitation": "contacts:InvitationCreatedSchema",
    "views": "contacts:LocationViewSchema",
    "journey.in": "journeys:JourneyCreateSchema",
    "journey.created": "journeys:JourneyCreatedSchema",
    "journey": "journeys:JourneySchema",
    "locations.in": "journeys:FixBatchSchema",
    "locations.result": "journeys:FixBatchResultSchema",
    "report.in": "reports:ReportInSchema",
    "report.receipt": "reports:ReportReceiptSchema",
    "report": "reports:ReportSchema",
    "report.category": "reports:CategorySchema",
    "report.followed": "reports:FollowedReportSchema",
    "report.photo": "reports:ReportPhotoSchema",
    "survey": "surveys:SurveyOutSchema",
    "survey.response.in": "surveys:ResponseInSchema",
}

_missing_logged: set[str] = set()


def load_schema(key: str, many: bool = False) -> Any | None:
    """The shared schema instance registered under ``key``, or None if it does not exist yet."""
    ref = SCHEMAS.get(key)
    if ref is None:
        return None
    module_name, class_name = ref.split(":")
    try:
        module = importlib.import_module(f"shared_schemas.{module_name}")
        cls = getattr(module, class_name)
    except (ImportError, AttributeError):
        if key not in _missing_logged:
            _missing_logged.add(key)
            log.info("shared schema %s not available; %s is not checked", ref, key)
        return None
    return cls(many=many)


class ApiError(Exception):
    """The server (or the local contract check, ``local=True``) refused a request.

    Carries the shared error shape: ``status`` (HTTP code), ``message`` and ``errors``
    (field -> messages)."""

    def __init__(
        self,
        status: int,
        message: str,
        errors: dict[str, Any] | None = None,
        local: bool = False,
        retry_after: float | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message
        self.errors = errors or {}
        self.local = local
        self.retry_after = retry_after
        self.body = body  # the server's whole error payload, for codes beyond the status

    def mentions(self, code: str) -> bool:
        """The server's payload names ``code`` (an error code such as
        ``no_trusted_contacts``) as its code, in its message or among its errors."""
        return code in json.dumps(self.body) if self.body is not None else code in self.message

    @property
    def retryable(self) -> bool:
        """Worth sending again later: server trouble, throttling or a timeout."""
        return self.status >= 500 or self.status in (408, 425, 429)

    def field_message(self) -> str:
        """One line for the user, naming the first offending field if any."""
        if self.status == 404 and not self.errors and self.message.startswith("The requested URL"):
            return "This server does not offer that yet."
        for field, problems in self.errors.items():
            first = problems[0] if isinstance(problems, list) and problems else problems
            if isinstance(first, dict):
                first = next(iter(first.values()), "invalid")
                if isinstance(first, list) and first:
                    first = first[0]
            return f"{field}: {first}"
        return self.message


class Offline(Exception):
    """The server could not be reached (no network, refused, timed out)."""


class ContractError(Exception):
    """A response that does not match the shared schema."""


class ApiClient:
    """A thin, typed door onto ``/api/v1``; one instance per server address and sign-in."""

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        timeout: float = 10.0,
        session: requests.Session | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self._session = session or requests.Session()

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing -------------------------------------------------------------------------
    def _headers(self, signed: bool = True) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if self.token and signed:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: Any = None,
        request_schema: str | None = None,
        response_schema: str | None = None,
        many: bool = False,
        timeout: float | None = None,
        signed: bool = True,
    ) -> Any:
        """Send one request; returns the decoded JSON (None for an empty body).
        ``signed=False`` leaves the sign-in token out (anonymous reports).

        Raises ApiError (refused), Offline (unreachable) or ContractError (bad response)."""
        if body is not None and request_schema:
            schema = load_schema(request_schema)
            if schema is not None:
                problems = schema.validate(body)
                if problems:
                    raise ApiError(
                        422, "the app refused to send an invalid request", problems, True
                    )
        url = self.base_url + path
        try:
            response = self._session.request(
                method,
                url,
                params={k: v for k, v in (params or {}).items() if v is not None},
                json=body,
                headers=self._headers(signed),
                timeout=timeout or self.timeout,
            )
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise Offline(f"{method} {path}: {exc.__class__.__name__}") from exc
        with response:
            return self._decode(response, method, path, response_schema, many)

    def _decode(
        self,
        response: requests.Response,
        method: str,
        path: str,
        response_schema: str | None,
        many: bool,
    ) -> Any:
        data: Any = None
        if response.content:
            try:
                data = response.json()
            except ValueError:
                data = None
        if response.status_code >= 400:
            shape = data if isinstance(data, dict) else {}
            retry_after = response.headers.get("Retry-After")
            raise ApiError(
                response.status_code,
                str(shape.get("message") or response.reason or "request failed"),
                shape.get("errors") if isinstance(shape.get("errors"), dict) else {},
                retry_after=float(retry_after) if retry_after and retry_after.isdigit() else None,
                body=data,
            )
        if response_schema and data is not None:
            items = _items(data) if many else data
            schema = load_schema(response_schema, many=many)
            if schema is not None:
                problems = schema.validate(items)
                if problems:
                    raise ContractError(
                        f"{method} {path}: response breaks the contract: {problems}"
                    )
        return data

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> Any:
        return self.request("POST", path, body=body, **kwargs)

    # -- account and areas ----------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        return self.get("/healthz", timeout=3)

    def me(self) -> dict[str, Any]:
        return self.get("/api/v1/me", response_schema="me")

    def update_me(self, changes: dict[str, Any]) -> dict[str, Any]:
        return self.request(
            "PATCH", "/api/v1/me", body=changes, request_schema="me.update", response_schema="me"
        )

    def register_device(self, fcm_token: str, platform: str = "android") -> Any:
        return self.post("/api/v1/me/devices", {"token": fcm_token, "platform": platform})

    def remove_device(self, device_id: int) -> Any:
        """On sign-out: this phone's token stops receiving the account's alerts and is free
        for the next account to register (the server refuses it to others until then)."""
        return self.request("DELETE", f"/api/v1/me/devices/{int(device_id)}")

    def export_me(self) -> Any:
        return self.get("/api/v1/me/export")

    def delete_me(self) -> Any:
        return self.request("DELETE", "/api/v1/me")

    def postcode(self, postcode: str) -> dict[str, Any]:
        return self.get(
            f"/api/v1/areas/postcodes/{quote(postcode.strip(), safe='')}",
            response_schema="postcode",
        )

    def places(self, text: str) -> dict[str, Any]:
        """The places in the borough that a typed place names, best first."""
        return self.get(
            "/api/v1/areas/places", params={"q": text.strip()}, response_schema="places"
        )

    def locate(self, lat: float, lon: float) -> dict[str, Any]:
        return self.get(
            "/api/v1/areas/locate", params={"lat": lat, "lon": lon}, response_schema="ward_at_point"
        )

    # -- safe places ----------------------------------------------------------------------
    def nearest_venues(
        self,
        lat: float,
        lon: float,
        limit: int = 5,
        open_now: bool = True,
        at: str | None = None,
        include_candidates: bool = False,
    ) -> list[dict[str, Any]]:
        data = self.get(
            "/api/v1/venues/nearest",
            params={
                "lat": lat,
                "lon": lon,
                "limit": limit,
                "open_now": str(open_now).lower(),
                "at": at,
                "include_candidates": "true" if include_candidates else None,
            },
            response_schema="venue.nearest",
        )
        return _items(data)

    def app_config(self) -> dict[str, Any]:
        return self.get("/api/v1/app-config", response_schema="app_config", signed=False)

    def download(
        self, url: str, dest: Path, progress: Callable[[int, int], None] | None = None
    ) -> int:
        """Stream ``url`` (a file the server announced) to ``dest``; returns its size.
        Written beside ``dest`` first, so an interrupted download leaves the old file."""
        part = dest.with_name(dest.name + ".part")
        try:
            with self._session.get(url, stream=True, timeout=self.timeout) as response:
                if response.status_code >= 400:
                    raise ApiError(response.status_code, "the download was refused", {})
                total = int(response.headers.get("Content-Length") or 0)
                done = 0
                with open(part, "wb") as out:
                    for chunk in response.iter_content(64 * 1024):
                        out.write(chunk)
                        done += len(chunk)
                        if progress:
                            progress(done, total)
        except (requests.ConnectionError, requests.Timeout) as exc:
            part.unlink(missing_ok=True)
            raise Offline(f"GET {url}: {exc.__class__.__name__}") from exc
        if total and done != total:
            part.unlink(missing_ok=True)
            raise Offline(f"GET {url}: got {done} of {total} bytes")
        part.replace(dest)
        return done

    def venue(self, venue_id: int) -> dict[str, Any]:
        return self.get(f"/api/v1/venues/{int(venue_id)}", response_schema="venue")

    # -- contacts -------------------------------------------------------------------------
    def contacts(self) -> Any:
        return self.get("/api/v1/contacts", response_schema="contacts")

    def create_invitation(self) -> dict[str, Any]:
        return self.post("/api/v1/contacts/invitations", {}, response_schema="invitation")

    def accept_invitation(self, code: str) -> dict[str, Any]:
        return self.post(f"/api/v1/contacts/invitations/{quote(code.strip(), safe='')}/accept", {})

    def revoke_contact(self, contact_id: int) -> Any:
        return self.request("DELETE", f"/api/v1/contacts/{int(contact_id)}")

    def contact_views(self) -> Any:
        return self.get("/api/v1/contacts/views", response_schema="views", many=True)

    # -- journeys -------------------------------------------------------------------------
    def start_journey(self, data: dict[str, Any]) -> dict[str, Any]:
        return self.post(
            "/api/v1/journeys", data, request_schema="journey.in", response_schema="journey.created"
        )

    def journey(self, journey_id: int) -> dict[str, Any]:
        return self.get(f"/api/v1/journeys/{int(journey_id)}", response_schema="journey")

    def watching(self) -> Any:
        """Journeys shared with me that are active now."""
        return self.get("/api/v1/journeys", params={"watching": "true"})

    def post_locations(self, journey_id: int, fixes: list[dict[str, Any]]) -> Any:
        return self.post(
            f"/api/v1/journeys/{int(journey_id)}/locations",
            {"fixes": fixes},
            request_schema="locations.in",
        )

    def journey_action(self, journey_id: int, action: str, body: dict | None = None) -> Any:
        if action not in ("arrived", "sos", "cancel"):
            raise ValueError(f"unknown journey action {action!r}")
        return self.post(f"/api/v1/journeys/{int(journey_id)}/{action}", body or {})

    def raise_sos(self, body: dict[str, Any]) -> dict[str, Any]:
        """``POST /api/v1/sos``: idempotent on ``body["client_id"]``."""
        return self.post("/api/v1/sos", body)

    def sos(self, sos_id: int) -> dict[str, Any]:
        return self.get(f"/api/v1/sos/{int(sos_id)}")

    def alert_received(self, alert_id: int) -> Any:
        return self.post(f"/api/v1/alerts/{int(alert_id)}/received", {})

    def set_contact_phone_sharing(self, contact_id: int, share: bool) -> Any:
        return self.request(
            "PATCH", f"/api/v1/contacts/{int(contact_id)}", body={"share_phone": bool(share)}
        )

    def stream(self, journey_id: int, timeout: float = 30.0) -> Iterator[dict[str, Any]]:
        """Server-sent events of a journey as dicts ``{"event": ..., "data": ...}``; ends when
        the server closes the stream. Raises Offline or ApiError like ``request``."""
        url = f"{self.base_url}/api/v1/journeys/{int(journey_id)}/stream"
        headers = self._headers() | {"Accept": "text/event-stream"}
        try:
            response = self._session.get(url, headers=headers, stream=True, timeout=timeout)
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise Offline(f"stream: {exc.__class__.__name__}") from exc
        with response:
            if response.status_code >= 400:
                self._decode(response, "GET", url, None, False)
            lines: Iterator[str] = response.iter_lines(decode_unicode=True)  # type: ignore[assignment]
            yield from parse_sse(lines)

    # -- reports --------------------------------------------------------------------------
    def report_categories(self) -> list[dict[str, Any]]:
        data = self.get("/api/v1/reports/categories", response_schema="report.category", many=True)
        return _items(data)

    def create_report(self, data: dict[str, Any]) -> dict[str, Any]:
        return self.post(
            "/api/v1/reports", data, request_schema="report.in", response_schema="report.receipt"
        )

    def follow_report(self, reference: str, receipt: str) -> dict[str, Any]:
        """An anonymous report's progress, with the receipt kept on this phone."""
        return self.post(
            "/api/v1/reports/follow",
            {"reference": reference, "receipt": receipt},
            response_schema="report.followed",
            signed=False,
        )

    def upload_report_photo(
        self, reference: str, path: str, receipt: str | None = None
    ) -> dict[str, Any]:
        """Send one photo of a report (multipart); an anonymous report's with its receipt and
        without the sign-in token. Raises ApiError, Offline, ContractError."""
        url = f"{self.base_url}/api/v1/reports/{quote(reference, safe='')}/photos"
        headers = self._headers(signed=receipt is None)
        if receipt:
            headers["X-Report-Receipt"] = receipt
        try:
            with open(path, "rb") as photo:
                response = self._session.post(
                    url,
                    files={"photo": (Path(path).name, photo, "application/octet-stream")},
                    headers=headers,
                    timeout=max(self.timeout, 30.0),
                )
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise Offline(f"POST photo: {exc.__class__.__name__}") from exc
        with response:
            return self._decode(
                response, "POST", "/api/v1/reports/.../photos", "report.photo", False
            )

    def my_reports(self) -> list[dict[str, Any]]:
        return _items(self.get("/api/v1/reports/mine", response_schema="report", many=True))

    # -- surveys --------------------------------------------------------------------------
    def surveys(self) -> list[dict[str, Any]]:
        return _items(self.get("/api/v1/surveys", response_schema="survey", many=True))

    def survey(self, survey_id: int) -> dict[str, Any]:
        return self.get(f"/api/v1/surveys/{int(survey_id)}", response_schema="survey")

    def my_survey_answers(self, survey_id: int) -> dict[str, Any]:
        """My own earlier answers to a survey (values); 404 if I have not answered."""
        return self.get(f"/api/v1/surveys/{int(survey_id)}/responses/mine")

    def answer_survey(self, survey_id: int, answers: dict[str, Any]) -> Any:
        return self.post(
            f"/api/v1/surveys/{int(survey_id)}/responses",
            {"answers": answers},
            request_schema="survey.response.in",
        )


def _items(data: Any) -> list[Any]:
    """A list endpoint's items, whether the server sends a bare list or ``{"items": [...]}``."""
    if isinstance(data, list):
        return data
    if isinstance(data, dict):
        for key in ("items", "results", "features", "data"):
            if isinstance(data.get(key), list):
                return data[key]
    return []


def parse_sse(lines: Iterator[str]) -> Iterator[dict[str, Any]]:
    """Server-sent events from text lines: ``{"event", "data", "id"}`` with JSON data decoded."""
    event, event_id = "message", None
    data_lines: list[str] = []
    for line in lines:
        if line is None:
            continue
        if line == "":
            if data_lines:
                raw = "\n".join(data_lines)
                try:
                    data: Any = json.loads(raw)
                except ValueError:
                    data = raw
                yield {"event": event, "data": data, "id": event_id}
            event, data_lines = "message", []
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if field == "event":
            event = value
        elif field == "data":
            data_lines.append(value)
        elif field == "id":
            event_id = value
