import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from servers import Nginx, StaticServer
from syncboard import Board, authoring

from kiosk.source import publish, signing, sync
from kiosk.source.cache import Cache
from kiosk.source.client import next_delay

ROOT = Path(__file__).resolve().parent.parent


def media_requests(server):
    return [r for r in server.log() if r[1].startswith("/media/")]


def test_first_sync_fetches_everything_then_an_unchanged_poll_is_one_request(tmp_path, serve):
    src = authoring(tmp_path / "src", {"a.png": "red", "b.png": "green", "c.png": "blue"})
    publish.publish(src, tmp_path / "out", None)
    server = serve(tmp_path / "out")
    board = Board(tmp_path / "board", server.url)

    first = board.cycle()
    assert first.ok and first.changed and first.files == 3
    (prog,) = board.ready
    assert [s.id for s in prog.slides] == ["tin-0", "anh-a", "anh-b", "anh-c"]
    for slide in prog.slides[1:]:
        assert slide.image.path.read_bytes() == (src / "images" / slide.image.name.split("/")[-1]).read_bytes()
    assert board.state_bytes() == (tmp_path / "out" / "manifest.v2.json").read_bytes()
    assert board.status.last_sync.ok and board.status.errors == {}
    assert (first.format, first.name) == (2, "manifest.v2.json") and "(format 2, manifest.v2.json)" in first.summary()

    before = len(server.log())
    second = board.cycle()
    assert second.ok and not second.changed and second.bytes == 0
    after = server.log()[before:]
    assert [(r[0], r[1], r[2], r[3]) for r in after] == [("GET", "/manifest.v2.json", 304, 0)]


def test_one_changed_slide_fetches_only_that_files_bytes(tmp_path, serve):
    colours = {f"{i:03d}.png": (i, 2 * i, 3 * i) for i in range(20)}
    src = authoring(tmp_path / "src", colours)
    publish.publish(src, tmp_path / "out", None)
    server = serve(tmp_path / "out")
    board = Board(tmp_path / "board", server.url)
    assert board.cycle().files == 20

    authoring(src, {**colours, "007.png": (255, 255, 255)})
    publish.publish(src, tmp_path / "out", None)
    before = len(server.log())
    result = board.cycle()
    assert result.ok and result.changed and result.files == 1
    fetched = [r for r in server.log()[before:] if r[1].startswith("/media/")]
    assert len(fetched) == 1
    assert fetched[0][3] == (src / "images" / "007.png").stat().st_size
    assert board.ready[-1].version != board.ready[0].version


def test_a_cold_boot_without_network_plays_the_last_good_programme(tmp_path, serve):
    src = authoring(tmp_path / "src", {"a.png": "red"})
    publish.publish(src, tmp_path / "out", None)
    server = serve(tmp_path / "out")
    board = Board(tmp_path / "board", server.url)
    assert board.cycle().ok
    version = board.ready[-1].version
    server.close()

    cached = sync.load_cached(board.cfg)
    assert cached is not None and cached.version == version and len(cached.slides) == 2
    reboot = Board(tmp_path / "board", server.url)
    result = reboot.cycle()
    assert not result.ok and "cannot connect" in result.error
    assert reboot.ready == [] and reboot.status.errors["sync"] == result.error
    assert sync.load_cached(reboot.cfg).version == version


def test_the_cached_programme_is_not_used_when_a_media_file_is_missing(tmp_path, serve):
    src = authoring(tmp_path / "src", {"a.png": "red"})
    publish.publish(src, tmp_path / "out", None)
    board = Board(tmp_path / "board", serve(tmp_path / "out").url)
    board.cycle()
    for blob in (board.cache / "media").iterdir():
        blob.unlink()
    assert sync.load_cached(board.cfg) is None
    again = Board(tmp_path / "board", board.cfg.source.url)
    assert again.cycle().files == 1 and sync.load_cached(board.cfg) is not None


def test_signed_content_is_accepted_and_unsigned_or_tampered_content_refused(tmp_path, serve):
    key, pub = signing.keygen(tmp_path / "key")
    src = authoring(tmp_path / "src", {"a.png": "red"})
    out = tmp_path / "out"
    publish.publish(src, out, key)
    server = serve(out)
    board = Board(tmp_path / "board", server.url, public_key=str(pub))
    assert board.cycle().ok
    good = board.state_bytes()
    assert sync.load_cached(board.cfg) is not None

    authoring(src, {"a.png": "red"}, texts=2)
    publish.publish(src, out, None)  # unsigned
    result = board.cycle()
    assert result.error == f"content is not signed (no {server.url}manifest.v2.json.sig) but source.public_key is set"
    assert board.state_bytes() == good and len(board.ready) == 1

    publish.publish(src, out, key)
    data = (out / "manifest.v2.json").read_bytes()
    (out / "manifest.v2.json").write_bytes(data.replace("Thông báo số 1".encode(), "Thông báo giả 1".encode()))
    result = board.cycle()
    assert not result.ok and "does not match" in result.error
    assert board.state_bytes() == good and board.status.errors["sync"] == result.error

    other_key, _ = signing.keygen(tmp_path / "other")
    publish.publish(src, out, other_key)
    assert board.cycle().error == (f"{server.url}manifest.v2.json.sig does not match {server.url}manifest.v2.json "
                                   "and source.public_key: signed with another key?")
    publish.publish(src, out, key)
    assert board.cycle().ok and board.status.errors == {}


