"""Every hostile answer is refused with one clear reason; the old content keeps playing."""

import dataclasses
import gzip
import json
import logging
import time

import pytest
from servers import StaticServer, body, cut_after, drip, endless, once, redirect
from syncboard import FAST, Board, authoring

from kiosk.source import publish, sync

HTML = b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"


@pytest.fixture
def world(tmp_path):
    """A board that synced v1 from a static server, and v2 published beside it (not yet served)."""
    src = authoring(tmp_path / "src", {"a.png": "red"})
    publish.publish(src, tmp_path / "out", None)
    authoring(src, {"a.png": "red", "b.png": "blue"}, texts=2)
    publish.publish(src, tmp_path / "v2", None)
    server = StaticServer(tmp_path / "out")
    board = Board(tmp_path / "board", server.url)
    assert board.cycle().ok
    v2 = (tmp_path / "v2" / "manifest.v2.json").read_bytes()
    new_sha = json.loads(v2)["media"]["images/b.png"]["sha256"]
    yield board, server, v2, new_sha, (tmp_path / "v2" / "media" / new_sha).read_bytes()
    server.close()


def with_table(v2: bytes, **changes) -> bytes:
    document = json.loads(v2)
    document.update(changes)
    return json.dumps(document).encode()


def scenarios(v2: bytes, sha: str, blob: bytes, server_url: str) -> dict:
    other_host = server_url.replace("127.0.0.1", "127.0.0.2")
    wrong = bytes(reversed(blob))
    return {
        "html error page": ({"/manifest.v2.json": body(HTML, 200, "text/html")}, "HTML"),
        "html with 502": ({"/manifest.v2.json": body(HTML, 502, "text/html")}, "HTTP 502"),
        "truncated json": ({"/manifest.v2.json": body(v2[: len(v2) // 2])}, "not valid JSON"),
        "cut mid-manifest": ({"/manifest.v2.json": cut_after(v2, len(v2) // 2)}, "connection"),
        "reset mid-manifest": ({"/manifest.v2.json": cut_after(v2, 10, reset=True)}, "connection"),
        "wrong types": ({"/manifest.v2.json": body(with_table(v2, slides={"id": 1}))}, "slides: must be a list"),
        "wrong slide types": ({"/manifest.v2.json": body(
            with_table(v2, slides=[{"id": "x", "title": "t", "duration": "lâu"}]))}, "(x).duration"),
        "60 MB manifest": ({"/manifest.v2.json": endless()}, "more than the limit"),
        "60 MB announced": ({"/manifest.v2.json": endless(announce=True)}, "bytes announced"),
        "dot-dot names": ({"/manifest.v2.json": body(with_table(v2, media={
            "../../etc/passwd": {"sha256": sha, "size": len(blob)}}))}, "without '..'"),
        "dot-dot hash": ({"/manifest.v2.json": body(with_table(v2, media={
            "images/b.png": {"sha256": "../../../state/manifest.json", "size": 10}}))}, "64 lowercase hex"),
        "wrong hash": ({"/manifest.v2.json": body(v2), f"/media/{sha}": body(wrong, ctype="image/png")},
                       "wrong SHA-256"),
        "longer than declared": ({"/manifest.v2.json": body(v2), f"/media/{sha}": body(blob + b"x")},
                                 f"says {len(blob)}"),
        "longer, unannounced": ({"/manifest.v2.json": body(v2), f"/media/{sha}": endless(limit=len(blob) * 4)},
                                "more bytes than"),
        "media 404": ({"/manifest.v2.json": body(v2), f"/media/{sha}": body(HTML, 404, "text/html")}, "HTTP 404"),
        "slow drip": ({"/manifest.v2.json": drip(v2, 0.02)}, "too slow"),
        "slow drip, no length": ({"/manifest.v2.json": drip_unannounced(v2, 0.02)}, "too slow"),
        "reset mid-media": ({"/manifest.v2.json": body(v2),  # cut inside the body: the picture is only 95 bytes
                             f"/media/{sha}": cut_after(blob, len(blob) // 2, reset=True)}, "connection"),
        "redirect elsewhere": ({"/manifest.v2.json": redirect(other_host + "manifest.v2.json")},
                               "redirect to another host refused"),
        "redirect nowhere": ({"/manifest.v2.json": redirect("http://[::1/manifest.json")}, "refused"),
        "redirect to a file": ({"/manifest.v2.json": redirect("file:///etc/passwd")},
                               "manifest.v2.json: redirect to 'file:///etc/passwd' refused: only http:// and https:// "
                               "addresses on the source's own host are followed"),
        "redirect to ftp": ({"/manifest.v2.json": redirect("ftp://127.0.0.1/manifest.v2.json")},
                            "redirect to 'ftp://127.0.0.1/manifest.v2.json' refused: only http://"),
        "redirect loop": ({"/manifest.v2.json": redirect("/manifest.v2.json")}, "more than 3 redirects"),
        "manifest 404": ({"/manifest.v2.json": body(HTML, 404, "text/html"),
                          "/manifest.json": body(HTML, 404, "text/html")}, "not found"),
        "gzip bomb": ({"/manifest.v2.json": body(gzip.compress(b" " * (64 << 20)), Content_Encoding="gzip")},
                      "more than the limit"),
        "damaged gzip": ({"/manifest.v2.json": body(gzip.compress(v2)[:-12], Content_Encoding="gzip")},
                         "gzip-compressed answer is damaged"),
        "gzip media": ({"/manifest.v2.json": body(v2), f"/media/{sha}": body(gzip.compress(blob), ctype="image/png",
                                                                         Content_Encoding="gzip")},
                       "Content-Encoding 'gzip', which was not asked for"),
        "brotli manifest": ({"/manifest.v2.json": body(v2, Content_Encoding="br")}, "Content-Encoding 'br'"),
        "no manifest json": ({"/manifest.v2.json": body(b"")}, "empty"),
    }


def drip_unannounced(data: bytes, interval: float):
    """A byte every `interval` seconds with no Content-Length (the body ends when the connection does): cut
    at the deadline, what arrived looks like a whole answer unless the client knows it cut it."""
    def behave(h):
        h.close_connection = True
        h.send_response(200)
        h.end_headers()
        try:
            for i in range(len(data)):
                h.wfile.write(data[i:i + 1])
                h.wfile.flush()
                h.sent += 1
                time.sleep(interval)
        except OSError:
            pass  # the board hung up at its deadline
    return behave


NAMES = list(scenarios(b"{}", "0" * 64, b"x", "http://127.0.0.1:1/"))


@pytest.mark.parametrize("name", NAMES)
def test_a_hostile_answer_is_refused_and_the_old_content_stays(world, name, caplog):
    board, server, v2, sha, blob = world
    overrides, reason = scenarios(v2, sha, blob, server.url)[name]
    old_state, old_version = board.state_bytes(), board.ready[-1].version
    server.overrides.update(overrides)
    if name.startswith("slow drip"):
        board.syncer.limits = dataclasses.replace(FAST, small_deadline=0.5)
    with caplog.at_level(logging.WARNING, logger="kiosk.sync"):
        result = board.cycle()
    assert not result.ok
    assert reason in result.error
    assert board.status.errors["sync"] == result.error and board.status.last_sync.ok is False
    assert [r.getMessage() for r in caplog.records] == [f"sync: refused: {result.error}"]
    assert len(board.ready) == 1 and board.state_bytes() == old_state
    assert sync.load_cached(board.cfg).version == old_version
    assert not (board.cache / "media" / sha).exists() or name == "media 404"
    assert "\n" not in result.error and "Traceback" not in result.error
    if name == "60 MB manifest":
        assert server.bytes_served("/manifest.v2.json") < 20_000_000  # we hung up long before 60 MB

    server.overrides.clear()  # the server recovers: the board catches up, and the error clears
    board.syncer.limits = FAST
    assert board.cycle().ok and board.status.errors == {}


def test_retry_after_is_honoured_and_the_second_answer_used(world):
    board, server, v2, sha, blob = world
    board.syncer.limits = dataclasses.replace(FAST, retries=2)
    server.overrides["/manifest.v2.json"] = once(body(b"busy", 503, "text/plain", Retry_After="0"), body(v2))
    server.overrides[f"/media/{sha}"] = body(blob, ctype="image/png")
    result = board.cycle()
    assert result.ok and result.changed
    assert [r[2] for r in server.log() if r[1] == "/manifest.v2.json"][-2:] == [503, 200]
