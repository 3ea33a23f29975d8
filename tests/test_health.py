"""The health endpoint: the pure verdict, and real HTTP requests to a real server on 127.0.0.1."""

import io
import json
import logging
import socket
import struct
import threading
import time

import pytest
import requests
from PIL import Image

from kiosk import config
from kiosk.cli import status as status_client
from kiosk.report import endpoint, health
from kiosk.report.endpoint import HealthServer, HealthServerError
from kiosk.report.health import assess
from kiosk.status import Status

NOW = 1000.0


def good(**over) -> dict:
    snap = {
        "loop_beat": NOW - 0.02,
        "loop_deadline": NOW + 0.5,
        "display_ok": True,
        "display_driver": "kmsdrm",
        "headless": False,
        "slide_count": 4,
        "power": "on",
        "errors": {},
        "last_sync": {"at": 1.0, "ok": True, "error": None},
        "counters": {"plays_dropped": 0},
        "device": {"cpu_temp_c": 55.0, "disk_free_bytes": 5 * 10**9, "throttled": None},
    }
    snap.update(over)
    return snap


def test_a_playing_board_is_healthy():
    assert assess(good(), NOW) == (True, [])


@pytest.mark.parametrize(
    ("over", "now", "words"),
    [
        ({"loop_beat": None, "loop_deadline": None}, NOW, "has not started"),
        ({"loop_beat": NOW - 60, "loop_deadline": NOW - 59}, NOW, "stalled"),
        ({"loop_beat": NOW - 40, "loop_deadline": None}, NOW, "stalled"),
        ({"display_ok": False}, NOW, "no display"),
        ({"display_driver": "dummy"}, NOW, "dummy"),
        ({"display_driver": "Offscreen"}, NOW, "Offscreen"),
        ({"slide_count": 0}, NOW, "no content"),
        ({"errors": {"display": "HDMI lost"}}, NOW, "HDMI lost"),
    ],
)
def test_unhealthy(over, now, words):
    healthy, reasons = assess(good(**over), now)
    assert not healthy
    assert any(words in reason for reason in reasons), reasons


def test_a_loop_within_its_own_deadline_plus_grace_is_alive():
    # A 15 s slide: the loop promised to turn within 15 s; 17 s later it is still inside the grace.
    assert assess(good(loop_beat=NOW - 17, loop_deadline=NOW - 2), NOW)[0]
    assert not assess(good(loop_beat=NOW - 17, loop_deadline=NOW - 2), NOW + 10)[0]


def test_lost_display_is_never_healthy_even_with_everything_else_fine():
    for over in ({"display_ok": False}, {"display_ok": False, "power": "off"}, {"display_driver": "offscreen"}):
        assert not assess(good(**over), NOW)[0]


def test_headless_on_purpose_is_healthy_but_says_so():
    healthy, reasons = assess(good(headless=True, display_ok=False, display_driver="dummy"), NOW)
    assert healthy
    assert any("headless" in r for r in reasons)


def test_screen_switched_off_by_schedule_without_content_is_healthy():
    assert assess(good(slide_count=0, power="off"), NOW)[0]


@pytest.mark.parametrize(
    ("over", "words"),
    [
        ({"last_sync": {"at": 1.0, "ok": False, "error": "HTTP 502"}, "sync_failing_since": NOW - 600}, "10 min"),
        ({"errors": {"config": "config.yaml:3: bad"}}, "config.yaml:3"),
        ({"content_warnings": ["anh-le-hoi: image missing", "x"]}, "+1 more"),
        ({"clock_synced": False}, "clock"),
        ({"counters": {"plays_dropped": 12}}, "12 proof-of-play"),
        ({"device": {"cpu_temp_c": 83.0}}, "83 °C"),
        ({"device": {"throttled": {"now": {"under_voltage": True}}}}, "under-voltage"),
        ({"device": {"disk_free_bytes": 10**6}}, "disk almost full"),
    ],
)
def test_warnings_do_not_make_it_unhealthy(over, words):
    healthy, reasons = assess(good(**over), NOW)
    assert healthy
    assert any(words in reason for reason in reasons), reasons


