"""The health endpoint (SPEC): /healthz, /metrics and /screenshot.png on health.listen.

The thin shell around kiosk.report.health's rules, built so that /healthz always answers, whatever
clients do:

- One thread (`health`) accepts connections and reads their request heads, all at once with a
  selector: a client that sends its head slowly (slowloris), or never, costs a socket and a few bytes,
  never a thread. A head must arrive whole within HEAD_DEADLINE_S; at most MAX_PENDING heads are read
  at a time, MAX_PENDING_PER_CLIENT per address, and beyond that the oldest is dropped, so new clients
  always get in.
- Only a complete request reaches a worker (MAX_WORKERS threads, MAX_WORKERS_PER_CLIENT per address);
  when they are all busy the answer is a 503 at once. A worker's connection lives at most
  ANSWER_DEADLINE_S: a client that does not read its answer is cut.
- Accepting is rate-limited (a token bucket); the render loop is only ever read from, by snapshots.
- A client that hangs up is not an error: no traceback in the journal.

Why not the stdlib ThreadingHTTPServer alone: it gives every connection a thread before a byte is
read, so 64 slow connections took all its slots. BaseHTTPRequestHandler still parses and answers.
"""

from __future__ import annotations

import hmac
import io
import json
import logging
import selectors
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

from kiosk.config import Config
from kiosk.i18n import _
from kiosk.report import device as devicemod
from kiosk.report.health import report
from kiosk.source.client import TokenError, read_token
from kiosk.status import Status

log = logging.getLogger("kiosk.health")

HEAD_DEADLINE_S = 5.0  # a request head (a few hundred bytes, one packet for any real client) must be whole by then
ANSWER_DEADLINE_S = 10.0  # a request being answered: the answer must be read by then, or the connection is cut
SOCKET_TIMEOUT_S = 5.0  # a worker's socket timeout for each write
MAX_HEAD_BYTES = 16 * 1024
MAX_PENDING = 256  # connections whose head is being read; beyond, the oldest is dropped
MAX_PENDING_PER_CLIENT = 32
MAX_WORKERS = 8  # requests answered at once; beyond, a 503 at once
MAX_WORKERS_PER_CLIENT = 4
RATE_PER_S = 100.0  # connections accepted per second on average (twice the 50/s measure) ...
RATE_BURST = 100.0  # ... with bursts up to this; beyond it, closed unanswered so a flood cannot starve the loop
TOKEN_RETRY_S = 5.0  # while the token file is unreadable, it is read again at most this often
TICK_S = 0.2  # the selector wakes at least this often to enforce deadlines

_BUSY = (b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\n"
         b"Connection: close\r\nContent-Length: 30\r\n\r\n{\"error\": \"busy, retry soon\"}\n")
_TOO_LARGE = (b"HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")


class HealthServerError(RuntimeError):
    """The endpoint cannot start (port taken); the message says what to do."""


@dataclass
class _Pending:
    """A connection whose request head is still arriving."""

    sock: socket.socket
    client: str
    deadline: float
    head: bytearray = field(default_factory=bytearray)


class _Writer(io.BufferedIOBase):
    """The handler's wfile: every write is sent whole (sendall), within the socket's timeout."""

    def __init__(self, sock: socket.socket):
        super().__init__()
        self._sock = sock

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self._sock.sendall(data)
        return len(data)


