"""When a slide may play: dates, weekdays and hours, in local wall-clock time.

A Window is validated data; `parse` is the border that builds it from the
authoring folder, `is_open` the pure decision.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from kiosk.problems import Problems

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
KEYS = ("valid_from", "valid_until", "days", "hours")


@dataclass(frozen=True)
class Window:
    valid_from: dt.datetime | None = None  # naive local time
    valid_until: dt.datetime | None = None
    days: frozenset[int] | None = None  # 0 = Monday
    hours: tuple[dt.time, dt.time] | None = None  # may wrap past midnight

    @property
    def has_dates(self) -> bool:
        return self.valid_from is not None or self.valid_until is not None


ALWAYS = Window()


def is_open(window: Window, at: dt.datetime, ignore_dates: bool = False) -> bool:
    """Whether `at` (naive local time) falls inside the window."""
    if not ignore_dates:
        if window.valid_from is not None and at < window.valid_from:
            return False
        if window.valid_until is not None and at > window.valid_until:
            return False
    if window.hours is not None:
        start, end = window.hours
        now = at.time()
        if start <= end:
            inside, day = start <= now < end, at.date()
        else:  # wraps past midnight: the early-morning part belongs to yesterday's window
            inside = now >= start or now < end
            day = at.date() if now >= start else at.date() - dt.timedelta(days=1)
        if not inside:
            return False
    else:
        day = at.date()
    return window.days is None or day.weekday() in window.days


def _datetime(value: object, end: bool) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None) if value.tzinfo is None else value.replace(tzinfo=None)
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time.max if end else dt.time.min).replace(microsecond=0)
    if isinstance(value, str):
        text = value.strip().replace(" ", "T", 1)
        try:
            parsed = dt.datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"expected a date and time like 2026-12-01T07:30, got {value!r}") from None
        if len(text) == 10:
            parsed = dt.datetime.combine(parsed.date(), dt.time(23, 59, 59) if end else dt.time.min)
        return parsed.replace(tzinfo=None)
    raise ValueError(f"expected a date and time like 2026-12-01T07:30, got {value!r}")


def _clock(text: str) -> dt.time:
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", text.strip())
    if not match or int(match[1]) > 24 or int(match[2]) > 59 or (int(match[1]) == 24 and int(match[2])):
        raise ValueError(text)
    hour, minute = int(match[1]), int(match[2])
    return dt.time.max if hour == 24 else dt.time(hour, minute)


def parse(fields: dict, line_of, problems: Problems, where: str) -> Window | None:
    """Build a Window from a slide's fields; None (and problems) when invalid."""
    ok = True
    values: dict[str, object] = {}
    for key in ("valid_from", "valid_until"):
        if fields.get(key) is not None:
            try:
                values[key] = _datetime(fields[key], end=key == "valid_until")
            except ValueError as exc:
                problems.add(line_of(key), f"{where}.{key}", str(exc))
                ok = False
    if values.get("valid_from") and values.get("valid_until") and values["valid_from"] > values["valid_until"]:
        problems.add(line_of("valid_until"), f"{where}.valid_until", "is before valid_from")
        ok = False
    if fields.get("days") is not None:
        raw = fields["days"]
        items = raw if isinstance(raw, list) else str(raw).replace(",", " ").split()
        days = set()
        for item in items:
            name = str(item).strip().lower()[:3]
            if name not in DAYS:
                problems.add(line_of("days"), f"{where}.days", f"unknown day {item!r}; use {', '.join(DAYS)}")
                ok = False
            else:
                days.add(DAYS.index(name))
        values["days"] = frozenset(days)
    if fields.get("hours") is not None:
        raw = fields["hours"]
        try:
            if not isinstance(raw, str) or raw.count("-") != 1:
                raise ValueError(raw)
            start, end = (_clock(part) for part in raw.split("-"))
            if start == end:
                raise ValueError(raw)
            values["hours"] = (start, end)
        except ValueError:
            problems.add(
                line_of("hours"), f"{where}.hours", f'expected "HH:MM-HH:MM" (e.g. "07:00-11:30"), got {raw!r}'
            )
            ok = False
    return Window(**values) if ok else None
