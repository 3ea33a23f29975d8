"""Security, as part of the fault suite: names that arrive from outside never escape their folder, no secret
leaves in /healthz, /metrics, the journal or the reports, and the service's hardening score is as documented."""

import json
import re
import shutil
import subprocess

import pytest
from faultlab import ReportServer
from player_process import ROOT, Player, free_port, write_config
from servers import StaticServer
from syncboard import authoring

from kiosk import config
from kiosk.content import manifest, programme
from kiosk.problems import InvalidInput
from kiosk.report.reporter import parse_commands
from kiosk.source import publish
from kiosk.source.cache import Cache

TRAVERSALS = ["../../etc/passwd", "/etc/passwd", "a/../../b", "..", "./x", "a\\..\\b", "a\x00b", "a\nb"]


@pytest.mark.parametrize("name", TRAVERSALS)
def test_a_manifest_media_name_or_hash_never_becomes_a_path(tmp_path, name):
    document = {"format": 1, "version": "v", "media": {name: {"sha256": "a" * 64, "size": 1}},
                "slides": [{"id": "a", "type": "image", "file": name}]}
    with pytest.raises(InvalidInput):
        manifest.decode(json.dumps(document).encode(), tmp_path)
    document = {"format": 1, "version": "v", "media": {"x.png": {"sha256": name, "size": 1}},
                "slides": [{"id": "a", "type": "image", "file": "x.png"}]}
    with pytest.raises(InvalidInput):
        manifest.decode(json.dumps(document).encode(), tmp_path)
    with pytest.raises(ValueError):
        Cache(tmp_path).media(name)


@pytest.mark.parametrize("name", ["../outside.png", "/etc/hostname", "inside/../../outside.png", "link.png",
                                  "out/outside.png", "images/../../outside.png"])
def test_an_authoring_folder_file_stays_inside_the_folder(tmp_path, name):
    folder = tmp_path / "folder"
    authoring(folder, {"ok.png": "red"})
    shutil.copy(folder / "images" / "ok.png", tmp_path / "outside.png")
    (folder / "link.png").symlink_to(tmp_path / "outside.png")  # a symlink pointing out is out too
    (folder / "out").symlink_to(tmp_path)  # and so is a folder that is a symlink pointing out
    (folder / "programme.yaml").write_text(f"slides:\n  - id: a\n    file: '{name}'\n", encoding="utf-8")
    loaded = programme.load_folder(folder)
    assert loaded.slides == () and "must be a path inside the folder" in str(loaded.warnings[0])


def test_pictures_reached_through_a_symlinked_folder_inside_are_used(tmp_path):
    folder = tmp_path / "folder"
    authoring(folder, {"ok.png": "red"})
    (folder / "anh").symlink_to(folder / "images")
    (folder / "programme.yaml").write_text("slides:\n  - {id: a, file: anh/ok.png}\n  - {id: b, file: images/ok.png}\n",
                                           encoding="utf-8")
    loaded = programme.load_folder(folder)
    assert not loaded.warnings and [s.image.path for s in loaded.slides] == [folder.resolve() / "images" / "ok.png"] * 2


@pytest.mark.parametrize("name", ["../x", "a/b", "x\n", "A", "a b", "é"])
def test_ids_that_go_into_urls_and_file_names_are_plain(tmp_path, name):
    problems = programme.Problems("p")
    assert programme.parse_slide({"id": name, "title": "t"}, 1, None, problems, 0) is None
    (tmp_path / "config.yaml").write_text(json.dumps({"device": {"id": name, "name": "x"},
                                                      "source": {"path": str(tmp_path)}}), encoding="utf-8")
    try:
        loaded = config.load(tmp_path / "config.yaml").device.id  # surrounding blanks are trimmed: "x\n" is x
    except InvalidInput as exc:
        assert "device.id" in str(exc)
    else:
        assert re.fullmatch(r"[a-z0-9-]+", loaded)
    commands, _problems = parse_commands(json.dumps({"commands": [{"name": name}]}).encode())
    assert commands == []