class _Handler(BaseHTTPRequestHandler):
    """Parses the head already read by the selector thread and answers on the (blocking) socket."""

    protocol_version = "HTTP/1.1"
    server_version = "kiosk-health"
    sys_version = ""

    def setup(self) -> None:
        self.connection, head = self.request
        self.rfile = io.BytesIO(head)
        self.wfile = _Writer(self.connection)

    def finish(self) -> None:
        try:
            self.wfile.flush()
        except OSError:
            pass

    def log_message(self, format, *args):  # noqa: A002 - the stdlib's name
        log.debug("health: %s " + format, self.address_string(), *args)

    def do_GET(self) -> None:
        self._serve(head=False)

    def do_HEAD(self) -> None:
        self._serve(head=True)

    def _deny(self, code: int, message: str, headers: dict | None = None) -> None:
        self._send(code, "application/json", _json({"error": message}), headers=headers)

    def _serve(self, head: bool) -> None:
        app: HealthServer = self.server
        self._head = head
        refusal = app.refusal(self.headers.get("Authorization"))
        if refusal is not None:
            self._deny(401, refusal, {"WWW-Authenticate": 'Bearer realm="kiosk"'})
            return
        path = self.path.split("?", 1)[0]
        try:  # the answer is made first; a client gone while it is sent is not the application's error
            if path == "/healthz":
                healthy, body = app.healthz()
                answer = (200 if healthy else 503, "application/json", _json(body), None)
            elif path == "/metrics":
                content_type, page = app.metrics(self.headers.get("Accept", ""))
                answer = (200, content_type, page, None)
            elif path == "/screenshot.png":
                png = app.screenshot()
                unread = "no frame to read back just now (none on screen yet, or the player is busy): ask again"
                answer = ((200, "image/png", png, None) if png else
                          (503, "application/json", _json({"error": unread}), {"Retry-After": "5"}))
            else:
                answer = (404, "application/json", _json({"error": "not found; try /healthz, /metrics or "
                                                                   "/screenshot.png"}), None)
        except Exception:
            log.exception("health: %s failed", path)
            answer = (500, "application/json", _json({"error": "internal error (see the journal)"}), None)
        self._send(*answer)

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
    """/healthz, /metrics and /screenshot.png on cfg.health.host:port (see the module's docstring).

    `screenshot` is the player's callable returning the frame on screen as PNG bytes (None before the first
    frame); it runs on a worker thread, so it must not wait for the render loop.
    """

    def __init__(self, cfg: Config, status: Status, screenshot: Callable[[], bytes | None] = lambda: None):
        self.cfg, self.status, self.screenshot = cfg, status, screenshot
        devicemod.attach(status, cfg.cache.path)
        self._registry = None  # made at the first /metrics request (see metrics)
        self._registry_lock = threading.Lock()
        self._token: bytes | None = None
        self._locked: str | None = None  # why every request is refused (the token file cannot be read)
        self._token_tried = 0.0
        self._token_lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._workers: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()  # guards _answering and _busy (workers end on their own threads)
        self._answering: dict[socket.socket, float] = {}  # worker sockets -> deadline
        self._busy: dict[str, int] = {}  # client -> requests being answered

    def metrics(self, accept: str) -> tuple[str, bytes]:
        """/metrics as (content type, page). prometheus_client is imported at the first request: a board
        nobody scrapes does not hold it (about 1 MB resident, with the WSGI server it brings)."""
        from prometheus_client import CollectorRegistry, exposition

        from kiosk.report import metrics

        with self._registry_lock:
            if self._registry is None:
                registry = CollectorRegistry(auto_describe=False)
                metrics.register(registry, self.status, self.cfg)
                self._registry = registry
        encoder, content_type = exposition.choose_encoder(accept)
        return content_type, encoder(self._registry)

    @property
    def port(self) -> int:
        """The port actually listened on (health.listen may say 0 in tests)."""
        if self._listener is None:
            return self.cfg.health.port
        return self._listener.getsockname()[1]

    # --- who may ask ------------------------------------------------------------------------------

    def _read_token(self) -> None:
        try:
            self._token = read_token(self.cfg.health.token_file, "health.token_file").encode("utf-8")
        except TokenError as exc:
            if self._locked != str(exc):
                log.error(_("health endpoint locked (every request refused) until the token can be read: {reason}")
                          .format(reason=exc))
            self._locked = str(exc)
            self.status.set_error("health", f"locked: {exc}")
            return
        if self._locked is not None:
            log.info(_("health endpoint unlocked: health.token_file can be read again"))
            self.status.set_error("health", None)
        self._locked = None

    def refusal(self, header: str | None) -> str | None:
        """Why a request with this Authorization header is refused; None when it may be answered."""
        if self.cfg.health.token_file is None:
            return None
        with self._token_lock:
            now = time.monotonic()
            if self._locked is not None and now - self._token_tried >= TOKEN_RETRY_S:
                self._token_tried = now
                self._read_token()
            if self._locked is not None:
                return f"the health endpoint is locked: {self._locked}"
            token = self._token
        scheme, _, given = (header or "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode("utf-8", "surrogateescape"), token):
            return None
        return "bearer token required"

    def authorised(self, header: str | None) -> bool:
        return self.refusal(header) is None

    def healthz(self) -> tuple[bool, dict]:
        snap = self.status.snapshot()
        return report(snap, time.monotonic(), self.cfg.device.id, self.cfg.device.name, self.cfg.schedule.timezone)

    # --- life ------------------------------------------------------------------------------------

    def start(self) -> None:
        """Listen and serve in a daemon thread; raises HealthServerError with a clear message on failure.

        A token file that cannot be read does not stop it: it starts locked (401 to every request,
        saying why) and unlocks itself once the file can be read."""
        host, port = self.cfg.health.host, self.cfg.health.port
        if self.cfg.health.token_file is not None:
            self._token_tried = time.monotonic()
            self._read_token()
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        listener = socket.socket(family, socket.SOCK_STREAM)
        try:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind((host, port))
            listener.listen(64)
            listener.setblocking(False)
        except OSError as exc:
            listener.close()
            hint = " (another kiosk still running? change health.listen)" if exc.errno == 98 else ""
            reason = exc.strerror or exc
            raise HealthServerError(f"health.listen {host}:{port}: cannot listen: {reason}{hint}") from None
        self._listener = listener
        self._stop.clear()
        self._workers = ThreadPoolExecutor(MAX_WORKERS, thread_name_prefix="health-answer")
        self._thread = threading.Thread(target=self._serve, name="health", daemon=True)
        self._thread.start()
        log.info("health endpoint on http://%s:%d/healthz", host, self.port)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        with self._lock:
            answering = list(self._answering)
        for sock in answering:
            _shutdown(sock)
        if self._workers is not None:
            self._workers.shutdown(wait=True, cancel_futures=True)
            self._workers = None
        if self._listener is not None:
            self._listener.close()
            self._listener = None

    # --- the selector thread ------------------------------------------------------------------------

    def _serve(self) -> None:
        selector = selectors.DefaultSelector()
        selector.register(self._listener, selectors.EVENT_READ, None)
        pending: OrderedDict[socket.socket, _Pending] = OrderedDict()  # oldest first
        tokens, refilled = RATE_BURST, time.monotonic()
        try:
            while not self._stop.is_set():
                for key, _events in selector.select(TICK_S):
                    if key.data is None:
                        tokens, refilled = self._accept(selector, pending, tokens, refilled)
                    else:
                        self._read_head(selector, pending, key.data)
                self._expire(selector, pending)
        except Exception:  # never expected; the endpoint must say so rather than vanish silently
            log.exception("health: the endpoint stopped")
            self.status.set_error("health", "the health endpoint stopped (see the journal)")
        finally:
            for item in list(pending.values()):
                self._drop(selector, pending, item)
            selector.close()

    def _accept(self, selector, pending, tokens: float, refilled: float) -> tuple[float, float]:
        for _attempt in range(64):  # a burst of connections at once, without starving the reads
            try:
                sock, address = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                break
            except OSError as exc:  # e.g. too many open files: wait for the next tick
                log.debug("health: accept failed: %s", exc)
                break
            now = time.monotonic()
            tokens, refilled = min(RATE_BURST, tokens + (now - refilled) * RATE_PER_S), now
            if tokens < 1:
                sock.close()  # beyond the rate: closed unanswered, costs an accept and a close
                continue
            tokens -= 1
            client = address[0]
            mine = [item for item in pending.values() if item.client == client]
            if len(mine) >= MAX_PENDING_PER_CLIENT:
                self._drop(selector, pending, mine[0])
            elif len(pending) >= MAX_PENDING:
                self._drop(selector, pending, next(iter(pending.values())))
            sock.setblocking(False)
            item = _Pending(sock, client, now + HEAD_DEADLINE_S)
            pending[sock] = item
            selector.register(sock, selectors.EVENT_READ, item)
        return tokens, refilled

    def _read_head(self, selector, pending, item: _Pending) -> None:
        try:
            data = item.sock.recv(4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._drop(selector, pending, item)
            return
        item.head += data
        end = item.head.find(b"\r\n\r\n")
        if end < 0:
            end = item.head.find(b"\n\n")
        if end < 0:
            if len(item.head) > MAX_HEAD_BYTES:
                _try_send(item.sock, _TOO_LARGE)
                self._drop(selector, pending, item)
            return
        selector.unregister(item.sock)
        del pending[item.sock]
        self._dispatch(item.sock, bytes(item.head), item.client)

    def _dispatch(self, sock: socket.socket, head: bytes, client: str) -> None:
        with self._lock:
            busy = sum(self._busy.values())
            if busy >= MAX_WORKERS or self._busy.get(client, 0) >= MAX_WORKERS_PER_CLIENT:
                full = True
            else:
                full = False
                self._busy[client] = self._busy.get(client, 0) + 1
                self._answering[sock] = time.monotonic() + ANSWER_DEADLINE_S
        if full:
            _try_send(sock, _BUSY)
            sock.close()
            return
        sock.setblocking(True)
        sock.settimeout(SOCKET_TIMEOUT_S)
        try:
            self._workers.submit(self._answer, sock, head, client)
        except RuntimeError:  # stopping
            self._done(sock, client)

    def _answer(self, sock: socket.socket, head: bytes, client: str) -> None:
        try:
            try:
                _Handler((sock, head), (client, 0), self)
            except OSError as exc:  # the client hung up, or did not read in time: nobody to tell
                log.debug("health: %s went away: %s", client, exc)
        finally:
            self._done(sock, client)

    def _done(self, sock: socket.socket, client: str) -> None:
        with self._lock:
            self._answering.pop(sock, None)
            left = self._busy.get(client, 1) - 1
            if left > 0:
                self._busy[client] = left
            else:
                self._busy.pop(client, None)
        _shutdown(sock)
        sock.close()

    def _expire(self, selector, pending) -> None:
        now = time.monotonic()
        for item in [p for p in pending.values() if p.deadline < now]:
            self._drop(selector, pending, item)
        with self._lock:
            late = [sock for sock, deadline in self._answering.items() if deadline < now]
        for sock in late:
            _shutdown(sock)  # the worker's blocked write returns at once and the worker ends

    @staticmethod
    def _drop(selector, pending, item: _Pending) -> None:
        pending.pop(item.sock, None)
        try:
            selector.unregister(item.sock)
        except (KeyError, ValueError):
            pass
        item.sock.close()


def _try_send(sock: socket.socket, data: bytes) -> None:
    try:
        sock.send(data)
    except OSError:
        pass


def _shutdown(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
