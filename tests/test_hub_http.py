"""The hub over real HTTP (uvicorn on 127.0.0.1), on SQLite and PostgreSQL: the reports protocol, what it
refuses, /metrics, and the staff's pages (sign-in, roles, CSRF, escaping, statistics files)."""

import io
import json
import re

import pytest
import requests
from hubs import ThreadHub, free_port, heartbeat_body, play, write_hub_yaml
from PIL import Image

from kiosk.hub import config as hubconfig


@pytest.fixture
def hub(tmp_path, hub_database):
    cfg = hubconfig.load(write_hub_yaml(tmp_path, free_port(), hub_database,
                                        "limits:\n  requests_per_minute: 30\n  heartbeat_kb: 8\n"))
    running = ThreadHub(cfg)
    running.token = running.store.add_board("an-khuong", "UBND xã <b>An Khương</b>", "An Khương", 0)
    running.other = running.store.add_board("phu-hoa", "UBND xã Phú Hòa", "Phú Hòa", 0)
    running.store.set_user("lan", "mat-khau-dai", "operator", 0)
    running.store.set_user("minh", "mat-khau-dai", "viewer", 0)
    yield running
    running.close()


def post(hub, path, data, token=None, content_type="application/json; charset=utf-8"):
    headers = {"Content-Type": content_type}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return requests.post(hub.url + path, data=data, headers=headers, timeout=10)


def signed_in(hub, user="lan") -> requests.Session:
    session = requests.Session()
    answer = session.post(hub.url + "login", data={"user": user, "password": "mat-khau-dai", "next": "/"},
                          allow_redirects=False, timeout=10)
    assert answer.status_code == 303 and "kiosk_hub_session" in session.cookies
    assert "HttpOnly" in answer.headers["set-cookie"] and "samesite=lax" in answer.headers["set-cookie"].lower()
    return session


