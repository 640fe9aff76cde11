"""Parse the date strings found in news items into timezone-aware datetimes."""
from __future__ import annotations

from datetime import datetime, timezone
from email.utils import parsedate_to_datetime


def parse_date(value: object) -> datetime | None:
    """ISO 8601, RFC 822 or epoch seconds/milliseconds to an aware datetime (UTC when the input
    names no zone); ``None`` when empty or unparseable."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, (int, float)) or (isinstance(value, str) and value.strip().isdigit()):
        num = float(value)
        dt = datetime.fromtimestamp(num / 1000 if num > 1e11 else num, tz=timezone.utc)
    else:
        text = str(value).strip()
        try:
            dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            try:
                dt = parsedate_to_datetime(text)
            except (TypeError, ValueError, IndexError):
                return None
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)