def test_summary_line_for_systemctl_status():
    assert health.summary_line(good(current_slide="lich"), NOW) == "healthy, slide lich"
    assert health.summary_line(good(slide_count=0), NOW) == "DEGRADED: no content: nothing to show"
    assert health.summary_line(good(clock_synced=False), NOW).endswith("schedules may be off")


def test_faults_come_before_warnings():
    _, reasons = assess(good(clock_synced=False, slide_count=0), NOW)
    assert reasons[0].startswith("no content")


# --- a real server on 127.0.0.1 ---


def make_config(tmp_path, token: str | None = None, listen: str = "127.0.0.1:0"):
    lines = [
        "device: {id: xa-an-khuong, name: 'UBND xã An Khương'}",
        f"source: {{path: '{tmp_path}'}}",
        f"cache: {{path: '{tmp_path / 'cache'}'}}",
        f"health: {{listen: '{listen}'" + (f", token_file: '{tmp_path / 'token'}'" if token is not None else "") + "}",
    ]
    if token is not None:
        (tmp_path / "token").write_text(token + "\n")
    (tmp_path / "config.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return config.load(tmp_path / "config.yaml")


def playing_status() -> Status:
    st = Status(device=lambda: {"cpu_temp_c": 51.0, "disk_free_bytes": 3 * 10**9, "ip_addresses": ["10.0.0.5"]})
    st.update(display_ok=True, display_driver="kmsdrm", slide_count=2, content_version="2026-11-26T05:00")
    st.slide_started("lich-tiep-cong-dan")
    st.sync_finished(True, changed=True, bytes_downloaded=2048)
    st.beat(time.monotonic() + 60)
    return st


def png_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 36), (200, 16, 46)).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def session():
    with requests.Session() as s:
        s.trust_env = False
        yield s


@pytest.fixture
def served(tmp_path):
    servers = []

    def serve(st: Status, token: str | None = None, screenshot=lambda: None):
        server = HealthServer(make_config(tmp_path, token), st, screenshot)
        server.start()
        servers.append(server)
        return server, f"http://127.0.0.1:{server.port}"

    yield serve
    for server in servers:
        server.stop()


def test_healthz_200_with_the_heartbeat_fields(served, session):
    _, url = served(playing_status())
    answer = session.get(url + "/healthz")
    assert answer.status_code == 200
    body = answer.json()
    assert body["status"] == "healthy" and body["reasons"] == []
    assert body["device_id"] == "xa-an-khuong" and body["device_name"] == "UBND xã An Khương"
    assert body["current_slide"] == "lich-tiep-cong-dan"
    assert body["content_version"] == "2026-11-26T05:00"
    assert body["last_sync"]["ok"] is True and body["last_sync"]["at"].endswith("+07:00")
    assert body["cpu_temp_c"] == 51.0 and body["disk_free_bytes"] == 3 * 10**9
    assert body["version"] and body["uptime_s"] >= 0


def test_healthz_503_when_the_loop_stalls_or_the_display_goes(served, session):
    st = playing_status()
    _, url = served(st)
    st.beat(time.monotonic() - 60)  # promised a turn a minute ago
    answer = session.get(url + "/healthz")
    assert answer.status_code == 503
    assert "stalled" in answer.json()["reasons"][0]
    st.beat(time.monotonic() + 1)
    st.update(display_ok=False)
    answer = session.get(url + "/healthz")
    assert answer.status_code == 503 and answer.json()["status"] == "degraded"
    assert session.head(url + "/healthz").status_code == 503