def png(size=(64, 36)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


def test_the_reports_protocol_heartbeat_plays_and_commands(hub):
    answer = post(hub, "devices/an-khuong/heartbeat", heartbeat_body("an-khuong"), hub.token)
    assert answer.status_code == 200 and answer.json() == {}
    body = {"device_id": "an-khuong", "plays": [play("p1"), play("p2")]}
    answer = post(hub, "devices/an-khuong/plays", json.dumps(body), hub.token)
    assert answer.status_code == 200 and answer.json() == {"accepted": 2, "duplicates": 0}
    answer = post(hub, "devices/an-khuong/plays", json.dumps(body), hub.token)  # the 2xx was lost: sent again
    assert answer.json() == {"accepted": 0, "duplicates": 2}
    cid = hub.store.queue_command("an-khuong", "upload_screenshot", "lan", 0)
    answer = post(hub, "devices/an-khuong/heartbeat", heartbeat_body("an-khuong"), hub.token)
    assert answer.json() == {"commands": [{"name": "upload_screenshot", "id": f"c-{cid}"}]}
    assert post(hub, "devices/an-khuong/screenshot", png(), hub.token, "image/png").status_code == 204
    assert hub.store.commands("an-khuong")[0].ok is True


@pytest.mark.parametrize("token", [None, "wrong", "other"])
def test_a_wrong_token_or_unknown_board_gets_401_and_nothing_is_stored(hub, token):
    token = hub.other if token == "other" else token  # phu-hoa's own token does not open an-khuong
    answer = post(hub, "devices/an-khuong/heartbeat", heartbeat_body("an-khuong"), token)
    assert answer.status_code == 401 and "WWW-Authenticate" in answer.headers
    assert post(hub, "devices/nobody/heartbeat", heartbeat_body("nobody"), hub.token).status_code == 401
    assert hub.store.board("an-khuong").last_seen is None


def test_bad_input_gets_a_clear_4xx_and_nothing_half_stored(hub):
    def refused(path, data, status, words, content_type="application/json"):
        answer = post(hub, path, data, hub.token, content_type)
        assert answer.status_code == status, answer.text
        assert words in answer.json()["error"]

    refused("devices/an-khuong/heartbeat", b"{not json", 400, "not JSON")
    refused("devices/an-khuong/heartbeat", b"\xff\xfe", 400, "UTF-8")
    refused("devices/an-khuong/heartbeat", b"[]", 422, "JSON object")
    refused("devices/an-khuong/heartbeat", heartbeat_body("an-khuong", uptime_s="lâu"), 422, "uptime_s")
    refused("devices/an-khuong/heartbeat", heartbeat_body("phu-hoa"), 422, "device_id")
    refused("devices/an-khuong/heartbeat", b"{" + b" " * 9000 + b"}", 413, "at most 8192")
    good, bad = play("p1"), {**play("p2"), "started_at": "hôm qua"}
    refused("devices/an-khuong/plays", json.dumps({"device_id": "an-khuong", "plays": [good, bad]}), 422,
            "plays[1].started_at")
    no_offset = {**play("p3"), "started_at": "2026-11-26T08:30:00"}
    refused("devices/an-khuong/plays", json.dumps({"device_id": "an-khuong", "plays": [no_offset]}), 422,
            "offset")
    many = {"device_id": "an-khuong", "plays": [play(f"p{i}") for i in range(501)]}
    refused("devices/an-khuong/plays", json.dumps(many), 413, "at most 500")  # the board halves its batch
    refused("devices/an-khuong/screenshot", b"GIF89a", 415, "image/png", "image/gif")
    refused("devices/an-khuong/screenshot", b"\x89PNG\r\n\x1a\nbroken", 422, "damaged", "image/png")
    assert hub.store.plays_count() == 0 and hub.store.board("an-khuong").last_seen is None
    assert hub.store.screenshot("an-khuong") is None


def test_a_flood_from_one_board_is_answered_429_and_the_others_are_unaffected(hub):
    codes = [post(hub, "devices/an-khuong/heartbeat", heartbeat_body("an-khuong"), hub.token).status_code
             for _ in range(40)]
    assert codes.count(200) >= 30 and codes[-1] == 429
    flooded = post(hub, "devices/an-khuong/heartbeat", heartbeat_body("an-khuong"), hub.token)
    assert flooded.status_code == 429 and int(flooded.headers["Retry-After"]) >= 1
    assert post(hub, "devices/phu-hoa/heartbeat", heartbeat_body("phu-hoa"), hub.other).status_code == 200


def test_metrics_carry_one_gauge_per_board_labelled_board(hub):
    post(hub, "devices/an-khuong/heartbeat", heartbeat_body(
        "an-khuong", cpu_temp_c=85.5, disk_free_bytes=1e8, device={"throttled": {"raw": 0x50005}}), hub.token)
    text = requests.get(hub.url + "metrics", timeout=10).text
    assert 'kiosk_hub_board_up{board="an-khuong"} 1.0' in text
    assert 'kiosk_hub_board_up{board="phu-hoa"} 0.0' in text
    assert 'kiosk_hub_board_cpu_temperature_celsius{board="an-khuong"} 85.5' in text
    assert 'kiosk_hub_board_disk_free_bytes{board="an-khuong"} 1e+08' in text
    assert 'kiosk_hub_board_throttled{board="an-khuong"} 1.0' in text
    assert 'kiosk_hub_board_problem{board="an-khuong",code="hot"} 1.0' in text
    assert 'kiosk_hub_boards{state="never"} 1.0' in text
    assert "kiosk_hub_board_content_up_to_date" in text  # family present, no sample: latest unknown


def test_pages_want_a_sign_in_and_escape_what_boards_send(hub):
    answer = requests.get(hub.url, allow_redirects=False, timeout=10)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/login")
    wrong = requests.post(hub.url + "login", data={"user": "lan", "password": "sai"}, timeout=10)
    assert wrong.status_code == 401 and "Sai tên đăng nhập hoặc mật khẩu" in wrong.text
    post(hub, "devices/an-khuong/heartbeat", heartbeat_body(
        "an-khuong", current_slide="<script>alert(1)</script>", errors={"sync": "<img src=x onerror=alert(1)>"}),
        hub.token)
    session = signed_in(hub)
    fleet = session.get(hub.url, timeout=10)
    assert fleet.status_code == 200 and "Danh sách bảng tin" in fleet.text
    assert "<script>alert" not in fleet.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in fleet.text
    assert "<b>An Khương</b>" not in fleet.text and "UBND xã &lt;b&gt;An Khương&lt;/b&gt;" in fleet.text
    assert "default-src 'none'" in fleet.headers["content-security-policy"]
    board = session.get(hub.url + "boards/an-khuong", timeout=10)
    assert "<img src=x" not in board.text and "&lt;img src=x onerror=alert(1)&gt;" in board.text
    only_silent = session.get(hub.url, params={"state": "never"}, timeout=10).text
    assert 'data-board="phu-hoa"' in only_silent and 'data-board="an-khuong"' not in only_silent
    missing = session.get(hub.url + "boards/%3Cscript%3E", timeout=10)
    assert missing.status_code == 404 and "Không tìm thấy bảng “&lt;script&gt;”" in missing.text
    css = session.get(hub.url + "static/hub.css", timeout=10)
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")


def test_viewers_read_operators_send_commands_with_the_form_token(hub):
    viewer = signed_in(hub, "minh")
    assert "Chụp màn hình" not in viewer.get(hub.url + "boards/an-khuong", timeout=10).text
    assert viewer.post(hub.url + "boards/an-khuong/commands", data={"name": "sync_now"}, timeout=10).status_code == 403
    operator = signed_in(hub, "lan")
    page = operator.get(hub.url + "boards/an-khuong", timeout=10).text
    assert "Chụp màn hình" in page and "Đồng bộ ngay" in page
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)[1]
    forged = operator.post(hub.url + "boards/an-khuong/commands", data={"name": "sync_now", "csrf": "x"}, timeout=10)
    assert forged.status_code == 403
    done = operator.post(hub.url + "boards/an-khuong/commands", data={"name": "sync_now", "csrf": csrf},
                         allow_redirects=False, timeout=10)
    assert done.status_code == 303
    assert [c.name for c in hub.store.commands("an-khuong")] == ["sync_now"]
    assert "Đang chờ bảng liên lạc" in operator.get(hub.url + "boards/an-khuong", timeout=10).text


