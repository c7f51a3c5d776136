"""Opening hours in OSM ``opening_hours`` syntax, evaluated in Europe/London with UK bank holidays."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import opening_hours

from backend.errors import field_error
from shared_schemas.uktime import LONDON, naive_as_uk_local
from shared_schemas.venues import HOURS_HORIZON_H

COUNTRY = "GB"
# What the library raises for an expression it cannot read: its ParserError (which its
# generated stubs, 2.1.4, leave out), SyntaxError as those stubs say, ValueError.
PARSE_ERRORS: tuple[type[Exception], ...] = (
    opening_hours.ParserError,  # type: ignore[attr-defined]  # missing from the library's stubs
    SyntaxError,
    ValueError,
)
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
    # As ``shared_schemas.venues.on_arrival`` reads them (epoch seconds).
    transitions_s: tuple[tuple[float, bool], ...] = field(default=(), compare=False)
    known_until_s: float | None = field(default=None, compare=False)


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
    except PARSE_ERRORS as exc:
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
    except PARSE_ERRORS:
        state, end = _INVALID, at_s + SPAN_LIMIT_S
    else:
        now, _comment = hours.state(local)
        change = hours.next_change(local)
        change_utc = _to_utc(change) if change is not None else None
        if now in (opening_hours.State.OPEN, opening_hours.State.CLOSED):
            is_open = now == opening_hours.State.OPEN
            horizon = (until := local.astimezone(UTC) + HORIZON).astimezone(LONDON)
            changes = _transitions(hours, local, horizon, is_open)
            if len(changes) >= TRANSITIONS_KEPT:  # cut short: known only as far as the last
                until = changes[-1][0]
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
                transitions_s=tuple((m.timestamp(), o) for m, o in changes),
                known_until_s=until.timestamp(),
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
    return naive_as_uk_local(value).astimezone(UTC)


def from_weekday_columns(properties: dict[str, object]) -> str | None:
    """``opening_hours_monday``... columns (``09:00-18:00``, ``09:00-13:00,13:20-18:00``,
    ``CLOSED``) -> ``"Mo-Fr 09:00-18:00; Sa 09:00-12:00"``; None when no column is present.
    Raises ValueError when a column holds something else."""
    if not any(column in properties for _day, column in WEEKDAY_COLUMNS):
        return None
    per_day: list[str | None] = []
    for _day, column in WEEKDAY_COLUMNS:
        raw = str(properties.get(column) or "").strip()
        if raw.lower() in CLOSED_WORDS:
            per_day.append(None)
            continue
        spans = [part.strip() for part in raw.split(",") if part.strip()]
        for span in spans:
            start, sep, end = span.partition("-")
            if not sep or not _is_clock(start) or not _is_clock(end):
                raise ValueError(f"{column}: {raw[:40]!r}")
        per_day.append(",".join(spans))
    return build(per_day)


def build(per_day: list[str | None], bank_holidays: str | None = None) -> str:
    """The OSM string for seven days Monday first, each ``None`` (closed) or its spans
    (``17:00-03:00``: past midnight; ``00:00-24:00``: all day), with an optional bank
    holiday rule (``off`` or spans): equal neighbouring days share one rule. A closed day
    is left out rather than written "off", which would cut short the night before it."""
    if len(per_day) != 7:
        raise ValueError("seven days, Monday first")
    if all(spans == "00:00-24:00" for spans in per_day) and bank_holidays is None:
        return "24/7"
    if all(spans is None for spans in per_day) and bank_holidays is None:
        return "closed"
    days = [day for day, _column in WEEKDAY_COLUMNS]
    rules: list[str] = []
    i = 0
    while i < 7:
        spans = per_day[i]
        j = i
        while j + 1 < 7 and per_day[j + 1] == spans:
            j += 1
        if spans is not None:
            run = (
                days[i]
                if i == j
                else f"{days[i]}-{days[j]}"
                if j > i + 1
                else f"{days[i]},{days[j]}"
            )
            rules.append(f"{run} {spans}")
        i = j + 1
    if bank_holidays is not None:
        rules.append(f"PH {bank_holidays}")
    return "; ".join(rules)


# --- hours in words -----------------------------------------------------------------------

DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
# A week with no bank holiday and no clock change, and a bank holiday Monday to compare with.
_REFERENCE_MONDAY = datetime(2026, 3, 2)
_BANK_HOLIDAY_MONDAY = datetime(2026, 5, 4)  # early May bank holiday
_ORDINARY_MONDAY = datetime(2026, 5, 11)


@dataclass(frozen=True)
class DaySpans:
    """What a day looks like: closed, all day, or open spans (start, end, ends next day)."""

    all_day: bool
    spans: tuple[tuple[str, str, bool], ...]

    @property
    def closed(self) -> bool:
        return not self.all_day and not self.spans

    def words(self) -> str:
        if self.all_day:
            return "open 24 hours"
        if not self.spans:
            return "closed"
        parts = []
        for start, end, next_day in self.spans:
            if end == "00:00" and next_day:
                parts.append(f"{start} to midnight")
            else:
                parts.append(f"{start} to {end}{' (next day)' if next_day else ''}")
        return ", ".join(parts)

    def editor_row(self) -> dict[str, str] | None:
        """The editor's row for this day, or None when it has more than one span."""
        if self.all_day:
            return {"mode": "24h", "open": "", "close": "", "late": ""}
        if not self.spans:
            return {"mode": "closed", "open": "", "close": "", "late": ""}
        if len(self.spans) > 1:
            return None
        start, end, next_day = self.spans[0]
        return {"mode": "hours", "open": start, "close": end, "late": "on" if next_day else ""}


