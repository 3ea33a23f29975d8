"""Heartbeats and plays uploads against a real HTTP server on 127.0.0.1: bytes on the wire, rows on disk."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import random
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from PIL import Image

from kiosk import config as configmod
from kiosk.report import heartbeat
from kiosk.report.plays import Play, PlayQueue
from kiosk.report.reporter import RETRY_FIRST, Reporter, parse_commands, parse_retry_after
from kiosk.source.client import next_delay
from kiosk.status import Status

NOW = dt.datetime(2026, 11, 26, 1, 30, tzinfo=dt.UTC)  # 08:30 in Hà Nội


@dataclass
class Received:
    path: str
    headers: dict
    body: bytes

    def json(self) -> dict:
        return json.loads(self.body.decode("utf-8"))


@dataclass
class FakeSourceSystem:
    """The provincial source system as far as reports go: records requests, answers as told."""

    url: str = ""
    requests: list[Received] = field(default_factory=list)
    status: dict[str, int] = field(default_factory=dict)  # last path segment -> HTTP status
    answer: dict[str, bytes] = field(default_factory=dict)
    headers: dict[str, dict] = field(default_factory=dict)
    behaviour: dict[str, object] = field(default_factory=dict)  # kind -> handler(h): answers however it likes
    lock: threading.Lock = field(default_factory=threading.Lock)

    def of(self, kind: str) -> list[Received]:
        with self.lock:
            return [r for r in self.requests if r.path.rsplit("/", 1)[-1] == kind]


@pytest.fixture
def server():
    fake = FakeSourceSystem()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            kind = self.path.rsplit("/", 1)[-1]
            with fake.lock:
                fake.requests.append(Received(self.path, dict(self.headers), body))
            if kind in fake.behaviour:
                try:
                    fake.behaviour[kind](self)
                except OSError:
                    pass
                return
            code = fake.status.get(kind, 200)
            payload = fake.answer.get(kind, b"")
            self.send_response(code)
            for name, value in fake.headers.get(kind, {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    fake.url = f"http://127.0.0.1:{httpd.server_address[1]}/api/"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield fake
    httpd.shutdown()
    httpd.server_close()


def write_config(tmp_path: Path, source: str) -> configmod.Config:
    (tmp_path / "token").write_text("s3cret-token\n")
    (tmp_path / "config.yaml").write_text(
        "device:\n  id: ubnd-an-khuong\n  name: UBND xã An Khương\n"
        f"source:\n{source}  token_file: token\n"
        "health:\n  heartbeat_seconds: 60\n",
        encoding="utf-8",
    )
    return configmod.load(tmp_path / "config.yaml")


@pytest.fixture
def cfg(tmp_path, server):
    return write_config(tmp_path, f"  url: {server.url}\n")


@pytest.fixture
def queue(tmp_path):
    q = PlayQueue(tmp_path / "plays.sqlite3")
    yield q
    q.close()


def play(n: int) -> Play:
    return Play(
        id=f"play-{n:05d}",
        slide_id="lich-tiep-cong-dan",
        started_at="2026-11-26T08:30:00+07:00",
        ended_at="2026-11-26T08:30:15+07:00",
        duration_s=15.0,
        content_version="v1",
    )


def rows(queue: PlayQueue) -> list[str]:
    """The plays the queue holds on disk (nothing in memory: pending() reads the file)."""
    assert queue.buffered() == 0
    return [p.id for p in queue.pending(100_000)]


class Clock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def make_reporter(cfg, queue, status=None, commands=None, screenshot=None, **kw):
    clock = Clock()
    seen = [] if commands is None else commands
    reporter = Reporter(
        cfg,
        status or Status(),
        queue,
        lambda name, args: seen.append((name, args)),
        screenshot,
        clock=clock,
        wall=lambda: NOW,
        rng=random.Random(7),
        **kw,
    )
    return reporter, clock


# --- pure decisions ------------------------------------------------------------------------------------


def test_next_delay_jitters_the_period_then_backs_off_capped():
    rng = random.Random(1)

    def delay(failures: int, cap: float = 60) -> float:
        return next_delay(60, failures, rng.random(), first=RETRY_FIRST, cap=cap)

    assert all(54 <= delay(0) <= 66 for _ in range(200))
    ceilings = [max(delay(n) for _ in range(200)) for n in range(1, 9)]
    assert ceilings[0] <= RETRY_FIRST and ceilings[:4] == sorted(ceilings[:4])
    assert all(c <= 60 for c in ceilings) and ceilings[-1] > 50
    assert all(delay(20, cap=600) >= 300 for _ in range(100))


def test_retry_after_in_seconds_or_as_a_date():
    assert parse_retry_after("120", NOW) == 120
    assert parse_retry_after("Thu, 26 Nov 2026 01:32:00 GMT", NOW) == 120
    assert parse_retry_after("999999", NOW) == 3600  # bounded
    assert parse_retry_after("soon", NOW) is None and parse_retry_after(None, NOW) is None


def test_heartbeat_body_from_a_snapshot(cfg):
    snapshot = {
        "uptime_s": 12.5,
        "current_slide": "lich-tiep-cong-dan",
        "content_version": "v9",
        "last_sync": {"at": NOW.timestamp() - 60, "ok": False, "error": "HTTP 503"},
        "errors": {"sync": "HTTP 503"},
        "emergency": True,
        "device": {"cpu_temp_c": 51.2, "disk_free_bytes": 123, "throttled": "0x0"},
        "plays_queued": 4,
        "plays_dropped_total": 0,
    }
    body = heartbeat.build(snapshot, cfg, NOW.timestamp())
    assert body["device_id"] == "ubnd-an-khuong"
    assert body["sent_at"] == "2026-11-26T08:30:00+07:00"
    assert body["last_sync"] == {"at": "2026-11-26T08:29:00+07:00", "ok": False, "error": "HTTP 503"}
    assert body["cpu_temp_c"] == 51.2 and body["disk_free_bytes"] == 123
    assert body["device"] == {"throttled": "0x0"}
    assert body["emergency"] is True and body["plays_queued"] == 4
    assert body["current_slide"] == "lich-tiep-cong-dan" and body["content_version"] == "v9"


def test_commands_are_checked_at_the_border():
    cmds, problems = parse_commands(
        b'{"commands": [{"name": "sync_now", "id": 7}, {"name": "sync_now"}, {"nam": "x"},'
        b' {"name": "DROP TABLE"}, {"name": "upload_screenshot", "args": []}]}'
    )
    assert [(c.name, c.id) for c in cmds] == [("sync_now", "7")]
    assert len(problems) == 3 and "commands[2]" in problems[0]
    assert parse_commands(b"") == ([], [])
    assert parse_commands(b"<html>ok</html>")[0] == []
    assert parse_commands(b'{"ok": true}') == ([], [])


# --- on the wire -------------------------------------------------------------------------------------------


def test_heartbeat_on_the_wire(cfg, queue, server):
    status = Status()
    status.update(current_slide="lich-tiep-cong-dan", content_version="v3")
    reporter, clock = make_reporter(cfg, queue, status)
    reporter.tick(clock())
    (hb,) = server.of("heartbeat")
    assert hb.path == "/api/devices/ubnd-an-khuong/heartbeat"
    assert hb.headers["Authorization"] == "Bearer s3cret-token"
    assert hb.headers["Content-Type"].startswith("application/json")
    body = hb.json()
    for key in ("device_id", "sent_at", "version", "uptime_s", "content_version", "current_slide",
                "last_sync", "disk_free_bytes", "cpu_temp_c"):
        assert key in body
    assert body["device_name"] == "UBND xã An Khương"  # UTF-8 on the wire, not \\u escapes
    assert "UBND xã An Khương".encode() in hb.body
    assert body["current_slide"] == "lich-tiep-cong-dan" and body["content_version"] == "v3"
    assert set(body["last_sync"]) == {"at", "ok", "error"}
    assert isinstance(body["disk_free_bytes"], int)
    assert body["cpu_temp_c"] is None or isinstance(body["cpu_temp_c"], float)


def test_plays_leave_the_disk_only_after_a_2xx(cfg, queue, server):
    reporter, clock = make_reporter(cfg, queue)
    for n in range(3):
        queue.record(play(n))
    server.status["plays"] = 503
    delay = reporter.tick(clock())
    assert rows(queue) == ["play-00000", "play-00001", "play-00002"]  # flushed, not lost
    assert reporter.failures == 1 and delay <= RETRY_FIRST

    server.status["plays"] = 200
    clock.t += delay
    reporter.tick(clock())
    assert rows(queue) == [] and reporter.failures == 0
    sent = [p["id"] for r in server.of("plays") for p in r.json()["plays"]]
    assert sent == ["play-00000", "play-00001", "play-00002"] * 2  # a retry resends the same ids
    body = server.of("plays")[-1].json()
    assert body["device_id"] == "ubnd-an-khuong"
    assert body["plays"][0] == {
        "id": "play-00000", "slide_id": "lich-tiep-cong-dan", "started_at": "2026-11-26T08:30:00+07:00",
        "ended_at": "2026-11-26T08:30:15+07:00", "duration_s": 15.0, "cut_short": False, "content_version": "v1",
    }


def test_server_down_backs_off_and_keeps_everything(cfg, queue, server):
    reporter, clock = make_reporter(cfg, queue)
    server.status["heartbeat"] = 500
    delays = []
    for n in range(8):
        queue.record(play(n))
        delays.append(reporter.tick(clock()))
        clock.t += delays[-1]
    assert len(rows(queue)) == 8 and server.of("plays") == []
    assert delays[0] <= RETRY_FIRST < delays[-1] <= 60
    assert "HTTP 500" in reporter.status.snapshot()["errors"]["reports"]
    server.status["heartbeat"] = 200
    reporter.tick(clock())
    assert rows(queue) == [] and "reports" not in reporter.status.snapshot()["errors"]
    assert {p["id"] for p in server.of("plays")[0].json()["plays"]} == {f"play-{n:05d}" for n in range(8)}


def test_retry_after_holds_the_board_back(cfg, queue, server):
    reporter, clock = make_reporter(cfg, queue)
    server.status["heartbeat"] = 503
    server.headers["heartbeat"] = {"Retry-After": "600"}
    reporter.tick(clock())
    assert reporter.next_report - clock() >= 600


def test_uploads_in_batches_of_at_most_500(cfg, queue, server):
    reporter, clock = make_reporter(cfg, queue)
    for n in range(1200):
        queue.record(play(n))
    reporter.tick(clock())
    assert [len(r.json()["plays"]) for r in server.of("plays")] == [500, 500, 200]
    assert queue.count() == 0


def test_commands_in_the_answer_are_run_and_reported(cfg, queue, server):
    buf = io.BytesIO()
    Image.new("RGB", (64, 36), (200, 16, 46)).save(buf, "PNG")
    png = buf.getvalue()
    seen = []
    reporter, clock = make_reporter(cfg, queue, commands=seen, screenshot=lambda: png)
    server.answer["heartbeat"] = json.dumps(
        {"commands": [{"name": "sync_now", "id": "c1"}, {"name": "upload_screenshot", "id": "c2"},
                      {"name": "format_disk", "id": "c3"}]}
    ).encode()
    delay = reporter.tick(clock())
    assert seen == [("sync_now", {})]
    (shot,) = server.of("screenshot")
    assert shot.path == "/api/devices/ubnd-an-khuong/screenshot"
    assert shot.headers["Content-Type"] == "image/png" and shot.body == png
    assert shot.headers["Authorization"] == "Bearer s3cret-token"

    server.answer["heartbeat"] = b"{}"
    clock.t += delay
    reporter.tick(clock())
    results = server.of("heartbeat")[-1].json()["command_results"]
    assert results == [
        {"id": "c1", "name": "sync_now", "ok": True, "error": None},
        {"id": "c2", "name": "upload_screenshot", "ok": True, "error": None},
        {"id": "c3", "name": "format_disk", "ok": False, "error": "unknown command"},
    ]
    clock.t += 61
    reporter.tick(clock())
    assert "command_results" not in server.of("heartbeat")[-1].json()  # reported once


def test_screenshot_without_a_frame_is_reported_not_sent(cfg, queue, server):
    reporter, clock = make_reporter(cfg, queue, screenshot=lambda: None)
    server.answer["heartbeat"] = b'{"commands": [{"name": "upload_screenshot"}]}'
    clock.t += reporter.tick(clock())
    server.answer["heartbeat"] = b""
    reporter.tick(clock())
    assert server.of("screenshot") == []
    assert server.of("heartbeat")[-1].json()["command_results"][0]["error"] == \
        "no frame to read back (none on screen yet, or the player was busy)"


def test_a_garbage_answer_is_still_an_acknowledgement(cfg, queue, server):
    reporter, clock = make_reporter(cfg, queue)
    server.answer["heartbeat"] = b"<html><body>OK</body></html>"
    server.answer["plays"] = b"\xff\xfe not json"
    queue.record(play(1))
    reporter.tick(clock())
    assert rows(queue) == [] and reporter.failures == 0


def test_a_redirect_is_a_failure_with_a_hint(cfg, queue, server):
    reporter, clock = make_reporter(cfg, queue)
    server.status["heartbeat"] = 301
    server.headers["heartbeat"] = {"Location": "https://elsewhere.example/api/"}
    reporter.tick(clock())
    assert "set source.report_url" in reporter.status.snapshot()["errors"]["reports"]


def test_a_rotated_token_is_used_at_the_next_cycle(cfg, queue, server, tmp_path):
    reporter, clock = make_reporter(cfg, queue)
    clock.t += reporter.tick(clock())
    (tmp_path / "token").write_text("new-token\n")
    reporter.tick(clock())
    assert [r.headers["Authorization"] for r in server.of("heartbeat")] == ["Bearer s3cret-token", "Bearer new-token"]


def test_no_report_url_means_no_requests_but_plays_stay_bounded(tmp_path, server):
    (tmp_path / "slides").mkdir()
    cfg = write_config(tmp_path, "  path: slides\n")
    with PlayQueue(tmp_path / "plays.sqlite3", max_rows=10) as queue:
        reporter, clock = make_reporter(cfg, queue)
        for n in range(15):
            queue.record(play(n))
        delay = reporter.tick(clock())
        assert delay <= 60
        clock.t += delay
        reporter.tick(clock())
        assert len(rows(queue)) == 10 and queue.dropped_total == 5
    assert server.requests == []


def test_run_reports_until_stopped(cfg, queue, server):
    reporter = Reporter(cfg, Status(), queue, lambda name, args: None)
    stop = threading.Event()
    thread = threading.Thread(target=reporter.run, args=(stop,))
    queue.record(play(1))
    thread.start()
    try:
        deadline = threading.Event()
        for _ in range(100):
            if server.of("plays"):
                break
            deadline.wait(0.05)
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()
    assert server.of("heartbeat") and server.of("plays")
    assert rows(queue) == []


def test_a_wake_up_a_hair_early_still_does_the_work(cfg, queue, server):
    """Timers and float sums land a hair before a deadline; that must not become a busy loop."""
    reporter, clock = make_reporter(cfg, queue)
    clock.t += reporter.tick(clock())
    clock.t = reporter.next_report - 1e-9
    assert reporter.tick(clock()) > 0.001
    assert len(server.of("heartbeat")) == 2


def make_ca_and_server_cert(folder: Path) -> tuple[Path, Path, Path]:
    """A provincial CA and a certificate for 127.0.0.1 signed by it, as PEM files."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder().subject_name(name("So TTTT CA")).issuer_name(name("So TTTT CA"))
        .public_key(ca_key.public_key()).serial_number(1).not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder().subject_name(name("127.0.0.1")).issuer_name(ca.subject)
        .public_key(key.public_key()).serial_number(2).not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    ca_pem, cert_pem, key_pem = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    ca_pem.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_pem.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    return ca_pem, cert_pem, key_pem


