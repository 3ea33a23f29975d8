"""The reports protocol at the hub's border (docs/reports.md): bodies from boards checked into typed data.

A body is taken whole or refused whole with a 4xx that names the field (`plays[3].started_at: …`),
so nothing is ever half-stored. Unknown fields are ignored (boards may send more than this hub knows);
known fields must have their documented types. Texts are cut to a sane length instead of refused:
an error message of a board is worth keeping even when it is long.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from dataclasses import dataclass

PLAY_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
SLIDE_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TEXT_MAX = 1000
MAX_ERRORS = 32
MAX_RESULTS = 20
MAX_CHANNELS = 16
DEVICE_MAX = 8192  # bytes of the open-ended `device` object, as JSON
MAX_PIXELS = 8192 * 8192
MAX_DURATION = 7 * 86400.0


class BadReport(Exception):
    """A body refused at the border: `status` (400, 413, 415, 422) and a one-line reason."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class CommandResult:
    id: str | None
    name: str
    ok: bool
    error: str | None


@dataclass(frozen=True)
class Heartbeat:
    body: dict  # the checked fields only, as they will be shown (stored as JSON)
    uptime_s: float | None
    errors: dict  # part → message
    command_results: tuple[CommandResult, ...]
    heartbeat_seconds: float | None


@dataclass(frozen=True)
class Play:
    id: str
    slide_id: str
    started_at: float  # Unix seconds
    ended_at: float
    duration_s: float
    cut_short: bool
    content_version: str | None


def decode_json(data: bytes) -> dict:
    try:
        value = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise BadReport(400, "the body is not UTF-8") from None
    except ValueError as exc:
        raise BadReport(400, f"the body is not JSON ({exc})") from None
    if not isinstance(value, dict):
        raise BadReport(422, "the body must be a JSON object")
    return value


def _kind(value: object) -> str:
    return {bool: "true/false", int: "a number", float: "a number", str: "text", list: "a list",
            dict: "an object", type(None): "null"}.get(type(value), type(value).__name__)


def _text(value: object, where: str, nullable: bool = True, limit: int = TEXT_MAX) -> str | None:
    if value is None and nullable:
        return None
    if not isinstance(value, str):
        raise BadReport(422, f"{where}: expected text, got {_kind(value)}")
    return value[:limit]


def _number(value: object, where: str, low: float | None = None, high: float | None = None) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        raise BadReport(422, f"{where}: expected a number, got {_kind(value)}")
    if (low is not None and value < low) or (high is not None and value > high):
        raise BadReport(422, f"{where}: {value:g} is out of range")
    return float(value)


def _boolean(value: object, where: str) -> bool | None:
    if value is None:
        return None
    if not isinstance(value, bool):
        raise BadReport(422, f"{where}: expected true or false, got {_kind(value)}")
    return value


def _instant(value: object, where: str, nullable: bool = True) -> float | None:
    text = _text(value, where, nullable=nullable, limit=64)
    if text is None:
        return None
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        raise BadReport(422, f"{where}: {text!r} is not an ISO 8601 time") from None
    if when.tzinfo is None:
        raise BadReport(422, f"{where}: {text!r} has no offset (e.g. +07:00)")
    return when.timestamp()


def parse_heartbeat(data: bytes, board_id: str) -> Heartbeat:
    raw = decode_json(data)
    if raw.get("device_id") != board_id:
        raise BadReport(422, f"device_id: {str(raw.get('device_id'))[:80]!r} is not this URL's board {board_id!r}")
    body: dict = {"device_id": board_id}
    for key in ("device_name", "version", "content_version", "current_slide", "power"):
        body[key] = _text(raw.get(key), key, limit=200)
    body["sent_at"] = _text(raw.get("sent_at"), "sent_at", limit=64)
    if body["sent_at"] is not None:
        _instant(body["sent_at"], "sent_at")
    body["uptime_s"] = _number(raw.get("uptime_s"), "uptime_s", 0)
    body["disk_free_bytes"] = _number(raw.get("disk_free_bytes"), "disk_free_bytes", 0)
    body["cpu_temp_c"] = _number(raw.get("cpu_temp_c"), "cpu_temp_c", -100, 250)
    body["plays_queued"] = _number(raw.get("plays_queued"), "plays_queued", 0)
    body["plays_dropped_total"] = _number(raw.get("plays_dropped_total"), "plays_dropped_total", 0)
    for key in ("display_ok", "emergency", "clock_synced"):
        body[key] = _boolean(raw.get(key), key)
    sync = raw.get("last_sync")
    if sync is not None and not isinstance(sync, dict):
        raise BadReport(422, f"last_sync: expected an object, got {_kind(sync)}")
    sync = sync or {}
    body["last_sync"] = {"at": _text(sync.get("at"), "last_sync.at", limit=64),
                         "ok": _boolean(sync.get("ok"), "last_sync.ok"),
                         "error": _text(sync.get("error"), "last_sync.error")}
    if body["last_sync"]["at"] is not None:
        _instant(body["last_sync"]["at"], "last_sync.at")
    errors = raw.get("errors")
    if errors is not None and not isinstance(errors, dict):
        raise BadReport(422, f"errors: expected an object, got {_kind(errors)}")
    checked_errors = {}
    for part, message in list((errors or {}).items())[:MAX_ERRORS]:
        text = _text(message, f"errors.{part[:40]}")
        if text is not None:
            checked_errors[part[:40]] = text
    body["errors"] = checked_errors
    device = raw.get("device")
    if device is not None:
        if not isinstance(device, dict):
            raise BadReport(422, f"device: expected an object, got {_kind(device)}")
        if len(json.dumps(device, ensure_ascii=False)) > DEVICE_MAX:
            raise BadReport(413, f"device: more than {DEVICE_MAX} bytes")
        body["device"] = device
    body["channels"] = _channels(raw.get("channels"))
    interval = _number(raw.get("heartbeat_seconds"), "heartbeat_seconds", 1, 86400)
    body["heartbeat_seconds"] = interval
    results = raw.get("command_results") or []
    if not isinstance(results, list):
        raise BadReport(422, f"command_results: expected a list, got {_kind(results)}")
    checked: list[CommandResult] = []
    for i, item in enumerate(results[:MAX_RESULTS]):
        where = f"command_results[{i}]"
        if not isinstance(item, dict):
            raise BadReport(422, f"{where}: expected an object, got {_kind(item)}")
        cid = item.get("id")
        if isinstance(cid, bool) or (cid is not None and not isinstance(cid, (str, int))):
            raise BadReport(422, f"{where}.id: expected text or a number")
        name = _text(item.get("name"), f"{where}.name", nullable=False, limit=40)
        ok = _boolean(item.get("ok"), f"{where}.ok")
        checked.append(CommandResult(None if cid is None else str(cid)[:100], name, bool(ok),
                                     _text(item.get("error"), f"{where}.error")))
    return Heartbeat(body=body, uptime_s=body["uptime_s"], errors=checked_errors,
                     command_results=tuple(checked), heartbeat_seconds=interval)


