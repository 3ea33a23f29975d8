"""The heartbeat body (SPEC, docs/reports.md), built here and nowhere else, from one status snapshot.

/healthz carries the same SPEC fields, made by `fields`, so the two never disagree. Every time leaves
the board as ISO 8601 with the board's own offset (schedule.timezone), as plays do.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

from kiosk.config import Config


def iso(epoch: float | None, timezone: str) -> str | None:
    """Wall-clock epoch seconds as ISO 8601 with the board's offset; None stays None."""
    if epoch is None:
        return None
    return dt.datetime.fromtimestamp(epoch, zoneinfo.ZoneInfo(timezone)).isoformat(timespec="seconds")


def fields(snapshot: dict, device_id: str, timezone: str, now: float) -> dict:
    """The SPEC heartbeat fields (also the core of /healthz). Null where unknown; `now`: epoch seconds."""
    device = snapshot.get("device") or {}
    sync = snapshot.get("last_sync") or {}
    return {
        "device_id": device_id,
        "sent_at": iso(now, timezone),
        "version": snapshot.get("version"),
        "uptime_s": snapshot.get("uptime_s"),
        "content_version": snapshot.get("content_version"),
        "current_slide": snapshot.get("current_slide"),
        "last_sync": {"at": iso(sync.get("at"), timezone), "ok": sync.get("ok"), "error": sync.get("error")},
        "disk_free_bytes": device.get("disk_free_bytes"),
        "cpu_temp_c": device.get("cpu_temp_c"),
    }


MAX_WARNINGS = 20  # a thousand skipped slides must not make a heartbeat of 300 kB
MAX_WARNING_CHARS = 300


def _capped(warnings: list[str]) -> list[str]:
    kept = [w if len(w) <= MAX_WARNING_CHARS else w[:MAX_WARNING_CHARS - 1] + "…" for w in warnings[:MAX_WARNINGS]]
    if len(warnings) > MAX_WARNINGS:
        kept.append(f"… and {len(warnings) - MAX_WARNINGS} more (the board's /healthz lists them all)")
    return kept


def channels(snapshot: dict, timezone: str) -> list[dict]:
    """Each of source.channels: name, url, version and slides of its last good programme, its last
    sync ({at, ok, error}) and its current error (docs/reports.md)."""
    errors = snapshot.get("errors") or {}
    out = []
    for c in snapshot.get("channels") or []:
        sync = c.get("last_sync") or {}
        last = {"at": iso(sync.get("at"), timezone), "ok": sync.get("ok"), "error": sync.get("error")}
        out.append({"name": c.get("name"), "url": c.get("url"), "version": c.get("version"),
                    "slides": c.get("slides"), "last_sync": last, "error": errors.get(f"sync:{c.get('name')}")})
    return out


def build(snapshot: dict, cfg: Config, now: float) -> dict:
    """The whole heartbeat: the SPEC fields and what a fleet page needs besides. The reporter adds
    `plays_queued`, `plays_dropped_total` and `command_results` to the snapshot it passes in."""
    device = snapshot.get("device") or {}
    body = fields(snapshot, cfg.device.id, cfg.schedule.timezone, now)
    body.update({
        "device_name": cfg.device.name,
        "heartbeat_seconds": cfg.health.heartbeat_seconds,
        "display_ok": snapshot.get("display_ok"),
        "power": snapshot.get("power"),
        "emergency": bool(snapshot.get("emergency")),
        "clock_synced": snapshot.get("clock_synced"),
        "errors": dict(snapshot.get("errors") or {}),
        "plays_queued": snapshot.get("plays_queued"),
        "plays_dropped_total": snapshot.get("plays_dropped_total"),
        # Which manifest format the board reads (2: manifest.v2.json; 1: manifest.json, a tree published for
        # boards before 0.2; null: an authoring folder or nothing yet), and what of it it cannot play.
        "content_format": snapshot.get("content_format"),
        "content_warnings": _capped(snapshot.get("content_warnings") or []),
    })
    extra = {k: v for k, v in device.items() if k not in ("disk_free_bytes", "cpu_temp_c")}
    if extra:
        body["device"] = extra
    if snapshot.get("channels"):
        body["channels"] = channels(snapshot, cfg.schedule.timezone)
    if snapshot.get("command_results"):
        body["command_results"] = list(snapshot["command_results"])
    return body
