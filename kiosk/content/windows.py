"""When a slide may play: dates, weekdays, days of the month and hours, in local wall-clock time.

A Window is validated data; `parse` is the border that builds it from the
authoring folder (or a manifest), `is_open` the plain decision and `state`
the one the schedule asks: whether it is open and the exact next instant that
flips, so the player can sleep until then instead of polling.

Every instant is a naive local datetime: schedule.timezone is applied by the
caller (kiosk.clock). All intervals are half-open [start, end): a window is
open at its start and closed at its end.

The open set of a window is the AND of
- a span of calendar time: [valid_from, valid_until) and the `once` span;
- a daily pattern: on days that match `days` (weekdays) and `monthdays`,
  the `hours` (or the whole day). Hours that wrap past midnight belong to the
  day they start on: "22:00-05:00" on fri runs from Friday 22:00 to Saturday 05:00.
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
import re
from dataclasses import dataclass, field

from kiosk.i18n import _
from kiosk.problems import Problems, shown

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
KEYS = ("valid_from", "valid_until", "once", "days", "monthdays", "hours")
LAST = -1  # in Window.monthdays: the last day of each month
_DAY = dt.timedelta(days=1)
_MIDNIGHT = dt.time(0, 0)
_SCAN_DAYS = 400  # any weekday/day-of-month pattern that is not constant changes within this many days
_SCAN_MONTHS = 12 * 400  # the Gregorian calendar repeats every 400 years


@dataclass(frozen=True)
class Window:
    valid_from: dt.datetime | None = None  # first instant it is valid (naive local time)
    valid_until: dt.datetime | None = None  # first instant it is no longer valid (exclusive)
    days: frozenset[int] | None = None  # weekdays, 0 = Monday
    hours: tuple[dt.time, dt.time] | None = None  # [start, end); end <= start wraps past midnight
    once: tuple[dt.datetime, dt.datetime] | None = None  # a single span [start, end)
    monthdays: frozenset[int] | None = None  # 1..31, LAST; a day a month lacks simply does not occur
    # The calendar span [lo, hi) = valid_from/valid_until ∩ once, computed once for speed.
    lo: dt.datetime | None = field(default=None, init=False, repr=False, compare=False)
    hi: dt.datetime | None = field(default=None, init=False, repr=False, compare=False)
    always: bool = field(default=True, init=False, repr=False, compare=False)  # no limit at all
    # The last answer of state(): it holds for every instant in [since, until). A player re-plans at
    # increasing instants, so most slides answer from here.
    memo: tuple | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        starts = [t for t in (self.valid_from, self.once[0] if self.once else None) if t is not None]
        ends = [t for t in (self.valid_until, self.once[1] if self.once else None) if t is not None]
        object.__setattr__(self, "lo", max(starts) if starts else None)
        object.__setattr__(self, "hi", min(ends) if ends else None)
        limits = (self.lo, self.hi, self.days, self.hours, self.monthdays)
        object.__setattr__(self, "always", all(limit is None for limit in limits))


ALWAYS = Window()


# --- the pure decisions ---------------------------------------------------------------------------


def _day_ok(window: Window, day: dt.date, ignore_dates: bool) -> bool:
    """Whether a window's hours (or whole day) run on this day."""
    if window.days is not None and day.weekday() not in window.days:
        return False
    if ignore_dates or window.monthdays is None or day.day in window.monthdays:
        return True
    return LAST in window.monthdays and day.day == calendar.monthrange(day.year, day.month)[1]


def _daily_open(window: Window, at: dt.datetime, ignore_dates: bool) -> bool:
    if window.hours is None:
        return _day_ok(window, at.date(), ignore_dates)
    start, end = window.hours
    now = at.time()
    if start < end:
        return start <= now < end and _day_ok(window, at.date(), ignore_dates)
    if now >= start:  # wraps past midnight: the early-morning part belongs to yesterday's window
        return _day_ok(window, at.date(), ignore_dates)
    return now < end and _day_ok(window, at.date() - _DAY, ignore_dates)


def is_open(window: Window, at: dt.datetime, ignore_dates: bool = False) -> bool:
    """Whether `at` (naive local time) falls inside the window.

    ignore_dates leaves out what depends on the calendar date (valid_from,
    valid_until, once, monthdays) and keeps weekdays and hours.
    """
    if not ignore_dates:
        if window.lo is not None and at < window.lo:
            return False
        if window.hi is not None and at >= window.hi:
            return False
    return _daily_open(window, at, ignore_dates)


