"""Interrupted downloads resume where they stopped, even after kill -9."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from servers import StaticServer, cut_after, once
from syncboard import Board, authoring

from kiosk.source import publish

ROOT = Path(__file__).resolve().parent.parent
BIG = 6 * 1024 * 1024


def big_tree(tmp_path: Path) -> tuple[Path, str, int]:
    src = authoring(tmp_path / "src", {"big.png": "red"}, junk={"big.png": BIG})
    publish.publish(src, tmp_path / "out", None)
    entry = json.loads((tmp_path / "out" / "manifest.json").read_bytes())["media"]["images/big.png"]
    return tmp_path / "out", entry["sha256"], entry["size"]


def test_a_cut_download_resumes_with_a_range_and_fetches_each_byte_once(tmp_path):
    out, sha, size = big_tree(tmp_path)
    server = StaticServer(out)
    try:
        blob = (out / "media" / sha).read_bytes()
        path = f"/media/{sha}"
        server.overrides[path] = once(cut_after(blob, size // 3), lambda h: server._serve_file(h, path))
        board = Board(tmp_path / "board", server.url)
        result = board.cycle()
        assert result.ok and result.changed  # the cut was resumed within the same cycle
        assert (board.cache / "media" / sha).read_bytes() == blob
        assert not (board.cache / "media" / f"{sha}.part").exists()
        media = [r for r in server.log() if r[1] == path]
        assert [(r[2], r[4]) for r in media] == [(200, ""), (206, f"bytes={size // 3}-")]
        assert server.bytes_served("/media/") <= 1.05 * size
    finally:
        server.close()


def test_a_server_that_keeps_cutting_is_left_for_the_next_cycle_with_the_part_kept(tmp_path):
    out, sha, size = big_tree(tmp_path)
    server = StaticServer(out)
    try:
        blob = (out / "media" / sha).read_bytes()
        server.overrides[f"/media/{sha}"] = cut_after(blob, size // 3)  # ignores Range, always cuts
        board = Board(tmp_path / "board", server.url)
        first = board.cycle()
        assert not first.ok and "connection cut" in first.error and "will resume" in first.error
        assert (board.cache / "media" / f"{sha}.part").stat().st_size == size // 3
        assert board.ready == []
        server.overrides.clear()
        assert board.cycle().ok and (board.cache / "media" / sha).read_bytes() == blob
    finally:
        server.close()


def test_a_changed_file_behind_the_same_name_starts_over_instead_of_mixing(tmp_path):
    out, sha, size = big_tree(tmp_path)
    server = StaticServer(out)
    try:
        board = Board(tmp_path / "board", server.url)
        part = board.cache / "media" / f"{sha}.part"
        part.parent.mkdir(parents=True)
        part.write_bytes(b"garbage from another file" * 100)
        (part.parent / f"{sha}.part.validator").write_text('"an-old-etag"')
        result = board.cycle()
        assert result.ok  # If-Range did not match: the server sent it all, and the board started over
        media = [r for r in server.log() if r[1] == f"/media/{sha}"]
        assert [r[2] for r in media] == [200] and media[0][3] == size
    finally:
        server.close()


def test_kill_9_during_a_download_then_restart_resumes(tmp_path):
    out, sha, size = big_tree(tmp_path)
    server = StaticServer(out, throttle=4 * 1024 * 1024)  # slow enough to be caught in the middle
    try:
        board = Board(tmp_path / "board", server.url)
        cmd = [sys.executable, "-m", "kiosk", "sync", "--once", "-c", str(board.cfg.file)]
        part = board.cache / "media" / f"{sha}.part"
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while (not part.exists() or part.stat().st_size < size // 5) and time.monotonic() < deadline:
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        kept = part.stat().st_size
        assert 0 < kept < size and not (board.cache / "media" / sha).exists()

        server.throttle = None
        done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        assert (board.cache / "media" / sha).read_bytes() == (out / "media" / sha).read_bytes()
        served = server.bytes_served("/media/")
        assert served <= 1.05 * size, (served, size)
        ranges = [r[4] for r in server.log() if r[1] == f"/media/{sha}"]
        assert ranges[0] == "" and ranges[-1].startswith("bytes=")
    finally:
        server.close()
