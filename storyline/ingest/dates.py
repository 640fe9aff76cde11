"""Parse the date strings found in news items into timezone-aware datetimes."""
from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Any

_MAX_EPOCH = 253_402_300_799  # 9999-12-31T23:59:59Z


def parse_date(value: Any) -> datetime | None:
    """ISO 8601, RFC 822 or epoch seconds/milliseconds to an aware datetime (UTC when the input
    names no zone); ``None`` when empty, unparseable or not representable (``1e30``,
    ``Infinity``, a 20-digit number). Never raises."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        dt = _parse(value)
    except (ValueError, TypeError, OverflowError, OSError, IndexError, AttributeError):
        return None
    if dt is None:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def _parse(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and type(value) is not str:  # e.g. a JSON number too long to convert
        return None
    if isinstance(value, (int, float)) or (isinstance(value, str) and value.strip().isdigit()):
        if isinstance(value, str) and len(value.strip()) > 20:
            return None
        num = float(value)
        if not math.isfinite(num):
            return None
        seconds = num / 1000 if abs(num) > 1e11 else num
        if abs(seconds) > _MAX_EPOCH:
            return None
        return datetime.fromtimestamp(seconds, tz=timezone.utc)
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text or len(text) > 100:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return parsedate_to_datetime(text)


def shifted(when: datetime, delta: timedelta) -> datetime:
    """``when + delta``, held at the calendar's ends instead of raising OverflowError: a stored date
    may sit at 0001-01-01 or 9999-12-31 (from a store older than the ingest boundary), and a page
    that widens a window around it must still answer."""
    try:
        return when + delta
    except OverflowError:
        end = datetime.max if delta > timedelta(0) else datetime.min
        return end.replace(tzinfo=when.tzinfo)


def utc_or_none(when: datetime) -> datetime | None:
    """``when`` in UTC (naive taken as UTC), or None when UTC cannot hold it
    (``9999-12-31T23:59:59-14:00``, ``0001-01-01T00:00:00+14:00``)."""
    try:
        return (when if when.tzinfo else when.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)
    except (OverflowError, ValueError):
        return None