def test_every_request_carries_the_token_and_only_the_manifest_may_come_compressed(tmp_path, monkeypatch):
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY"):  # the environment is ignored (trust_env = False)
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    src = authoring(tmp_path / "src", {"a.png": "red"})
    publish.publish(src, tmp_path / "out", None)
    server = StaticServer(tmp_path / "out")
    try:
        (tmp_path / "token").write_text("s3cret-token\n")
        board = Board(tmp_path / "board", server.url, token_file=tmp_path / "token")
        assert board.cycle().ok
        assert len(server.headers) == 2
        for headers in server.headers:
            assert headers["Authorization"] == "Bearer s3cret-token"
        manifest_request, media_request = server.headers
        assert manifest_request["Accept-Encoding"] == "gzip"
        assert media_request["Accept-Encoding"] == "identity"  # ranges and sizes are of the bytes on disk
    finally:
        server.close()


def test_a_redirect_on_the_same_host_is_followed(tmp_path):
    src = authoring(tmp_path / "src", {"a.png": "red"})
    publish.publish(src, tmp_path / "out" / "v2", None)
    server = StaticServer(tmp_path / "out")
    try:
        from servers import redirect

        server.overrides["/manifest.v2.json"] = redirect("/v2/manifest.v2.json", 301)
        server.overrides["/media/" + next((tmp_path / "out/v2/media").iterdir()).name] = redirect(
            "/v2/media/" + next((tmp_path / "out/v2/media").iterdir()).name)
        board = Board(tmp_path / "board", server.url)
        assert board.cycle().ok
    finally:
        server.close()


def test_the_loop_syncs_again_when_woken_and_ends_when_stopped(tmp_path, serve):
    src = authoring(tmp_path / "src", {"a.png": "red"})
    publish.publish(src, tmp_path / "out", None)
    server = serve(tmp_path / "out")
    board = Board(tmp_path / "board", server.url, poll_seconds=3600)
    delivered = threading.Event()
    board.syncer.on_ready = lambda prog: (board.ready.append(prog), delivered.set())
    stop, wake = threading.Event(), threading.Event()
    thread = threading.Thread(target=board.syncer.run, args=(stop, wake), daemon=True)
    thread.start()
    assert delivered.wait(20)
    delivered.clear()
    authoring(src, {"a.png": "blue"})
    publish.publish(src, tmp_path / "out", None)
    wake.set()  # "sync now" from a heartbeat answer
    assert delivered.wait(20)
    stop.set()
    thread.join(10)
    assert not thread.is_alive()
    assert len(board.ready) == 2


def test_eviction_keeps_what_programmes_need_and_drops_partials_first(tmp_path):
    store = Cache(tmp_path / "cache")
    store.ensure()
    (store.root / "prepared").mkdir()
    keep, old, older = "1" * 64, "2" * 64, "3" * 64
    for i, sha in enumerate((older, old, keep)):
        path = store.media(sha)
        path.write_bytes(b"x" * 1000)
        (store.prepared_dir / f"{sha}-1920x1080-fit.png").write_bytes(b"p" * 100)
        import os

        os.utime(path, (1000 + i, 1000 + i))
    store.part("4" * 64).write_bytes(b"y" * 500)
    freed = store.evict({keep}, max_bytes=2300)
    assert not store.part("4" * 64).exists()
    assert store.media(keep).exists() and (store.prepared_dir / f"{keep}-1920x1080-fit.png").exists()
    assert not store.media(older).exists()
    assert store.usage() <= 2300 and freed >= 1500
    store.evict(set(), max_bytes=0)
    assert store.usage() == 0


def test_state_is_the_exact_manifest_with_its_validators(tmp_path, serve):
    src = authoring(tmp_path / "src", {})
    publish.publish(src, tmp_path / "out", None)
    board = Board(tmp_path / "board", serve(tmp_path / "out").url)
    board.cycle()
    state = board.cache / "state"
    (sidecar,) = state.glob("manifest-*.json")
    meta = json.loads(sidecar.read_text())
    assert meta["etag"] and meta["signature"] is None and meta["name"] == "manifest.v2.json"
    assert board.state_bytes() == (tmp_path / "out" / "manifest.v2.json").read_bytes()
    assert not list(state.glob(".tmp-*")) and not list((board.cache / "media").glob("*.part"))


@pytest.mark.parametrize("failures, low, high", [(0, 54, 66), (1, 30, 60), (2, 60, 120), (10, 450, 900)])
def test_polls_are_jittered_and_failures_back_off_to_15_minutes(failures, low, high):
    def delay(poll: float, failures: int, rand: float) -> float:  # as Syncer.run asks
        return next_delay(poll, failures, rand, first=poll, cap=max(poll, sync.FAILED_CAP_SECONDS))

    assert low <= delay(60, failures, 0.0) <= high
    assert low <= delay(60, failures, 1.0) <= high
    assert delay(3600, 5, 1.0) == 3600


