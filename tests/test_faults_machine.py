"""The machine misbehaves under a real `kiosk run`: a full card, a read-only card, the cache folder deleted
while playing. The screen stays on, heartbeats go out, no play is lost. (The clock jumping and the display
lost are driven through the player with a fake clock and screen: tests/test_player.py.)"""

import io
import shutil
import time

import pygame
from faultlab import ReportServer
from player_process import Player, free_port, write_config
from servers import StaticServer
from syncboard import authoring

from kiosk.source import publish


def not_black(player: Player) -> bool:
    code, body = player.get("/screenshot.png")
    shot = pygame.image.load(io.BytesIO(body), "shot.png")
    colours = {tuple(shot.get_at((x, y)))[:3] for x in range(0, shot.get_width(), 16)
               for y in range(0, shot.get_height(), 16)}
    return code == 200 and colours != {(0, 0, 0)}


def folder_with_short_slides(tmp_path):
    src = tmp_path / "noi-dung"
    src.mkdir()
    (src / "programme.yaml").write_text(
        "slides:\n  - id: mot\n    title: Một\n    duration: 1\n  - id: hai\n    title: Hai\n    duration: 1\n",
        encoding="utf-8")
    return src


def board_on_disk(tmp_path, disk, source: str, report: ReportServer, port: int):
    config = write_config(tmp_path, source, port,
                          extra="  heartbeat_seconds: 5\n")
    text = config.read_text(encoding="utf-8").replace(f"{tmp_path / 'cache'}", f"{disk.path / 'cache'}")
    text = text.replace("source:\n", f"source:\n  report_url: '{report.url}'\n")
    config.write_text(text, encoding="utf-8")
    return config


def test_a_card_full_at_boot_plays_heartbeats_and_uploads_its_plays(tmp_path, small_disk):
    """The issue: disk full at boot, plays disabled, the reporter never started, zero heartbeats all run long."""
    report = ReportServer(delay=0)
    (small_disk.path / "cache").mkdir()
    small_disk.fill()
    port = free_port()
    player = Player(board_on_disk(tmp_path, small_disk, f"  path: {folder_with_short_slides(tmp_path)}",
                                  report, port), port)
    try:
        assert player.wait_for_notify("READY=1"), player.stop()[1]
        assert player.wait_until(lambda: report.heartbeats and report.ids, timeout=30)  # plays from memory
        assert "disk is full" in player.health()[1]["errors"]["plays"]
        assert not_black(player)
        small_disk.make_room()  # the technician frees space: the plays file is made, the error goes
        assert player.wait_until(lambda: "plays" not in player.health()[1]["errors"], timeout=90)
        assert (small_disk.path / "cache" / "plays.sqlite").exists()
    finally:
        code, out = player.stop()
        report.close()
    assert code == 0 and "Traceback" not in out



def synced_board(tmp_path, disk, report: ReportServer, port: int):
    src = authoring(tmp_path / "src", {"a.png": "red", "b.png": "blue"}, duration=1)  # plays end within seconds
    publish.publish(src, tmp_path / "tree", None)
    server = StaticServer(tmp_path / "tree")
    config = board_on_disk(tmp_path, disk, f"  url: {server.url}\n  poll_seconds: 5", report, port)
    player = Player(config, port)
    assert player.wait_for_notify("READY=1"), player.stop()[1]
    assert player.wait_until(lambda: player.health()[1].get("slide_count", 0) == 3, timeout=30)
    return server, config, player


def test_a_read_only_card_at_boot_plays_what_it_holds(tmp_path, small_disk):
    report = ReportServer(delay=0)
    port = free_port()
    server, config, player = synced_board(tmp_path, small_disk, report, port)
    assert player.stop()[0] == 0
    small_disk.read_only()  # as ext4 leaves a failing card at the next boot
    player = Player(config, port)
    try:
        assert player.wait_for_notify("READY=1"), player.stop()[1]
        assert player.wait_until(lambda: player.health()[1].get("slide_count", 0) == 3, timeout=30)
        errors = player.health()[1]["errors"]
        assert "read-only" in errors["plays"] and "cache" in errors
        before = len(report.ids)
        assert player.wait_until(lambda: len(report.ids) > before, timeout=30)  # plays still reach the server
        assert not_black(player)
    finally:
        code, out = player.stop()
        small_disk.read_only(False)
        server.close()
        report.close()
    assert code == 0 and "Traceback" not in out


def test_the_cache_folder_deleted_while_playing(tmp_path, small_disk):
    report = ReportServer(delay=0)
    port = free_port()
    server, config, player = synced_board(tmp_path, small_disk, report, port)
    cache = small_disk.path / "cache"
    try:
        # a slide has ended (its play is held, not yet sent) and the board has reported once
        assert player.wait_until(lambda: report.heartbeats and player.health()[1]["counters"]["slide_changes"] >= 2,
                                 timeout=30)
        shutil.rmtree(cache)  # a technician's mistake, or a cleaning script
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline and not (len(list((cache / "media").glob("*"))) >= 2
                                                   and (cache / "plays.sqlite").exists() and report.ids):
            assert player.health()[0] == 200 and not_black(player)
            time.sleep(0.5)
        assert len(list((cache / "media").glob("*"))) >= 2  # fetched again at the next sync
        assert (cache / "plays.sqlite").exists()  # the plays queue written again, with what it held
        assert report.ids  # and those plays reached the server
        assert player.health()[1]["current_slide"]
    finally:
        code, out = player.stop()
        server.close()
        report.close()
    assert code == 0 and "Traceback" not in out
