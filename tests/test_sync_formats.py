"""Formats 1 and 2 (docs/protocol.md §2): old boards keep working with what `kiosk publish` writes for them,
new boards skip what they do not know instead of refusing everything, and each says which format it read.

The 0.1.0 board here is the real one: the code of the last commit of main before format 2, taken out of git
with `git archive` and run as its own `python -m kiosk` against a tree served on 127.0.0.1.
"""

import io
import json
import logging
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest
from PIL import Image
from player_process import Player, free_port, write_config
from servers import StaticServer, body
from syncboard import Board, authoring
from test_end_to_end import ReportServer

from kiosk.cli import status as status_cli
from kiosk.content import manifest, programme
from kiosk.problems import InvalidInput
from kiosk.source import publish, signing, sync

ROOT = Path(__file__).resolve().parent.parent
BOARD_0_1_0 = "f11c8d3d212eb83885a2e42e6fbf498592e0d495"  # main before format 2: kiosk 0.1.0 as boards run it


@pytest.fixture(scope="module")
def old_code(tmp_path_factory) -> Path:
    """kiosk 0.1.0's code, from git. Never skipped: without it, compatibility with the field is unproven."""
    where = tmp_path_factory.mktemp("kiosk-0.1.0")
    try:
        run = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", BOARD_0_1_0, "kiosk"],
                             capture_output=True, timeout=60)
    except FileNotFoundError:
        pytest.fail("git is not installed: it is needed to take kiosk 0.1.0 out of the history "
                    "(apt-get install git). This test is never skipped.", pytrace=False)
    if run.returncode != 0:
        pytest.fail(f"cannot take kiosk 0.1.0 (commit {BOARD_0_1_0}) out of git in {ROOT}: "
                    f"{run.stderr.decode(errors='replace').strip()}. A shallow clone lacks it: "
                    "`git fetch --unshallow` (CI: fetch-depth 0). This test is never skipped.", pytrace=False)
    with tarfile.open(fileobj=io.BytesIO(run.stdout)) as tar:
        tar.extractall(where, filter="data")
    check = old_kiosk(where, "-c", "import kiosk, kiosk.version as v; print(kiosk.__file__, v.__version__)")
    assert check.returncode == 0, check.stderr
    path, version = check.stdout.split()
    assert Path(path).is_relative_to(where) and version == "0.1.0", check.stdout
    return where


