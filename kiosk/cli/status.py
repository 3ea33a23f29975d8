"""`kiosk status`: ask the running player's /healthz and print a short summary for a technician.

Exit 0 when healthy, 1 when degraded or unreachable (SPEC). Never a traceback: every failure is a
one-line message saying what to check next.
"""

from __future__ import annotations

import datetime as dt
import sys
import zoneinfo
from typing import TextIO

import requests

from kiosk.config import Config
from kiosk.source.client import TokenError, read_token

TIMEOUT_S = 5.0


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
    headers = {"Accept": "application/json"}
    if cfg.health.token_file is not None:
        try:
            headers["Authorization"] = f"Bearer {read_token(cfg.health.token_file, 'health.token_file')}"
        except TokenError as exc:
            print(f"kiosk status: {exc}", file=out)
            return 1
    session = requests.Session()
    session.trust_env = False  # never send a loopback request through a proxy from the environment
    try:
        answer = session.get(url, headers=headers, timeout=TIMEOUT_S)
    except requests.RequestException as exc:
        print(f"UNREACHABLE: no answer from {url} ({_short(exc)})", file=out)
        print("Is the player running?  systemctl status kiosk   /   journalctl -u kiosk -n 50", file=out)
        return 1
    finally:
        session.close()
    if answer.status_code == 401:
        print(f"REFUSED: {url} wants a token; check health.token_file in {cfg.file}", file=out)
        return 1
    try:
        body = answer.json()
        if not isinstance(body, dict) or body.get("status") not in ("healthy", "degraded"):
            raise ValueError("not a kiosk health answer")
    except ValueError:
        print(f"UNEXPECTED: {url} answered HTTP {answer.status_code} but not with kiosk health JSON", file=out)
        print(f"Is another program on port {cfg.health.port}? Check health.listen in {cfg.file}", file=out)
        return 1
    print(summary(body, cfg.schedule.timezone), file=out)
    return 0 if answer.status_code == 200 and body["status"] == "healthy" else 1


def summary(body: dict, timezone: str | None = None) -> str:
    """A few lines a technician can read over the phone; times in the board's time zone (schedule.timezone)."""
    healthy = body.get("status") == "healthy"
    name = body.get("device_name") or ""
    lines = [f"{'HEALTHY' if healthy else 'DEGRADED'}: {body.get('device_id')} {name}".rstrip()]
    lines += [f"  ! {reason}" for reason in body.get("reasons") or []]
    lines += [f"  ~ {warning}" for warning in body.get("warnings") or []]
    sync = body.get("last_sync") or {}
    if sync.get("at") is None:
        sync_text = "never"
    else:
        outcome = "ok" if sync.get("ok") else f"FAILED: {sync.get('error') or '?'}"
        sync_text = f"{_local(sync['at'], timezone)}, {outcome}"
    power = body.get("screen_power")
    device = body.get("device") or {}
    facts = [
        ("slide", f"{body.get('current_slide') or '-'} ({body.get('slide_count', 0)} in programme)"),
        ("content", body.get("content_version") or "-"),
        ("last sync", sync_text),
        ("screen", "off (by schedule)" if power == "off" else "on"),
        ("uptime", _uptime(body.get("uptime_s"))),
        ("CPU temp", "-" if body.get("cpu_temp_c") is None else f"{body['cpu_temp_c']:.0f} °C"),
        ("disk free", "-" if body.get("disk_free_bytes") is None else f"{body['disk_free_bytes'] / 1e9:.1f} GB"),
        ("addresses", ", ".join(device.get("ip_addresses") or []) or "-"),
        ("version", body.get("version") or "-"),
    ]
    lines += [f"  {label + ':':<11}{value}" for label, value in facts]
    return "\n".join(lines)


def _local(iso_text: str, timezone: str | None) -> str:
    try:
        zone = zoneinfo.ZoneInfo(timezone) if timezone else None
        return dt.datetime.fromisoformat(iso_text).astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")
    except (TypeError, ValueError, zoneinfo.ZoneInfoNotFoundError):
        return str(iso_text)


def _uptime(seconds: object) -> str:
    if not isinstance(seconds, (int, float)):
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
