"""Time: local wall-clock instants in schedule.timezone, and the monotonic clock for durations."""

from __future__ import annotations

import datetime as dt
import zoneinfo


def now_local(timezone: str) -> dt.datetime:
    """The current wall-clock time in the board's time zone, as a naive datetime."""
    return dt.datetime.now(zoneinfo.ZoneInfo(timezone)).replace(tzinfo=None)


def parse_instant(text: str | None, timezone: str) -> dt.datetime:
    """`--at`: naive local time, or an ISO 8601 instant with an offset (converted to local)."""
    if not text:
        return now_local(timezone)
    try:
        parsed = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"expected ISO 8601 like 2026-12-01T08:00 or 2026-12-01T08:00+07:00, got {text!r}") from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(zoneinfo.ZoneInfo(timezone)).replace(tzinfo=None)
    return parsed