def test_https_with_the_provincial_ca_from_ca_file(tmp_path, queue):
    import ssl

    ca_pem, cert_pem, key_pem = make_ca_and_server_cert(tmp_path)
    seen = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            seen.append(self.path)
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_pem, key_pem)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    url = f"https://127.0.0.1:{httpd.server_address[1]}/api/"
    try:
        without = write_config(tmp_path, f"  url: {url}\n")
        reporter, clock = make_reporter(without, queue)
        reporter.tick(clock())
        assert seen == [] and "TLS" in reporter.status.snapshot()["errors"]["reports"]

        with_ca = write_config(tmp_path, f"  url: {url}\n  ca_file: ca.pem\n")
        reporter, clock = make_reporter(with_ca, queue)
        reporter.tick(clock())
        assert seen == ["/api/devices/ubnd-an-khuong/heartbeat"] and reporter.failures == 0
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_a_backlog_drains_in_follow_up_cycles_without_extra_heartbeats(cfg, queue, server, monkeypatch):
    monkeypatch.setattr("kiosk.report.reporter.BATCHES_PER_CYCLE", 2)
    reporter, clock = make_reporter(cfg, queue, batch_size=10)
    for n in range(55):
        queue.record(play(n))
    while queue.count():
        clock.t += reporter.tick(clock())
    assert len(server.of("heartbeat")) == 1
    assert [len(r.json()["plays"]) for r in server.of("plays")] == [10, 10, 10, 10, 10, 5]


