"""Time: the board's local wall clock, whether it can be trusted, and when it jumps.

Local instants are naive datetimes in schedule.timezone. Durations use the
monotonic clock, which never jumps.

A Raspberry Pi has no battery clock: it boots at the time fake-hwclock saved
at the last shutdown (or at 1970) and learns the real time from NTP a few
seconds later, or never on a network that blocks NTP. Until then, date
windows must not blank the board (kiosk.content.schedule ignores windows when
told the clock is not trusted), and when the clock is corrected it jumps: the
player must re-plan at once rather than sleep until a next_change computed
from the wrong time.

The decisions (`trusted`, `jumped`) are pure; `clock_trusted` reads the few
system facts; `SystemClock` is the one object the player reads time from, so
tests drive the player with a fake one.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import time
import zoneinfo
from pathlib import Path


def now_local(timezone: str) -> dt.datetime:
    """The current wall-clock time in the board's time zone, as a naive datetime."""
    return dt.datetime.now(zoneinfo.ZoneInfo(timezone)).replace(tzinfo=None)


FIRST_YEAR, LAST_YEAR = 1970, 9998  # what a board's clock can read, with a year to spare before datetime's end


def parse_instant(text: str | None, timezone: str) -> dt.datetime:
    """`--at`: naive local time, or an ISO 8601 instant with an offset (converted to local)."""
    if not text:
        return now_local(timezone)
    try:
        parsed = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"expected ISO 8601 like 2026-12-01T08:00 or 2026-12-01T08:00+07:00, got {text!r}") from None
    if not FIRST_YEAR <= parsed.year <= LAST_YEAR:  # the calendar ends at both sides: a day more or less overflows
        raise ValueError(f"{text!r} is outside the years {FIRST_YEAR}-{LAST_YEAR}")
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(zoneinfo.ZoneInfo(timezone)).replace(tzinfo=None)
    return parsed


# --- can the clock be trusted -------------------------------------------------------------------

# The date of this release. A clock more than SLACK before it is certainly wrong (1970, or a stale
# fake-hwclock image). A constant, not a file's mtime: an installed file's mtime is the install time,
# which is as wrong as the clock on a board without network. Bump it at each release.
BUILD_DATE = dt.datetime(2026, 11, 1)
SLACK = dt.timedelta(days=365)  # the rule: "a year before the build date"
SYNC_DIR = Path("/run/systemd/timesync")  # exists while systemd-timesyncd runs
SYNC_FLAG = "synchronized"  # touched by timesyncd at its first successful synchronisation
RTC_HCTOSYS = Path("/sys/class/rtc/rtc0/hctosys")  # "1": the kernel set the clock from a hardware clock
SERVER_TOLERANCE_S = 300.0


def _naive(value: dt.datetime | float | int) -> dt.datetime:
    """Epoch seconds, aware or naive datetimes as one comparable naive datetime (UTC or local: a
    few hours do not matter against a year)."""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).replace(tzinfo=None) if value.tzinfo else value
    try:
        return dt.datetime.fromtimestamp(float(value), dt.UTC).replace(tzinfo=None)
    except (OverflowError, OSError, ValueError):
        return dt.datetime.min


def plausible(now: dt.datetime | float, build_time: dt.datetime | float = BUILD_DATE) -> bool:
    """Not earlier than a year before this release was built."""
    return _naive(now) >= _naive(build_time) - SLACK


def trusted(
    now: dt.datetime | float,
    build_time: dt.datetime | float = BUILD_DATE,
    synchronised: bool | None = None,
    rtc: bool = False,
    server_agrees: bool = False,
) -> bool:
    """The pure decision.

    synchronised: True/False when systemd-timesyncd runs and says so, None when it does not run
    (another NTP daemon, or none). rtc: the clock came from a hardware clock at boot.
    server_agrees: a recent HTTP Date from the content server matched the clock (for networks that
    block NTP but let HTTPS through).
    """
    if synchronised or server_agrees:
        return True
    if synchronised is None or rtc:
        return plausible(now, build_time)
    return False


def clock_trusted(
    now: dt.datetime | float | None = None,
    build_time: dt.datetime | float = BUILD_DATE,
    server_agrees: bool = False,
    sync_dir: Path = SYNC_DIR,
    rtc_hctosys: Path = RTC_HCTOSYS,
) -> bool:
    """Whether date windows may decide: timesyncd's flag, or (where timesyncd is absent, or a hardware
    clock set the time) a clock no earlier than a year before the build date. Never raises.

    now: the wall clock to judge (default: time.time()).
    """
    if now is None:
        now = time.time()
    try:
        synchronised = (sync_dir / SYNC_FLAG).exists() if sync_dir.is_dir() else None
    except OSError:
        synchronised = None
    try:
        rtc = rtc_hctosys.read_text(encoding="ascii").strip() == "1"
    except (OSError, ValueError):
        rtc = False
    return trusted(now, build_time, synchronised, rtc, server_agrees)


def server_agrees(date_header: str | None, wall_at_response: float, tolerance_s: float = SERVER_TOLERANCE_S) -> bool:
    """Whether an HTTP `Date:` header agrees with the wall clock (time.time()) read when the answer came."""
    if not date_header:
        return False
    try:
        server = email.utils.parsedate_to_datetime(date_header)
    except (TypeError, ValueError, IndexError):
        return False
    if server is None or server.tzinfo is None:
        return False
    return abs(server.timestamp() - wall_at_response) <= tolerance_s


# --- jumps ------------------------------------------------------------------------------------------


def jump_seconds(wall_before: float, mono_before: float, wall_now: float, mono_now: float) -> float:
    """How far the wall clock moved beyond the time that really passed (positive: forward)."""
    return (wall_now - wall_before) - (mono_now - mono_before)


def jumped(wall_before: float, mono_before: float, wall_now: float, mono_now: float, tolerance_s: float = 2.0) -> bool:
    """Whether the wall clock was set (NTP step, technician, fake-hwclock) between two readings."""
    return abs(jump_seconds(wall_before, mono_before, wall_now, mono_now)) > tolerance_s


# --- the clock the player reads ---------------------------------------------------------------------


class SystemClock:
    """The real clocks, behind the seam the player reads time through (tests pass a fake one).

    `monotonic` for durations and deadlines, `wall` (epoch seconds) for what a person sees and for
    records, `trusted` for whether date windows may decide, `sleep_until` to sleep until a monotonic
    deadline or until `event` is set, whichever comes first.
    """

    def monotonic(self) -> float:
        return time.monotonic()

    def wall(self) -> float:
        return time.time()

    def trusted(self) -> bool:
        return clock_trusted()

    def sleep_until(self, event, deadline: float) -> bool:
        timeout = deadline - time.monotonic()
        return event.wait(timeout) if timeout > 0 else event.is_set()
