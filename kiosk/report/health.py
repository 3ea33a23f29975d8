"""The health endpoint (SPEC): /healthz, /metrics, /screenshot.png on health.listen.

Two halves. `findings`/`assess` are pure: a status snapshot and a monotonic "now" in, a verdict out,
so every rule is tested without a clock or a socket. `HealthServer` is the thin shell: a stdlib
ThreadingHTTPServer in its own threads, so a slow or hostile client can never stall the render loop
(one request per connection, a socket timeout, a deadline per connection, a cap on concurrent
connections and on connections per second; nothing but snapshot reads on the loop's side).

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

import hmac
import json
import logging
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from prometheus_client import CollectorRegistry, exposition

from kiosk.config import Config
from kiosk.report import device as devicemod
from kiosk.report import metrics
from kiosk.status import Status, heartbeat_fields, iso

log = logging.getLogger(__name__)

LOOP_GRACE_S = 5.0  # how late the render loop may be past its own deadline before it counts as stalled
LOOP_DEFAULT_PROMISE_S = 30.0  # when the loop gave no deadline
FATAL_PARTS = frozenset({"display", "render", "font", "player"})  # their errors mean a wrong or black screen
DUMMY_DRIVERS = frozenset({"dummy", "offscreen", "evdev"})  # SDL video drivers that show nothing (any case)
TEMP_WARN_C = 80.0  # the Pi firmware starts soft throttling at 80 °C
DISK_LOW_BYTES = 200 * 1024 * 1024
REQUEST_TIMEOUT_S = 5.0  # a client that sends nothing for this long is dropped
REQUEST_DEADLINE_S = 10.0  # no connection lives longer, however slowly it drips (one request per connection)
MAX_CONNECTIONS = 16  # beyond this, new connections are refused at once (no thread per attacker)
RATE_PER_S = 100.0  # connections served per second on average (twice the 50/s measure) ...
RATE_BURST = 100.0  # ... with bursts up to this; beyond it, closed unanswered so a flood cannot starve the loop


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


def report(snap: dict, now: float, device_id: str, device_name: str) -> tuple[bool, dict]:
    """The /healthz body: the verdict, the heartbeat fields (SPEC) and the details behind them."""
    found = findings(snap, now)
    healthy = not any(f.fault for f in found)
    beat, deadline = snap.get("loop_beat"), snap.get("loop_deadline")
    heartbeat = snap.get("last_heartbeat") or {}
    body = {
        "status": "healthy" if healthy else "degraded",
        "reasons": [f.message for f in found if f.fault],
        "warnings": [f.message for f in found if not f.fault],
        "codes": [f.code for f in found],
        **heartbeat_fields(snap, device_id),
        "device_name": device_name,
        "render_loop": {
            "last_turn_s_ago": None if beat is None else round(now - beat, 3),
            "next_turn_due_in_s": None if deadline is None else round(deadline - now, 3),
        },
        "display": {
            "ok": snap.get("display_ok"),
            "driver": snap.get("display_driver"),
            "size": snap.get("display_size"),
            "headless": snap.get("headless"),
        },
        "screen_power": snap.get("power"),
        "emergency": snap.get("emergency"),
        "slide_count": snap.get("slide_count"),
        "slide_started_at": iso(snap.get("slide_started_at")),
        "content_warnings": snap.get("content_warnings"),
        "last_sync_ok_at": iso(snap.get("last_sync_ok_at")),
        "errors": snap.get("errors"),
        "clock_synced": snap.get("clock_synced"),
        "cache_bytes": snap.get("cache_bytes"),
        "plays_queued": snap.get("plays_queued"),
        "last_heartbeat": {**heartbeat, "at": iso(heartbeat.get("at"))},
        "counters": snap.get("counters"),
        "started_at": iso(snap.get("started_at")),
        "device": snap.get("device"),
    }
    return healthy, body


class HealthServerError(RuntimeError):
    """The endpoint cannot start (port taken, bad token file); the message says what to do."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 32

    def __init__(self, address, handler, app: HealthServer, family: int):
        self.address_family = family
        self.app = app
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        self._deadlines: dict[socket.socket, float] = {}
        self._deadlines_lock = threading.Lock()
        self._tokens, self._refilled = RATE_BURST, time.monotonic()
        super().__init__(address, handler)

    def _within_rate(self) -> bool:
        """Token bucket, on the accepting thread only: refusing costs an accept and a close, no parsing."""
        now = time.monotonic()
        self._tokens = min(RATE_BURST, self._tokens + (now - self._refilled) * RATE_PER_S)
        self._refilled = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True

    def process_request(self, request, client_address):
        if not self._within_rate() or not self._slots.acquire(blocking=False):
            self.shutdown_request(request)  # too many connections: refuse, never queue a thread
            return
        with self._deadlines_lock:
            self._deadlines[request] = time.monotonic() + REQUEST_DEADLINE_S
        super().process_request(request, client_address)

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._deadlines_lock:
                self._deadlines.pop(request, None)
            self._slots.release()

    def service_actions(self) -> None:
        """Called by serve_forever between polls: cut connections past their deadline (slow drippers)."""
        now = time.monotonic()
        with self._deadlines_lock:
            expired = [sock for sock, deadline in self._deadlines.items() if deadline < now]
        for sock in expired:
            try:
                sock.shutdown(socket.SHUT_RDWR)  # the handler's blocked read or write returns at once
            except OSError:
                pass

    def handle_error(self, request, client_address):
        log.debug("health: error while serving %s", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    timeout = REQUEST_TIMEOUT_S  # socket timeout: a stalled client is dropped, its thread freed
    protocol_version = "HTTP/1.1"
    server_version = "kiosk-health"
    sys_version = ""

    def log_message(self, format, *args):  # noqa: A002 - the stdlib's name
        log.debug("health: %s " + format, self.address_string(), *args)

    def do_GET(self) -> None:
        self._serve(head=False)

    def do_HEAD(self) -> None:
        self._serve(head=True)

    def _deny(self, code: int, message: str, headers: dict | None = None) -> None:
        self._send(code, "application/json", _json({"error": message}), headers=headers)

    def _serve(self, head: bool) -> None:
        app = self.server.app
        self._head = head
        if not app.authorised(self.headers.get("Authorization")):
            self._deny(401, "bearer token required", {"WWW-Authenticate": 'Bearer realm="kiosk"'})
            return
        path = self.path.split("?", 1)[0]
        try:
            if path == "/healthz":
                healthy, body = app.healthz()
                self._send(200 if healthy else 503, "application/json", _json(body))
            elif path == "/metrics":
                encoder, content_type = exposition.choose_encoder(self.headers.get("Accept", ""))
                self._send(200, content_type, encoder(app.registry))
            elif path == "/screenshot.png":
                png = app.screenshot()
                if png:
                    self._send(200, "image/png", png)
                else:
                    self._deny(503, "no frame on screen yet", {"Retry-After": "5"})
            else:
                self._deny(404, "not found; try /healthz, /metrics or /screenshot.png")
        except Exception:
            log.exception("health: %s failed", path)
            self._deny(500, "internal error (see the journal)")

    def _send(self, code: int, content_type: str, payload: bytes, headers: dict | None = None) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")  # one request per connection: the deadline bounds each request
        self.close_connection = True
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if not getattr(self, "_head", False):
            self.wfile.write(payload)


def _json(body: dict) -> bytes:
    return json.dumps(body, ensure_ascii=False, indent=1).encode("utf-8")


def read_token(path: Path) -> str:
    """The bearer token from health.token_file (first line, trimmed); an empty file is an error, not 'open'."""
    try:
        lines = path.read_text(encoding="utf-8").strip().splitlines()
        token = lines[0].strip() if lines else ""
    except PermissionError:
        raise HealthServerError(f"health.token_file {path}: permission denied (run with sudo?)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise HealthServerError(f"health.token_file {path}: cannot read it ({exc})") from None
    if not token:
        raise HealthServerError(f"health.token_file {path}: the file is empty; put a long random token in it")
    return token


class HealthServer:
    """/healthz, /metrics and /screenshot.png on cfg.health.host:port, served from daemon threads.

    `screenshot` is the player's callable returning the frame on screen as PNG bytes (None before the first
    frame); it runs on a server thread, so it must not wait for the render loop.
    """

    def __init__(self, cfg: Config, status: Status, screenshot: Callable[[], bytes | None] = lambda: None):
        self.cfg, self.status, self.screenshot = cfg, status, screenshot
        if status.device is None:
            status.device = devicemod.Reader(cfg.cache.path)
        self.registry = CollectorRegistry(auto_describe=False)
        metrics.register(self.registry, status, cfg)
        self._token: bytes | None = None
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The port actually listened on (health.listen may say 0 in tests)."""
        if self._server is None:
            return self.cfg.health.port
        return self._server.server_address[1]

    def authorised(self, header: str | None) -> bool:
        if self._token is None:
            return True
        scheme, _, given = (header or "").partition(" ")
        if scheme.lower() != "bearer":
            return False
        return hmac.compare_digest(given.strip().encode("utf-8", "surrogateescape"), self._token)

    def healthz(self) -> tuple[bool, dict]:
        snap = self.status.snapshot()
        return report(snap, time.monotonic(), self.cfg.device.id, self.cfg.device.name)

    def start(self) -> None:
        """Listen and serve in a daemon thread; raises HealthServerError with a clear message on failure."""
        host, port = self.cfg.health.host, self.cfg.health.port
        if self.cfg.health.token_file is not None:
            self._token = read_token(self.cfg.health.token_file).encode("utf-8")
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        try:
            self._server = _Server((host, port), _Handler, self, family)
        except OSError as exc:
            hint = " (another kiosk still running? change health.listen)" if exc.errno == 98 else ""
            reason = exc.strerror or exc
            raise HealthServerError(f"health.listen {host}:{port}: cannot listen: {reason}{hint}") from None
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.5}, name="health", daemon=True
        )
        self._thread.start()
        log.info("health endpoint on http://%s:%d/healthz", host, self.port)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