# --- servers that misbehave (the issue: a dripping answer stopped all reporting) -----------------------


def drip_body(h, seconds: float = 30.0):
    """200, then a body announced long and sent a byte at a time: per-read timeouts never fire."""
    h.send_response(200)
    h.send_header("Content-Length", "100000")
    h.end_headers()
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        h.wfile.write(b" ")
        h.wfile.flush()
        time.sleep(0.05)


def drip_headers(h, seconds: float = 30.0):
    """Slowloris from the server's side: the status line and headers a byte every 0.2 s (no status yet
    when the board's deadline comes)."""
    end = time.monotonic() + seconds
    for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 1000:
        if time.monotonic() > end:
            break
        h.wfile.write(bytes([byte]))
        h.wfile.flush()
        time.sleep(0.2)


def cut_short(h):
    h.send_response(200)
    h.send_header("Content-Length", "100")
    h.end_headers()
    h.wfile.write(b'{"commands": [')
    h.wfile.flush()
    h.connection.shutdown(socket.SHUT_RDWR)


def _gzip_bomb() -> bytes:
    """200 MB of answer in about 200 kB, made once, a megabyte at a time."""
    import zlib

    packer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    parts = [packer.compress(b"{")] + [packer.compress(b" " * 1_000_000) for _ in range(200)]
    return b"".join(parts) + packer.compress(b"}") + packer.flush()


