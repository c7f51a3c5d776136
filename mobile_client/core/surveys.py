"""Surveys: listing, opening and answering in the phone's language, with the answers checked
on the phone by the contract's own rules (``shared_schemas.surveys``) before they are queued.

What is here is the phone's side only: which language to show (the phone's, else the
survey's default), the texts of a survey in that language, and how a resident types a date,
a time or a number (``dd/mm/yyyy``, ``23:30``, ``3,5``) turned into the answer values the
contract defines (``YYYY-MM-DD``, ``HH:MM``, a number). Whether an answer is acceptable, and
which questions and sections are shown, is decided by ``shared_schemas.surveys`` alone.

Answers go through the outbox like a report: the app says they were sent only once the server
has answered; until then they are "saved on this phone, not sent yet"."""

from __future__ import annotations

import locale
import logging
import os
import re
from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING, Any

from mobile_client.core.api import ApiError
from shared_schemas import surveys as contract
from shared_schemas.survey_texts import (  # noqa: F401 - the screens read them here
    choose_language,
    language_codes,
    language_names,
    localise,
    primary_language,
)

if TYPE_CHECKING:
    from mobile_client.core.context import Context
    from mobile_client.core.outbox import DrainResult, Item

log = logging.getLogger(__name__)

BOOK = "surveys.json"  # answers queued on this phone: {"pending": {outbox id: survey id}}
SENT_TEXT = "Thank you for answering. The partnership has your answers."
SAVED_TEXT = (
    "Your answers are saved on this phone, not sent yet. They are sent when you have signal."
)


# -- the phone's language ---------------------------------------------------------------------
def _android_language() -> str | None:
    """The Android system locale's tag (python-for-android sets ``ANDROID_ARGUMENT``)."""
    if "ANDROID_ARGUMENT" not in os.environ:
        return None
    try:
        from jnius import autoclass  # type: ignore[import-not-found]  # Android only
    except ImportError:
        return None
    try:
        return str(autoclass("java.util.Locale").getDefault().toLanguageTag())
    except Exception:  # noqa: BLE001 - a phone without a locale is a phone in English
        log.warning("could not read the Android locale", exc_info=True)
        return None


def phone_languages(environ: Mapping[str, str] | None = None) -> list[str]:
    """The phone's languages, most preferred first, as two- or three-letter codes.

    Android: the system locale. Desktop: ``LANGUAGE`` (a colon-separated list), ``LC_ALL``,
    ``LC_MESSAGES``, ``LANG``, then Python's ``locale``."""
    env = os.environ if environ is None else environ
    tags: list[str | None] = [_android_language()] if environ is None else []
    tags += env.get("LANGUAGE", "").split(":")
    tags += [env.get("LC_ALL"), env.get("LC_MESSAGES"), env.get("LANG")]
    if environ is None:
        tags.append(locale.getlocale()[0])
    out: list[str] = []
    for tag in tags:
        code = primary_language(tag)
        if code and code not in out:
            out.append(code)
    return out


# Languages written in Arabic script, right to left. Kivy's own font (Roboto) has no Arabic
# letters, and joined letters need shaping: a font that has them (Android ships Noto Naskh
# Arabic) and HarfBuzz's shaping (Kivy's SDL2 text with ``font_direction``/``font_script_name``).
ARABIC_SCRIPT = {"ar", "fa", "ps", "sd", "ug", "ur", "ckb"}
ARABIC_FONTS = (
    "/system/fonts/NotoNaskhArabic-Regular.ttf",  # Android
    "/usr/share/fonts/truetype/noto/NotoNaskhArabic-Regular.ttf",  # Debian fonts-noto-core
    "/usr/share/fonts/truetype/noto/NotoSansArabic-Regular.ttf",
)


def arabic_font() -> str | None:
    """A font on this device with the Arabic-script letters Urdu needs, or None."""
    return next((path for path in ARABIC_FONTS if os.path.exists(path)), None)


def can_show(code: str | None) -> bool:
    """Whether this device can draw a language (Arabic script needs a font with it)."""
    return primary_language(code) not in ARABIC_SCRIPT or arabic_font() is not None


# -- what a resident types, as answer values ---------------------------------------------------
def parse_uk_date(text: str) -> str | None:
    """``05/11/2026`` (also ``5/11/2026``, ``05-11-2026``, ``05.11.2026``) -> ``2026-11-05``;
    None if it is not a real day."""
    m = re.fullmatch(r"\s*(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})\s*", text or "")
    if not m:
        return None
    day, month, year = (int(g) for g in m.groups())
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return None


def format_uk_date(value: str | None) -> str:
    """``2026-11-05`` -> ``05/11/2026`` (the UK way); anything else as it is."""
    try:
        return date.fromisoformat(str(value)).strftime("%d/%m/%Y")
    except ValueError:
        return str(value or "")


def parse_clock(text: str) -> str | None:
    """``23:30``, ``23.30``, ``2330`` or ``9:05`` -> ``HH:MM`` (24-hour); None otherwise."""
    m = re.fullmatch(r"\s*(\d{1,2})[:.]?(\d{2})\s*", text or "")
    if not m:
        return None
    hour, minute = int(m.group(1)), int(m.group(2))
    if hour > 23 or minute > 59:
        return None
    return f"{hour:02d}:{minute:02d}"


def parse_number(text: str) -> int | float | None:
    """A typed number (a decimal comma is read as a point): ``3,5`` -> 3.5, ``4`` -> 4."""
    cleaned = (text or "").strip().replace(",", ".")
    if not re.fullmatch(r"-?\d+(\.\d+)?", cleaned):
        return None
    number = float(cleaned)
    return int(number) if "." not in cleaned else number


