"""Helpers to run a real `kiosk run` process in tests: config on disk, free port, READY via NOTIFY_SOCKET."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_config(tmp_path: Path, source: str, port: int, extra: str = "") -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(
        f"device:\n  id: test-board\n  name: UBND xã Thử Nghiệm\nsource:\n{source}\n"
        f"display:\n  size: 640x360\n  crossfade_ms: 0\ncache:\n  path: {tmp_path / 'cache'}\n"
        f"health:\n  listen: 127.0.0.1:{port}\n{extra}",
        encoding="utf-8",
    )
    return path


class Player:
    def __init__(self, config: Path, port: int, env: dict | None = None):
        self.port = port
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        name = f"kiosk-test-{os.getpid()}-{port}"
        self.notify.bind("\0" + name)
        self.notify.settimeout(0.2)
        full_env = {
            **os.environ, "PYTHONPATH": str(ROOT), "NOTIFY_SOCKET": "@" + name,
            "SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy", "PYGAME_HIDE_SUPPORT_PROMPT": "1",
            **(env or {}),
        }
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "kiosk", "run", "-c", str(config)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=full_env, text=True,
        )
        self.messages: list[str] = []

    def wait_for_notify(self, text: str, timeout: float = 30) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                self.messages.append(self.notify.recv(4096).decode())
            except TimeoutError:
                if self.proc.poll() is not None:
                    return False
            if any(text in m for m in self.messages):
                return True
        return False

    def get(self, path: str) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=10) as answer:
                return answer.status, answer.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def health(self) -> tuple[int, dict]:
        code, body = self.get("/healthz")
        return code, json.loads(body)

    def wait_until(self, predicate, timeout: float = 20) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if predicate():
                    return True
            except (OSError, ValueError):
                pass
            time.sleep(0.1)
        return False

    def stop(self, sig=15, timeout: float = 20) -> tuple[int, str]:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            out, _ = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, _ = self.proc.communicate()
        self.notify.close()
        return self.proc.returncode, out
