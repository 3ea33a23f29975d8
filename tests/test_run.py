"""`kiosk run` as a real process: first frame, READY=1, health, hot reload of content, clean stop."""

import io
import signal
import time

import pygame
import pytest
from player_process import Player, free_port, write_config


def screenshot(player: Player) -> pygame.Surface:
    code, body = player.get("/screenshot.png")
    assert code == 200
    return pygame.image.load(io.BytesIO(body), "shot.png")


def dominant_is_red(surface: pygame.Surface) -> bool:
    reds = 0
    for x in range(0, surface.get_width(), 16):
        for y in range(0, surface.get_height(), 16):
            r, g, b, *_ = surface.get_at((x, y))
            reds += r > 150 and g < 90 and b < 90
    return reds > 20


@pytest.fixture
def folder(tmp_path):
    src = tmp_path / "noi-dung"
    src.mkdir()
    (src / "programme.yaml").write_text(
        "slides:\n  - id: chao\n    title: Chào mừng bà con\n    body: Bảng tin điện tử của xã.\n    duration: 1\n",
        encoding="utf-8",
    )
    return src


def test_plays_reports_ready_and_stops_cleanly(tmp_path, folder):
    port = free_port()
    player = Player(write_config(tmp_path, f"  path: {folder}", port), port)
    try:
        assert player.wait_for_notify("READY=1"), player.stop()[1]
        assert player.wait_until(lambda: player.health()[1].get("current_slide") == "chao")
        code, body = player.health()
        assert code == 200, body
        shot = screenshot(player)
        assert shot.get_size() == (640, 360)
        colours = {tuple(shot.get_at((x, y)))[:3] for x in range(0, 640, 8) for y in range(0, 360, 8)}
        assert len(colours) > 2, "the frame is blank"

        # An edit to the authoring folder shows on screen within seconds, without a restart.
        (folder / "programme.yaml").write_text(
            "slides:\n  - id: bao-khan\n    title: Cảnh báo bão số 9\n    body: Bà con không ra khơi.\n"
            "    priority: emergency\n    duration: 5\n",
            encoding="utf-8",
        )
        assert player.wait_until(lambda: player.health()[1].get("current_slide") == "bao-khan", timeout=20)
        assert dominant_is_red(screenshot(player))
    finally:
        code, out = player.stop(signal.SIGTERM)
    assert code == 0, out
    assert "Traceback" not in out


def test_broken_programme_keeps_playing_and_says_why(tmp_path, folder):
    port = free_port()
    player = Player(write_config(tmp_path, f"  path: {folder}", port), port)
    try:
        assert player.wait_for_notify("READY=1"), player.stop()[1]
        (folder / "programme.yaml").write_text("slides: [\n", encoding="utf-8")
        assert player.wait_until(lambda: "content" in player.health()[1].get("errors", {}), timeout=20)
        assert player.health()[1]["current_slide"] == "chao"
    finally:
        code, out = player.stop(signal.SIGINT)
    assert code == 0, out
    assert "programme.yaml:1: YAML syntax: the [ opened on this line is never closed" in out
    assert "Traceback" not in out


def test_empty_programme_shows_the_idle_screen_and_is_not_healthy(tmp_path):
    src = tmp_path / "empty"
    src.mkdir()
    (src / "programme.yaml").write_text("slides: []\n", encoding="utf-8")
    port = free_port()
    player = Player(write_config(tmp_path, f"  path: {src}", port), port)
    try:
        assert player.wait_for_notify("READY=1"), player.stop()[1]
        code, body = player.health()
        assert code == 503
        shot = screenshot(player)
        colours = {tuple(shot.get_at((x, y)))[:3] for x in range(0, 640, 8) for y in range(0, 360, 8)}
        assert len(colours) > 2, "the idle screen must not be black"
    finally:
        player.stop()