def format_number(value: Any) -> str:
    """A number as a person writes it: ``3.0`` -> ``3``, ``2.5`` -> ``2.5``."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# -- which questions are shown, and whether the answers can go -----------------------------------
def visible_names(survey: Mapping[str, Any], answers: Mapping[str, Any]) -> list[str]:
    """The questions shown, given the answers so far (the contract's rule, sections too)."""
    cleaned, _ = contract.validate_answers(
        survey.get("questions") or [], _answered(answers), sections=survey.get("sections") or []
    )
    sections = survey.get("sections") or []
    return [
        q["name"]
        for q in survey.get("questions") or []
        if contract.is_visible(q, cleaned, sections)
    ]


def visible_sections(survey: Mapping[str, Any], answers: Mapping[str, Any]) -> list[str]:
    """The sections to head: those with at least one question shown (a section's own
    condition hides all of its questions, by the contract's ``is_visible``)."""
    shown = set(visible_names(survey, answers))
    names = {q.get("section") for q in survey.get("questions") or [] if q["name"] in shown}
    return [s["name"] for s in survey.get("sections") or [] if s["name"] in names]


def _answered(answers: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in answers.items() if v not in (None, "", [])}


def problems(survey: Mapping[str, Any], answers: Mapping[str, Any]) -> dict[str, list[str]]:
    """What the contract says is wrong with these answers, by question name."""
    _cleaned, errors = contract.validate_answers(
        survey.get("questions") or [], _answered(answers), sections=survey.get("sections") or []
    )
    return errors


class Surveys:
    """The partnership's surveys: listing, opening, and answering (checked here first, then
    queued in the outbox and sent)."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        ctx.after_flush.append(self._after_flush)

    def _book(self) -> dict[str, Any]:
        book = self.ctx.read_json(BOOK)
        return book if isinstance(book, dict) else {"pending": {}}

    def waiting_survey_ids(self) -> set[int]:
        """Surveys whose answers are saved on this phone and not yet taken by the server."""
        return {int(sid) for sid in self._book().get("pending", {}).values()}

    def load_surveys(self) -> list[dict[str, Any]]:
        surveys = self.ctx.client.surveys()
        self.ctx.state.update(surveys=surveys, surveys_waiting=sorted(self.waiting_survey_ids()))
        return surveys

    def open_survey(self, survey_id: int) -> dict[str, Any]:
        survey = self.ctx.client.survey(survey_id)
        language = choose_language(survey, phone_languages())
        earlier: dict[str, Any] = {}
        if survey.get("answered"):
            try:
                earlier = dict(self.ctx.client.my_survey_answers(survey_id).get("answers") or {})
            except ApiError as exc:
                if exc.status != 404:
                    raise
        self.ctx.state.update(
            survey=survey, survey_language=language, survey_errors={}, survey_answers=earlier
        )
        return survey

    def set_language(self, code: str) -> None:
        """Show the open survey in another of its languages (answers are kept: they are values)."""
        survey = self.ctx.state.survey or {}
        if code not in language_codes(survey):
            raise ApiError(422, "not one of this survey's languages", {"language": [code]}, True)
        self.ctx.state.update(survey_language=code)

    def answer_survey(self, survey: dict[str, Any], answers: dict[str, Any]) -> Any:
        """Check the answers by the contract here first, then queue and try to send them.
        Raises ApiError (``local``) naming each question the contract refuses."""
        errors = problems(survey, answers)
        if errors:
            self.ctx.state.update(survey_errors=errors)
            raise ApiError(422, "check your answers", errors, local=True)
        cleaned, _ = contract.validate_answers(
            survey.get("questions") or [],
            _answered(answers),
            sections=survey.get("sections") or [],
        )
        sid = int(survey["id"])
        item = self.ctx.outbox.enqueue(
            "survey", "POST", f"/api/v1/surveys/{sid}/responses", {"answers": cleaned}
        )
        book = self._book()
        book.setdefault("pending", {})[str(item)] = sid
        self.ctx.write_json(BOOK, book)
        self.ctx.state.update(survey_errors={}, surveys_waiting=sorted(self.waiting_survey_ids()))
        self.ctx.refresh_outbox_counts()
        result = self.ctx.flush(force=True)
        if sid in self.waiting_survey_ids() and not any(
            item_.kind == "survey" and item_.id == item for item_, _ in result.refused
        ):
            self.ctx.state.update(message=SAVED_TEXT)
        return result

    def _after_flush(self, result: DrainResult) -> None:
        """Answers the server took are sent; answers it refused are shown by question."""
        done: list[tuple[Item, ApiError | None]] = [
            (i, None) for i, _ in result.answered if i.kind == "survey"
        ]
        done += [(i, e) for i, e in result.refused if i.kind == "survey"]
        if not done:
            return
        book = self._book()
        for item, error in done:
            sid = book.get("pending", {}).pop(str(item.id), None)
            if error is None:
                self.ctx.state.update(message=SENT_TEXT)
                if sid is not None:
                    self._mark_answered(int(sid))
            else:
                self.ctx.state.update(
                    survey_errors=dict(error.errors or {}),
                    message=f"The answers were not accepted: {error.field_message()}",
                )
        self.ctx.write_json(BOOK, book)
        self.ctx.state.update(surveys_waiting=sorted(self.waiting_survey_ids()))

    def _mark_answered(self, survey_id: int) -> None:
        state = self.ctx.state
        surveys = [
            {**s, "answered": True} if s.get("id") == survey_id else s for s in state.surveys
        ]
        current = state.survey
        if current and current.get("id") == survey_id:
            state.update(surveys=surveys, survey={**current, "answered": True})
        else:
            state.update(surveys=surveys)
