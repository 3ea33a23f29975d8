"""Is the board healthy? The pure rules: a status snapshot and a monotonic "now" in, a verdict out, so
every rule is tested without a clock or a socket. /healthz (kiosk.report.endpoint), /metrics, systemd's
STATUS= line and `kiosk status` all speak from these findings.

The rules (docs/deploy.md repeats them for technicians):
- unhealthy (503): the render loop has not turned since its own promised deadline + LOOP_GRACE_S, or has
  not started; the display is lost (display_ok false) or is a dummy driver, unless headless mode was chosen
  on purpose; no content while the screen is meant to be on; an error from a part the screen depends on.
- healthy with warnings (200): sync failing (old content keeps playing), content warnings, clock not
  synchronised, too hot, under-voltage, disk low, proof-of-play records dropped, other parts' errors,
  headless mode.
Headless mode (the player's explicit dev/CI mode, Status.headless) is healthy but always carries a warning,
and /metrics exposes kiosk_headless so a production board that somehow runs headless still alerts.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from kiosk.report import heartbeat

LOOP_GRACE_S = 5.0  # how late the render loop may be past its own deadline before it counts as stalled
LOOP_DEFAULT_PROMISE_S = 30.0  # when the loop gave no deadline
FATAL_PARTS = frozenset({"display", "render", "font", "player"})  # their errors mean a wrong or black screen
DUMMY_DRIVERS = frozenset({"dummy", "offscreen", "evdev"})  # SDL video drivers that show nothing (any case)
TEMP_WARN_C = 80.0  # the Pi firmware starts soft throttling at 80 °C
DISK_LOW_BYTES = 200 * 1024 * 1024


@dataclass(frozen=True)
class Finding:
    fault: bool  # True: makes the board unhealthy; False: a warning
    code: str  # stable, for metrics and alerts (kiosk_health_problem{code=…})
    message: str  # for a technician


def findings(snap: dict, now: float) -> list[Finding]:
    """Everything worth a look in one snapshot, faults first. `now` is time.monotonic() of the snapshot."""
    out: list[Finding] = []
    fault = lambda code, msg: out.append(Finding(True, code, msg))  # noqa: E731
    warn = lambda code, msg: out.append(Finding(False, code, msg))  # noqa: E731

    beat, deadline = snap.get("loop_beat"), snap.get("loop_deadline")
    if beat is None:
        fault("loop_not_started", "render loop has not started")
    else:
        limit = (deadline if deadline is not None else beat + LOOP_DEFAULT_PROMISE_S) + LOOP_GRACE_S
        if now > limit:
            fault("loop_stalled", f"render loop stalled: last turn {now - beat:.1f} s ago")

    headless = bool(snap.get("headless"))
    driver = snap.get("display_driver") or ""
    if headless:
        warn("headless", "running headless (no screen, chosen on purpose): development mode")
    elif not snap.get("display_ok"):
        fault("no_display", "no display: nothing reaches the screen")
    elif driver.lower() in DUMMY_DRIVERS:
        fault("no_display", f"display driver is {driver!r}: nothing reaches the screen")

    powered_off = snap.get("power") in ("off", "off-black")  # dark on purpose (display.power)
    if not snap.get("slide_count") and not powered_off:
        fault("no_content", "no content: nothing to show")

    for part, message in sorted((snap.get("errors") or {}).items()):
        if part in FATAL_PARTS:
            fault(f"error_{part}", f"{part}: {message}")

    sync = snap.get("last_sync") or {}
    if sync.get("ok") is False:
        since = snap.get("sync_failing_since")
        spell = f" for {_duration(now - since)}" if since is not None else ""
        warn("sync_failing", f"sync failing{spell} (old content keeps playing): {sync.get('error') or 'unknown'}")
    for part, message in sorted((snap.get("errors") or {}).items()):
        if part not in FATAL_PARTS and not (part == "sync" and sync.get("ok") is False):
            warn(f"error_{part}", f"{part}: {message}")
    content_warnings = snap.get("content_warnings") or []
    if content_warnings:
        more = f" (+{len(content_warnings) - 1} more)" if len(content_warnings) > 1 else ""
        warn("content_warnings", f"content warning: {content_warnings[0]}{more}")
    for warning in snap.get("config_warnings") or []:
        warn("config_warning", f"config: {warning}")
    if snap.get("clock_synced") is False:
        warn("clock_unsynced", "clock not synchronised: schedules may be off")
    dropped = (snap.get("counters") or {}).get("plays_dropped", 0)
    if dropped:
        warn("plays_dropped", f"{dropped} proof-of-play records dropped (queue full)")

    dev = snap.get("device") or {}
    temp = dev.get("cpu_temp_c")
    if temp is not None and temp >= TEMP_WARN_C:
        warn("too_hot", f"CPU at {temp:.0f} °C")
    throttled = dev.get("throttled") or {}
    if (throttled.get("now") or {}).get("under_voltage"):
        warn("under_voltage", "under-voltage: check the power supply and cable")
    elif (throttled.get("now") or {}).get("throttled"):
        warn("throttled", "CPU throttled")
    free = dev.get("disk_free_bytes")
    if free is not None and free < DISK_LOW_BYTES:
        warn("disk_low", f"disk almost full: {free / 1e6:.0f} MB free")
    return sorted(out, key=lambda f: not f.fault)


def assess(snapshot: dict, now_monotonic: float) -> tuple[bool, list[str]]:
    """(healthy, reasons): healthy unless some finding is a fault; reasons lists faults, then warnings."""
    found = findings(snapshot, now_monotonic)
    return not any(f.fault for f in found), [f.message for f in found]


def summary_line(snapshot: dict, now_monotonic: float) -> str:
    """One line for systemd's STATUS= (shown by `systemctl status kiosk`): the verdict and its first reason."""
    healthy, reasons = assess(snapshot, now_monotonic)
    slide = snapshot.get("current_slide") or "-"
    head = f"healthy, slide {slide}" if healthy else "DEGRADED"
    return f"{head}: {reasons[0]}" if reasons else head


