"""A stand-in for the provincial source system's report API, for the reports benchmarks.

Records every play id it acknowledges; can be told to fail (503) or to drop connections.
Not a test and not shipped: bench/ scripts import it.
"""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass  # dropped connections are the point of "drop" mode


class ReportServer:
    def __init__(self, answer: bytes = b"{}"):
        self.mode = "up"  # up | 503 | drop
        self.answer = answer
        self.received: set[str] = set()
        self.plays_posts = 0
        self.duplicates = 0
        self.heartbeats = 0
        self.attempts = 0  # every request that arrived, answered or not
        self.screenshots = 0
        self.lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with owner.lock:
                    owner.attempts += 1
                    mode = owner.mode
                if mode == "drop":  # as a crashed backend behind a proxy: the connection just ends
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if mode == "503":
                    self._answer(503, b"maintenance")
                    return
                kind = self.path.rsplit("/", 1)[-1]
                payload = b""
                with owner.lock:
                    if kind == "plays":
                        owner.plays_posts += 1
                        for play in json.loads(body)["plays"]:
                            if play["id"] in owner.received:
                                owner.duplicates += 1
                            owner.received.add(play["id"])
                    elif kind == "heartbeat":
                        owner.heartbeats += 1
                        payload = owner.answer() if callable(owner.answer) else owner.answer
                    elif kind == "screenshot":
                        owner.screenshots += 1
                self._answer(200, payload)

            def _answer(self, code: int, payload: bytes):
                self.send_response(code)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.httpd = _QuietServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/api/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)

    def start(self) -> ReportServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def write_config(folder, url: str, heartbeat_seconds: int = 60):
    """A real config.yaml for a board reporting to `url`."""
    from kiosk import config as configmod

    (folder / "token").write_text("bench-token\n")
    (folder / "config.yaml").write_text(
        "device:\n  id: bench-board\n  name: Bảng tin thử\n"
        f"source:\n  url: {url}\n  token_file: token\n"
        f"health:\n  heartbeat_seconds: {heartbeat_seconds}\n",
        encoding="utf-8",
    )
    return configmod.load(folder / "config.yaml")
