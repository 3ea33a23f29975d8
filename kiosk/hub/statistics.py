"""Statistics the province files: plays, seconds on screen and uptime, per board, slide, day or month.

Read from the roll-ups only (`play_months` for whole months, else `play_days`; `board_days`), never
from raw plays, so a year of a
province's boards is summarised in well under a second and survives the raw plays' retention. Rows
come out as plain dicts for the JSON API, and as CSV in UTF-8 with a BOM (Excel then shows Vietnamese
right) with Vietnamese headers.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zoneinfo
from dataclasses import dataclass

from kiosk.hub.store import Store

PERIODS = ("day", "month")
GROUPS = ("board_slide", "board", "slide")
DAY = re.compile(r"^\d{4}-\d{2}(-\d{2})?$")

PLAY_HEADERS = {"period": "Kỳ", "board_id": "Mã bảng", "board_name": "Tên bảng", "commune": "Xã/phường",
                "slide_id": "Mã tin", "boards": "Số bảng", "plays": "Lượt phát", "seconds": "Thời lượng (giây)"}
UPTIME_HEADERS = {"period": "Kỳ", "board_id": "Mã bảng", "board_name": "Tên bảng", "commune": "Xã/phường",
                  "online_s": "Thời gian hoạt động (giây)", "expected_s": "Thời gian theo dõi (giây)",
                  "uptime_pct": "Tỷ lệ hoạt động (%)"}


class BadQuery(ValueError):
    """A statistics query parameter is wrong; the message names it."""


@dataclass(frozen=True)
class Query:
    period: str
    first_day: str  # inclusive, YYYY-MM-DD
    last_day: str
    board: str | None = None
    commune: str | None = None
    group: str = "board_slide"


def parse_query(params: dict, today: dt.date) -> Query:
    """?period=day|month&from=YYYY-MM[-DD]&to=…&board=ID&commune=NAME&group=board_slide|board|slide.
    Default: this month so far, by day."""
    period = params.get("period") or "day"
    if period not in PERIODS:
        raise BadQuery(f"period: expected day or month, got {period[:20]!r}")
    group = params.get("group") or "board_slide"
    if group not in GROUPS:
        raise BadQuery(f"group: expected one of {', '.join(GROUPS)}, got {group[:20]!r}")
    first = _day(params.get("from"), "from", today.replace(day=1), end=False)
    last = _day(params.get("to"), "to", today, end=True)
    if first > last:
        raise BadQuery("from: comes after to")
    return Query(period, first.isoformat(), last.isoformat(), params.get("board") or None,
                 params.get("commune") or None, group)


def _day(text: str | None, name: str, default: dt.date, end: bool) -> dt.date:
    if not text:
        return default
    if not DAY.match(text):
        raise BadQuery(f"{name}: expected YYYY-MM-DD or YYYY-MM, got {text[:20]!r}")
    try:
        if len(text) == 7:
            first = dt.date.fromisoformat(text + "-01")
            if not end:
                return first
            following = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
            return following - dt.timedelta(days=1)
        return dt.date.fromisoformat(text)
    except ValueError:
        raise BadQuery(f"{name}: {text!r} is not a date") from None


def _where(q: Query, alias: str, column: str = "day") -> tuple[str, list]:
    sql, params = f"{alias}.{column} >= ? AND {alias}.{column} <= ?", [q.first_day, q.last_day]
    if q.board:
        sql += f" AND {alias}.board_id = ?"
        params.append(q.board)
    if q.commune:
        sql += " AND b.commune = ?"
        params.append(q.commune)
    return sql, params


def whole_months(q: Query) -> bool:
    """The query starts on a 1st and ends on a month's last day: the monthly roll-up answers it."""
    last = dt.date.fromisoformat(q.last_day)
    return q.first_day.endswith("-01") and (last + dt.timedelta(days=1)).day == 1