def _channels(raw: object) -> list[dict]:
    """A board's `channels` (docs/reports.md): name, url, version, slides, last_sync, error of each."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise BadReport(422, f"channels: expected a list, got {_kind(raw)}")
    out = []
    for i, item in enumerate(raw[:MAX_CHANNELS]):
        where = f"channels[{i}]"
        if not isinstance(item, dict):
            raise BadReport(422, f"{where}: expected an object, got {_kind(item)}")
        sync = item.get("last_sync")
        if sync is not None and not isinstance(sync, dict):
            raise BadReport(422, f"{where}.last_sync: expected an object, got {_kind(sync)}")
        sync = sync or {}
        at = _text(sync.get("at"), f"{where}.last_sync.at", limit=64)
        if at is not None:
            _instant(at, f"{where}.last_sync.at")
        out.append({
            "name": _text(item.get("name"), f"{where}.name", nullable=False, limit=64),
            "url": _text(item.get("url"), f"{where}.url", limit=500),
            "version": _text(item.get("version"), f"{where}.version", limit=128),
            "slides": _number(item.get("slides"), f"{where}.slides", 0),
            "last_sync": {"at": at, "ok": _boolean(sync.get("ok"), f"{where}.last_sync.ok"),
                          "error": _text(sync.get("error"), f"{where}.last_sync.error")},
            "error": _text(item.get("error"), f"{where}.error"),
        })
    return out


def parse_plays(data: bytes, board_id: str, max_plays: int) -> list[Play]:
    raw = decode_json(data)
    if raw.get("device_id") != board_id:
        raise BadReport(422, f"device_id: {str(raw.get('device_id'))[:80]!r} is not this URL's board {board_id!r}")
    plays = raw.get("plays")
    if not isinstance(plays, list):
        raise BadReport(422, f"plays: expected a list, got {_kind(plays)}")
    if len(plays) > max_plays:
        raise BadReport(413, f"plays: {len(plays)} plays in one request; at most {max_plays}")
    out: list[Play] = []
    for i, item in enumerate(plays):
        where = f"plays[{i}]"
        if not isinstance(item, dict):
            raise BadReport(422, f"{where}: expected an object, got {_kind(item)}")
        pid = item.get("id")
        if not isinstance(pid, str) or not PLAY_ID.match(pid):
            raise BadReport(422, f"{where}.id: expected 1-64 characters of A-Z a-z 0-9 _ -")
        slide = item.get("slide_id")
        if not isinstance(slide, str) or not SLIDE_ID.match(slide):
            raise BadReport(422, f"{where}.slide_id: expected a slide id, got {_kind(slide)}")
        started = _instant(item.get("started_at"), f"{where}.started_at", nullable=False)
        ended = _instant(item.get("ended_at"), f"{where}.ended_at", nullable=False)
        duration = _number(item.get("duration_s"), f"{where}.duration_s", 0, MAX_DURATION)
        if duration is None:
            raise BadReport(422, f"{where}.duration_s: expected a number, got null")
        cut = _boolean(item.get("cut_short"), f"{where}.cut_short")
        version = _text(item.get("content_version"), f"{where}.content_version", limit=128)
        out.append(Play(pid, slide, started, ended, duration, bool(cut), version))
    return out


def check_png(data: bytes) -> tuple[int, int]:
    """The screenshot's size; BadReport unless it is a whole PNG of a sane size (no decompression bomb
    reaches a staff member's browser)."""
    if not data.startswith(PNG_SIGNATURE):
        raise BadReport(415, "the body is not a PNG image")
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as image:
            size = image.size
            if size[0] * size[1] > MAX_PIXELS:
                raise BadReport(413, f"a screenshot of {size[0]}x{size[1]} pixels is too large")
            image.verify()
    except BadReport:
        raise
    except Exception as exc:  # noqa: BLE001 - Pillow raises many kinds for a broken file
        raise BadReport(422, f"the PNG is damaged ({exc})") from None
    return size