def _day(hours: opening_hours.OpeningHours, day: datetime) -> DaySpans:
    start = naive_as_uk_local(day)
    end = start + timedelta(days=1)
    # Look a day either side, so a night that began yesterday is not counted as today's.
    merged: list[list[datetime]] = []
    for begin, finish, state, _comment in hours.intervals(
        start - timedelta(days=1), end + timedelta(days=1)
    ):
        if state != opening_hours.State.OPEN:
            continue
        if merged and merged[-1][1] == begin:
            merged[-1][1] = finish
        else:
            merged.append([begin, finish])
    if any(b <= start and f >= end for b, f in merged):
        return DaySpans(True, ())
    spans = []
    for begin, finish in merged:
        if start <= begin < end:
            spans.append(
                (begin.strftime("%H:%M"), finish.strftime("%H:%M"), finish.date() > begin.date())
            )
    return DaySpans(False, tuple(spans))


def week(expression: str) -> tuple[list[DaySpans], DaySpans | None]:
    """Monday..Sunday of an ordinary week, and a bank holiday Monday when it differs from an
    ordinary Monday (else None), as the library evaluates ``expression``. Raises
    ValidationError when it does not parse."""
    hours = _parse(validate(expression) or "closed")
    days = [_day(hours, _REFERENCE_MONDAY + timedelta(days=i)) for i in range(7)]
    holiday = _day(hours, _BANK_HOLIDAY_MONDAY)
    ordinary = _day(hours, _ORDINARY_MONDAY)
    return days, (holiday if holiday != ordinary else None)


def describe(expression: str | None) -> str:
    """Opening hours in words, e.g. "Monday to Saturday: 17:00 to 03:00 (next day).
    Sunday: closed. Bank holidays: closed." ("Hours not given" when blank). Raises
    ValidationError when the expression does not parse."""
    if not expression or not expression.strip():
        return "Hours not given"
    days, holiday = week(expression)
    if all(d.all_day for d in days) and holiday is None:
        return "Open 24 hours, every day."
    sentences = []
    i = 0
    while i < 7:
        j = i
        while j + 1 < 7 and days[j + 1].words() == days[i].words():
            j += 1
        if i == 0 and j == 6:
            name = "Every day"
        elif i == j:
            name = DAY_NAMES[i]
        elif j == i + 1:
            name = f"{DAY_NAMES[i]} and {DAY_NAMES[j]}"
        else:
            name = f"{DAY_NAMES[i]} to {DAY_NAMES[j]}"
        sentences.append(f"{name}: {days[i].words()}.")
        i = j + 1
    if holiday is not None:
        sentences.append(f"Bank holidays: {holiday.words()}.")
    return " ".join(sentences)


# --- plain phrases ------------------------------------------------------------------------

_DAY_WORDS = {
    "mon": 0, "monday": 0, "mondays": 0, "tue": 1, "tues": 1, "tuesday": 1, "tuesdays": 1,
    "wed": 2, "weds": 2, "wednesday": 2, "wednesdays": 2, "thu": 3, "thur": 3, "thurs": 3,
    "thursday": 3, "thursdays": 3, "fri": 4, "friday": 4, "fridays": 4, "sat": 5,
    "saturday": 5, "saturdays": 5, "sun": 6, "sunday": 6, "sundays": 6,
}  # fmt: skip
_DAY_GROUPS = {
    "weekdays": (0, 4), "weekday": (0, 4), "weekends": (5, 6), "weekend": (5, 6),
    "daily": (0, 6), "everyday": (0, 6), "every day": (0, 6), "7 days": (0, 6),
    "seven days": (0, 6), "all week": (0, 6),
}  # fmt: skip
_TIME = r"(?:noon|midday|midnight|\d{1,2}(?:[:.]\d{2})?\s*(?:am|pm|a\.m\.|p\.m\.)?)"
_RANGE_WORDS = r"\s*(?:-|–|to|till|til|until|'til)\s*"
PHRASE_EXAMPLES = ("Mon-Sat 5pm till 3am", "24/7", "9 to 5 weekdays")


