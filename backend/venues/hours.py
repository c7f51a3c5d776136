"""Opening hours in OSM ``opening_hours`` syntax, evaluated in Europe/London with UK bank holidays."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import opening_hours

from backend.errors import field_error
from shared_schemas.venues import HOURS_HORIZON_H

LONDON = ZoneInfo("Europe/London")
COUNTRY = "GB"
WEEKDAY_COLUMNS = (
    ("Mo", "opening_hours_monday"),
    ("Tu", "opening_hours_tuesday"),
    ("We", "opening_hours_wednesday"),
    ("Th", "opening_hours_thursday"),
    ("Fr", "opening_hours_friday"),
    ("Sa", "opening_hours_saturday"),
    ("Su", "opening_hours_sunday"),
)
CLOSED_WORDS = {"", "closed", "close", "shut", "-"}


@dataclass(frozen=True)
class OpenState:
    """Whether a place is open at a moment, and when that changes (UTC; None = never/unknown).
    ``transitions`` are the next changes (UTC, opens?) up to ``known_until``; ``open_24_7``
    is open with no change in sight."""

    open_now: bool | None
    closes_at: datetime | None
    opens_at: datetime | None
    closes_s: float | None = None  # closes_at as epoch seconds (compared on the hot path)
    open_24_7: bool = False
    # Worked out when the span was (``_SPANS``): a later moment in it may be told a shorter
    # look-ahead than a fresh evaluation would give, never a wrong one.
    transitions: tuple[tuple[datetime, bool], ...] = field(default=(), compare=False)
    known_until: datetime | None = field(default=None, compare=False)
    # As an answer carries them, made once per span (not per answer).
    closes_at_local: str | None = field(default=None, compare=False)
    transition_items: tuple[dict[str, object], ...] = field(default=(), compare=False)


@functools.lru_cache(maxsize=8192)
def _parse(expression: str) -> opening_hours.OpeningHours:
    return opening_hours.OpeningHours(expression, timezone=LONDON, country=COUNTRY)


def validate(expression: str | None, field: str = "opening_hours") -> str | None:
    """The trimmed expression if it parses (None/blank -> None); raises ValidationError naming ``field``."""
    if expression is None or not expression.strip():
        return None
    expression = expression.strip()
    try:
        _parse(expression)
    except (opening_hours.ParserError, SyntaxError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "cannot be parsed"
        raise field_error(
            field, f"not valid OSM opening_hours syntax ({first[:120]}): {expression[:60]!r}"
        ) from exc
    return expression


def state_at(expression: str | None, at: datetime) -> OpenState:
    """Open/closed at ``at`` (aware) and the next change; unknown hours give ``open_now=None``."""
    return Clock(at).state(expression)


# An expression's state holds from a moment it was worked out until the next change the
# library gives: any moment in that span gets the same answer, so searches at "now" (which
# moves on) reuse it and evaluate each expression about once per opening or closing. A span
# with no next change is kept for a day at most, in case the library's look-ahead is bounded.
_SPANS: dict[str, tuple[float, float, OpenState]] = {}
SPAN_LIMIT_S = 86_400.0
SPANS_KEPT = 8192
_INVALID = OpenState(None, None, None)
HORIZON = timedelta(hours=HOURS_HORIZON_H)
TRANSITIONS_KEPT = 8


def _state(expression: str | None, local: datetime, at_s: float) -> OpenState:
    if not expression:
        return _INVALID
    span = _SPANS.get(expression)
    if span is not None and span[0] <= at_s < span[1]:
        return span[2]
    try:
        hours = _parse(expression)
    except (opening_hours.ParserError, SyntaxError, ValueError):
        state, end = _INVALID, at_s + SPAN_LIMIT_S
    else:
        now, _comment = hours.state(local)
        change = hours.next_change(local)
        change_utc = _to_utc(change) if change is not None else None
        if now in (opening_hours.State.OPEN, opening_hours.State.CLOSED):
            is_open = now == opening_hours.State.OPEN
            horizon = (until := local.astimezone(UTC) + HORIZON).astimezone(LONDON)
            changes = _transitions(hours, local, horizon, is_open)
            state = OpenState(
                is_open,
                change_utc if is_open else None,
                None if is_open else change_utc,
                closes_s=change_utc.timestamp() if is_open and change_utc else None,
                open_24_7=is_open and change is None,
                transitions=changes,
                known_until=until,
                closes_at_local=(
                    change_utc.astimezone(LONDON).isoformat() if is_open and change_utc else None
                ),
                transition_items=tuple({"at": m, "open": o} for m, o in changes),
            )
        else:
            state = _INVALID
        end = at_s + SPAN_LIMIT_S
        if change_utc is not None:
            end = min(end, change_utc.timestamp())
    if len(_SPANS) >= SPANS_KEPT:
        _SPANS.clear()
    _SPANS[expression] = (at_s, end, state)
    return state


def _transitions(
    hours: opening_hours.OpeningHours, start: datetime, horizon: datetime, is_open: bool
) -> tuple[tuple[datetime, bool], ...]:
    """The changes of state after ``start`` up to ``horizon`` (at most TRANSITIONS_KEPT)."""
    found: list[tuple[datetime, bool]] = []
    for begin, _end, state, _comment in hours.intervals(start, horizon):
        opens = state == opening_hours.State.OPEN
        if begin > start and opens != is_open:
            found.append((_to_utc(begin), opens))
            is_open = opens
            if len(found) >= TRANSITIONS_KEPT:
                break
    return tuple(found)


def is_open_at(expression: str | None, at: datetime) -> bool:
    """True only when the hours say open at ``at`` (unknown hours are not open)."""
    return Clock(at).is_open(expression)


class Clock:
    """One moment, converted to London time once, against which many venues' hours are read.
    Answers are remembered per expression (venues share a handful of common hours)."""

    __slots__ = ("at", "local", "_at_s", "_states")

    def __init__(self, at: datetime) -> None:
        self.at = at
        self.local = at.astimezone(LONDON)
        self._at_s = at.timestamp()
        self._states: dict[str | None, OpenState] = {}

    def is_open(self, expression: str | None) -> bool:
        """True only when the hours say open now (unknown or invalid hours are not open)."""
        return self.state(expression).open_now is True

    def state(self, expression: str | None) -> OpenState:
        found = self._states.get(expression)
        if found is None:
            found = self._states[expression] = _state(expression, self.local, self._at_s)
        return found


def _to_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        value = value.replace(tzinfo=LONDON)
    return value.astimezone(UTC)


def from_weekday_columns(properties: dict[str, object]) -> str | None:
    """``opening_hours_monday``... columns (``09:00-18:00``, ``09:00-13:00,13:20-18:00``,
    ``CLOSED``) -> ``"Mo-Fr 09:00-18:00; Sa 09:00-12:00"``; None when no column is present.
    Raises ValueError when a column holds something else."""
    if not any(column in properties for _day, column in WEEKDAY_COLUMNS):
        return None
    per_day: list[tuple[str, str | None]] = []
    for day, column in WEEKDAY_COLUMNS:
        raw = str(properties.get(column) or "").strip()
        if raw.lower() in CLOSED_WORDS:
            per_day.append((day, None))
            continue
        spans = [part.strip() for part in raw.split(",") if part.strip()]
        for span in spans:
            start, sep, end = span.partition("-")
            if not sep or not _is_clock(start) or not _is_clock(end):
                raise ValueError(f"{column}: {raw[:40]!r}")
        per_day.append((day, ",".join(spans)))
    if all(spans is None for _day, spans in per_day):
        return "closed"
    rules: list[str] = []
    i = 0
    while i < len(per_day):
        day, spans = per_day[i]
        j = i
        while j + 1 < len(per_day) and per_day[j + 1][1] == spans:
            j += 1
        if spans is not None:
            days = (
                day
                if i == j
                else f"{day}-{per_day[j][0]}"
                if j > i + 1
                else f"{day},{per_day[j][0]}"
            )
            rules.append(f"{days} {spans}")
        i = j + 1
    return "; ".join(rules)


def _is_clock(text: str) -> bool:
    hh, sep, mm = text.strip().partition(":")
    return (
        bool(sep)
        and hh.isdigit()
        and mm.isdigit()
        and len(mm) == 2
        and 0 <= int(hh) <= 24
        and 0 <= int(mm) < 60
    )


WEEK_STEP = timedelta(minutes=15)


def weekly_difference(before: str | None, after: str | None, start: datetime) -> timedelta:
    """How much of the week from ``start`` (aware) the two expressions disagree on, open
    against not open, sampled every 15 minutes (unknown hours count as not open)."""
    slots = int(timedelta(days=7) / WEEK_STEP)
    differing = sum(
        1
        for n in range(slots)
        if is_open_at(before, start + n * WEEK_STEP) != is_open_at(after, start + n * WEEK_STEP)
    )
    return differing * WEEK_STEP