BOMB = _gzip_bomb()


def gzip_bomb(h):
    bomb = BOMB
    h.send_response(200)
    h.send_header("Content-Encoding", "gzip")
    h.send_header("Content-Length", str(len(bomb)))
    h.end_headers()
    h.wfile.write(bomb)


@pytest.mark.parametrize("misbehaviour", [drip_body, drip_headers])
def test_a_dripping_server_is_cut_at_the_request_deadline(cfg, queue, server, monkeypatch, misbehaviour):
    monkeypatch.setattr("kiosk.report.reporter.REQUEST_DEADLINE_S", 1.0)
    server.behaviour["heartbeat"] = misbehaviour
    reporter, clock = make_reporter(cfg, queue)
    queue.record(play(1))
    started = time.monotonic()
    reporter.tick(clock())
    took = time.monotonic() - started
    assert took < 20  # not the 30 s (or, with a drip of headers, the hours) the server would take
    if misbehaviour is drip_headers:
        assert "no answer within 1 s" in reporter.status.snapshot()["errors"]["reports"]
        assert rows(queue) == ["play-00001"]  # flushed, kept for the next try
    else:  # a 200 is an acknowledgement even when its body never ends
        assert server.of("plays") and rows(queue) == []


def test_a_2xx_cut_short_acknowledges_without_a_traceback(cfg, queue, server, caplog):
    server.behaviour["heartbeat"] = cut_short
    server.behaviour["plays"] = cut_short
    reporter, clock = make_reporter(cfg, queue)
    queue.record(play(1))
    with caplog.at_level(logging.WARNING, logger="kiosk.reports"):
        reporter.tick(clock())
    assert reporter.failures == 0 and rows(queue) == []
    assert any("cut short" in r.getMessage() for r in caplog.records)
    assert not any(r.exc_info for r in caplog.records)