def _duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h"


def report(snap: dict, now: float, device_id: str, device_name: str, timezone: str,
           wall: float | None = None) -> tuple[bool, dict]:
    """The /healthz body: the verdict, the heartbeat fields (SPEC) and the details behind them.
    `now` is monotonic (for the rules), `wall` epoch seconds (for the times shown; default: now)."""
    wall = time.time() if wall is None else wall

    def iso(epoch: float | None) -> str | None:
        return heartbeat.iso(epoch, timezone)

    found = findings(snap, now)
    healthy = not any(f.fault for f in found)
    beat, deadline = snap.get("loop_beat"), snap.get("loop_deadline")
    last_heartbeat = snap.get("last_heartbeat") or {}
    body = {
        "status": "healthy" if healthy else "degraded",
        "reasons": [f.message for f in found if f.fault],
        "warnings": [f.message for f in found if not f.fault],
        "codes": [f.code for f in found],
        **heartbeat.fields(snap, device_id, timezone, wall),
        "device_name": device_name,
        "render_loop": {
            "last_turn_s_ago": None if beat is None else round(now - beat, 3),
            "next_turn_due_in_s": None if deadline is None else round(deadline - now, 3),
        },
        "display": {
            "ok": snap.get("display_ok"),
            "driver": snap.get("display_driver"),
            "renderer": snap.get("display_renderer"),
            "size": snap.get("display_size"),
            "headless": snap.get("headless"),
        },
        "screen_power": snap.get("power"),
        "emergency": snap.get("emergency"),
        "slide_count": snap.get("slide_count"),
        "slide_started_at": iso(snap.get("slide_started_at")),
        "content_warnings": snap.get("content_warnings"),
        "content_format": snap.get("content_format"),
        "last_sync_ok_at": iso(snap.get("last_sync_ok_at")),
        "errors": snap.get("errors"),
        "clock_synced": snap.get("clock_synced"),
        "cache_bytes": snap.get("cache_bytes"),
        "plays_queued": snap.get("plays_queued"),
        "last_heartbeat": {**last_heartbeat, "at": iso(last_heartbeat.get("at"))},
        "counters": snap.get("counters"),
        "started_at": iso(snap.get("started_at")),
        "device": snap.get("device"),
    }
    if snap.get("channels"):
        body["channels"] = heartbeat.channels(snap, timezone)
    return healthy, body
