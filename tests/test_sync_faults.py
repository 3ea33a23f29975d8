"""Sync against what the field does: a full card, a damaged cache, a replayed manifest, servers that stall."""

import dataclasses
import json
import os
import time

from servers import body, drip
from syncboard import FAST, Board, authoring

from kiosk import config
from kiosk.source import cache, publish, signing, sync

MB = 1024 * 1024


def media_requests(server, sha=None):
    return [r for r in server.log() if r[1].startswith("/media/") and (sha is None or r[1].endswith(sha))]


def forget_hashes():
    """What a restart does: the cache no longer knows which files it hashed."""
    cache._verified.clear()


# --- the server ---------------------------------------------------------------------------------------


def test_a_304_to_a_board_that_sent_no_validators_is_a_clear_refusal(tmp_path, served):
    """The issue: "internal error: AttributeError"."""
    board = Board(tmp_path / "board", served.url)
    served.overrides["/manifest.v2.json"] = body(b"", 304)
    result = board.cycle()
    assert not result.ok
    assert "304 Not Modified to a request without validators" in result.error and "internal" not in result.error


def test_a_dripping_small_file_is_refused_once_within_its_deadline(tmp_path, served):
    """The issue: a dripping small file took 240 s to refuse (documented: 120 s): it was retried in the cycle."""
    src = authoring(tmp_path / "src", {"a.png": "red"})
    publish.publish(src, tmp_path / "out", None)
    sha = json.loads((tmp_path / "out" / "manifest.json").read_bytes())["media"]["images/a.png"]["sha256"]
    board = Board(tmp_path / "board", served.url, limits=dataclasses.replace(FAST, file_allowance=1.0))
    served.overrides[f"/media/{sha}"] = drip((tmp_path / "out" / "media" / sha).read_bytes(), 0.05)
    result = board.cycle()
    assert not result.ok and "too slow" in result.error
    assert len(media_requests(served, sha)) == 1  # not fetched again from byte 0 within the cycle


def test_a_server_dripping_its_headers_is_cut_at_the_deadline(tmp_path, served):
    def slowloris(h):
        for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Slow: " + b"a" * 200:
            h.wfile.write(bytes([byte]))
            h.wfile.flush()
            time.sleep(0.1)

    board = Board(tmp_path / "board", served.url, limits=dataclasses.replace(FAST, small_deadline=1.0))
    served.overrides["/manifest.v2.json"] = slowloris
    started = time.monotonic()
    result = board.cycle()
    assert not result.ok and "too slow: not complete within 1 s" in result.error
    assert time.monotonic() - started < 10  # per-read timeouts alone: 25 s of drip


# --- the disk -----------------------------------------------------------------------------------------


def board_on(disk_path, tmp_path, url, max_mb=64):
    """A Board whose cache is on the small disk."""
    board = Board(tmp_path / "board", url)
    path = tmp_path / "board" / "config.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace(
        "cache: {path: cache, max_mb: 16}", f"cache: {{path: '{disk_path / 'cache'}', max_mb: {max_mb}}}"),
        encoding="utf-8")
    board.cfg = config.load(path)
    board.syncer = board.make_syncer()
    return board


def test_a_programme_larger_than_the_free_disk_is_refused_before_a_byte_is_fetched(tmp_path, served, small_disk):
    """The issue: the refused sync left the disk at 0 bytes, and every later cycle filled it again."""
    src = authoring(tmp_path / "src", {"a.png": "red"})
    publish.publish(src, tmp_path / "out", None)
    board = board_on(small_disk.path, tmp_path, served.url)  # cache.max_mb 64 on an 8 MiB disk
    assert board.cycle().ok
    free = small_disk.free()
    authoring(src, {"a.png": "red", "big.png": "blue"}, junk={"big.png": 7 * MB})
    publish.publish(src, tmp_path / "out", None)
    for _ in range(2):
        result = board.cycle()
        assert not result.ok and "not enough free space on the disk" in result.error
    assert media_requests(served) == media_requests(served)[:1]  # only the first programme's file, ever
    assert small_disk.free() >= free - 64 * 1024
    assert len(board.ready) == 1 and sync.load_cached(board.cfg) is not None


def test_a_disk_that_fills_during_a_download_is_left_as_it_was(tmp_path, served, small_disk, monkeypatch):
    src = authoring(tmp_path / "src", {"a.png": "red"})
    publish.publish(src, tmp_path / "out", None)
    board = board_on(small_disk.path, tmp_path, served.url)
    assert board.cycle().ok
    free = small_disk.free()
    authoring(src, {"a.png": "red", "big.png": "blue", "big2.png": "green"},
              junk={"big.png": 3 * MB, "big2.png": 5 * MB})
    publish.publish(src, tmp_path / "out", None)
    monkeypatch.setattr(cache.Cache, "free_bytes", lambda self: 10**12)  # someone else fills the card meanwhile
    result = board.cycle()
    assert not result.ok and "the disk is full" in result.error and "Traceback" not in result.error
    assert small_disk.free() >= free - 64 * 1024  # nothing of the refused programme is kept
    assert not [p for p in (small_disk.path / "cache" / "media").iterdir() if p.name.endswith(".part")]
    assert sync.load_cached(board.cfg) is not None