def test_screen_off_by_schedule_is_black_and_an_emergency_wakes_it(tmp_path, folder):
    port = free_port()
    days = "".join(f"    {day}: off\n" for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun"))
    config = write_config(tmp_path, f"  path: {folder}", port)
    text = config.read_text(encoding="utf-8").replace("  crossfade_ms: 0\n", "  crossfade_ms: 0\n  power:\n" + days)
    config.write_text(text, encoding="utf-8")
    player = Player(config, port)
    try:
        assert player.wait_for_notify("READY=1"), player.stop()[1]
        assert player.wait_until(lambda: player.health()[1].get("screen_power") == "off-black")
        shot = screenshot(player)
        assert {tuple(shot.get_at((x, y)))[:3] for x in range(0, 640, 16) for y in range(0, 360, 16)} == {(0, 0, 0)}
        (folder / "programme.yaml").write_text(
            "slides:\n  - id: lu-quet\n    title: Cảnh báo lũ quét\n    priority: emergency\n", encoding="utf-8"
        )
        assert player.wait_until(lambda: player.health()[1].get("current_slide") == "lu-quet", timeout=20)
        assert dominant_is_red(screenshot(player))
        assert player.health()[1].get("screen_power") == "on"
    finally:
        code, out = player.stop()
    assert code == 0, out


def test_a_board_whose_display_cannot_open_plays_headless_but_is_not_healthy(tmp_path, folder):
    port = free_port()
    # kmsdrm cannot open here (no /dev/dri card with a connected screen): the player falls back to headless.
    player = Player(write_config(tmp_path, f"  path: {folder}", port), port, env={"SDL_VIDEODRIVER": "kmsdrm"})
    try:
        assert player.wait_for_notify("READY=1"), player.stop()[1]
        code, body = player.health()
        assert code == 503
        assert any("display" in reason for reason in body["reasons"]), body
        assert screenshot(player).get_size() == (640, 360)
    finally:
        code, out = player.stop()
    assert code == 0
    assert "running headless" in out


def test_config_edits_apply_without_restart_and_bad_ones_are_refused(tmp_path, folder):
    port = free_port()
    config = write_config(tmp_path, f"  path: {folder}", port)
    good = config.read_text(encoding="utf-8")
    player = Player(config, port)
    try:
        assert player.wait_for_notify("READY=1"), player.stop()[1]
        config.write_text(good + "bogus: 1\n", encoding="utf-8")
        assert player.wait_until(lambda: "config" in player.health()[1]["errors"], timeout=20)
        assert player.health()[1]["current_slide"] == "chao"  # still playing the running config
        config.write_text(good, encoding="utf-8")  # undone: the error goes
        assert player.wait_until(lambda: "config" not in player.health()[1]["errors"], timeout=20)
        config.write_text(good.replace("UBND xã Thử Nghiệm", "UBND xã Mới"), encoding="utf-8")
        assert player.wait_until(lambda: player.health()[1].get("device_name") == "UBND xã Mới", timeout=20)
        assert player.wait_until(lambda: player.health()[1].get("current_slide") == "chao", timeout=20)
    finally:
        code, out = player.stop()
    assert code == 0, out
    assert "Traceback" not in out


def test_plays_reach_the_disk_without_a_report_server(tmp_path, folder):
    import sqlite3

    port = free_port()
    player = Player(write_config(tmp_path, f"  path: {folder}", port), port)
    try:
        assert player.wait_for_notify("READY=1"), player.stop()[1]
        (folder / "programme.yaml").write_text(
            "slides:\n  - id: mot\n    title: Một\n    duration: 1\n  - id: hai\n    title: Hai\n    duration: 1\n",
            encoding="utf-8",
        )
        assert player.wait_until(lambda: player.health()[1].get("current_slide") == "hai", timeout=20)
    finally:
        code, out = player.stop()
    assert code == 0, out
    rows = sqlite3.connect(tmp_path / "cache" / "plays.sqlite").execute("select slide_id from plays").fetchall()
    assert {"mot", "hai"} <= {r[0] for r in rows}


def test_an_unusable_cache_folder_is_one_line_and_exit_2(tmp_path, folder):
    port = free_port()
    config = write_config(tmp_path, f"  path: {folder}", port)
    config.write_text(config.read_text(encoding="utf-8").replace(str(tmp_path / "cache"), "/proc/kiosk-cache"))
    player = Player(config, port)
    code, out = player.proc.wait(timeout=30), player.proc.stdout.read()
    player.notify.close()
    assert code == 2
    assert "cache.path" in out and "/proc/kiosk-cache" in out
    assert "Traceback" not in out


def test_a_config_broken_while_the_board_was_off_plays_with_the_last_good_one(tmp_path, folder):
    port = free_port()
    config = write_config(tmp_path, f"  path: {folder}", port)
    state = {"STATE_DIRECTORY": str(tmp_path / "state")}
    (tmp_path / "state").mkdir()
    player = Player(config, port, env=state)
    assert player.wait_for_notify("READY=1"), player.stop()[1]
    assert player.stop()[0] == 0
    config.write_text(config.read_text(encoding="utf-8").replace("  size: 640x360", "  size: huge"))
    player = Player(config, port, env=state)
    try:
        assert player.wait_for_notify("READY=1"), player.stop()[1]
        assert player.wait_until(lambda: player.health()[1].get("current_slide") == "chao")
        assert "display.size" in player.health()[1]["errors"]["config"]
    finally:
        code, out = player.stop()
    assert code == 0, out
    assert "playing with the last good config" in out


def test_the_content_thread_survives_a_failed_load(tmp_path, folder, monkeypatch):
    """A load that raises (here: preparing fails) is reported; the next edit still shows."""
    from kiosk import config
    from kiosk.content.current import Current
    from kiosk.source.feed import Feed
    from kiosk.status import Status

    cfg = config.load(write_config(tmp_path, f"  path: {folder}", free_port()))
    calls = []

    def prepare(programme):
        calls.append(programme.version)
        if len(calls) == 1:
            raise FileNotFoundError("a temp file vanished")
        return programme

    status, current = Status(), Current()
    source = Feed(cfg, current, status, prepare, ready=lambda _p: False)
    source.load_initial()
    source.start()
    try:
        deadline = time.monotonic() + 10
        while "content" not in status.errors and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "a temp file vanished" in status.errors["content"]
        (folder / "programme.yaml").write_text("slides:\n  - id: moi\n    title: Mới\n", encoding="utf-8")
        while [s.id for s in current.get().slides] != ["moi"] and time.monotonic() < deadline + 10:
            time.sleep(0.05)
        assert [s.id for s in current.get().slides] == ["moi"]
    finally:
        source.close()


def test_a_board_whose_token_and_key_files_went_bad_still_boots_and_plays(tmp_path):
    """The issue: with a remembered last good config, a missing token file or a garbage key file ended in
    exit 2, which systemd does not restart: a dark board."""
    from servers import StaticServer
    from syncboard import authoring

    from kiosk.source import publish, signing

    signing.keygen(tmp_path / "content.key")
    src = authoring(tmp_path / "src", {"a.png": "red"})
    publish.publish(src, tmp_path / "tree", tmp_path / "content.key")
    server = StaticServer(tmp_path / "tree")
    (tmp_path / "token").write_text("s3cret\n")
    (tmp_path / "health-token").write_text("h3alth\n")
    port = free_port()
    config = write_config(tmp_path, f"  url: {server.url}\n  token_file: {tmp_path / 'token'}\n"
                                    f"  public_key: {tmp_path / 'content.key.pub'}\n  poll_seconds: 5", port,
                          extra=f"  token_file: {tmp_path / 'health-token'}\n")
    state = {"STATE_DIRECTORY": str(tmp_path / "state")}
    (tmp_path / "state").mkdir()
    auth = {"Authorization": "Bearer h3alth"}

    def health(player):
        import json
        import urllib.request

        request = urllib.request.Request(f"http://127.0.0.1:{port}/healthz", headers=auth)
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return json.loads(answer.read())
        except urllib.error.HTTPError as exc:
            return json.loads(exc.read())

    try:
        player = Player(config, port, env=state)
        try:
            assert player.wait_for_notify("READY=1"), player.stop()[1]
            assert player.wait_until(lambda: health(player).get("current_slide") not in (None, ""), timeout=30)
        finally:
            assert player.stop()[0] == 0
        (tmp_path / "token").unlink()
        (tmp_path / "content.key.pub").write_text("garbage\n")
        config.write_text(config.read_text(encoding="utf-8").replace("  size: 640x360", "  size: huge"))
        player = Player(config, port, env=state)
        try:
            assert player.wait_for_notify("READY=1"), player.stop()[1]
            assert player.wait_until(lambda: health(player).get("current_slide") not in (None, ""), timeout=30)
            body = health(player)
            assert "display.size" in body["errors"]["config"]
            assert player.wait_until(lambda: "source.token_file" in (health(player)["last_sync"]["error"] or ""),
                                     timeout=30)
            assert any("source.public_key" in w for w in health(player)["warnings"])
        finally:
            code, out = player.stop()
        assert code == 0, out
        assert "Traceback" not in out and "playing without it until it is fixed" in out

        (tmp_path / "health-token").unlink()  # even the health token: the endpoint locks itself, the screen plays
        player = Player(config, port, env=state)
        try:
            assert player.wait_for_notify("READY=1"), player.stop()[1]
            code, body = player.get("/healthz")
            assert code == 401 and b"locked" in body
        finally:
            code, out = player.stop()
        assert code == 0 and "Traceback" not in out
    finally:
        server.close()


def test_a_locked_health_endpoint_is_reported_in_the_heartbeat(tmp_path, folder):
    """Nobody can read /healthz while it is locked: the source system must hear of it (errors.health)."""
    from kiosk import config
    from kiosk.cli import run
    from kiosk.report import heartbeat
    from kiosk.status import Status

    port = free_port()
    path = write_config(tmp_path, f"  path: {folder}", port, extra=f"  token_file: {tmp_path / 'gone'}\n")
    cfg = config.load(path, degrade=True)
    status = Status()
    server = run._start_health(cfg, status, type("Screen", (), {"screenshot_png": lambda self: None})())
    try:
        errors = heartbeat.build(status.snapshot(), cfg, time.time())["errors"]
        assert "locked" in errors["health"] and "health.token_file" in errors["health"]
    finally:
        server.stop()
