"""``Core``: the thin facade the screens use over the app's GUI-free domains.

Each domain lives in its own module, as in ``backend/``: :mod:`account`, :mod:`places`,
:mod:`contacts`, :mod:`journeys` (position and journey), :mod:`sos`, :mod:`watching`,
:mod:`reports` and :mod:`surveys`; what they share (API client, outbox, state) is a
:class:`~mobile_client.core.context.Context`. Methods are synchronous and may block on the
network; the UI runs them on a worker thread (``Core.submit``). Tests call them directly."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

from mobile_client.core.account import Account
from mobile_client.core.api import ApiClient, ApiError, ContractError, Offline
from mobile_client.core.auth import Credentials, TokenStore
from mobile_client.core.contacts import Contacts, normalise_contacts
from mobile_client.core.context import ACTIVE_STATES, Context, iso
from mobile_client.core.journeys import Journeys, Positioning, expected_arrival_for
from mobile_client.core.location import Fix, LocationSource, SimulatedWalk
from mobile_client.core.outbox import DrainResult, Outbox
from mobile_client.core.places import Places, describe_place
from mobile_client.core.reports import Reports
from mobile_client.core.sos import Sos
from mobile_client.core.state import AppState
from mobile_client.core.surveys import Surveys
from mobile_client.core.watching import Watching

__all__ = [
    "ACTIVE_STATES",
    "Core",
    "describe_place",
    "expected_arrival_for",
    "iso",
    "normalise_contacts",
]

log = logging.getLogger(__name__)


class Core:
    """One signed-in app: the domains wired to one context. Screens call the methods below,
    each one line into its domain."""

    def __init__(
        self,
        data_dir: Path | str,
        server_url: str | None = None,
        token: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.ctx = ctx = Context(data_dir, server_url=server_url, token=token, clock=clock)
        self.account = Account(ctx)
        self.places = Places(ctx)
        self.contacts = Contacts(ctx)
        self.positioning = Positioning(ctx)
        self.journeys = Journeys(ctx, self.positioning)
        self.emergency = Sos(ctx, self.contacts, self.positioning)
        self.positioning.listeners.append(self.emergency.on_position)
        self.watching = Watching(ctx)
        self.reports = Reports(ctx)
        self.surveys = Surveys(ctx)
        self._executor: ThreadPoolExecutor | None = None

    # -- shared parts, read through the context -------------------------------------------
    @property
    def data_dir(self) -> Path:
        return self.ctx.data_dir

    @property
    def state(self) -> AppState:
        return self.ctx.state

    @property
    def client(self) -> ApiClient:
        return self.ctx.client

    @property
    def outbox(self) -> Outbox:
        return self.ctx.outbox

    @property
    def store(self) -> TokenStore:
        return self.ctx.store

    @property
    def creds(self) -> Credentials:
        return self.ctx.creds

    @property
    def clock(self) -> Callable[[], float]:
        return self.ctx.clock

    @property
    def location(self) -> LocationSource | None:
        return self.positioning.source

    @property
    def seen_alerts(self) -> Any:
        return self.watching.seen_alerts

    # -- lifecycle ------------------------------------------------------------------------
    def submit(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Future:
        """Run ``fn`` on the core's worker thread; errors end up in ``state.message``."""
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="core")
        state = self.state

        def run() -> Any:
            state.update(busy=True)
            try:
                return fn(*args, **kwargs)
            except Offline:
                # Only what went through the outbox is kept; that path says so itself.
                state.update(online=False, message="No connection right now. Check your signal.")
            except ApiError as exc:
                shown = ((state.notice or {}).get("text"), state.report_place_problem)
                if not (exc.local and exc.message in shown):
                    state.update(message=exc.field_message())  # else the screen says it
            except ContractError as exc:
                log.error("%s", exc)
                state.update(message="The server sent something unexpected.")
            except Exception as exc:
                log.exception("core task failed")
                state.update(message=f"Something went wrong: {exc}")
            finally:
                state.update(busy=False)
            return None

        return self._executor.submit(run)

    def start_background(self) -> None:
        """Start the outbox pump (sends queued work as soon as the network allows)."""
        self.ctx.start_pump()

    def kick(self) -> None:
        """Ask the pump to try now."""
        self.ctx.kick()

    def close(self) -> None:
        self.stop_location()
        self.stop_watching()
        self.ctx.stop_pump()
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None
        self.client.close()

    def flush(self, force: bool = False) -> DrainResult:
        """Send queued fixes, actions and reports now (in order)."""
        return self.ctx.flush(force=force)

    # -- account --------------------------------------------------------------------------
    def set_server(self, url: str) -> None:
        self.account.set_server(url)

    def sign_in(self, token: str) -> dict[str, Any]:
        return self.account.sign_in(token)

    def sign_in_demo(self) -> dict[str, Any]:
        return self.account.sign_in_demo()

    def restore_session(self) -> dict[str, Any] | None:
        return self.account.restore_session()

    def sign_out(self) -> None:
        self.stop_location()
        self.stop_watching()
        self.watching.seen_alerts.clear()
        self.emergency.store.clear()
        self.contacts.phonebook.clear()
        self.account.forget()
        self.emergency.publish()

    def set_display_name(self, name: str) -> dict[str, Any]:
        return self.account.set_display_name(name)

    def set_my_phone(self, phone: str) -> dict[str, Any]:
        return self.account.set_my_phone(phone)

    def export_data(self) -> Path:
        return self.account.export_data()

    def delete_account(self) -> None:
        self.account.delete_on_server()
        self.sign_out()
        self.state.update(message="Your account and data were deleted.")

    # -- position -------------------------------------------------------------------------
    def set_position(self, lat: float, lon: float) -> None:
        self.positioning.set_position(lat, lon)

    def start_location(self, source: LocationSource) -> None:
        self.positioning.start_location(source)

    def simulated_walk(
        self, to: tuple[float, float] | None = None, speedup: float = 1.0, interval_s: float = 5.0
    ) -> SimulatedWalk:
        return self.positioning.simulated_walk(to=to, speedup=speedup, interval_s=interval_s)

    def stop_location(self) -> None:
        self.positioning.stop_location()

    def on_fix(self, fix: Fix) -> None:
        self.positioning.on_fix(fix)

    # -- safe places ----------------------------------------------------------------------
    def find_safe_places(self, limit: int = 5, at: datetime | None = None) -> list[dict[str, Any]]:
        return self.places.find_safe_places(limit=limit, at=at)

    def choose_place(self, place: dict[str, Any]) -> None:
        self.places.choose_place(place)

    def destination_from_postcode(self, postcode: str) -> dict[str, Any]:
        return self.places.destination_from_postcode(postcode)

    def destination_from_map(self, lat: float, lon: float) -> dict[str, Any]:
        return self.places.destination_from_map(lat, lon)

    def select_place(self, place: dict[str, Any] | None) -> None:
        self.places.select_place(place)

    def directions(self, place: dict[str, Any], android: bool) -> str:
        return self.places.directions(place, android)

    def load_app_config(self) -> dict[str, Any] | None:
        return self.places.load_app_config()

    def download_offline_map(self) -> Path | None:
        return self.places.download_offline_map()

    # -- contacts -------------------------------------------------------------------------
    def load_contacts(self) -> list[dict[str, Any]]:
        return self.contacts.load_contacts()

    def create_invitation(self) -> dict[str, Any]:
        return self.contacts.create_invitation()

    def accept_invitation(self, code: str) -> dict[str, Any]:
        return self.contacts.accept_invitation(code)

    def revoke_contact(self, contact_id: int) -> None:
        self.contacts.revoke_contact(contact_id)

    def revoke_warning(self, contact: dict[str, Any]) -> str:
        """What revoking ``contact`` means now (it warns when they watch my active SOS)."""
        sos = self.state.sos or {}
        if sos.get("delivered") and any(
            r.get("user_id") == contact.get("user_id") for r in sos.get("recipients") or []
        ):
            return (
                f"{contact['name']} is watching your SOS now. Hold to stop sharing with them "
                "anyway: they will no longer see where you are."
            )
        journey = self.state.journey or {}
        if contact.get("user_id") in (journey.get("contact_ids") or []):
            return f"{contact['name']} is watching your journey now. Hold to stop sharing."
        return f"Hold to stop sharing with {contact['name']}."

    def set_shared(self, user_id: int, chosen: bool) -> list[int]:
        return self.contacts.set_shared(user_id, chosen)

    def set_contact_phone(self, user_id: int, phone: str) -> str:
        return self.contacts.set_phone(user_id, phone)

    def share_my_phone(self, contact_id: int, share: bool) -> None:
        self.contacts.share_my_phone(contact_id, share)

    def load_viewers(self) -> list[dict[str, Any]]:
        return self.contacts.load_viewers()

    # -- my journey and SOS ---------------------------------------------------------------
    def start_journey(
        self,
        contact_ids: list[int],
        expected_arrival: datetime | None = None,
        destination: dict[str, Any] | None = None,
        watch_link: bool = True,
    ) -> dict[str, Any]:
        return self.journeys.start_journey(
            contact_ids,
            expected_arrival=expected_arrival,
            destination=destination,
            watch_link=watch_link,
        )

    def load_active_journey(self) -> dict[str, Any] | None:
        return self.journeys.load_active_journey()

    def arrived(self) -> None:
        self.journeys.arrived()

    def cancel_journey(self) -> None:
        self.journeys.cancel_journey()

    def press_sos(self) -> dict[str, Any] | None:
        """Save the SOS on the phone (UI thread: no network); then ``send_sos``."""
        return self.emergency.press()

    def send_sos(self) -> dict[str, Any] | None:
        return self.emergency.send_now()

    def sos(self) -> dict[str, Any] | None:
        """Save and send an SOS (on the active journey, if any) in one call."""
        self.emergency.press()
        return self.emergency.send_now()

    def sos_anywhere(self) -> dict[str, Any] | None:
        return self.sos()

    def dismiss_sos(self) -> None:
        self.emergency.dismiss()

    def text_contacts(self) -> list[str]:
        return self.emergency.text_contacts()

    def dismiss_notice(self) -> None:
        self.state.update(notice=None)

    # -- watching someone else ------------------------------------------------------------
    def load_shared_with_me(self) -> list[dict[str, Any]]:
        return self.watching.load_shared_with_me()

    def on_push(self, data: dict[str, Any]) -> None:
        self.watching.on_push(data)

    def poll_push_inbox(self) -> int:
        return self.watching.poll_push_inbox()

    def refresh_watch(self, journey_id: int) -> dict[str, Any]:
        return self.watching.refresh_watch(journey_id)

    def _apply_watched(self, journey: dict[str, Any]) -> None:
        self.watching.apply_watched(journey)

    def on_stream_event(self, event: dict[str, Any]) -> None:
        self.watching.on_stream_event(event)

    def watch(self, journey_id: int, poll_s: float = 2.0) -> None:
        self.watching.watch(journey_id, poll_s=poll_s)

    def stop_watching(self) -> None:
        self.watching.stop_watching()

    # -- reports --------------------------------------------------------------------------
    def load_categories(self) -> list[dict[str, Any]]:
        return self.reports.load_categories()

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
        return self.reports.submit_report(
            category,
            description,
            anonymous,
            lat=lat,
            lon=lon,
            postcode=postcode,
            observed_at=observed_at,
            contact_ok=contact_ok,
            photos=photos,
        )

    def load_my_reports(self) -> list[dict[str, Any]]:
        return self.reports.load_my_reports()

    def pin_report_here(self) -> dict[str, Any] | None:
        return self.reports.pin_here()

    def pin_report_place(self, text: str) -> dict[str, Any]:
        return self.reports.pin_place(text)

    def add_report_photo(self, path: str) -> list[str]:
        return self.reports.add_photo(path)

    def remove_report_photo(self, path: str) -> None:
        self.reports.remove_photo(path)

    # -- surveys --------------------------------------------------------------------------
    def load_surveys(self) -> list[dict[str, Any]]:
        return self.surveys.load_surveys()

    def open_survey(self, survey_id: int) -> dict[str, Any]:
        return self.surveys.open_survey(survey_id)

    def set_survey_language(self, code: str) -> None:
        self.surveys.set_language(code)

    def answer_survey(self, survey: dict[str, Any], answers: dict[str, Any]) -> Any:
        return self.surveys.answer_survey(survey, answers)