def test_a_gzip_bomb_answer_is_not_inflated(cfg, queue, server):
    import tracemalloc

    server.behaviour["heartbeat"] = gzip_bomb
    reporter, clock = make_reporter(cfg, queue)
    tracemalloc.start()
    try:
        reporter.tick(clock())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert reporter.failures == 0 and peak < 30 * 1024 * 1024


def test_flushing_goes_on_while_the_server_holds_a_request(cfg, tmp_path, server, monkeypatch):
    """The issue: kill -9 after 100 s lost all 100 plays, because the stalled request held the flush."""
    monkeypatch.setattr("kiosk.report.reporter.REQUEST_DEADLINE_S", 600.0)
    holding = threading.Event()

    def hold(h):
        holding.set()
        time.sleep(15)

    server.behaviour["heartbeat"] = hold
    queue = PlayQueue(tmp_path / "q.sqlite3")
    reporter = Reporter(cfg, Status(), queue, lambda name, args: None, flush_seconds=0.2)
    stop = threading.Event()
    thread = threading.Thread(target=reporter.run, args=(stop,))
    thread.start()
    try:
        assert holding.wait(10)
        for n in range(5):
            queue.record(play(n))
        deadline = time.monotonic() + 10
        while queue.buffered() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert queue.buffered() == 0  # on disk while the heartbeat is still held by the server
        assert len(queue.pending()) == 5
    finally:
        stop.set()  # and the stop cuts the held request at once
        thread.join(timeout=5)
    assert not thread.is_alive()
    queue.close()


