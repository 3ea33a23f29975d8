"""The cache: atomic switch, the max_mb bound, and what survives a crash in the middle of a commit."""

import json

from syncboard import Board, authoring

from kiosk import durable
from kiosk.source import cache, publish, signing, sync

MB = 1024 * 1024


def media_names(board):
    return sorted(p.name for p in (board.cache / "media").iterdir())


def sha_of(out, name):
    return json.loads((out / "manifest.json").read_bytes())["media"][f"images/{name}"]["sha256"]


def test_the_cache_stays_under_max_mb_and_keeps_what_current_and_incoming_need(tmp_path, served):
    src, out = tmp_path / "src", tmp_path / "out"
    board = Board(tmp_path / "board", served.url)  # cache.max_mb: 16
    shas = []
    for name in ("a.png", "b.png", "c.png"):
        (src / "images").mkdir(parents=True, exist_ok=True)
        for old in (src / "images").iterdir():
            old.unlink()
        authoring(src, {name: "red"}, junk={name: 6 * MB})
        publish.publish(src, out, None)
        shas.append(sha_of(out, name))
        assert board.cycle().ok
        assert cache.Cache(board.cache).usage() <= 16 * MB
    # a (no longer needed) was evicted to make room for c; b (the programme playing while c came) was kept
    assert media_names(board) == sorted(shas[1:])
    assert sync.load_cached(board.cfg).slides[-1].image.sha256 == shas[2]


def test_a_programme_bigger_than_the_cache_is_refused(tmp_path, served):
    src = authoring(tmp_path / "src", {"a.png": "red"})
    publish.publish(src, tmp_path / "out", None)
    board = Board(tmp_path / "board", served.url)
    assert board.cycle().ok
    authoring(src, {"a.png": "red", "huge.png": "blue"}, junk={"huge.png": 17 * MB})
    publish.publish(src, tmp_path / "out", None)
    result = board.cycle()
    assert not result.ok and "more than cache.max_mb (16 MB)" in result.error
    assert served.bytes_served("/media/") < MB and len(board.ready) == 1


def test_a_crash_between_the_two_state_writes_leaves_the_old_programme_whole(tmp_path, served, monkeypatch):
    key, pub = signing.keygen(tmp_path / "key")
    src = authoring(tmp_path / "src", {"a.png": "red"})
    publish.publish(src, tmp_path / "out", key)
    board = Board(tmp_path / "board", served.url, public_key=str(pub))
    assert board.cycle().ok
    old = sync.load_cached(board.cfg)

    authoring(src, {"a.png": "green"}, texts=3)
    publish.publish(src, tmp_path / "out", key)
    real, calls = durable.write_atomic, []

    def power_cut_on_second_write(path, data, mode=0o644):
        calls.append(path.name)
        if len(calls) == 2:
            raise OSError(5, "Input/output error")  # as if the power went here
        real(path, data, mode)

    monkeypatch.setattr(sync, "write_atomic", power_cut_on_second_write)
    result = board.cycle()
    assert not result.ok and calls[0].startswith("manifest-") and calls[1] == "manifest.json"
    assert board.ready[-1].version == old.version
    again = sync.load_cached(board.cfg)  # old manifest and its own sidecar (signature) still match
    assert again is not None and again.version == old.version

    monkeypatch.setattr(sync, "write_atomic", real)
    assert board.cycle().ok and sync.load_cached(board.cfg).version != old.version
    assert len(list((board.cache / "state").glob("manifest-*.json"))) == 1


def test_a_cached_programme_signed_with_another_key_is_not_played(tmp_path, served):
    key, pub = signing.keygen(tmp_path / "key")
    _, other_pub = signing.keygen(tmp_path / "other")
    src = authoring(tmp_path / "src", {})
    publish.publish(src, tmp_path / "out", key)
    board = Board(tmp_path / "board", served.url, public_key=str(pub))
    assert board.cycle().ok and sync.load_cached(board.cfg) is not None
    rekeyed = Board(tmp_path / "board", served.url, public_key=str(other_pub))
    assert sync.load_cached(rekeyed.cfg) is None
    result = rekeyed.cycle()  # no conditional GET for content it cannot trust: fetched again and refused
    assert not result.ok and "does not match" in result.error