def test_the_health_endpoint_serves_no_file(tmp_path):
    from kiosk.report.endpoint import HealthServer
    from kiosk.status import Status

    (tmp_path / "config.yaml").write_text(f"device: {{id: x, name: y}}\nsource: {{path: '{tmp_path}'}}\n"
                                          "health: {listen: '127.0.0.1:0'}\n", encoding="utf-8")
    server = HealthServer(config.load(tmp_path / "config.yaml"), Status())
    server.start()
    try:
        import socket

        for path in ("/../../etc/passwd", "/healthz/../../../etc/passwd", "//etc/passwd", "/%2e%2e/%2e%2e/etc/passwd"):
            with socket.create_connection(("127.0.0.1", server.port)) as s:
                s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
                answer = s.recv(65536)
            assert answer.startswith(b"HTTP/1.1 404") and b"root:" not in answer
    finally:
        server.stop()


def test_publish_refuses_to_write_the_tree_inside_the_folder(tmp_path):
    src = authoring(tmp_path / "src", {"a.png": "red"})
    with pytest.raises(InvalidInput, match="outside the authoring folder"):
        publish.publish(src, src / "out", None)


def test_no_secret_in_healthz_metrics_the_journal_or_the_reports(tmp_path):
    source_secret, health_secret = "s0urce-SECRET-3f9a", "he4lth-SECRET-77c1"
    (tmp_path / "token").write_text(source_secret + "\n")
    (tmp_path / "health-token").write_text(health_secret + "\n")
    (tmp_path / "token").chmod(0o644)  # readable by every user: warned about, and never shown
    (tmp_path / "health-token").chmod(0o600)
    src = authoring(tmp_path / "src", {"a.png": "red"}, duration=1)  # plays end, and are reported, within seconds
    publish.publish(src, tmp_path / "tree", None)
    server, report = StaticServer(tmp_path / "tree"), ReportServer(delay=0)
    port = free_port()
    config_path = write_config(
        tmp_path, f"  url: {server.url}\n  report_url: {report.url}\n  token_file: {tmp_path / 'token'}\n"
                  "  poll_seconds: 5", port,
        extra=f"  token_file: {tmp_path / 'health-token'}\n  heartbeat_seconds: 5\n")
    player = Player(config_path, port)
    auth = {"Authorization": f"Bearer {health_secret}"}
    try:
        assert player.wait_for_notify("READY=1"), player.stop()[1]
        import urllib.request

        def fetch(path):
            with urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=auth),
                                        timeout=10) as answer:
                return answer.read().decode()

        assert player.wait_until(lambda: report.heartbeats and report.ids, timeout=40)
        healthz, metrics = fetch("/healthz"), fetch("/metrics")
        assert "readable by every user" in healthz  # the warning names the file, not its content
    finally:
        code, journal = player.stop()
        server.close()
        report.close()
    assert code == 0
    sent = b"".join(report.bodies).decode()
    served = " ".join(json.dumps(h) for h in server.headers)  # the token goes only where it belongs: a header
    assert source_secret in served
    for secret in (source_secret, health_secret):
        for where, text in (("/healthz", healthz), ("/metrics", metrics), ("the journal", journal),
                            ("a report body", sent)):
            assert secret not in text, f"{secret} in {where}"


def test_the_hardening_score_is_the_one_documented():
    if shutil.which("systemd-analyze") is None:
        pytest.skip("no systemd-analyze here")
    done = subprocess.run(["systemd-analyze", "security", "--offline=yes", "--no-pager",
                           str(ROOT / "systemd" / "kiosk.service")], capture_output=True, text=True)
    if done.returncode != 0 and "offline" in done.stderr:
        pytest.skip("this systemd-analyze cannot analyse a unit file offline")
    score = re.search(r"Overall exposure level for kiosk.service: (\d+\.\d)", done.stdout).group(1)
    documented = (ROOT / "docs" / "RELIABILITY.md").read_text(encoding="utf-8")
    assert f"exposure level **{score}**" in documented, f"systemd-analyze says {score}; update docs/RELIABILITY.md"