def test_bearer_token_required_when_configured(served, session):
    _, url = served(playing_status(), token="s3cret-token")
    assert session.get(url + "/healthz").status_code == 401
    assert session.get(url + "/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert session.get(url + "/healthz", headers={"Authorization": "Basic s3cret-token"}).status_code == 401
    denied = session.get(url + "/screenshot.png")
    assert denied.status_code == 401 and denied.headers["WWW-Authenticate"].startswith("Bearer")
    assert session.get(url + "/healthz", headers={"Authorization": "Bearer s3cret-token"}).status_code == 200


def test_an_unreadable_token_file_locks_the_endpoint_until_it_is_fixed(tmp_path, session, monkeypatch):
    monkeypatch.setattr(endpoint, "TOKEN_RETRY_S", 0.0)
    st = playing_status()
    server = HealthServer(make_config(tmp_path, token=""), st)
    server.start()  # never a reason to stop the board: it starts locked
    try:
        url = f"http://127.0.0.1:{server.port}"
        denied = session.get(url + "/healthz", headers={"Authorization": "Bearer anything"})
        assert denied.status_code == 401 and "locked" in denied.json()["error"] and "empty" in denied.json()["error"]
        assert "locked" in st.snapshot()["errors"]["health"]
        (tmp_path / "token").write_text("s3cret\n")
        assert session.get(url + "/healthz", headers={"Authorization": "Bearer s3cret"}).status_code == 200
        assert "health" not in st.snapshot()["errors"]
    finally:
        server.stop()


def test_screenshot_is_the_players_png_or_503(served, session):
    frames = []
    _, url = served(playing_status(), screenshot=lambda: frames[-1] if frames else None)
    assert session.get(url + "/screenshot.png").status_code == 503
    frames.append(png_bytes())
    answer = session.get(url + "/screenshot.png")
    assert answer.status_code == 200 and answer.headers["Content-Type"] == "image/png"
    assert Image.open(io.BytesIO(answer.content)).getpixel((10, 10)) == (200, 16, 46)


def test_a_failing_screenshot_is_a_500_not_a_dead_server(served, session):
    def broken():
        raise RuntimeError("surface locked")

    _, url = served(playing_status(), screenshot=broken)
    assert session.get(url + "/screenshot.png").status_code == 500
    assert session.get(url + "/healthz").status_code == 200
    assert session.get(url + "/nothing-here").status_code == 404


def test_port_taken_is_a_clear_error(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        cfg = make_config(tmp_path, listen=f"127.0.0.1:{port}")
        with pytest.raises(HealthServerError, match=f"127.0.0.1:{port}"):
            HealthServer(cfg, Status()).start()


def closed_by_server(sock: socket.socket) -> bool:
    """The server hung up: an end of file, or a reset when it closed before reading what we sent."""
    sock.settimeout(5)
    try:
        return sock.recv(100) == b""
    except ConnectionResetError:
        return True


def test_a_silent_client_does_not_block_others(served, session, monkeypatch):
    monkeypatch.setattr(endpoint, "HEAD_DEADLINE_S", 0.5)
    _, url = served(playing_status())
    port = int(url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port)) as silent:
        silent.sendall(b"GET /healthz HTTP/1.1\r\n")  # and never finishes the request
        assert session.get(url + "/healthz").status_code == 200
        assert closed_by_server(silent)  # dropped when its head did not come whole in time


def test_a_slow_dripping_client_is_cut_at_the_deadline(served, session, monkeypatch):
    monkeypatch.setattr(endpoint, "HEAD_DEADLINE_S", 0.5)
    _, url = served(playing_status())
    port = int(url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port)) as drip:
        drip.settimeout(0.1)
        cut = False
        for byte in b"GET /healthz HTTP/1.1\r\nX-Slow: " + b"a" * 300:
            try:
                drip.sendall(bytes([byte]))
                if drip.recv(100) == b"":
                    cut = True
                    break
            except TimeoutError:
                continue
            except OSError:
                cut = True
                break
        assert cut, "the server kept a dripping connection open for 30 s"
    assert session.get(url + "/healthz").status_code == 200