def old_kiosk(code: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """`python …` with kiosk 0.1.0 first on the path (before the editable install of this tree)."""
    env = {"PYTHONPATH": str(code), "SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy",
           "PYGAME_HIDE_SUPPORT_PROMPT": "1", "PATH": "/usr/bin:/bin", "HOME": str(code)}
    return subprocess.run([sys.executable, *args], cwd=code, env=env, capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture
def knows_link(monkeypatch):
    """This board as issue 11 makes it: a `link` slide key added to kiosk.programme, and nowhere else."""
    if "link" not in programme.SLIDE_KEYS:
        monkeypatch.setattr(programme, "SLIDE_KEYS", programme.SLIDE_KEYS + ("link",))


def folder_with_a_link(src: Path) -> Path:
    authoring(src, {"a.png": "red"}, texts=2)
    text = (src / "programme.yaml").read_text(encoding="utf-8")
    text += ("  - id: lien-ket\n    title: Cổng dịch vụ công\n    link: https://dichvucong.gov.vn\n")
    (src / "programme.yaml").write_text(text, encoding="utf-8")
    return src


def requests_of(server, since: int = 0) -> list[tuple[str, int]]:
    return [(r[1], r[2]) for r in server.log()[since:]]


# --- format 1 is what 0.1.0 reads ----------------------------------------------------------------------------


def test_format1_is_frozen_exactly_as_kiosk_0_1_0_reads_it(old_code):
    probe = old_kiosk(old_code, "-c", (
        "import json; from kiosk.content import manifest, programme as p; print(json.dumps({"
        "'top': sorted(manifest.TOP_KEYS), 'keys': sorted(p.SLIDE_KEYS), 'types': sorted(p.TYPES),"
        "'priority': sorted(p.PRIORITIES), 'fit': sorted(p.FITS), 'format': manifest.FORMAT}))"))
    assert probe.returncode == 0, probe.stderr
    old = json.loads(probe.stdout)
    assert old["format"] == 1
    assert old["top"] == sorted(manifest.FORMAT1.top_keys)
    assert old["keys"] == sorted(manifest.FORMAT1.slide_keys)
    assert old["types"] == sorted(manifest.FORMAT1.slide_types)
    assert [("priority", old["priority"]), ("fit", old["fit"])] == [(k, sorted(v)) for k, v in manifest.FORMAT1.values]


def test_a_0_1_0_board_syncs_and_plays_what_publish_writes_for_it(tmp_path, old_code, serve, knows_link):
    key, pub = signing.keygen(tmp_path / "k")
    src = folder_with_a_link(tmp_path / "src")
    out = tmp_path / "out"
    summary = publish.publish(src, out, key)
    assert "slide lien-ket: not in manifest.json for boards before 0.2: uses `link`" in summary

    v1, v2 = (out / "manifest.json").read_bytes(), (out / "manifest.v2.json").read_bytes()
    strict = manifest.decode(v1, tmp_path / "media")  # the format-1 decoder: all or nothing, as in 0.1.0
    assert strict.format == 1 and not strict.warnings
    assert [s.id for s in strict.slides] == ["tin-0", "tin-1", "anh-a"]  # left out whole, not stripped of `link`
    full = manifest.decode(v2, tmp_path / "media")
    assert full.format == 2 and [s.id for s in full.slides] == ["tin-0", "tin-1", "anh-a", "lien-ket"]
    assert json.loads(v1)["media"] == json.loads(v2)["media"]  # one set of content-addressed files
    assert json.loads(v1)["generated_at"] == json.loads(v2)["generated_at"]
    for name, data in (("manifest.json", v1), ("manifest.v2.json", v2)):
        signing.verify(signing.load_public_key(str(pub)), data, (out / f"{name}.sig").read_bytes())

    server = serve(out)
    board = Board(tmp_path / "old-board", server.url, public_key=str(pub))  # (writes its config.yaml)
    config = str(board.cfg.file)
    first = old_kiosk(old_code, "-m", "kiosk", "sync", "--once", "-c", config)
    assert first.returncode == 0, first.stdout + first.stderr
    assert first.stdout.startswith("manifest changed") and "3 slides, 1 files fetched" in first.stdout
    again = old_kiosk(old_code, "-m", "kiosk", "sync", "--once", "-c", config)
    assert again.returncode == 0 and again.stdout.startswith("manifest unchanged"), again.stdout
    assert ("/manifest.v2.json", 200) not in requests_of(server)  # 0.1.0 never heard of it
    rendered = old_kiosk(old_code, "-m", "kiosk", "render", "--out", str(tmp_path / "png"), "--size", "320x180",
                         "-c", config)
    assert rendered.returncode == 0, rendered.stdout + rendered.stderr
    assert sorted(p.name for p in (tmp_path / "png").glob("*.png")) == ["01-tin-0.png", "02-tin-1.png",
                                                                      "03-anh-a.png"]
    with Image.open(tmp_path / "png" / "03-anh-a.png") as frame:
        red, green, blue = frame.convert("RGB").getpixel((160, 90))
        assert frame.size == (320, 180) and red > 240 and green < 16 and blue < 16  # the red picture, on screen


def test_the_format1_decoder_refuses_whole_what_0_1_0_would_refuse(tmp_path, knows_link):
    """Even a board that knows `link`: in manifest.json it is not format 1, and 0.1.0 boards read that file."""
    data = manifest.encode("v", {}, [{"id": "a", "title": "x"}], "2026-12-01T00:00:00Z", fmt=2)
    document = json.loads(data)
    document.update(format=1, slides=[{"id": "a", "title": "x"}, {"id": "b", "title": "y", "link": "https://x.vn"}])
    with pytest.raises(InvalidInput, match=r"slides\[1\]: `link` is not in format 1"):
        manifest.decode(json.dumps(document).encode(), tmp_path)
    with pytest.raises(ValueError, match="not in format 1"):  # and publish cannot write it there
        manifest.encode("v", {}, document["slides"], "2026-12-01T00:00:00Z", fmt=1)
    for slide in ({"id": "c", "type": "video", "file": "x.mp4"}, {"id": "d", "title": "x", "priority": "cao"}):
        assert manifest.beyond_format1(slide)
    assert manifest.beyond_format1({"id": "e", "file": "a.png", "fit": "fill", "days": ["t2"]}) == []


def test_publish_says_so_when_boards_before_0_2_get_nothing(tmp_path, knows_link):
    src = tmp_path / "src"
    src.mkdir()
    (src / "programme.yaml").write_text("slides:\n  - {id: a, title: x, link: 'https://x.vn'}\n", encoding="utf-8")
    summary = publish.publish(src, tmp_path / "out", None)
    assert "1 slides (0 for boards before 0.2)" in summary and "slide a: not in manifest.json" in summary
    assert json.loads((tmp_path / "out" / "manifest.json").read_bytes())["slides"] == []


# --- a board from 0.2 reads format 2 first, and manifest.json where there is no manifest.v2.json ---------------


def test_a_tree_published_by_0_1_0_is_read_from_manifest_json_and_remembered(tmp_path, old_code, serve):
    key, pub = signing.keygen(tmp_path / "k")
    src = authoring(tmp_path / "src", {"a.png": "red"})
    out = tmp_path / "out"
    made = old_kiosk(old_code, "-m", "kiosk", "publish", str(src), str(out), "--key", str(key))
    assert made.returncode == 0, made.stdout + made.stderr
    assert not (out / "manifest.v2.json").exists()
    server = serve(out)
    board = Board(tmp_path / "board", server.url, public_key=str(pub))

    first = board.cycle()
    assert first.ok and first.changed and (first.format, first.name) == (1, "manifest.json"), first
    assert "(format 1, manifest.json)" in first.summary() and board.ready[-1].format == 1
    assert requests_of(server)[:3] == [("/manifest.v2.json", 404), ("/manifest.json", 200),
                                       ("/manifest.json.sig", 200)]
    n = len(server.log())
    assert board.cycle().ok and requests_of(server, n) == [("/manifest.json", 304)]  # one conditional request

    n = len(server.log())  # an hour later, manifest.v2.json is asked for again: still none
    board.syncer._v2_missing = (server.url, time.monotonic() - sync.V2_RECHECK_SECONDS - 1)
    assert board.cycle().ok and requests_of(server, n) == [("/manifest.v2.json", 404), ("/manifest.json", 304)]

    publish.publish(src, out, key)  # the province upgrades its publisher: the tree gains manifest.v2.json
    n = len(server.log())
    board.syncer._v2_missing = (server.url, time.monotonic() - sync.V2_RECHECK_SECONDS - 1)
    moved = board.cycle()
    assert moved.ok and (moved.format, moved.name) == (2, "manifest.v2.json") and moved.files == 0, moved
    assert requests_of(server, n) == [("/manifest.v2.json", 200), ("/manifest.v2.json.sig", 200)]
    n = len(server.log())
    assert board.cycle().ok and requests_of(server, n) == [("/manifest.v2.json", 304)]


def test_a_board_restarted_on_a_format1_tree_asks_for_manifest_v2_once(tmp_path, serve):
    src = authoring(tmp_path / "src", {"a.png": "red"})
    publish.publish(src, tmp_path / "out", None)
    (tmp_path / "out" / "manifest.v2.json").unlink()  # as a vendor's format-1-only tree
    server = serve(tmp_path / "out")
    board = Board(tmp_path / "board", server.url)
    assert board.cycle().ok
    board.syncer = board.make_syncer()  # a restart: state/ says manifest.json, its validators are used
    n = len(server.log())
    result = board.cycle()
    assert result.ok and not result.changed and result.format == 1
    assert requests_of(server, n) == [("/manifest.v2.json", 404), ("/manifest.json", 304)]


# --- format 2 is forward compatible ------------------------------------------------------------------------------


def newer_tree(tmp_path: Path, extra_slides: list[dict], **top) -> tuple[Path, Path]:
    """A tree as a newer publisher writes it: our publication plus slides and keys this board does not know."""
    src = authoring(tmp_path / "src", {"a.png": "red"})
    out = tmp_path / "out"
    publish.publish(src, out, None)
    document = json.loads((out / "manifest.v2.json").read_bytes())
    document["slides"] += extra_slides
    document.update(top)
    (out / "manifest.v2.json").write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return src, out


FUTURE = [
    {"id": "phong-su", "type": "hologram", "file": "images/a.png", "duration": 30},
    {"id": "lich-hop", "title": "Lịch họp", "body": "Thứ Hai", "qr": "https://x.vn", "duration": 10},
    {"id": "sai-gia-tri", "title": "Tiêm chủng", "duration": "mười lăm"},
]


def test_format2_plays_what_it_understands_and_reports_each_skipped_slide(tmp_path, serve, caplog):
    _src, out = newer_tree(tmp_path, FUTURE, banner={"text": "Chào mừng"})
    server = serve(out)
    board = Board(tmp_path / "board", server.url)
    with caplog.at_level(logging.WARNING, logger="kiosk.sync"):
        result = board.cycle()
        assert result.ok and result.format == 2, result
        prog = board.ready[-1]
        assert [s.id for s in prog.slides] == ["tin-0", "anh-a"]
        warnings = [str(w) for w in prog.warnings]
        assert len(warnings) == 4 and warnings == list(result.skipped)
        assert "banner: unknown key, ignored" in warnings[0]
        assert "slides[2] (phong-su): uses type 'hologram'" in warnings[1] and "slide skipped" in warnings[1]
        assert "slides[3] (lich-hop): uses `qr`" in warnings[2]
        assert "slides[4] (sai-gia-tri).duration: must be a number of seconds" in warnings[3]
        assert "4 skipped: " in result.summary()
        logged = [r.getMessage() for r in caplog.records]
        assert len(logged) == 4 and all(w.split(": ", 1)[1] in m for w, m in zip(warnings, logged, strict=True))
        caplog.clear()
        assert board.cycle().ok and not caplog.records  # in the journal once per manifest, not at every poll
    assert sync.load_cached(board.cfg).version == prog.version  # what state/ holds plays after a reboot


@pytest.mark.parametrize("breakage, reason", [
    (lambda d: d["media"]["images/a.png"].update(sha256="0" * 63), "64 lowercase hex"),
    (lambda d: d["media"]["images/a.png"].update(size="24"), "whole number of bytes"),
    (lambda d: d["media"].update({"../etc/passwd": {"sha256": "0" * 64, "size": 1}}), "without '..'"),
    (lambda d: d["slides"].append({"id": "tin-0", "title": "again"}), "'tin-0' is already used by slides[0]"),
    (lambda d: d["slides"].append({"id": "Bad Id", "type": "hologram"}), "slides[2].id"),
    (lambda d: d["slides"].append("a slide"), "slides[2]: must be an object"),
    (lambda d: d.update(slides=[FUTURE[0], FUTURE[2]]), "no slide of this manifest can be played"),
    (lambda d: d.update(version=["v"]), "version: must be"),
    (lambda d: d.update(format=3), "format: must be 1 and 2"),
], ids=["bad hash", "bad size", "dot-dot name", "duplicate id", "bad id", "not an object", "nothing playable",
        "bad version", "format 3"])
def test_format2_refuses_whole_what_must_stay_all_or_nothing(tmp_path, serve, breakage, reason):
    _src, out = newer_tree(tmp_path, [])
    server = serve(out)
    board = Board(tmp_path / "board", server.url)
    assert board.cycle().ok
    good, version = board.state_bytes(), board.ready[-1].version
    document = json.loads((out / "manifest.v2.json").read_bytes())
    breakage(document)
    (out / "manifest.v2.json").write_text(json.dumps(document), encoding="utf-8")
    result = board.cycle()
    assert not result.ok and reason in result.error, result.error
    assert board.state_bytes() == good and len(board.ready) == 1  # the last good content keeps playing
    assert sync.load_cached(board.cfg).version == version and board.status.errors["sync"] == result.error


def test_health_the_heartbeat_and_kiosk_status_say_which_format_was_read_and_what_was_skipped(tmp_path):
    _src, out = newer_tree(tmp_path, FUTURE[:1])
    content, reports = StaticServer(out), ReportServer()
    port = free_port()
    config = write_config(tmp_path, f"  url: {content.url}\n  report_url: {reports.url}\n  poll_seconds: 5", port,
                          extra="  heartbeat_seconds: 5\n")
    player = Player(config, port)
    try:
        assert player.wait_for_notify("READY=1"), player.stop()[1]
        assert player.wait_until(lambda: player.health()[1].get("content_format") == 2, 30), player.health()
        health = player.health()[1]
        assert any("phong-su" in w and "hologram" in w for w in health["content_warnings"]), health
        assert any("phong-su" in w for w in health["warnings"])  # the summary line of /healthz

        def heartbeats():
            return [b for path, b, _ in reports.posts if path.endswith("/heartbeat") and b.get("content_format")]

        assert player.wait_until(lambda: heartbeats(), 30)
        beat = heartbeats()[-1]
        assert beat["content_format"] == 2 and beat["version"] == "0.2.0"
        assert any("phong-su" in w for w in beat["content_warnings"])
        shown = subprocess.run([sys.executable, "-m", "kiosk", "status", "-c", str(config)], cwd=ROOT,
                               capture_output=True, text=True, timeout=60)
        assert "(manifest format 2)" in shown.stdout and "phong-su" in shown.stdout, shown.stdout
    finally:
        code, output = player.stop(signal.SIGTERM)
        content.close()
        reports.close()
    assert code == 0 and "Traceback" not in output, output
    warned = [line for line in output.splitlines() if " WARNING " in line and "phong-su" in line]
    assert len(warned) == 1, output  # the journal: once for this manifest


def test_kiosk_status_names_a_tree_for_old_boards():
    body = {"status": "healthy", "device_id": "b", "content_version": "abc", "content_format": 1}
    assert "abc (manifest format 1: manifest.json, a tree for boards before 0.2)" in status_cli.summary(body)


def test_a_server_without_manifest_v2_that_answers_404_as_html_still_falls_back(tmp_path):
    src = authoring(tmp_path / "src", {})
    publish.publish(src, tmp_path / "out", None)
    server = StaticServer(tmp_path / "out")
    try:
        server.overrides["/manifest.v2.json"] = body(b"<html><body>Not Found</body></html>", 404, "text/html")
        board = Board(tmp_path / "board", server.url)
        result = board.cycle()
        assert result.ok and result.format == 1 and result.name == "manifest.json"
        server.overrides["/manifest.v2.json"] = body(b"<html>busy</html>", 503, "text/html")
        board.syncer._v2_missing = None  # a failing manifest.v2.json is a failure, never a reason to go back
        failed = board.cycle()
        assert not failed.ok and "HTTP 503" in failed.error and len(board.ready) == 1
    finally:
        server.close()


def test_a_top_level_key_of_programme_yaml_travels_in_format_2_only(tmp_path, monkeypatch):
    """As `ticker:` did (issue 11): programme.yaml gains a top-level key, and publish carries it without being
    told; a board that does not know it yet ignores it with a warning, and plays."""
    real = programme.read_folder

    def with_banner(folder, memo=None):
        prog, data = real(folder, memo)
        data["banner"] = {"text": "Chào mừng Đại hội"}
        return prog, data

    monkeypatch.setattr(programme, "read_folder", with_banner)
    src = authoring(tmp_path / "src", {})
    summary = publish.publish(src, tmp_path / "out", None)
    assert "\n  banner: not in manifest.json for boards before 0.2" in summary
    v1, v2 = (json.loads((tmp_path / "out" / name).read_bytes()) for name in ("manifest.json", "manifest.v2.json"))
    assert "banner" not in v1 and v2["banner"] == {"text": "Chào mừng Đại hội"}
    prog = manifest.decode((tmp_path / "out" / "manifest.v2.json").read_bytes(), tmp_path)
    assert [s.id for s in prog.slides] == ["tin-0"] and "banner: unknown key, ignored" in str(prog.warnings[0])


def test_publish_mends_a_tree_that_kiosk_0_1_0_published_into_after_it(tmp_path, old_code):
    src = authoring(tmp_path / "src", {"a.png": "red"})
    out = tmp_path / "out"
    publish.publish(src, out, None, now=1_000_000)
    authoring(src, {"a.png": "red"}, texts=2)
    made = old_kiosk(old_code, "-m", "kiosk", "publish", str(src), str(out))  # a second, older publishing machine
    assert made.returncode == 0, made.stdout + made.stderr
    assert len(manifest.decode((out / "manifest.v2.json").read_bytes(), tmp_path).slides) == 2  # now stale
    summary = publish.publish(src, out, None)
    assert "manifest.json had been published after manifest.v2.json" in summary
    assert len(manifest.decode((out / "manifest.v2.json").read_bytes(), tmp_path).slides) == 3