def test_sync_once_prints_one_line_and_exits_1_when_the_source_is_down(tmp_path, serve):
    src = authoring(tmp_path / "src", {"a.png": "red"})
    publish.publish(src, tmp_path / "out", None)
    server = serve(tmp_path / "out")
    board = Board(tmp_path / "board", server.url)
    cmd = [sys.executable, "-m", "kiosk", "sync", "--once", "-c", str(board.cfg.file)]
    ok = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0 and ok.stdout.startswith("manifest changed") and "1 files fetched" in ok.stdout
    again = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert again.returncode == 0 and again.stdout.startswith("manifest unchanged") and "0 bytes" in again.stdout
    server.close()
    down = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert down.returncode == 1 and down.stdout.startswith("sync failed") and "current content kept" in down.stdout
    assert "Traceback" not in down.stdout + down.stderr


def test_a_vendor_tree_with_a_file_that_is_not_an_image_plays_the_other_slides(tmp_path):
    import hashlib

    from kiosk.content import manifest

    out = tmp_path / "out"
    (out / "media").mkdir(parents=True)
    blob = b"%PDF-1.4 not an image"
    sha = hashlib.sha256(blob).hexdigest()
    (out / "media" / sha).write_bytes(blob)
    (out / "manifest.json").write_bytes(manifest.encode(
        "vendor-2026-12-01", {"thong-bao.pdf": (sha, len(blob))},
        [{"id": "tin", "title": "Thông báo"}, {"id": "pdf", "type": "image", "file": "thong-bao.pdf"}],
        "2026-12-01T00:00:00Z"))
    server = StaticServer(out)
    try:
        board = Board(tmp_path / "board", server.url)
        result = board.cycle()
        assert result.ok and [s.id for s in board.ready[-1].slides] == ["tin"]
        (warning,) = board.ready[-1].warnings
        assert "thong-bao.pdf" in str(warning) and "slide will not play" in str(warning)
    finally:
        server.close()


def test_a_board_moved_to_another_tree_fetches_it(tmp_path, serve):
    import os

    new = authoring(tmp_path / "new", {"a.png": "red"})
    old = authoring(tmp_path / "old", {"b.png": "blue"}, texts=2)
    publish.publish(new, tmp_path / "www" / "moi", None)
    publish.publish(old, tmp_path / "www" / "cu", None)
    for tree in ("moi", "cu"):  # both published in the same second: Last-Modified alone cannot tell them apart
        for name in ("manifest.json", "manifest.v2.json"):
            os.utime(tmp_path / "www" / tree / name, (1_000_000_000, 1_000_000_000))
    server = serve(tmp_path / "www")
    board = Board(tmp_path / "board", server.url + "moi/")
    assert board.cycle().changed
    for meta in (board.cache / "state").glob("manifest-*.json"):  # as from a server without ETags
        meta.write_text(meta.read_text().replace('"etag": "', '"etag-was": "'))
    board.syncer = board.make_syncer(server.url + "cu/")
    moved = board.cycle()
    assert moved.ok and moved.changed, moved
    assert [s.id for s in board.ready[-1].slides] == ["tin-0", "tin-1", "anh-b"]


def test_the_manifest_travels_compressed_and_an_unchanged_poll_does_no_work_that_grows(tmp_path, monkeypatch):
    if not Nginx.available():
        pytest.skip("nginx is not installed")
    src = authoring(tmp_path / "src", {f"{i:03d}.png": (i, 2 * i, 3 * i) for i in range(120)}, texts=80)
    publish.publish(src, tmp_path / "out", None)
    size = (tmp_path / "out" / "manifest.v2.json").stat().st_size
    server = Nginx(tmp_path / "out", tmp_path / "nginx")  # gzip on for application/json, as deploy.md asks
    try:
        board = Board(tmp_path / "board", server.url)
        first = board.cycle()
        assert first.ok and first.changed and len(board.ready[-1].slides) == 200
        (row,) = [r for r in server.log() if r[1] == "/manifest.v2.json"]
        assert row[3] < size / 4  # compressed on the wire
        wire = row[3] + server.bytes_served("/media/")  # nginx counts the chunked framing of the gzip stream too
        assert wire - 100 < first.bytes <= wire  # what the board counts is what crossed the wire

        # An unchanged poll: one conditional request (a weak ETag: gzipped); after the first one (which
        # reads the new state/ and sees its media whole), no media looked at and state/ only stat'ed,
        # however many slides the programme has.
        assert board.cycle().ok
        looked: list[str] = []
        monkeypatch.setattr(sync.Cache, "has", lambda self, sha, size: looked.append(sha) or True)
        monkeypatch.setattr(sync, "_read_state", lambda store: looked.append("state/"))
        n = len(server.log())
        for _ in range(3):
            result = board.cycle()
            assert result.ok and not result.changed
        assert [(r[1], r[2]) for r in server.log()[n:]] == [("/manifest.v2.json", 304)] * 3
        assert looked == []
    finally:
        server.close()