def test_64_slow_connections_do_not_blind_healthz(served, session):
    """The issue's attack: 64 connections that send half a request took all 16 slots."""
    _, url = served(playing_status())
    port = int(url.rsplit(":", 1)[1])
    hogs = [socket.create_connection(("127.0.0.1", port)) for _ in range(64)]
    try:
        for hog in hogs:
            hog.sendall(b"GET /healthz HTTP/1.1\r\nX-Slow: a")
        for _ in range(5):
            assert session.get(url + "/healthz", timeout=5).status_code == 200
    finally:
        for hog in hogs:
            hog.close()


def test_one_client_cannot_hold_more_than_its_share(served, session, monkeypatch):
    monkeypatch.setattr(endpoint, "MAX_PENDING_PER_CLIENT", 4)
    _, url = served(playing_status())
    port = int(url.rsplit(":", 1)[1])
    hogs = [socket.create_connection(("127.0.0.1", port)) for _ in range(12)]
    try:
        for hog in hogs:
            hog.sendall(b"GET /healthz HTTP/1.1\r\n")
        assert session.get(url + "/healthz", timeout=5).status_code == 200  # the newest gets in
        assert closed_by_server(hogs[0])  # the oldest were dropped for it
    finally:
        for hog in hogs:
            hog.close()


def test_when_every_worker_is_busy_the_answer_is_503_at_once(served, session, monkeypatch):
    monkeypatch.setattr(endpoint, "MAX_WORKERS", 1)
    release, entered = threading.Event(), threading.Event()

    def slow_screenshot():
        entered.set()
        release.wait(30)
        return png_bytes()

    _, url = served(playing_status(), screenshot=slow_screenshot)
    first = threading.Thread(target=lambda: session.get(url + "/screenshot.png", timeout=30))
    first.start()
    try:
        assert entered.wait(30)  # the one worker is busy (on a loaded machine this can take a while)
        for _ in range(100):
            busy = requests.get(url + "/healthz", timeout=5)
            if busy.status_code == 503 and "busy" in busy.text:
                break
            time.sleep(0.02)
        assert busy.status_code == 503 and busy.headers["Retry-After"] == "1"
    finally:
        release.set()
        first.join()
    for _ in range(200):  # the worker frees itself just after its answer is written: soon, not at once
        if session.get(url + "/healthz").status_code == 200:
            break
        time.sleep(0.02)
    else:
        raise AssertionError("/healthz stays busy after the slow request ended")


def test_a_client_that_hangs_up_is_not_a_traceback(served, caplog):
    big = png_bytes() + b"\0" * 4_000_000
    _, url = served(playing_status(), screenshot=lambda: big)
    port = int(url.rsplit(":", 1)[1])
    with caplog.at_level(logging.DEBUG, logger="kiosk.health"):
        for _ in range(20):
            with socket.create_connection(("127.0.0.1", port)) as gone:
                gone.sendall(b"GET /screenshot.png HTTP/1.1\r\nHost: x\r\n\r\n")
                gone.recv(10)
                gone.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # a reset
        assert requests.get(url + "/healthz", timeout=5).status_code == 200
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info]


def test_a_flood_beyond_the_rate_is_refused(served, session, monkeypatch):
    monkeypatch.setattr(endpoint, "RATE_PER_S", 0.001)
    monkeypatch.setattr(endpoint, "RATE_BURST", 5.0)
    _, url = served(playing_status())
    answers = []
    for _ in range(10):
        try:
            answers.append(session.get(url + "/healthz", timeout=5).status_code)
        except requests.ConnectionError:
            answers.append("refused")
    assert answers[:5] == [200] * 5
    assert "refused" in answers[5:]


# --- kiosk status against a real server ---


def test_kiosk_status_healthy_exit_0(served, tmp_path):
    server, _ = served(playing_status(), token="tok")
    cfg = make_config(tmp_path, token="tok", listen=f"0.0.0.0:{server.port}")  # a wildcard is asked on loopback
    out = io.StringIO()
    assert status_client.main(cfg, out) == 0
    text = out.getvalue()
    assert text.startswith("HEALTHY: xa-an-khuong UBND xã An Khương")
    assert "lich-tiep-cong-dan" in text and "51 °C" in text and "3.0 GB" in text and "10.0.0.5" in text