def parse_clock(text: str) -> str:
    """A time as staff type it ("17:00", "5pm", "5.30pm", "1700", "midnight") -> "HH:MM";
    raises ValueError."""
    t = (text or "").strip().lower()
    if t.isdigit() and len(t) in (3, 4):
        t = f"{t[:-2]}:{t[-2:]}"
    hour, minute, _known = _clock(t)
    return f"{hour % 24:02d}:{minute:02d}"


def _clock(text: str) -> tuple[int, int, bool]:
    """ "5pm" -> (17, 0, True); "17:00" -> (17, 0, True); "9" -> (9, 0, False): whether the
    half of the day is known."""
    t = text.strip().lower().replace(".", ":").replace("a:m:", "am").replace("p:m:", "pm")
    if t in ("noon", "midday"):
        return 12, 0, True
    if t == "midnight":
        return 24, 0, True
    suffix = "am" if t.endswith("am") else "pm" if t.endswith("pm") else ""
    t = t.removesuffix(suffix).strip()
    hh, _sep, mm = t.partition(":")
    hour, minute = int(hh), int(mm or 0)
    if hour > 24 or minute > 59 or (suffix and not 1 <= hour <= 12):
        raise ValueError(text)
    if suffix == "pm" and hour != 12:
        hour += 12
    if suffix == "am" and hour == 12:
        hour = 0
    return hour, minute, bool(suffix) or hour > 12 or hour == 0 or ":" in t and len(hh) == 2


def _span(first: str, second: str) -> str:
    h1, m1, known1 = _clock(first)
    h2, m2, known2 = _clock(second)
    # "9 to 5": a closing hour before the opening one with no am/pm means the afternoon.
    if not known2 and (h2, m2) <= (h1, m1) and h2 < 12:
        h2 += 12
    if not known1 and not known2 and h1 < 7:
        h1 += 12  # "5 to 11": evening
        if h2 <= h1 and h2 < 12:
            h2 += 12
    end = "24:00" if (h2, m2) == (24, 0) else f"{h2 % 24:02d}:{m2:02d}"
    return f"{h1 % 24:02d}:{m1:02d}-{end}"


def from_phrase(text: str, field: str = "hours_phrase") -> str:
    """Common English phrases for opening hours -> the OSM string: "Mon-Sat 5pm till 3am",
    "24/7", "9 to 5 weekdays", "Fri and Sat 8pm to 4am, Sun closed", "every day 10-22".
    A phrase that is already OSM syntax comes back as it is. Raises ValidationError naming
    ``field`` with examples."""
    import re

    raw = (text or "").strip()
    example = "; ".join(f'"{e}"' for e in PHRASE_EXAMPLES)
    if not raw:
        raise field_error(field, f"type the hours, for example {example}")
    try:
        return validate(raw, field) or ""
    except Exception:  # noqa: BLE001, S110 - not OSM syntax: read it as words below
        pass
    lowered = raw.lower().replace("&", " and ").replace("’", "'")
    if re.fullmatch(r"\s*(24\s*/\s*7|24 hours|open 24 hours|always open|24hrs?)\s*", lowered):
        return "24/7"
    per_day: list[str | None] = [None] * 7
    touched = False
    for clause in re.split(r"[;,\n]", lowered):
        clause = clause.strip()
        if not clause:
            continue
        days = _clause_days(clause)
        closed = re.search(r"\b(closed|shut|off)\b", clause)
        all_day = re.search(r"24 ?(hours|hrs|h)\b|all day", clause)
        times = re.search(f"({_TIME}){_RANGE_WORDS}({_TIME})", clause)
        if days is None:
            days = list(range(7)) if (times or all_day) else None
        if days is None:
            raise field_error(field, f"cannot read {clause[:40]!r}: try {example}")
        if closed and not times:
            value = None
        elif all_day:
            value = "00:00-24:00"
        elif times:
            try:
                value = _span(times.group(1), times.group(2))
            except ValueError as exc:
                raise field_error(field, f"cannot read the time in {clause[:40]!r}") from exc
        else:
            raise field_error(field, f"no times in {clause[:40]!r}: try {example}")
        for d in days:
            per_day[d] = value
        touched = True
    if not touched:
        raise field_error(field, f"cannot read this: try {example}")
    expression = build(per_day)
    return validate(expression, field) or ""


def _clause_days(clause: str) -> list[int] | None:
    import re

    for words, (a, b) in _DAY_GROUPS.items():
        if re.search(rf"\b{words}\b", clause):
            return list(range(a, b + 1))
    names = "|".join(sorted(_DAY_WORDS, key=len, reverse=True))
    found = re.search(rf"\b({names})\b(?:{_RANGE_WORDS}|\s*-\s*)({names})\b", clause)
    if found:
        a, b = _DAY_WORDS[found.group(1)], _DAY_WORDS[found.group(2)]
        return list(range(a, b + 1)) if a <= b else [*range(a, 7), *range(0, b + 1)]
    single = [_DAY_WORDS[m] for m in re.findall(rf"\b({names})\b", clause)]
    return sorted(set(single)) or None


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