def test_heartbeats_keep_their_period_while_a_backlog_drains(cfg, queue, server, monkeypatch):
    reporter, clock = make_reporter(cfg, queue, batch_size=10)
    beats = []

    def answer(h, seconds: float):
        clock.t += seconds  # the time this request takes, on the board's clock
        h.send_response(200)
        h.send_header("Content-Length", "0")
        h.end_headers()

    def heartbeat(h):
        beats.append(clock.t)
        answer(h, 0)

    server.behaviour["heartbeat"] = heartbeat
    server.behaviour["plays"] = lambda h: answer(h, 25)  # every batch takes 25 s
    for n in range(300):
        queue.record(play(n))
    while queue.count():
        delay = reporter.tick(clock())  # (not `clock.t += …`: that would drop the time the requests took)
        clock.t += delay
    gaps = [b - a for a, b in zip(beats, beats[1:], strict=False)]
    assert len(beats) > 5 and max(gaps) <= 60 + 25 + 1  # the period, and at most one batch more


def test_a_full_card_at_boot_still_heartbeats_and_uploads_the_plays_in_memory(cfg, server, small_disk):
    small_disk.fill()
    queue = PlayQueue(small_disk.path / "plays.sqlite")
    status = Status()
    reporter, clock = make_reporter(cfg, queue, status=status)
    for n in range(3):
        queue.record(play(n))
    reporter.tick(clock())
    assert server.of("heartbeat") and "disk is full" in status.snapshot()["errors"]["plays"]
    assert [p["id"] for p in server.of("plays")[0].json()["plays"]] == ["play-00000", "play-00001", "play-00002"]
    assert queue.count() == 0
    small_disk.make_room()
    queue.record(play(3))
    clock.t += reporter.tick(clock())
    clock.t += reporter.tick(clock())
    assert queue.disk_error is None and "plays" not in status.snapshot()["errors"]
    queue.close()


# --- what the hub's engineer asked of the board ---------------------------------------------------------


def test_the_heartbeat_carries_the_boards_period(cfg, queue, server):
    reporter, clock = make_reporter(cfg, queue)
    reporter.tick(clock())
    assert server.of("heartbeat")[0].json()["heartbeat_seconds"] == 60


def test_a_play_refused_with_422_is_isolated_dropped_and_named(cfg, queue, server, caplog):
    bad = {"play-00300", "play-00301", "play-00777"}

    def plays(h):
        with server.lock:
            body = server.requests[-1].json()
        ids = [p["id"] for p in body["plays"]]
        hits = [i for i, pid in enumerate(ids) if pid in bad]
        code, payload = (422, json.dumps({"error": f"plays[{hits[0]}].started_at: not a time"}).encode()) \
            if hits else (200, b"{}")
        h.send_response(code)
        h.send_header("Content-Length", str(len(payload)))
        h.end_headers()
        h.wfile.write(payload)

    server.behaviour["plays"] = plays
    reporter, clock = make_reporter(cfg, queue)
    for n in range(1000):
        queue.record(play(n))
    with caplog.at_level(logging.ERROR, "kiosk.reports"):
        for _ in range(10):
            reporter.tick(clock())
            clock.t += 1.0
            if queue.count() == 0:
                break
    assert queue.count() == 0  # the rest went on
    accepted = {p["id"] for r in server.of("plays") for p in r.json()["plays"]} - bad
    assert len(accepted) == 997
    named = [r.getMessage() for r in caplog.records if "refused play" in r.getMessage()]
    assert len(named) == 3 and all(any(b in m for b in bad) for m in named)
    assert "started_at: not a time" in named[0]
    assert reporter.status.snapshot()["counters"]["plays_refused"] == 3
    assert len(server.of("plays")) < 80  # halving, not one request per play


