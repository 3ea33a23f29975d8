"""The fleet's state, decided from stored facts: pure functions of (board, now, thresholds, latest version).

A board is `never` seen, `silent` (no heartbeat for more than three of its heartbeat periods),
`degraded` (it speaks, but reports a problem) or `healthy`. The same decision feeds the fleet page,
the board's page and /metrics, so they never disagree.
"""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass

from kiosk.hub.config import Boards
from kiosk.hub.store import SILENT_AFTER, Board

STATES = ("healthy", "degraded", "silent", "never")
SORT_KEYS = ("name", "commune", "state", "last_seen", "temperature", "disk", "uptime", "version", "content")
THROTTLE_NOW_MASK = 0xF  # the firmware's "now" bits: under-voltage, frequency capped, throttled, soft limit
# The facts a page shows, null until a board sends them (a board that never spoke has none).
EMPTY = dict.fromkeys(("version", "content_version", "current_slide", "uptime_s", "disk_free_bytes", "cpu_temp_c",
                       "display_ok", "power", "emergency", "plays_queued", "plays_dropped_total", "sent_at"))


ALPHABET = "aăâbcdđeêfghijklmnoôơpqrstuưvwxyz"  # the Vietnamese order (f, j, w, z for foreign names)
LETTER_MARKS = "\u0306\u0302\u031b"  # breve, circumflex, horn: they make letters (ă â ê ô ơ ư)
TONE_MARKS = "\u0300\u0301\u0303\u0309\u0323"  # grave, acute, tilde, hook, dot below: only a tie-break


@functools.lru_cache(maxsize=16384)  # board names repeat on every page
def vietnamese_key(text: str) -> tuple:
    """Names in the order a Vietnamese reader expects: Ấp before Bình before Cát before Đông, tones only
    breaking ties (code points would put every accented letter after z)."""
    letters: list[str] = []
    tones: list[int] = []
    for ch in unicodedata.normalize("NFD", text.casefold()):
        if ch in TONE_MARKS:
            tones.append(TONE_MARKS.index(ch) + 1)
        elif ch in LETTER_MARKS and letters:
            letters[-1] = unicodedata.normalize("NFC", letters[-1] + ch)
        else:
            letters.append(ch)
            tones.append(0)
    return tuple(ALPHABET.index(c) if c in ALPHABET else 100 + ord(c) for c in letters), tuple(tones)


@dataclass(frozen=True)
class View:
    board: Board
    state: str
    problems: tuple[str, ...]  # codes: error:<part>, display, sync, hot, disk_low, throttled, plays_dropped
    up_to_date: bool | None  # None: the latest published version is unknown, or the board never said
    interval: float
    throttled: bool | None

    @property
    def hb(self) -> dict:
        return {**EMPTY, "last_sync": None, "errors": {}, **self.board.heartbeat}


def throttled_now(device: dict | None) -> bool | None:
    """The Pi's current throttling flags, from the board's `device.throttled` (the object of
    kiosk.report.device, or a raw hex text as `vcgencmd` prints it)."""
    value = (device or {}).get("throttled")
    if isinstance(value, dict):
        now = value.get("now")
        if isinstance(now, dict):
            return any(bool(v) for v in now.values())
        value = value.get("raw")
    if isinstance(value, str):
        try:
            value = int(value.removeprefix("throttled=").strip(), 16)
        except ValueError:
            return None
    if isinstance(value, int) and not isinstance(value, bool):
        return bool(value & THROTTLE_NOW_MASK)
    return None


def view(board: Board, now: float, limits: Boards, latest: str | None) -> View:
    hb = board.heartbeat
    interval = hb.get("heartbeat_seconds") or limits.heartbeat_seconds
    throttled = throttled_now(hb.get("device"))
    problems: list[str] = []
    if hb:
        problems += [f"error:{part}" for part in sorted(hb.get("errors") or {})]
        if hb.get("display_ok") is False:
            problems.append("display")
        if (hb.get("last_sync") or {}).get("ok") is False and "error:sync" not in problems:
            problems.append("sync")
        temp = hb.get("cpu_temp_c")
        if temp is not None and temp >= limits.hot_celsius:
            problems.append("hot")
        disk = hb.get("disk_free_bytes")
        if disk is not None and disk < limits.disk_low_bytes:
            problems.append("disk_low")
        if throttled:
            problems.append("throttled")
        if hb.get("plays_dropped_total"):
            problems.append("plays_dropped")
    if board.last_seen is None:
        state = "never"
    elif now - board.last_seen > SILENT_AFTER * interval:
        state = "silent"
    else:
        state = "degraded" if problems else "healthy"
    # A board that follows channels plays a merge of trees; it is up to date when one of them (the province's
    # channel, usually) carries the latest published version.
    versions = {hb.get("content_version")} | {c.get("version") for c in hb.get("channels") or []}
    versions.discard(None)
    up_to_date = None if latest is None or not versions else latest in versions
    return View(board, state, tuple(problems), up_to_date, interval, throttled)


def select(views: list[View], state: str | None = None, commune: str | None = None, query: str | None = None,
           content: str | None = None) -> list[View]:
    """The filters of the fleet page: state, commune, free text (id, name, commune), content latest/old."""
    out = views
    if state in STATES:
        out = [v for v in out if v.state == state]
    if commune:
        out = [v for v in out if (v.board.commune or "") == commune]
    if query:
        q = query.casefold()
        out = [v for v in out if q in v.board.id.casefold() or q in v.board.name.casefold()
               or q in (v.board.commune or "").casefold()]
    if content == "latest":
        out = [v for v in out if v.up_to_date is True]
    elif content == "old":
        out = [v for v in out if v.up_to_date is False]
    return out


GETTERS = {
    "name": lambda v: vietnamese_key(v.board.name),
    "commune": lambda v: vietnamese_key(v.board.commune) if v.board.commune else None,
    "state": lambda v: STATES.index(v.state),
    "last_seen": lambda v: v.board.last_seen,
    "temperature": lambda v: v.board.heartbeat.get("cpu_temp_c"),
    "disk": lambda v: v.board.heartbeat.get("disk_free_bytes"),
    "uptime": lambda v: v.board.heartbeat.get("uptime_s"),
    "version": lambda v: v.board.heartbeat.get("version"),
    "content": lambda v: v.board.heartbeat.get("content_version"),
}


def order(views: list[View], key: str, descending: bool = False) -> list[View]:
    """Sorted by one column, then by name; boards without a value go last either way. By state: worst first."""
    get = GETTERS.get(key, GETTERS["name"])
    names = {id(v): vietnamese_key(v.board.name) for v in views}
    keyed = [(get(v), v) for v in views]
    present = [(value, v) for value, v in keyed if value is not None]
    missing = sorted((v for value, v in keyed if value is None), key=lambda v: names[id(v)])
    if key == "state":
        present.sort(key=lambda p: (-p[0], names[id(p[1])]), reverse=descending)
    else:
        present.sort(key=lambda p: (p[0], names[id(p[1])]), reverse=descending)
    return [v for _, v in present] + missing


def counts(views: list[View]) -> dict[str, int]:
    out = dict.fromkeys(STATES, 0)
    for v in views:
        out[v.state] += 1
    return out
