"""Times as people in the UK read them: Europe/London (summer time aware), 24-hour clock."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")


def clock(moment: datetime) -> str:
    """``"04:37"`` in UK local time (an aware datetime; UTC in the database)."""
    return moment.astimezone(LONDON).strftime("%H:%M")


def day_and_clock(moment: datetime, now: datetime) -> str:
    """``"04:37"`` today in the UK, else ``"Sat 5 Dec 23:10"``."""
    local, today = moment.astimezone(LONDON), now.astimezone(LONDON)
    if local.date() == today.date():
        return local.strftime("%H:%M")
    return f"{local.strftime('%a')} {local.day} {local.strftime('%b %H:%M')}"
