"""Times as a person in Wigan reads them: UK local time (Europe/London, summer time aware),
relative where that helps ("2 min ago"). No ISO string reaches a screen."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, tzinfo
from typing import Any

log = logging.getLogger(__name__)


def _uk() -> tzinfo:
    try:
        from zoneinfo import ZoneInfo

        return ZoneInfo("Europe/London")
    except Exception:  # noqa: BLE001 - no tz database on some phones: show UTC
        log.debug("no Europe/London time zone data; showing UTC")
        return UTC


UK = _uk()


def parse(value: Any) -> datetime | None:
    """An aware datetime from the API's ISO text (naive means UTC), or None."""
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, str) and value:
        try:
            dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    else:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def uk_clock(value: Any) -> str:
    """'23:05' in UK local time, or '' when there is no time."""
    dt = parse(value)
    return dt.astimezone(UK).strftime("%H:%M") if dt else ""


def uk_when(value: Any, now: datetime | None = None) -> str:
    """'04:37' today, 'yesterday 23:10', else '3 Dec 23:10', in UK local time."""
    dt = parse(value)
    if dt is None:
        return ""
    local = dt.astimezone(UK)
    today = (now or datetime.now(UTC)).astimezone(UK).date()
    if local.date() == today:
        return local.strftime("%H:%M")
    if (today - local.date()).days == 1:
        return f"yesterday {local:%H:%M}"
    return f"{local.day} {local:%b %H:%M}"


def ago(value: Any, now: datetime | None = None) -> str:
    """'just now', '2 min ago', '1 h 5 min ago', else the UK time."""
    dt = parse(value)
    if dt is None:
        return ""
    seconds = ((now or datetime.now(UTC)) - dt).total_seconds()
    if seconds < 45:
        return "just now"
    minutes = int(round(seconds / 60))
    if minutes < 60:
        return f"{minutes} min ago"
    if minutes < 12 * 60:
        hours, rest = divmod(minutes, 60)
        return f"{hours} h {rest} min ago" if rest else f"{hours} h ago"
    return uk_when(dt, now)


def uk_date_time(value: Any) -> str:
    """'20/11/2026 22:15' (dd/mm/yyyy, 24-hour, UK local time), or '' without a time."""
    dt = parse(value)
    return dt.astimezone(UK).strftime("%d/%m/%Y %H:%M") if dt else ""