@functools.lru_cache(maxsize=1024)
def _next_monthday(monthdays: frozenset[int], days: frozenset[int] | None, day: dt.date) -> dt.date | None:
    """The first day after `day` on one of the monthdays (and weekdays); walks months, not days.

    "The 31st that is a Monday" may be months away. Cached: a programme
    often repeats one rule, and the player asks again for the same day.
    """
    year, month = day.year, day.month
    for _month in range(_SCAN_MONTHS):
        last = calendar.monthrange(year, month)[1]
        for number in sorted({last if d == LAST else d for d in monthdays if d <= last}):
            candidate = dt.date(year, month, number)
            if candidate > day and (days is None or candidate.weekday() in days):
                return candidate
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return None


def _next_day(window: Window, day: dt.date, want: bool, ignore_dates: bool) -> dt.date | None:
    """The first day after `day` whose _day_ok is `want`; None if there is none."""
    try:
        if want and window.monthdays is not None and not ignore_dates:
            return _next_monthday(window.monthdays, window.days, day)
        candidate = day
        for _day in range(_SCAN_DAYS):
            candidate += _DAY
            if _day_ok(window, candidate, ignore_dates) == want:
                return candidate
    except (OverflowError, ValueError):  # the end of the calendar (year 9999)
        return None
    return None


def _daily_next(window: Window, after: dt.datetime, ignore_dates: bool) -> dt.datetime | None:
    """The next instant > after at which the daily pattern (days, monthdays, hours) flips."""
    day = after.date()
    try:
        if window.hours is None:
            if window.days is None and (window.monthdays is None or ignore_dates):
                return None
            flip = _next_day(window, day, not _day_ok(window, day, ignore_dates), ignore_dates)
            return None if flip is None else dt.datetime.combine(flip, _MIDNIGHT)
        start, end = window.hours
        now = after.time()
        if start < end:
            if _day_ok(window, day, ignore_dates):
                if start <= now < end:
                    return dt.datetime.combine(day, end)
                if now < start:
                    return dt.datetime.combine(day, start)
        else:
            if now >= start and _day_ok(window, day, ignore_dates):
                return dt.datetime.combine(day + _DAY, end)
            if now < end and _day_ok(window, day - _DAY, ignore_dates):
                return dt.datetime.combine(day, end)
            if now < start and _day_ok(window, day, ignore_dates):
                return dt.datetime.combine(day, start)
        opening = _next_day(window, day, True, ignore_dates)
        return None if opening is None else dt.datetime.combine(opening, start)
    except (OverflowError, ValueError):
        return None


def state(window: Window, at: dt.datetime, ignore_dates: bool = False) -> tuple[bool, dt.datetime | None]:
    """(is_open, next_change) in one pass: what the schedule asks of every slide. next_change is the
    first instant t > at at which is_open differs, exact to the microsecond (None: never)."""
    if ignore_dates:
        return _state(window, at, True)
    memo = window.memo
    if memo is not None and memo[0] <= at and (memo[1] is None or at < memo[1]):
        return memo[2], memo[1]
    answer = _state(window, at, False)
    object.__setattr__(window, "memo", (at, answer[1], answer[0]))  # one tuple: safe across threads
    return answer


def _state(window: Window, at: dt.datetime, ignore_dates: bool) -> tuple[bool, dt.datetime | None]:
    lo, hi = (None, None) if ignore_dates else (window.lo, window.hi)
    if hi is not None and at >= hi:
        return False, None
    if lo is not None and at < lo:
        first = lo if _daily_open(window, lo, ignore_dates) else _daily_next(window, lo, ignore_dates)
        return False, first if first is not None and (hi is None or first < hi) else None
    flip = _daily_next(window, at, ignore_dates)
    if is_open(window, at, ignore_dates):
        return True, hi if flip is None or (hi is not None and hi < flip) else flip
    return False, flip if flip is not None and (hi is None or flip < hi) else None


# --- the border: fields as an editor writes them ---------------------------------------------------

_DATETIME = re.compile(
    r"(\d{4})-(\d{1,2})-(\d{1,2})(?:(?:[Tt]|\s+)(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?)?"
)
_TIME = re.compile(r"(\d{1,2}):(\d{2})")
_EXAMPLE = "a date like 2026-12-01 or a date and time like 2026-12-01T07:30"