def test_a_damaged_cached_file_of_the_right_size_is_fetched_again(tmp_path, served):
    """The issue: one flipped byte skipped the slide for ever (the cache trusted sizes)."""
    src = authoring(tmp_path / "src", {"a.png": "red", "b.png": "blue"})
    publish.publish(src, tmp_path / "out", None)
    board = Board(tmp_path / "board", served.url)
    assert board.cycle().ok
    sha = json.loads((tmp_path / "out" / "manifest.json").read_bytes())["media"]["images/b.png"]["sha256"]
    path = board.cache / "media" / sha
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    forget_hashes()  # the board restarts
    board = Board(tmp_path / "board", served.url)
    assert board.cycle().ok  # the manifest first (an emergency is never held back), then the hashing
    assert not path.exists() and board.syncer._damaged_found  # found and removed: the next cycle comes at once
    result = board.cycle()
    assert result.ok and result.changed
    assert len(media_requests(served, sha)) == 2  # fetched again, once
    assert sync.load_cached(board.cfg) is not None and cache.Cache(board.cache).verified(sha, len(data))


# --- freshness of signed content ------------------------------------------------------------------------


def test_a_replayed_older_signed_manifest_is_refused_and_a_republication_accepted(tmp_path, served):
    """The issue: a retracted storm emergency came back on screen from a replayed signed manifest."""
    signing.keygen(tmp_path / "k")
    key = tmp_path / "k.pub"
    src = tmp_path / "src"
    src.mkdir()
    storm = "slides:\n  - id: bao\n    title: Bão số 9\n    priority: emergency\n"
    calm = "slides:\n  - id: lich\n    title: Lịch tiếp dân\n"
    (src / "programme.yaml").write_text(storm, encoding="utf-8")
    publish.publish(src, tmp_path / "out", tmp_path / "k", now=1_000_000)
    old_manifest = (tmp_path / "out" / "manifest.v2.json").read_bytes()
    old_sig = (tmp_path / "out" / "manifest.v2.json.sig").read_bytes()
    old_v1, old_v1_sig = (tmp_path / "out" / "manifest.json").read_bytes(), (tmp_path / "out" / "manifest.json.sig")\
        .read_bytes()
    board = Board(tmp_path / "board", served.url, public_key=str(key))
    assert board.cycle().ok and board.ready[-1].slides[0].id == "bao"
    (src / "programme.yaml").write_text(calm, encoding="utf-8")  # the emergency is retracted
    publish.publish(src, tmp_path / "out", tmp_path / "k", now=1_000_600)
    assert board.cycle().ok and board.ready[-1].slides[0].id == "lich"

    served.overrides["/manifest.v2.json"] = body(old_manifest)  # an attacker (or a stale mirror) replays it
    served.overrides["/manifest.v2.json.sig"] = body(old_sig, ctype="text/plain")
    result = board.cycle()
    assert not result.ok and "an older signed manifest is refused" in result.error
    # ... or hides manifest.v2.json and replays the old manifest.json: freshness holds across the two names
    served.overrides["/manifest.v2.json"] = body(b"<html>404</html>", 404, "text/html")
    served.overrides["/manifest.json"] = body(old_v1)
    served.overrides["/manifest.json.sig"] = body(old_v1_sig, ctype="text/plain")
    result = board.cycle()
    assert not result.ok and "manifest.json: published at" in result.error, result.error
    assert "an older signed manifest is refused" in result.error
    assert board.ready[-1].slides[0].id == "lich" and sync.load_cached(board.cfg).slides[0].id == "lich"
    forget_hashes()
    assert not Board(tmp_path / "board", served.url, public_key=str(key)).cycle().ok  # after a restart too

    served.overrides.clear()  # a province that wants the old content back publishes it again
    (src / "programme.yaml").write_text(storm, encoding="utf-8")
    publish.publish(src, tmp_path / "out", tmp_path / "k", now=1_000_000)  # even from a clock that went back
    assert board.cycle().ok and board.ready[-1].slides[0].id == "bao"


def test_publish_dates_a_changed_manifest_after_the_one_it_replaces(tmp_path):
    src = authoring(tmp_path / "src", {"a.png": "red"})
    publish.publish(src, tmp_path / "out", None, now=2_000_000_000)
    first = json.loads((tmp_path / "out" / "manifest.json").read_bytes())["generated_at"]
    assert json.loads((tmp_path / "out" / "manifest.v2.json").read_bytes())["generated_at"] == first
    authoring(src, {"a.png": "red"}, texts=2)
    publish.publish(src, tmp_path / "out", None, now=1_000_000_000)  # this machine's clock went back
    second = json.loads((tmp_path / "out" / "manifest.json").read_bytes())["generated_at"]
    assert (first, second) == ("2033-05-18T03:33:20Z", "2033-05-18T03:33:21Z")


def test_an_unsigned_board_takes_whatever_the_tree_serves(tmp_path, served):
    """Freshness is for signed content: an unsigned tree restored from a backup still plays."""
    src = authoring(tmp_path / "src", {"a.png": "red"})
    publish.publish(src, tmp_path / "out", None, now=2_000_000_000)
    board = Board(tmp_path / "board", served.url)
    assert board.cycle().ok
    os.remove(tmp_path / "out" / "manifest.json")
    os.remove(tmp_path / "out" / "manifest.v2.json")
    authoring(src, {"a.png": "red"}, texts=3)
    publish.publish(src, tmp_path / "out", None, now=1_000_000_000)
    assert board.cycle().ok and len(board.ready[-1].slides) == 4
