"""The health endpoint (SPEC): /healthz, /metrics and /screenshot.png on health.listen.

The thin shell around kiosk.report.health's rules: a stdlib ThreadingHTTPServer in its own threads, so a
slow or hostile client can never stall the render loop (one request per connection, a socket timeout, a
deadline per connection, a cap on concurrent connections and on connections per second; nothing but
snapshot reads on the loop's side).
"""

from __future__ import annotations

import hmac
import json
import logging
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CollectorRegistry, exposition

from kiosk.config import Config
from kiosk.report import device as devicemod
from kiosk.report import metrics
from kiosk.report.health import report
from kiosk.source.client import TokenError, read_token
from kiosk.status import Status

log = logging.getLogger("kiosk.health")

REQUEST_TIMEOUT_S = 5.0  # a client that sends nothing for this long is dropped
REQUEST_DEADLINE_S = 10.0  # no connection lives longer, however slowly it drips (one request per connection)
MAX_CONNECTIONS = 16  # beyond this, new connections are refused at once (no thread per attacker)
RATE_PER_S = 100.0  # connections served per second on average (twice the 50/s measure) ...
RATE_BURST = 100.0  # ... with bursts up to this; beyond it, closed unanswered so a flood cannot starve the loop


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


class HealthServer:
    """/healthz, /metrics and /screenshot.png on cfg.health.host:port, served from daemon threads.

    `screenshot` is the player's callable returning the frame on screen as PNG bytes (None before the first
    frame); it runs on a server thread, so it must not wait for the render loop.
    """

    def __init__(self, cfg: Config, status: Status, screenshot: Callable[[], bytes | None] = lambda: None):
        self.cfg, self.status, self.screenshot = cfg, status, screenshot
        devicemod.attach(status, cfg.cache.path)
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
        return report(snap, time.monotonic(), self.cfg.device.id, self.cfg.device.name, self.cfg.schedule.timezone)

    def start(self) -> None:
        """Listen and serve in a daemon thread; raises HealthServerError with a clear message on failure."""
        host, port = self.cfg.health.host, self.cfg.health.port
        if self.cfg.health.token_file is not None:
            try:
                self._token = read_token(self.cfg.health.token_file, "health.token_file").encode("utf-8")
            except TokenError as exc:
                raise HealthServerError(str(exc)) from None
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
