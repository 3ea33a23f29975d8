"""A board for sync tests: a config on disk, a status, and what the player was handed."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from PIL import Image

from kiosk import config
from kiosk.source import sync
from kiosk.source.client import Limits
from kiosk.status import Status

FAST = Limits(connect_timeout=2, read_timeout=2, small_deadline=3, file_allowance=3, retries=0, backoff=0)


def authoring(folder: Path, images: dict[str, str], texts: int = 1, junk: dict[str, int] | None = None,
              duration: int | None = None) -> Path:
    """An authoring folder with `texts` text slides and one image slide per image (name -> colour).

    `junk` appends random bytes to an image (name -> bytes) to make big files that still probe as images.
    `duration` (seconds) is given to every slide: a short one makes a running board's plays end sooner.
    """
    (folder / "images").mkdir(parents=True, exist_ok=True)
    lines = ["slides:"]
    for i in range(texts):
        lines += [f"  - id: tin-{i}", f"    title: Thông báo số {i}", "    body: Ủy ban nhân dân xã"]
        lines += [f"    duration: {duration}"] if duration else []
    for name, colour in images.items():
        Image.new("RGB", (32, 24), colour).save(folder / "images" / name)
        if junk and name in junk:
            with open(folder / "images" / name, "ab") as f:
                f.write(os.urandom(junk[name]))
        lines += [f"  - id: anh-{Path(name).stem}", f"    file: images/{name}"]
        lines += [f"    duration: {duration}"] if duration else []
    (folder / "programme.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


class Board:
    def __init__(self, folder: Path, url: str, public_key: str | None = None, token_file: Path | None = None,
                 limits: Limits = FAST, poll_seconds: int = 60, ca_file: Path | None = None):
        folder.mkdir(parents=True, exist_ok=True)
        text = f"device: {{id: test-board, name: Bảng tin}}\nsource:\n  url: '{url}'\n  poll_seconds: {poll_seconds}\n"
        if public_key:
            text += f"  public_key: '{public_key}'\n"
        if token_file:
            text += f"  token_file: '{token_file}'\n"
        if ca_file:
            text += f"  ca_file: '{ca_file}'\n"
        text += "cache: {path: cache, max_mb: 16}\n"
        (folder / "config.yaml").write_text(text, encoding="utf-8")
        self.cfg = config.load(folder / "config.yaml")
        self.status = Status()
        self.ready: list = []
        self.limits = limits
        self.syncer = self.make_syncer()

    def make_syncer(self, url: str | None = None) -> sync.Syncer:
        cfg = self.cfg if url is None else dataclasses.replace(
            self.cfg, source=dataclasses.replace(self.cfg.source, url=url))
        return sync.Syncer(cfg, self.status, self.ready.append, sync.probe_only, self.limits)

    def cycle(self) -> sync.SyncResult:
        return self.syncer.cycle()

    @property
    def cache(self) -> Path:
        return self.cfg.cache.path

    def state_bytes(self) -> bytes | None:
        path = self.cache / "state" / "manifest.json"
        return path.read_bytes() if path.exists() else None