def test_statistics_as_csv_and_json_for_staff_and_scripts(hub):
    body = {"device_id": "an-khuong", "plays": [play("p1"), play("p2", slide="hop-dan")]}
    post(hub, "devices/an-khuong/plays", json.dumps(body), hub.token)
    assert requests.get(hub.url + "stats/plays.json", timeout=10).status_code == 401
    params = {"period": "month", "from": "2026-11", "to": "2026-11"}
    data = requests.get(hub.url + "stats/plays.json", params=params, auth=("lan", "mat-khau-dai"), timeout=10).json()
    assert [(r["period"], r["slide_id"], r["plays"]) for r in data["rows"]] == [
        ("2026-11", "hop-dan", 1), ("2026-11", "lich-tiep-cong-dan", 1)]
    csv = signed_in(hub).get(hub.url + "stats/plays.csv", params=params, timeout=10)
    assert csv.headers["content-type"].startswith("text/csv") and "attachment" in csv.headers["content-disposition"]
    assert csv.content.startswith(b"\xef\xbb\xbf") and "Lượt phát" in csv.content.decode("utf-8-sig")
    bad = requests.get(hub.url + "stats/plays.json", params={"period": "week"}, auth=("lan", "mat-khau-dai"),
                       timeout=10)
    assert bad.status_code == 400 and "period" in bad.json()["error"]
    page = signed_in(hub).get(hub.url + "stats", params=params, timeout=10)
    assert page.status_code == 200 and "hop-dan" in page.text


def test_hub_alert_rules_use_only_metrics_the_hub_exposes_and_pass_their_unit_tests(hub):
    import shutil
    import subprocess
    from pathlib import Path

    import yaml

    post(hub, "devices/an-khuong/heartbeat", heartbeat_body("an-khuong", plays_dropped_total=0,
                                                            device={"throttled": {"raw": 0}}), hub.token)
    text = requests.get(hub.url + "metrics", timeout=10).text
    exposed = {line.split("{")[0].split(" ")[0] for line in text.splitlines() if line and not line.startswith("#")}
    exposed |= {line.split()[2] for line in text.splitlines() if line.startswith("# TYPE")}
    rules_file = Path(__file__).resolve().parent.parent / "docs/monitoring/hub-alerts.yml"
    rules = yaml.safe_load(rules_file.read_text(encoding="utf-8"))
    used = {n for g in rules["groups"] for r in g["rules"] for n in re.findall(r"\bkiosk_[a-z0-9_]+", r["expr"])}
    assert used and used <= exposed, used - exposed
    if shutil.which("promtool"):  # Debian package "prometheus" (.ci/run installs it)
        for args in (["check", "rules", "hub-alerts.yml"], ["test", "rules", "hub-alerts.test.yml"]):
            done = subprocess.run(["promtool", *args], cwd=rules_file.parent, capture_output=True, text=True)
            assert done.returncode == 0, done.stdout + done.stderr


def test_the_board_page_shows_each_channel_the_board_reports(hub):
    channels = [
        {"name": "tinh", "url": "https://tinh.example/bangtin/", "version": "4b527eb236ec520b", "slides": 3,
         "last_sync": {"at": "2026-11-26T08:29:02+07:00", "ok": True, "error": None}, "error": None},
        {"name": "xa", "url": "https://xa.example/<b>", "version": None, "slides": None,
         "last_sync": {"at": None, "ok": False, "error": "cannot connect (<refused>)"},
         "error": "cannot connect (<refused>)"},
    ]
    body = heartbeat_body("an-khuong", channels=channels, errors={"sync:xa": "cannot connect (<refused>)"})
    assert post(hub, "devices/an-khuong/heartbeat", body, hub.token).status_code == 200
    stored = hub.store.board("an-khuong").heartbeat["channels"]
    assert [c["name"] for c in stored] == ["tinh", "xa"] and stored[0]["slides"] == 3
    page = signed_in(hub, "minh").get(hub.url + "boards/an-khuong", timeout=10).text
    assert "Kênh nội dung" in page and page.count('class="channel"') == 2
    assert "<code>4b527eb236ec520b</code> · 3 tin" in page and "https://tinh.example/bangtin/" in page
    assert "lỗi: cannot connect (&lt;refused&gt;)" in page and "https://xa.example/&lt;b&gt;" in page
    bad = heartbeat_body("an-khuong", channels=[{"name": 7}])
    answer = post(hub, "devices/an-khuong/heartbeat", bad, hub.token)
    assert answer.status_code == 422 and "channels[0].name" in answer.json()["error"]