def plays(store: Store, q: Query) -> list[dict]:
    if q.period == "month" and whole_months(q):
        table, period = "play_months", "d.month"
        where, params = _where(Query(q.period, q.first_day[:7], q.last_day[:7], q.board, q.commune, q.group), "d",
                               "month")
    else:
        table, period = "play_days", "d.day" if q.period == "day" else "substr(d.day, 1, 7)"
        where, params = _where(q, "d")
    keys = {"board_slide": ["d.board_id", "b.name", "b.commune", "d.slide_id"],
            "board": ["d.board_id", "b.name", "b.commune"], "slide": ["d.slide_id"]}[q.group]
    cols = ", ".join(keys)
    sql = (f"SELECT {period} AS period, {cols}, count(DISTINCT d.board_id), sum(d.plays), sum(d.seconds) "
           f"FROM {table} d JOIN boards b ON b.id = d.board_id WHERE {where} "
           f"GROUP BY {period}, {cols} ORDER BY 1, {cols}")
    with store.db.tx(write=False) as tx:
        rows = tx.execute(sql, params)
    names = {"d.board_id": "board_id", "b.name": "board_name", "b.commune": "commune", "d.slide_id": "slide_id"}
    out = []
    for row in rows:
        item = {"period": row[0]}
        item.update({names[k]: row[1 + i] for i, k in enumerate(keys)})
        boards, count, seconds = row[1 + len(keys):]
        if q.group == "slide":
            item["boards"] = int(boards)
        item["plays"] = int(count)
        item["seconds"] = round(float(seconds), 1)
        out.append(item)
    return out


def uptime(store: Store, q: Query, now: float, zone: zoneinfo.ZoneInfo) -> list[dict]:
    """Per board and period: seconds online (heartbeats under three periods apart) over the seconds the
    board was watched in that period (from its first heartbeat, until now)."""
    period = "d.day" if q.period == "day" else "substr(d.day, 1, 7)"
    where, params = _where(q, "d")
    sql = (f"SELECT {period}, d.board_id, b.name, b.commune, sum(d.online_s), b.first_seen FROM board_days d "
           f"JOIN boards b ON b.id = d.board_id WHERE {where} GROUP BY {period}, d.board_id, b.name, b.commune, "
           f"b.first_seen ORDER BY 1, 2")
    with store.db.tx(write=False) as tx:
        rows = tx.execute(sql, params)
    out = []
    for label, board_id, name, commune, online, first_seen in rows:
        expected = watched_seconds(label, q, first_seen, now, zone)
        out.append({"period": label, "board_id": board_id, "board_name": name, "commune": commune,
                    "online_s": round(float(online), 1), "expected_s": round(expected, 1),
                    "uptime_pct": round(min(100.0, 100.0 * float(online) / expected), 2) if expected > 0 else None})
    return out


def watched_seconds(label: str, q: Query, first_seen: float | None, now: float, zone: zoneinfo.ZoneInfo) -> float:
    """The seconds of period `label` (a day or a month) within the query, after the board's first heartbeat
    and before now."""
    if len(label) == 7:
        start_day = dt.date.fromisoformat(label + "-01")
        end_day = (start_day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    else:
        start_day = dt.date.fromisoformat(label)
        end_day = start_day + dt.timedelta(days=1)
    start_day = max(start_day, dt.date.fromisoformat(q.first_day))
    end_day = min(end_day, dt.date.fromisoformat(q.last_day) + dt.timedelta(days=1))
    start = dt.datetime.combine(start_day, dt.time(), zone).timestamp()
    end = dt.datetime.combine(end_day, dt.time(), zone).timestamp()
    start = max(start, first_seen) if first_seen is not None else start
    return max(0.0, min(end, now) - start)


def to_csv(rows: list[dict], headers: dict[str, str]) -> bytes:
    columns = [k for k in headers if any(k in r for r in rows)] or list(headers)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([headers[c] for c in columns])
    for row in rows:
        writer.writerow([_cell(row.get(c)) for c in columns])
    return b"\xef\xbb\xbf" + buffer.getvalue().encode("utf-8")


def _cell(value: object) -> object:
    """A text that a spreadsheet would run as a formula is kept as text."""
    if value is None:
        return ""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value
