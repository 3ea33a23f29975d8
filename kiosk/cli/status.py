"""`kiosk status`: ask the running player's /healthz and print a short summary for a technician.

Exit 0 when healthy, 1 when degraded or unreachable (SPEC). Never a traceback: every failure is a
one-line message saying what to check next. What answers on health.listen is treated as input from
outside: at most MAX_ANSWER_BYTES read, within DEADLINE_S however slowly it comes, no redirect
followed, and a summary that copes with any JSON (a field of the wrong type shows as '-').
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import zoneinfo
from typing import TextIO

import requests
import urllib3

from kiosk.config import Config
from kiosk.source.client import Deadline, TokenError, make_session, read_token

TIMEOUT_S = 5.0  # to connect, and for each read
DEADLINE_S = 10.0  # for the whole answer
MAX_ANSWER_BYTES = 1024 * 1024  # /healthz is a few kilobytes


def url_for(host: str, port: int) -> str:
    """The /healthz URL for health.listen; a wildcard address is reached on loopback."""
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}/healthz"


def main(cfg: Config, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    url = url_for(cfg.health.host, cfg.health.port)
    headers = {"Accept": "application/json", "Accept-Encoding": "identity"}
    if cfg.health.token_file is not None:
        try:
            headers["Authorization"] = f"Bearer {read_token(cfg.health.token_file, 'health.token_file')}"
        except TokenError as exc:
            print(f"kiosk status: {exc}", file=out)
            return 1
    session = make_session()  # no proxy from the environment for a loopback request
    try:
        code, raw = _ask(session, url, headers)
    except _NoAnswer as exc:
        print(f"UNREACHABLE: no answer from {url} ({exc})", file=out)
        print("Is the player running?  systemctl status kiosk   /   journalctl -u kiosk -n 50", file=out)
        return 1
    finally:
        session.close()
    if code == 401:
        print(f"REFUSED: {url} wants a token; check health.token_file in {cfg.file}", file=out)
        return 1
    body = None
    if raw is not None and 200 <= code < 600 and not 300 <= code < 400:
        try:
            body = json.loads(raw.decode("utf-8"))
        except (ValueError, UnicodeDecodeError, RecursionError):
            body = None
    if not isinstance(body, dict) or body.get("status") not in ("healthy", "degraded"):
        what = ("a redirect" if 300 <= code < 400 else f"more than {MAX_ANSWER_BYTES // 1024} KiB" if raw is None
                else "not kiosk health JSON")
        print(f"UNEXPECTED: {url} answered HTTP {code}, {what}", file=out)
        print(f"Is another program on port {cfg.health.port}? Check health.listen in {cfg.file}", file=out)
        return 1
    print(summary(body, cfg.schedule.timezone), file=out)
    return 0 if code == 200 and body["status"] == "healthy" else 1


class _NoAnswer(Exception):
    """No (whole) answer: the message says why, in a few words."""


def _ask(session: requests.Session, url: str, headers: dict) -> tuple[int, bytes | None]:
    """(HTTP status, body; None when longer than MAX_ANSWER_BYTES). Raises _NoAnswer."""
    with Deadline(session, DEADLINE_S) as cut:
        try:
            with session.get(url, headers=headers, timeout=TIMEOUT_S, stream=True, allow_redirects=False) as answer:
                body = bytearray()
                while len(body) <= MAX_ANSWER_BYTES and (chunk := answer.raw.read(64 * 1024, decode_content=False)):
                    body += chunk
                if cut.expired:
                    raise _NoAnswer(f"not complete within {DEADLINE_S:g} s")
                return answer.status_code, bytes(body) if len(body) <= MAX_ANSWER_BYTES else None
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
            if cut.expired:
                raise _NoAnswer(f"not complete within {DEADLINE_S:g} s") from None
            raise _NoAnswer(_short(exc)) from None


def summary(body: dict, timezone: str | None = None) -> str:
    """A few lines a technician can read over the phone; times in the board's time zone (schedule.timezone).

    `body` is whatever answered: every field is checked for its type, a wrong one shows as '-'."""
    healthy = body.get("status") == "healthy"
    name = _text(body.get("device_name"), "")
    lines = [f"{'HEALTHY' if healthy else 'DEGRADED'}: {_text(body.get('device_id'))} {name}".rstrip()]
    lines += [f"  ! {reason}" for reason in _texts(body.get("reasons"))]
    lines += [f"  ~ {warning}" for warning in _texts(body.get("warnings"))]
    sync = _mapping(body.get("last_sync"))
    if sync.get("at") is None:
        sync_text = "never"
    else:
        outcome = "ok" if sync.get("ok") is True else f"FAILED: {_text(sync.get('error'), '?')}"
        sync_text = f"{_local(sync['at'], timezone)}, {outcome}"
    power = body.get("screen_power")
    device = _mapping(body.get("device"))
    temp, free = _number(body.get("cpu_temp_c")), _number(body.get("disk_free_bytes"))
    count = _number(body.get("slide_count"))
    facts = [
        ("slide", f"{_text(body.get('current_slide'))} ({int(count) if count is not None else 0} in programme)"),
        ("content", _text(body.get("content_version")) + _format(body.get("content_format"))),
        ("last sync", sync_text),
        ("screen", "off (by schedule)" if power == "off" else "on"),
        ("uptime", _uptime(body.get("uptime_s"))),
        ("CPU temp", "-" if temp is None else f"{temp:.0f} °C"),
        ("disk free", "-" if free is None else f"{free / 1e9:.1f} GB"),
        ("addresses", ", ".join(_texts(device.get("ip_addresses"))) or "-"),
        ("version", _text(body.get("version"))),
    ]
    lines += [f"  {label + ':':<11}{value}" for label, value in facts]
    channels = body.get("channels")
    for channel in (channels if isinstance(channels, list) else [])[:16]:
        channel = _mapping(channel)
        last = _mapping(channel.get("last_sync"))
        error = channel.get("error") or (last.get("error") if last.get("ok") is False else None)
        when = "never synced" if last.get("at") is None else f"synced {_local(last['at'], timezone)}"
        outcome = f"FAILED: {_text(error, '?')}" if error or last.get("ok") is False else "ok"
        if last.get("at") is None and last.get("ok") is None:
            outcome = "waiting"
        lines.append(f"  channel {_text(channel.get('name'))}: {_text(channel.get('version'))}, {when}, {outcome}"
                     f" ({_text(channel.get('url'))})")
    return "\n".join(lines)


def _text(value: object, missing: str = "-") -> str:
    """A value to print: text (cut to 200 characters, one line), a number, else `missing`."""
    if isinstance(value, bool) or value is None:
        return missing
    if isinstance(value, (int, float)):
        return str(value)
    if not isinstance(value, str) or not value:
        return missing
    line = " ".join(value.split())
    return line if len(line) <= 200 else line[:199] + "…"


def _format(value: object) -> str:
    """Which manifest the content came from: a technician sees at once a tree published for old boards."""
    if value == 2:
        return " (manifest format 2)"
    if value == 1:
        return " (manifest format 1: manifest.json, a tree for boards before 0.2)"
    return ""


def _texts(value: object) -> list[str]:
    return [_text(item) for item in value[:50]] if isinstance(value, list) else []


def _mapping(value: object) -> dict:
    return value if isinstance(value, dict) else {}


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value or abs(value) > 1e18:
        return None
    return float(value)


def _local(iso_text: object, timezone: str | None) -> str:
    try:
        zone = zoneinfo.ZoneInfo(timezone) if timezone else None
        return dt.datetime.fromisoformat(iso_text).astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")
    except (TypeError, ValueError, OverflowError, OSError, zoneinfo.ZoneInfoNotFoundError):
        return _text(iso_text)


def _uptime(seconds: object) -> str:
    if _number(seconds) is None or seconds < 0:
        return "-"
    minutes = int(seconds) // 60
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    return f"{days} d {hours} h {minutes} min" if days else f"{hours} h {minutes} min"


def _short(exc: Exception) -> str:
    if isinstance(exc, requests.ConnectionError):
        return "connection refused or host unreachable"
    if isinstance(exc, requests.Timeout):
        return f"no answer within {TIMEOUT_S:g} s"
    return type(exc).__name__
