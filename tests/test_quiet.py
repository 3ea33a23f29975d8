"""No raw library noise on any path a person sees: `kiosk run` on a machine with no screen and no sound
card, in a clean environment (no DISPLAY, XDG_RUNTIME_DIR, SDL_* or PYGAME_* variables), as a technician
would start it by hand outside ./dev."""

import re
import signal
import subprocess
import sys
import time

import requests
from player_process import ROOT, free_port, write_config

LOG_LINE = re.compile(r"^\d\d:\d\d:\d\d (DEBUG|INFO|WARNING|ERROR|CRITICAL) kiosk[\w.]*: ")


def test_kiosk_run_without_a_screen_says_what_it_does_in_one_sentence(tmp_path):
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / "programme.yaml").write_text(
        "slides:\n  - id: chao\n    title: Xin chào\n    body: Kính chào quý vị.\n    speak: true\n"
        "  - id: tam-biet\n    title: Tạm biệt\n", encoding="utf-8")
    port = free_port()
    config = write_config(tmp_path, f"  path: {folder}", port)
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "HOME": str(tmp_path), "LANG": "C.UTF-8"}
    proc = subprocess.Popen([sys.executable, "-m", "kiosk", "run", "-c", str(config)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, env=env, text=True, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 60
        spoken = False
        while time.monotonic() < deadline and not spoken:  # until the speaking slide has tried the loudspeaker
            try:
                body = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).json()
                spoken = "speech" in (body.get("errors") or {}) or body.get("counters", {}).get("slide_changes", 0) > 1
            except (requests.RequestException, ValueError):
                pass
            time.sleep(0.3)
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
    lines = [line for line in out.splitlines() if line.strip()]
    assert lines and all(LOG_LINE.match(line) for line in lines), out  # every line is kiosk's own, none raw
    for noise in ("XDG_RUNTIME_DIR", "ALSA lib", "pygame-ce", "Hello from the pygame", "Traceback"):
        assert noise not in out
    screen = [line for line in lines if "screen" in line and "WARNING" in line]
    assert len(screen) == 1 and screen[0].count(": ") >= 1 and screen[0].rstrip().endswith("as lost"), screen
    assert "no screen could be opened (kmsdrm: " in screen[0]
