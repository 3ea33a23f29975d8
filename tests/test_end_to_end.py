"""A board against a real source system on 127.0.0.1: publish → serve → sync → play → heartbeat and plays."""

import json
import signal
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from PIL import Image
from player_process import Player, free_port, write_config
from servers import StaticServer

from kiosk.source import publish


class ReportServer:
    """The source system's report side: records every POST, answers 204."""

    def __init__(self):
        self.posts: list[tuple[str, dict, str]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                server.posts.append((self.path, json.loads(body), self.headers.get("Authorization", "")))
                self.send_response(204)
                self.end_headers()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/api/"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def plays(self) -> list[dict]:
        return [p for path, body, _ in self.posts if path.endswith("/plays") for p in body["plays"]]

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()  # gone: connections are refused (a stalled server is another test)


def test_board_syncs_plays_and_reports(tmp_path):
    src = tmp_path / "soan-thao"
    (src / "anh").mkdir(parents=True)
    Image.new("RGB", (800, 600), (30, 140, 70)).save(src / "anh" / "dong-lua.jpg")
    (src / "programme.yaml").write_text(
        "slides:\n"
        "  - id: hop-dan\n    title: Họp dân thôn Phú Hòa\n    body: Tối thứ Sáu, 19 giờ, tại nhà văn hóa.\n"
        "    duration: 1\n"
        "  - id: dong-lua\n    file: anh/dong-lua.jpg\n    duration: 1\n",
        encoding="utf-8",
    )
    tree = tmp_path / "www"
    publish.publish(src, tree, None)
    (tmp_path / "token").write_text("bi-mat\n")
    content, reports = StaticServer(tree), ReportServer()
    port = free_port()
    config = write_config(
        tmp_path,
        f"  url: {content.url}\n  report_url: {reports.url}\n  token_file: {tmp_path / 'token'}\n  poll_seconds: 5",
        port,
        extra="  heartbeat_seconds: 5\n",
    )
    player = Player(config, port)
    try:
        assert player.wait_for_notify("READY=1"), player.stop()[1]
        assert player.wait_until(lambda: player.health()[1].get("current_slide") in ("hop-dan", "dong-lua"), 30)
        assert player.wait_until(lambda: {"hop-dan", "dong-lua"} <= {p["slide_id"] for p in reports.plays()}, 40)
        def heartbeats():
            return [body for path, body, _ in reports.posts if path == "/api/devices/test-board/heartbeat"]

        assert player.wait_until(lambda: heartbeats()[-1]["last_sync"]["ok"] is True, 20)
        heartbeat = heartbeats()[-1]
        for field in ("device_id", "sent_at", "version", "uptime_s", "content_version", "current_slide",
                      "last_sync", "disk_free_bytes", "cpu_temp_c"):
            assert field in heartbeat
        assert heartbeat["current_slide"] in ("hop-dan", "dong-lua")
        assert all(auth == "Bearer bi-mat" for _, _, auth in reports.posts)
        ids = [p["id"] for p in reports.plays()]
        assert len(ids) == len(set(ids))
    finally:
        code, out = player.stop(signal.SIGTERM)
        content.close()
        reports.close()
    assert code == 0, out
    assert "Traceback" not in out

    # Restarted with the source system gone: the cached content plays at once.
    player = Player(config, port)
    try:
        assert player.wait_for_notify("READY=1"), player.stop()[1]
        assert player.health()[1].get("current_slide") in ("hop-dan", "dong-lua")
    finally:
        code, out = player.stop(signal.SIGTERM)
    assert code == 0, out


def test_a_board_with_a_channel_plays_both_and_the_channels_emergency_interrupts(tmp_path):
    from kiosk.source import signing

    def tree(name: str, slides: str):
        src = tmp_path / f"src-{name}"
        src.mkdir(exist_ok=True)
        (src / "programme.yaml").write_text("slides:\n" + slides, encoding="utf-8")
        publish.publish(src, tmp_path / f"www-{name}", keys[name][0])

    keys = {name: signing.keygen(tmp_path / f"{name}.key") for name in ("own", "xa")}
    tree("own", "  - id: hop-dan\n    title: Họp dân thôn Phú Hòa\n    duration: 1\n"
                "  - id: thong-bao\n    title: Lịch tiêm chủng\n    duration: 1\n")
    tree("xa", "  - id: thong-bao\n    title: Thông báo của xã\n    duration: 1\n")
    own, xa, reports = StaticServer(tmp_path / "www-own"), StaticServer(tmp_path / "www-xa"), ReportServer()
    port = free_port()
    # polls at 7 s ±10 %: the channel's second sync comes after the plays reach the server (the heartbeat of
    # 5 s), so it is the one that brings the emergency published then (at 5 s, it raced that heartbeat)
    config = write_config(
        tmp_path,
        f"  url: {own.url}\n  report_url: {reports.url}\n  public_key: {keys['own'][1]}\n  poll_seconds: 7\n"
        f"  channels:\n    - {{name: xa, url: '{xa.url}', public_key: '{keys['xa'][1]}'}}",
        port,
        extra="  heartbeat_seconds: 5\n",
    )
    player = Player(config, port)

    def heartbeats():
        return [body for path, body, _ in reports.posts if path.endswith("/heartbeat")]

    try:
        assert player.wait_for_notify("READY=1"), player.stop()[1]
        assert player.wait_until(lambda: {"hop-dan", "thong-bao", "xa:thong-bao"} <= {
            p["slide_id"] for p in reports.plays()}, 40)
        assert [p.get("channel") for p in reports.plays() if p["slide_id"] == "xa:thong-bao"][0] == "xa"
        assert player.wait_until(lambda: heartbeats()[-1]["channels"][0]["last_sync"]["ok"] is True, 20)
        channel = heartbeats()[-1]["channels"][0]
        assert channel["name"] == "xa" and channel["url"] == xa.url and channel["slides"] == 1
        assert heartbeats()[-1]["heartbeat_seconds"] == 5

        tree("xa", "  - id: thong-bao\n    title: Thông báo của xã\n    duration: 1\n"
                   "  - id: bao-lu\n    title: Cảnh báo lũ quét\n    priority: emergency\n    duration: 1\n")
        assert player.wait_until(lambda: player.health()[1].get("current_slide") == "xa:bao-lu", 30)
        code, health = player.health()
        assert health["emergency"] is True and health["channels"][0]["error"] is None
        assert player.wait_until(lambda: all(p["slide_id"] == "xa:bao-lu" for p in reports.plays()[-2:]), 30)
    finally:
        code, out = player.stop(signal.SIGTERM)
        own.close()
        xa.close()
        reports.close()
    assert code == 0, out
    assert "Traceback" not in out