def _instant(value: object, end: bool) -> tuple[dt.datetime, dt.timedelta]:
    """A local instant and the precision it was written with (a day, a minute, a second...).

    An end written as a date or a minute covers that whole day or minute:
    valid_until: 2026-12-31 (or 2026-12-31T23:59) is valid up to midnight.
    """
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            raise ValueError(_("write local time without a time zone offset (schedule.timezone applies), got {value}")
                .format(value=value))
        step = dt.timedelta(microseconds=1) if value.microsecond else dt.timedelta(seconds=1)
        return value, step
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, _MIDNIGHT), _DAY
    if not isinstance(value, str):
        raise ValueError(_("expected {example}, got {value}").format(example=_EXAMPLE, value=shown(value)))
    match = _DATETIME.fullmatch(value.strip())
    if not match:
        hint = _(" (write local time without an offset)") if re.search(r"(Z|[+-]\d\d:?\d\d)$", value.strip()) else ""
        raise ValueError(_("expected {example}, got {value}{hint}")
            .format(example=_EXAMPLE, value=shown(value), hint=hint))
    year, month, day, hour, minute, second, fraction = match.groups()
    try:
        if hour is None:
            return dt.datetime(int(year), int(month), int(day)), _DAY
        micro = int((fraction or "0").ljust(6, "0"))
        instant = dt.datetime(int(year), int(month), int(day), int(hour), int(minute), int(second or 0), micro)
    except ValueError as exc:
        raise ValueError(_("{value} is not a real date and time ({reason})")
            .format(value=shown(value), reason=exc)) from None
    if fraction:
        return instant, dt.timedelta(microseconds=1)
    return instant, dt.timedelta(seconds=1) if second is not None else dt.timedelta(minutes=1)


def _clock(text: str) -> dt.time:
    """HH:MM; 24:00 is midnight at the end of the day (returned as 00:00)."""
    match = _TIME.fullmatch(text.strip())
    if not match or int(match[1]) > 24 or int(match[2]) > 59 or (int(match[1]) == 24 and int(match[2])):
        raise ValueError(text)
    hour, minute = int(match[1]), int(match[2])
    return _MIDNIGHT if hour == 24 else dt.time(hour, minute)


def _span(text: str) -> tuple[dt.time, dt.time] | None:
    """"HH:MM-HH:MM" as (start, end); None for the whole day (00:00-24:00)."""
    if text.count("-") != 1:
        raise ValueError(text)
    start_text, end_text = text.split("-")
    start, end = _clock(start_text), _clock(end_text)
    if start == end:
        if start == _MIDNIGHT and end_text.strip().startswith("24"):
            return None
        raise ValueError(text)
    return start, end


def parse_span(text: str) -> tuple[dt.time, dt.time] | None:
    """"HH:MM-HH:MM" as (start, end), as `hours:` reads it (config.yaml's sound.quiet_hours too); None for
    the whole day. ValueError when it is not such a text."""
    return _span(text)


def in_span(span: tuple[dt.time, dt.time], at: dt.datetime) -> bool:
    """Whether `at` falls in [start, end), wrapping past midnight when end <= start."""
    start, end = span
    now = at.time()
    return start <= now < end if start < end else now >= start or now < end


def _once(value: object) -> tuple[dt.datetime, dt.datetime]:
    """once: a date (that whole day), "DATE HH:MM-HH:MM", or an ISO interval "START/END"."""
    example = 'a date like 2026-12-05, "2026-12-05 19:00-21:30" or "2026-12-05T19:00/2026-12-06T02:00"'
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        start = dt.datetime.combine(value, _MIDNIGHT)
        return start, start + _DAY
    if not isinstance(value, str):
        raise ValueError(_("expected {example}, got {value}").format(example=example, value=shown(value)))
    text = value.strip()
    if "/" in text:
        first, _sep, second = text.partition("/")
        start, _len = _instant(first, end=False)
        end, _len = _instant(second, end=False)
        if end <= start:
            raise ValueError(_("{value} ends before it starts").format(value=shown(value)))
        return start, end
    match = re.fullmatch(r"(\d{4}-\d{1,2}-\d{1,2})(?:(?:[Tt]|\s+)(.+))?", text)
    if not match:
        raise ValueError(_("expected {example}, got {value}").format(example=example, value=shown(value)))
    day, unit = _instant(match[1], end=False)
    if match[2] is None:
        return day, day + unit
    try:
        hours = _span(match[2])
    except ValueError:
        raise ValueError(_("expected {example}, got {value}").format(example=example, value=shown(value))) from None
    if hours is None:
        return day, day + _DAY
    start, end = (dt.datetime.combine(day.date(), t) for t in hours)
    return start, end if end > start else end + _DAY


