"""Bounded memory for any input, with real processes: a decree pasted into one slide, an alias bomb.

The issue: a 100,000-character notice made 148 pages drawn ahead, 2.4 GB at 1080p (OOM, restart loop,
black); `kiosk render` of 360,000 characters took 4.4 GB; an alias bomb in programme.yaml stopped /healthz.
"""

import json
import subprocess
import sys
import time
from pathlib import Path

from player_process import ROOT, Player, free_port, write_config
from test_yamlfile import alias_bomb

MB = 1024 * 1024
BUDGET_KB = 150 * 1024  # the normal memory budget of a board (docs/PERFORMANCE.md)
sys.path.insert(0, str(ROOT / "bench"))
from long_notice import notice  # noqa: E402 - bench/ is not a package


def folder_with(tmp_path: Path, body: str, duration: int) -> Path:
    folder = tmp_path / "noi-dung"
    folder.mkdir()
    slide = {"id": "nghi-dinh", "title": "Nghị định số 123/2026/NĐ-CP", "body": body, "duration": duration}
    (folder / "programme.yaml").write_text(json.dumps({"slides": [slide]}, ensure_ascii=False), encoding="utf-8")
    return folder


def vm_kb(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


# A child's own peak, read by itself at exit: ru_maxrss is not it (Linux carries the parent's high-water mark
# across a vfork+exec, so a child of a 150 MB pytest "peaks" at 150 MB whatever it does).
MEASURED = ("import atexit, sys\nfrom kiosk.cli.main import main\n"
            "atexit.register(lambda: print('VmHWM_kb', next(int(l.split()[1]) for l in open('/proc/self/status')\n"
            "                                            if l.startswith('VmHWM:')), file=sys.stderr))\n"
            "sys.exit(main(sys.argv[1:]))")


def peak_of(stderr: str) -> int:
    """The VmHWM a MEASURED child printed, in kB."""
    return int(stderr.rsplit("VmHWM_kb", 1)[1])


def test_kiosk_run_plays_a_100000_character_notice_at_1080p_within_the_memory_budget(tmp_path):
    folder = folder_with(tmp_path, notice(100_000), duration=40)  # pages turn every few tenths of a second
    port = free_port()
    config = write_config(tmp_path, f"  path: {folder}", port)
    config.write_text(config.read_text(encoding="utf-8").replace("size: 640x360", "size: 1920x1080"))
    player = Player(config, port)
    try:
        assert player.wait_for_notify("READY=1", timeout=60), player.stop()[1]
        assert player.health()[1]["current_slide"] == "nghi-dinh"
        time.sleep(4)  # some twenty pages turn
        peak = vm_kb(player.proc.pid, "VmHWM")
        assert player.health()[0] == 200
    finally:
        code, out = player.stop()
    assert code == 0 and "Traceback" not in out
    assert "pages share" in out  # said once: too fast to read (a test's duration), and it played on
    assert peak < BUDGET_KB, f"peak RSS {peak / 1024:.0f} MB"


def test_kiosk_render_writes_a_long_notice_a_page_at_a_time(tmp_path):
    folder = folder_with(tmp_path, notice(12_000), duration=600)  # ~21 pages at 1080p: 170 MB if held at once
    (tmp_path / "config.yaml").write_text(f"device: {{id: t, name: X}}\nsource: {{path: {folder}}}\n"
                                          f"cache: {{path: {tmp_path / 'cache'}}}\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "-c", MEASURED, "render", "--out", str(tmp_path / "out"), "--size",
                           "1920x1080"], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "SDL_VIDEODRIVER": "dummy"})
    assert done.returncode == 0, done.stderr
    pages = sorted((tmp_path / "out" / "pages").glob("*.png"))
    assert done.stdout.strip().endswith("01-nghi-dinh.png") and len(pages) > 15
    peak = peak_of(done.stderr)
    assert peak < BUDGET_KB, f"peak RSS {peak / 1024:.0f} MB for {len(pages) + 1} pages"


def test_an_alias_bomb_in_the_programme_is_refused_and_health_answers(tmp_path):
    """The issue: with `kiosk run` on the folder, /healthz stopped answering."""
    folder = folder_with(tmp_path, "Họp dân tối nay.", duration=5)
    port = free_port()
    player = Player(write_config(tmp_path, f"  path: {folder}", port), port)
    try:
        assert player.wait_for_notify("READY=1"), player.stop()[1]
        (folder / "programme.yaml").write_text(alias_bomb() + "slides: [{id: x, title: *i}]\n", encoding="utf-8")
        assert player.wait_until(lambda: "alias bomb" in player.health()[1]["errors"].get("content", ""))
        assert player.health()[1]["current_slide"] == "nghi-dinh"  # the last good content plays on
        assert vm_kb(player.proc.pid, "VmHWM") < BUDGET_KB
    finally:
        code, out = player.stop()
    assert code == 0 and "Traceback" not in out