def test_a_server_refusing_every_play_does_not_empty_the_queue(cfg, queue, server):
    server.status["plays"] = 422
    reporter, clock = make_reporter(cfg, queue)
    for n in range(100):
        queue.record(play(n))
    for _ in range(20):
        reporter.tick(clock())
        clock.t += 61.0
    assert queue.count() == 100 - 20  # at most REFUSED_IN_A_ROW_MAX dropped, the rest kept
    assert "refused the last 20 plays" in reporter.status.snapshot()["errors"]["reports"]


@pytest.mark.parametrize("kind", ["heartbeat", "plays"])
def test_a_refused_token_says_what_to_do(cfg, queue, server, kind, caplog):
    server.status[kind] = 401
    reporter, clock = make_reporter(cfg, queue)
    queue.record(play(1))
    with caplog.at_level(logging.WARNING, "kiosk.reports"):
        reporter.tick(clock())
    hint = ("token refused by the report server: check source.token_file (or add the board on the hub: "
            "kiosk hub add-board ubnd-an-khuong)")
    assert hint in reporter.status.snapshot()["errors"]["reports"]
    assert any(hint in r.getMessage() for r in caplog.records)
    assert queue.count() == 1


# --- a server that does not take reports ---------------------------------------------------------------


@pytest.fixture(params=["python -m http.server", "nginx"])
def static_server(request, tmp_path):
    """The plain static servers docs/protocol.md invites: POST gets 501, or 404 (405 to a file that exists)."""
    from servers import Nginx

    root = tmp_path / "tree"
    root.mkdir()
    if request.param == "nginx":
        if not Nginx.available():
            pytest.skip("nginx not installed")
        server = Nginx(root, tmp_path / "nginx")
        yield server.url, 404  # 405 where the file exists; here the path does not
        server.close()
        return
    import functools
    from http.server import SimpleHTTPRequestHandler

    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/", 501
    httpd.shutdown()
    httpd.server_close()


def test_a_server_that_takes_no_reports_is_a_config_matter_said_once(tmp_path, queue, static_server, caplog):
    from kiosk.report.health import assess, findings
    from kiosk.report.reporter import NOT_TAKEN_BACKOFF

    url, code = static_server
    cfg = write_config(tmp_path, f"  url: {url}\n")
    status = Status()
    status.update(loop_beat=1000.0, loop_deadline=1010.0, display_ok=True, display_driver="kmsdrm", slide_count=3)
    reporter, clock = make_reporter(cfg, queue, status)
    queue.record(play(1))
    with caplog.at_level(logging.WARNING, logger="kiosk"):
        reporter.tick(clock.t)
        clock.t = reporter.next_report
        reporter.tick(clock.t)
    said = [r.getMessage() for r in caplog.records if r.getMessage().startswith("reports:")]
    assert len(said) == 1, said
    assert said[0] == (
        f"reports: {url}devices/ubnd-an-khuong/heartbeat answers HTTP {code}: this server does not take "
        "reports (a plain web server?); set source.report_url to the source system's report address, or "
        "source.reports: false to send none; plays stay on disk (1), asked again in an hour")
    assert reporter.next_report - clock.t >= NOT_TAKEN_BACKOFF
    snap = status.snapshot(with_device=False)
    assert "reports" not in snap["errors"] and rows(queue) == ["play-00001"]
    healthy, reasons = assess(snap, 1001.0)
    assert healthy, reasons
    assert [f.code for f in findings(snap, 1001.0)] == ["reports_not_taken"]
    assert reasons[0].startswith("config: ") and "source.reports: false" in reasons[0]


def test_reports_turned_off_send_nothing(tmp_path, queue, server):
    cfg = write_config(tmp_path, f"  url: {server.url}\n  reports: false\n")
    assert cfg.report_url is None and cfg.source.reports is False
    reporter, clock = make_reporter(cfg, queue)
    queue.record(play(1))
    reporter.tick(clock.t)
    queue.flush()  # with no reports, plays reach the disk on the flusher's own minute
    assert server.requests == [] and rows(queue) == ["play-00001"]