_DAY_NAMES = {name: i for i, name in enumerate(DAYS)} | {
    name: i for i, name in enumerate(("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"))
} | {f"t{i + 2}": i for i in range(6)} | {"cn": 6}  # Vietnamese: thứ Hai (T2) .. thứ Bảy (T7), Chủ nhật (CN)


def _weekday(text: str) -> int:
    key = text.strip().lower().replace(" ", "")
    if key not in _DAY_NAMES:
        raise ValueError(text)
    return _DAY_NAMES[key]


def _weekdays(item: object) -> set[int]:
    """One entry of days: a day (mon, monday, t2, cn) or a range (mon-fri, t2-t6; sat-mon wraps)."""
    if not isinstance(item, str):
        raise ValueError(item)
    if "-" in item:
        first, _sep, last = item.partition("-")
        start, end = _weekday(first), _weekday(last)
        return {(start + i) % 7 for i in range((end - start) % 7 + 1)}
    return {_weekday(item)}


def _monthdays(raw: object) -> frozenset[int]:
    items = raw if isinstance(raw, list) else str(raw).replace(",", " ").split()
    result = set()
    for item in items:
        if isinstance(item, str) and item.strip().lower() in ("last", "cuối", "cuoi"):
            result.add(LAST)
            continue
        number = item.strip() if isinstance(item, str) else item
        if isinstance(number, str) and number.isdigit():
            number = int(number)
        if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= 31:
            raise ValueError(_("expected days of the month 1..31 or last, got {item}").format(item=shown(item)))
        result.add(number)
    if not result:
        raise ValueError(_("is empty: the slide would never play (leave the key out to play every day)"))
    return frozenset(result)


def parse(fields: dict, line_of, problems: Problems, where: str) -> Window | None:
    """Build a Window from a slide's fields; None (and problems) when invalid."""
    ok = True
    values: dict[str, object] = {}

    def bad(key: str, message: str) -> None:
        nonlocal ok
        ok = False
        problems.add(line_of(key), f"{where}.{key}", message)

    for key in ("valid_from", "valid_until"):
        if fields.get(key) is not None:
            try:
                instant, unit = _instant(fields[key], end=key == "valid_until")
                values[key] = instant + unit if key == "valid_until" else instant
            except ValueError as exc:
                bad(key, str(exc))
            except OverflowError:
                bad(key, _("{value} is beyond the calendar").format(value=shown(str(fields[key]))))
    if values.get("valid_from") and values.get("valid_until") and values["valid_from"] >= values["valid_until"]:
        bad("valid_until", _("is before valid_from"))
    if fields.get("once") is not None:
        try:
            values["once"] = _once(fields["once"])
        except ValueError as exc:
            bad("once", str(exc))
        except OverflowError:
            bad("once", _("{value} is beyond the calendar").format(value=shown(str(fields['once']))))
    if fields.get("days") is not None:
        raw = fields["days"]
        items = raw if isinstance(raw, list) else str(raw).replace(",", " ").split()
        days: set[int] = set()
        for item in items:
            try:
                days |= _weekdays(item)
            except ValueError:
                bad("days", _("unknown day {item}; use {days} (or t2..t7, cn), or a range like mon-fri")
                    .format(item=shown(item), days=', '.join(DAYS)))
        if not items:
            bad("days", _("is empty: the slide would never play (leave the key out to play every day)"))
        values["days"] = frozenset(days)
    if fields.get("monthdays") is not None:
        try:
            values["monthdays"] = _monthdays(fields["monthdays"])
        except ValueError as exc:
            bad("monthdays", str(exc))
    if fields.get("hours") is not None:
        raw = fields["hours"]
        try:
            if not isinstance(raw, str):
                raise ValueError(raw)
            values["hours"] = _span(raw)
        except ValueError:
            bad("hours", _('expected "HH:MM-HH:MM" (e.g. "07:00-11:30"), got {value}').format(value=shown(raw)))
    if not ok:
        return None
    result = Window(**values)
    if result.lo is not None and result.hi is not None and result.lo >= result.hi:
        bad("once", _("does not overlap valid_from..valid_until: the slide would never play"))
        return None
    return result
