"""Real HTTP servers on 127.0.0.1 for sync tests and benchmarks.

- Nginx: what a province would run, started with a throw-away config on a free port.
- StaticServer: a small threaded server with ETag, Last-Modified, Range and If-Range
  (Python's SimpleHTTPRequestHandler has neither), used when nginx is absent.
  It can throttle, and it can be told to misbehave on given paths (the hostile server).
Both count the body bytes they send, so tests assert bytes on the wire.
"""

from __future__ import annotations

import email.utils
import os
import shutil
import socket
import ssl
import struct
import subprocess
import threading
import time
import urllib.request
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Nginx:
    """nginx serving `root` on 127.0.0.1; `log()` lists (method, path, status, body bytes, range)."""

    def __init__(self, root: Path, workdir: Path, limit_rate: str | None = None):
        self.root, self.workdir = Path(root), Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.access = self.workdir / "access.log"
        user = "user root;" if os.geteuid() == 0 else ""
        rate = f"limit_rate {limit_rate};" if limit_rate else ""
        temp = "".join(f"{name}_temp_path {self.workdir / name};\n"
                       for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        conf = f"""
{user}
worker_processes 1;
daemon off;
pid {self.workdir / 'nginx.pid'};
error_log {self.workdir / 'error.log'} warn;
events {{ worker_connections 64; }}
http {{
  {temp}
  log_format kiosk '$request_method $uri $status $body_bytes_sent "$http_range"';
  access_log {self.access} kiosk;
  sendfile on;
  gzip on;  # the manifest travels compressed (what docs/deploy.md asks of a province's server)
  gzip_types application/json;
  gzip_min_length 1000;
  gzip_comp_level 6;
  types {{ application/json json; }}
  default_type application/octet-stream;
  server {{
    listen 127.0.0.1:{self.port};
    root {self.root};
    etag on;
    {rate}
  }}
}}
"""
        (self.workdir / "nginx.conf").write_text(conf)
        self.proc = subprocess.Popen(["nginx", "-c", str(self.workdir / "nginx.conf"), "-p", str(self.workdir)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for _ in range(200):
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                if self.proc.poll() is not None:
                    err = self.proc.stderr.read().decode(errors="replace")
                    raise RuntimeError("nginx did not start: " + err) from None
                time.sleep(0.05)
        raise RuntimeError("nginx did not start listening")

    @staticmethod
    def available() -> bool:
        return shutil.which("nginx") is not None

    def log(self) -> list[tuple[str, str, int, int, str]]:
        """Requests so far (waits for nginx to write the previous requests' lines)."""
        marker = f"/__flush-{time.monotonic_ns()}"
        try:
            urllib.request.urlopen(self.url + marker.lstrip("/"), timeout=5)
        except Exception:  # noqa: BLE001 - a 404 is expected
            pass
        rows = []
        for _ in range(100):
            lines = self.access.read_text().splitlines() if self.access.exists() else []
            if any(marker in line for line in lines):
                break
            time.sleep(0.02)
        for line in lines:
            method, path, status, sent, rng = line.split(" ", 4)
            if not path.startswith("/__flush-"):
                rng = rng.strip('"')
                rows.append((method, path, int(status), int(sent), "" if rng == "-" else rng))
        return rows

    def bytes_served(self, prefix: str = "/") -> int:
        return sum(r[3] for r in self.log() if r[1].startswith(prefix))

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()


Behaviour = Callable[[BaseHTTPRequestHandler], None]


class StaticServer:
    """A threaded static server with validators and ranges; `overrides[path]` replaces a path's handling."""

    def __init__(self, root: Path | None, throttle: float | None = None, host: str = "127.0.0.1",
                 tls: ssl.SSLContext | None = None):
        self.root = Path(root) if root else None
        self.throttle = throttle  # bytes per second, or None
        self.overrides: dict[str, Behaviour] = {}
        self.requests: list[tuple[str, str, int, int, str]] = []
        self.headers: list[dict[str, str]] = []  # request headers, in order
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._active = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # as nginx (tcp_nodelay on): no delayed-ACK stall per answer

            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):  # noqa: N802
                path = unquote(urlsplit(self.path).path)
                self.sent = 0
                self.status = 0
                with server._lock:
                    server._active += 1
                    server.headers.append(dict(self.headers))
                try:
                    if path in server.overrides:
                        server.overrides[path](self)
                    else:
                        server._serve_file(self, path)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                finally:
                    with server._lock:
                        server.requests.append(("GET", path, self.status, self.sent, self.headers.get("Range", "")))
                        server._active -= 1
                        server._idle.notify_all()

            def send_response(self, code, message=None):
                self.status = code
                super().send_response(code, message)

        self.httpd = ThreadingHTTPServer((host, 0), Handler)
        self.httpd.daemon_threads = True
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.url = f"{'https' if tls else 'http'}://{host}:{self.port}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def bytes_served(self, prefix: str = "/") -> int:
        return sum(r[3] for r in self.log() if r[1].startswith(prefix))

    def log(self) -> list[tuple[str, str, int, int, str]]:
        """Requests so far, once those being answered have finished."""
        with self._idle:
            self._idle.wait_for(lambda: self._active == 0, timeout=5)
            return list(self.requests)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    # --- the well-behaved static file path ---

    def _serve_file(self, h: BaseHTTPRequestHandler, path: str) -> None:
        target = (self.root / path.lstrip("/")).resolve() if self.root else None
        if target is None or not target.is_relative_to(self.root.resolve()) or not target.is_file():
            send(h, 404, b"<html><body>404 Not Found</body></html>", "text/html")
            return
        st = target.stat()
        etag = f'"{st.st_mtime_ns:x}-{st.st_size:x}"'
        modified = email.utils.formatdate(st.st_mtime, usegmt=True)
        inm, ims = h.headers.get("If-None-Match"), h.headers.get("If-Modified-Since")
        if (inm is not None and inm == etag) or (inm is None and ims is not None and ims == modified):
            h.send_response(304)
            h.send_header("ETag", etag)
            h.send_header("Content-Length", "0")
            h.end_headers()
            return
        start, size = 0, st.st_size
        rng, if_range = h.headers.get("Range"), h.headers.get("If-Range")
        if rng and rng.startswith("bytes=") and rng.endswith("-") and (if_range in (None, etag, modified)):
            start = int(rng[6:-1])
            if start >= size:
                send(h, 416, b"", "text/plain")
                return
            h.send_response(206)
            h.send_header("Content-Range", f"bytes {start}-{size - 1}/{size}")
        else:
            h.send_response(200)
        h.send_header("Content-Length", str(size - start))
        h.send_header("ETag", etag)
        h.send_header("Last-Modified", modified)
        h.end_headers()
        with open(target, "rb") as f:
            f.seek(start)
            while chunk := f.read(64 * 1024 if not self.throttle else max(1024, int(self.throttle / 20))):
                h.wfile.write(chunk)
                h.sent += len(chunk)
                if self.throttle:
                    time.sleep(len(chunk) / self.throttle)


# --- misbehaviours for StaticServer.overrides ---

def send(h: BaseHTTPRequestHandler, status: int, body: bytes, ctype: str = "application/json",
         headers: dict[str, str] | None = None) -> None:
    h.send_response(status)
    h.send_header("Content-Type", ctype)
    h.send_header("Content-Length", str(len(body)))
    for name, value in (headers or {}).items():
        h.send_header(name, value)
    h.end_headers()
    h.wfile.write(body)
    h.sent += len(body)


def body(data: bytes, status: int = 200, ctype: str = "application/json", **headers: str) -> Behaviour:
    return lambda h: send(h, status, data, ctype, {k.replace("_", "-"): v for k, v in headers.items()})


def endless(chunk: bytes = b" " * 65536, limit: int = 60 * 1024 * 1024, announce: bool = False) -> Behaviour:
    """A huge answer (60 MB by default), streamed without Content-Length unless `announce`."""
    def behave(h):
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        if announce:
            h.send_header("Content-Length", str(limit))
        else:
            h.send_header("Connection", "close")
        h.end_headers()
        h.close_connection = True
        while h.sent < limit:
            h.wfile.write(chunk)
            h.sent += len(chunk)
    return behave


def drip(data: bytes, interval: float = 0.2) -> Behaviour:
    """One byte every `interval` seconds: never silent long enough for a read timeout."""
    def behave(h):
        h.send_response(200)
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        for i in range(len(data)):
            h.wfile.write(data[i:i + 1])
            h.wfile.flush()
            h.sent += 1
            time.sleep(interval)
    return behave


def cut_after(data: bytes, cut: int, reset: bool = False) -> Behaviour:
    """Announce all of `data`, send `cut` bytes, then close the connection (with a RST when `reset`)."""
    def behave(h):
        h.send_response(200)
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data[:cut])
        h.wfile.flush()
        h.sent += cut
        if reset:
            h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        else:
            h.connection.shutdown(socket.SHUT_RDWR)
        h.close_connection = True
        h.connection.close()
    return behave


def once(first: Behaviour, then: Behaviour) -> Behaviour:
    """`first` for the first request, `then` afterwards."""
    calls = []

    def behave(h):
        calls.append(1)
        (first if len(calls) == 1 else then)(h)
    return behave


def redirect(location: str, status: int = 302) -> Behaviour:
    return lambda h: send(h, status, b"", "text/plain", {"Location": location})