def test_kiosk_status_shows_times_in_the_boards_zone():
    body = {"status": "healthy", "device_id": "b", "last_sync": {"at": "2026-11-26T05:00:00+00:00", "ok": True}}
    assert "last sync: 2026-11-26 12:00:00, ok" in status_client.summary(body, "Asia/Ho_Chi_Minh")


def test_kiosk_status_degraded_exit_1(served, tmp_path):
    st = playing_status()
    st.update(slide_count=0)
    server, _ = served(st)
    out = io.StringIO()
    assert status_client.main(make_config(tmp_path, listen=f"127.0.0.1:{server.port}"), out) == 1
    assert out.getvalue().startswith("DEGRADED") and "no content" in out.getvalue()


def test_kiosk_status_unreachable_or_refused_exit_1(served, tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free_port = probe.getsockname()[1]
    out = io.StringIO()
    assert status_client.main(make_config(tmp_path, listen=f"127.0.0.1:{free_port}"), out) == 1
    assert out.getvalue().startswith("UNREACHABLE") and "systemctl status kiosk" in out.getvalue()

    server, _ = served(playing_status(), token="right")
    (tmp_path / "other").mkdir()
    cfg = make_config(tmp_path / "other", token="wrong", listen=f"127.0.0.1:{server.port}")
    out = io.StringIO()
    assert status_client.main(cfg, out) == 1
    assert out.getvalue().startswith("REFUSED")


def test_status_url_for_wildcards():
    assert status_client.url_for("0.0.0.0", 9110) == "http://127.0.0.1:9110/healthz"
    assert status_client.url_for("::", 9110) == "http://[::1]:9110/healthz"
    assert status_client.url_for("10.1.2.3", 80) == "http://10.1.2.3:80/healthz"


# --- kiosk status against whatever answers on health.listen (the issue: tracebacks, hangs, 300 MB read whole) ---


def hostile_answers():
    from servers import body, drip, endless, redirect

    deep = b"[" * 100_000 + b"]" * 100_000
    odd = json.dumps({"status": "healthy", "device_id": ["x"], "reasons": 5, "warnings": [{"a": 1}],
                      "last_sync": {"at": 12, "ok": "yes"}, "device": [1], "cpu_temp_c": "hot",
                      "disk_free_bytes": "lots", "uptime_s": -5, "slide_count": "many",
                      "current_slide": "a\nb" * 500}).encode()
    return {
        "deep JSON": (body(deep), "UNEXPECTED"),
        "odd fields": (body(odd), "HEALTHY"),
        "300 MB": (endless(limit=300 * 1024 * 1024), "UNEXPECTED"),
        "drip": (drip(b'{"status": "healthy"}' * 100, 0.2), "UNREACHABLE"),
        "redirect": (redirect("http://127.0.0.1:9/healthz"), "UNEXPECTED"),
        "not JSON": (body(b"\xff\xfe<html>", 200, "text/html"), "UNEXPECTED"),
    }


@pytest.mark.parametrize("name", list(hostile_answers()))
def test_kiosk_status_survives_any_answer(tmp_path, name, monkeypatch):
    import tracemalloc

    from servers import StaticServer

    monkeypatch.setattr(status_client, "DEADLINE_S", 2.0, raising=False)
    behaviour, first_word = hostile_answers()[name]
    server = StaticServer(None)
    server.overrides["/healthz"] = behaviour
    try:
        out = io.StringIO()
        tracemalloc.start()
        started = time.monotonic()
        code = status_client.main(make_config(tmp_path, listen=f"127.0.0.1:{server.port}"), out)
        took = time.monotonic() - started
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    finally:
        server.close()
    assert out.getvalue().startswith(first_word), out.getvalue()
    assert code == (0 if first_word == "HEALTHY" else 1)
    assert took < 30 and peak < 20 * 1024 * 1024
    assert all(len(line) < 300 for line in out.getvalue().splitlines())
