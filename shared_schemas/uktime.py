"""UK time for the server and the app: how a time is read, and how it is shown to a person.

A time without an offset means different things depending on who wrote it, so each meaning
has its own function:

* **an instant** (the API's answers, a location client's fix): no offset means UTC, as
  ``docs/API.md`` says for the location-client routes and as Traccar reads it
  (:func:`naive_as_utc`, :func:`instant_from_text`);
* **a wall-clock time in the UK** (opening hours, a time typed into a form): no offset means
  Europe/London local time (:func:`naive_as_uk_local`, :func:`uk_local_from_text`).

What a person sees is always UK local time (Europe/London, summer time aware) on the 24-hour
clock (:func:`clock` and its siblings); no ISO string reaches a screen.

Around the changes of the clocks (01:00 UTC on the last Sunday of March and of October) a
wall-clock time can be ambiguous or missing. Python's ``fold`` rule decides, as the schemas'
``AwareDateTime(default_timezone=LONDON)`` fields decide it:

* an hour that happens twice (01:00-01:59 on the last Sunday of October) is the first one,
  in summer time (``fold=0``), unless the datetime carries ``fold=1``;
* an hour that never happens (01:00-01:59 on the last Sunday of March) is read with the
  offset from before the change (GMT), so 01:30 is 01:30 UTC, which the clocks show as 02:30.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")
FAR_AHEAD = timedelta(hours=20)  # a time coming up later than this names its weekday

# An aware datetime, the API's ISO 8601 text (no offset means UTC), or nothing.
Moment = datetime | str | None


# --- reading times ------------------------------------------------------------------------


def parse_iso(text: str) -> datetime:
    """ISO 8601 text (``Z`` or an offset, or none) as a datetime, naive when the text has no
    offset; raises ValueError for anything else."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def naive_as_utc(moment: datetime) -> datetime:
    """``moment``, a time without an offset read as UTC (an aware one is kept as it is): how
    a location client's timestamp and the API's own times are read."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def naive_as_uk_local(moment: datetime) -> datetime:
    """``moment``, a time without an offset read as UK wall-clock time (an aware one is kept
    as it is): how opening hours and times typed into a form are read. A repeated hour is
    the first (summer time) unless ``moment.fold`` is 1; a missing hour takes the offset from
    before the change (see the module docstring)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=LONDON)


def instant_from_text(value: object) -> datetime | None:
    """An aware datetime from ISO 8601 text or a datetime, no offset meaning UTC; None for
    nothing or text that is not a time."""
    return _from_text(value, naive_as_utc)


def uk_local_from_text(value: object) -> datetime | None:
    """An aware datetime from ISO 8601 text or a datetime, no offset meaning UK wall-clock
    time; None for nothing or text that is not a time."""
    return _from_text(value, naive_as_uk_local)


def _from_text(value: object, aware: Callable[[datetime], datetime]) -> datetime | None:
    if isinstance(value, datetime):
        return aware(value)
    if not isinstance(value, str) or not value:
        return None
    try:
        return aware(parse_iso(value))
    except ValueError:
        return None


# --- showing times ------------------------------------------------------------------------


def to_uk(moment: datetime) -> datetime:
    """An aware instant as UK local time. Converted through UTC: ``astimezone`` returns a
    datetime already in Europe/London unchanged, so a time the clocks skipped (01:30 on the
    last Sunday of March) would otherwise show as it was written, not as the clocks showed
    that moment (02:30)."""
    return moment.astimezone(UTC).astimezone(LONDON)


def clock(value: Moment) -> str:
    """``"04:37"`` in UK local time; ``""`` when there is no time."""
    moment = instant_from_text(value)
    return to_uk(moment).strftime("%H:%M") if moment else ""


def clock_ahead(value: Moment, now: datetime) -> str:
    """A time coming up, such as a place's closing: ``"04:00"``, with the weekday
    (``"Mon 09:00"``) when it falls on another day more than 20 hours after ``now`` (so a
    closing just past midnight reads ``"02:00"``); ``""`` when there is no time."""
    moment = instant_from_text(value)
    if moment is None:
        return ""
    local, here = to_uk(moment), to_uk(now)
    if local.date() != here.date() and local - here > FAR_AHEAD:
        return local.strftime("%a %H:%M")
    return local.strftime("%H:%M")


def day_and_clock(value: Moment, now: datetime) -> str:
    """``"04:37"`` on ``now``'s UK day, else ``"Sat 5 Dec 23:10"`` (alert texts, the watch
    page); ``""`` when there is no time."""
    moment = instant_from_text(value)
    if moment is None:
        return ""
    local, today = to_uk(moment), to_uk(now)
    if local.date() == today.date():
        return local.strftime("%H:%M")
    return f"{local.strftime('%a')} {local.day} {local.strftime('%b %H:%M')}"


def when(value: Moment, now: datetime | None = None) -> str:
    """``"04:37"`` today, ``"yesterday 23:10"``, else ``"3 Dec 23:10"``, in UK local time
    (the app's lists); ``""`` when there is no time."""
    moment = instant_from_text(value)
    if moment is None:
        return ""
    local = to_uk(moment)
    today = to_uk(now or datetime.now(UTC)).date()
    if local.date() == today:
        return local.strftime("%H:%M")
    if (today - local.date()).days == 1:
        return f"yesterday {local:%H:%M}"
    return f"{local.day} {local:%b %H:%M}"


def ago(value: Moment, now: datetime | None = None) -> str:
    """``"just now"``, ``"2 min ago"``, ``"1 h 5 min ago"``, else :func:`when`; ``""`` when
    there is no time."""
    moment = instant_from_text(value)
    if moment is None:
        return ""
    seconds = ((now or datetime.now(UTC)) - moment).total_seconds()
    if seconds < 45:
        return "just now"
    minutes = int(round(seconds / 60))
    if minutes < 60:
        return f"{minutes} min ago"
    if minutes < 12 * 60:
        hours, rest = divmod(minutes, 60)
        return f"{hours} h {rest} min ago" if rest else f"{hours} h ago"
    return when(moment, now)


def date_time(value: Moment) -> str:
    """``"20/11/2026 22:15"`` (dd/mm/yyyy, 24-hour, UK local time); ``""`` when there is no
    time."""
    moment = instant_from_text(value)
    return to_uk(moment).strftime("%d/%m/%Y %H:%M") if moment else ""
