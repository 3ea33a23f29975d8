"""Layered channels (source.channels): real signed trees served on 127.0.0.1, each verified with its own key,
kept on its own, merged by the documented rule (kiosk.content.layers)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from servers import Nginx, StaticServer, drip
from syncboard import FAST, authoring

from kiosk import config
from kiosk.content import layers, schedule
from kiosk.content.programme import Programme, Slide
from kiosk.problems import InvalidInput
from kiosk.report import health, heartbeat
from kiosk.report.plays import Play
from kiosk.source import channels, publish, signing, sync
from kiosk.status import Status

AT = dt.datetime(2026, 12, 2, 9, 0)


@pytest.fixture
def serve(tmp_path):
    """A real static server for a content tree: nginx where installed, else the small Python one."""
    started = []

    def start(root: Path, python: bool = False):
        if Nginx.available() and not python:
            server = Nginx(root, tmp_path / f"nginx{len(started)}")
        else:
            server = StaticServer(root)
        started.append(server)
        return server

    yield start
    for server in started:
        server.close()


def slide(sid: str, priority: str = "normal") -> Slide:
    return Slide(id=sid, type="text", title=sid, priority=priority)


def prog(*slides: Slide) -> Programme:
    return Programme(slides=tuple(slides), version="v-" + "-".join(s.id for s in slides))


# --- the pure rule -------------------------------------------------------------------------------------


def test_merge_namespaces_channels_keeps_the_boards_own_ids_and_the_order_of_channels():
    own = prog(slide("lich-tiep-dan"), slide("thong-bao"))
    tinh = prog(slide("thong-bao"), slide("gio-cao-diem", "priority"))
    xa = prog(slide("thong-bao"))
    merged = layers.merge([layers.Layer(None, own), layers.Layer("tinh", tinh), layers.Layer("xa", xa)])
    assert [s.id for s in merged.slides] == ["lich-tiep-dan", "thong-bao", "tinh:thong-bao", "tinh:gio-cao-diem",
                                             "xa:thong-bao"]
    plan = schedule.plan(merged, AT)
    assert [s.id for s in plan.loop] == ["tinh:gio-cao-diem", "lich-tiep-dan", "thong-bao", "tinh:thong-bao",
                                         "xa:thong-bao"]  # priority first, then the order of channels
    # an emergency from the last channel interrupts everything
    xa_alarm = prog(slide("thong-bao"), slide("bao-lu", "emergency"))
    merged = layers.merge([layers.Layer(None, own), layers.Layer("tinh", tinh), layers.Layer("xa", xa_alarm)])
    assert [s.id for s in schedule.plan(merged, AT).slides] == ["xa:bao-lu"]
    # nothing yet from a channel adds nothing; the own tree alone is itself, unchanged
    assert layers.merge([layers.Layer(None, own), layers.Layer("tinh", None)]) is own
    assert layers.merge([layers.Layer(None, None), layers.Layer("tinh", None)]).slides == ()
    assert layers.channel_of("tinh:thong-bao") == "tinh" and layers.channel_of("thong-bao") is None


def test_a_play_records_its_channel():
    start = dt.datetime(2026, 12, 2, 9, 0)
    assert Play.create("tinh:thong-bao", start, start).to_json()["channel"] == "tinh"
    assert "channel" not in Play.create("thong-bao", start, start).to_json()


# --- check-config ------------------------------------------------------------------------------------


def write(tmp_path: Path, channels_yaml: str, source: str = "  url: http://127.0.0.1:9/own/\n") -> Path:
    path = tmp_path / "config.yaml"
    path.write_text("device: {id: ubnd-an-khuong, name: UBND xã An Khương}\n"
                    f"source:\n{source}  channels:\n{channels_yaml}", encoding="utf-8")
    return path


def problems_of(path: Path) -> list[str]:
    with pytest.raises(InvalidInput) as err:
        config.load(path)
    return [str(p) for p in err.value.problems]


def test_check_config_names_each_channel_problem_by_field_and_line(tmp_path):
    _, pub = signing.keygen(tmp_path / "tinh")
    path = write(tmp_path, f"""\
    - name: tinh
      url: http://127.0.0.1:9/tinh/
      public_key: {pub}
    - name: tinh
      url: http://127.0.0.1:9/tinh
      public_key: {tmp_path / 'missing.pub'}
    - name: Xã An Khương
      url: http://127.0.0.1:9/own/
      public_key: {pub}
      colour: red
    - url: ftp://x
""")
    found = problems_of(path)
    text = "\n".join(found)
    assert f"{path}:8: source.channels[1].name: 'tinh' is already the name of source.channels[0]" in text
    assert f"{path}:9: source.channels[1].url: http://127.0.0.1:9/tinh/ is already followed by source.channels[0]" \
        in text
    assert f"{path}:10: source.channels[1].public_key: cannot read public key file" in text
    assert "source.channels[2].name: 'Xã An Khương' must be 1-32 of a-z" in text
    assert "source.channels[2].url: http://127.0.0.1:9/own/ is already followed by source.url" in text
    assert f"{path}:14: source.channels[2].colour: unknown key" in text
    assert "source.channels[3].name: is required" in text and "source.channels[3].public_key: is required" in text
    assert "source.channels[3].url: 'ftp://x' is not an http" in text


def test_a_valid_channel_list_and_what_cannot_be_combined(tmp_path):
    _, pub = signing.keygen(tmp_path / "tinh")
    cfg = config.load(write(tmp_path, f"    - {{name: tinh, url: 'http://127.0.0.1:9/t', public_key: '{pub}'}}\n"))
    (channel,) = cfg.source.channels
    assert (channel.name, channel.url, channel.token_file) == ("tinh", "http://127.0.0.1:9/t/", None)
    (tmp_path / "folder").mkdir()
    found = problems_of(write(tmp_path, f"    - {{name: tinh, url: 'http://127.0.0.1:9/t', public_key: '{pub}'}}\n",
                              source="  path: folder\n"))
    assert any("source.channels: a board playing source.path follows no channels" in p for p in found)
    assert any("source.channels: expected a list" in p for p in problems_of(write(tmp_path, "    tinh\n")))
    # a key file lost at boot: that channel degrades, the board still starts
    path = write(tmp_path, f"    - {{name: tinh, url: 'http://127.0.0.1:9/t', public_key: '{tmp_path}/gone.pub'}}\n")
    cfg = config.load(path, degrade=True)
    assert [p.path for p in cfg.degraded] == ["source.channels[0].public_key"]


def test_the_shipped_config_checks():
    root = Path(__file__).resolve().parent.parent
    text = (root / "config.yaml").read_text(encoding="utf-8")
    assert "channels:" in text


# --- real trees ----------------------------------------------------------------------------------------


class Province:
    """Three trees: the board's own, the province's (tinh) and the commune's (xa), each with its key."""

    def __init__(self, tmp_path: Path, serve):
        self.tmp = tmp_path
        self.keys = {name: signing.keygen(tmp_path / f"{name}.key") for name in ("own", "tinh", "xa")}
        self.src = {name: tmp_path / f"src-{name}" for name in self.keys}
        self.out = {name: tmp_path / f"out-{name}" for name in self.keys}
        authoring(self.src["own"], {"own.png": "red", "logo.png": "white"})
        authoring(self.src["tinh"], {"tinh.png": "green", "logo.png": "white"})  # the same logo: stored once
        authoring(self.src["xa"], {"xa.png": "blue"})
        for name in self.keys:
            self.publish(name)
        self.servers = {name: serve(self.out[name]) for name in ("own", "tinh")}
        self.servers["xa"] = serve(self.out["xa"], python=True)  # may be made hostile

    def publish(self, name: str, key: str | None = None) -> None:
        publish.publish(self.src[name], self.out[name], self.keys[key or name][0])

    def board(self, folder: Path | None = None) -> config.Config:
        folder = folder or self.tmp / "board"
        folder.mkdir(exist_ok=True)
        own_pub = self.keys["own"][1]
        text = (f"device: {{id: test-board, name: Bảng tin}}\nsource:\n  url: '{self.servers['own'].url}'\n"
                f"  public_key: '{own_pub}'\n  channels:\n")
        for name in ("tinh", "xa"):
            text += f"    - {{name: {name}, url: '{self.servers[name].url}', public_key: '{self.keys[name][1]}'}}\n"
        text += "cache: {path: cache, max_mb: 16}\n"
        (folder / "config.yaml").write_text(text, encoding="utf-8")
        return config.load(folder / "config.yaml")


class Trees:
    def __init__(self, cfg: config.Config):
        self.status = Status()
        self.delivered: list[Programme] = []
        self.channels = channels.Channels(cfg, self.status, self.delivered.append, sync.probe_only)
        for tree in self.channels.trees:  # fast deadlines for the hostile server
            self.channels._syncer(tree).limits = FAST

    def cycle(self) -> dict:
        return dict(self.channels.cycle_all())

    @property
    def ids(self) -> list[str]:
        return [s.id for s in self.delivered[-1].slides]


OWN = ["tin-0", "anh-own", "anh-logo"]
TINH = ["tinh:tin-0", "tinh:anh-tinh", "tinh:anh-logo"]
XA = ["xa:tin-0", "xa:anh-xa"]


def test_three_trees_synced_verified_merged_and_reported(tmp_path, serve):
    world = Province(tmp_path, serve)
    cfg = world.board()
    trees = Trees(cfg)
    results = trees.cycle()
    assert all(r.ok for r in results.values()), results
    assert trees.ids == OWN + TINH + XA
    cache = cfg.cache.path
    logo = [s.image.sha256 for s in trees.delivered[-1].slides if s.id == "anh-logo"][0]
    assert (cache / "media" / logo).is_file() and results["tinh"].files == 1  # the logo both trees use: fetched once
    again = trees.cycle()  # an unchanged poll of three trees: a conditional request each, nothing fetched
    assert all(r.ok and not r.changed and r.bytes == 0 and r.files == 0 for r in again.values()), again
    states = sorted(p.name for p in (cache / "channels").iterdir() if p.is_dir())
    assert [s.split("-")[0] for s in states] == ["tinh", "xa"]
    for state in states:
        assert (cache / "channels" / state / "manifest.json").is_file()

    snap = trees.status.snapshot()
    facts = {c["name"]: c for c in snap["channels"]}
    assert facts["tinh"]["url"] == world.servers["tinh"].url and facts["tinh"]["last_sync"]["ok"] is True
    assert facts["xa"]["slides"] == 2 and facts["xa"]["version"]
    body = heartbeat.build(snap, cfg, AT.timestamp())
    assert [c["name"] for c in body["channels"]] == ["tinh", "xa"]
    assert body["channels"][0]["last_sync"]["at"].endswith("+07:00") and body["channels"][0]["error"] is None
    _, healthz = health.report(snap, 0.0, "test-board", "Bảng tin", "Asia/Ho_Chi_Minh")
    assert [c["name"] for c in healthz["channels"]] == ["tinh", "xa"]
    from kiosk.cli import status as cli_status

    shown = cli_status.summary(healthz, "Asia/Ho_Chi_Minh")
    assert f"channel tinh: {facts['tinh']['version']}, synced " in shown and ", ok (http://127.0.0.1:" in shown

    # a cold boot without network: every tree's last good programme, from its own state
    for server in world.servers.values():
        server.close()
    again = channels.Channels(cfg, Status(), lambda _p: None, sync.probe_only)
    assert [s.id for s in again.load_cached().slides] == OWN + TINH + XA


def test_one_channel_down_keeps_its_content_while_the_others_update(tmp_path, serve):
    world = Province(tmp_path, serve)
    trees = Trees(world.board())
    trees.cycle()
    world.servers["xa"].close()
    trees.channels.trees[2].syncer.close()  # its kept-alive connection too: the next request is refused
    authoring(world.src["own"], {"own.png": "red", "logo.png": "white"}, texts=2)
    world.publish("own")
    results = trees.cycle()
    assert results[None].ok and results["tinh"].ok and not results["xa"].ok
    assert trees.ids == ["tin-0", "tin-1", "anh-own", "anh-logo"] + TINH + XA  # xa's last good content stays
    snap = trees.status.snapshot()
    assert "cannot connect" in snap["errors"]["sync:xa"] or "refused" in snap["errors"]["sync:xa"], snap["errors"]
    assert "sync" not in snap["errors"]  # the board's own tree is fine
    xa = [c for c in snap["channels"] if c["name"] == "xa"][0]
    assert xa["last_sync"]["ok"] is False and xa["version"]
    assert any("sync:xa" in w for w in health.assess(snap, 0.0)[1])


def test_a_commune_key_cannot_forge_the_provinces_content(tmp_path, serve, caplog):
    import logging

    world = Province(tmp_path, serve)
    trees = Trees(world.board())
    trees.cycle()
    authoring(world.src["tinh"], {"tinh.png": "black"}, texts=3)  # forged "province" content ...
    world.publish("tinh", key="xa")  # ... signed with the commune's key
    with caplog.at_level(logging.WARNING, "kiosk.sync"):
        results = trees.cycle()
    assert any(r.getMessage().startswith("sync: channel tinh: refused: ") for r in caplog.records)
    assert not results["tinh"].ok and "does not match" in results["tinh"].error
    tinh = world.servers["tinh"].url  # the message names the channel's own tree and key, not the board's
    assert results["tinh"].error == (f"{tinh}manifest.v2.json.sig does not match {tinh}manifest.v2.json and "
                                      "source.channels[0].public_key: signed with another key?")
    assert results[None].ok and results["xa"].ok
    assert trees.ids == OWN + TINH + XA  # the province's last good content plays on
    assert "does not match" in trees.status.snapshot()["errors"]["sync:tinh"]


def test_a_hostile_channel_is_cut_and_the_others_play(tmp_path, serve):
    world = Province(tmp_path, serve)
    trees = Trees(world.board())
    trees.cycle()
    for name in ("/manifest.json", "/manifest.v2.json"):  # whichever the board asks for (issue 12: v2 first)
        world.servers["xa"].overrides[name] = drip(b'{"format": 1, ' * 1000, interval=0.5)
    authoring(world.src["tinh"], {"tinh.png": "green", "logo.png": "white"}, texts=2)
    world.publish("tinh")
    results = trees.cycle()
    assert not results["xa"].ok and results["tinh"].ok
    assert trees.ids == OWN + ["tinh:tin-0", "tinh:tin-1", "tinh:anh-tinh", "tinh:anh-logo"] + XA


def test_an_emergency_in_the_second_channel_interrupts_the_first(tmp_path, serve):
    world = Province(tmp_path, serve)
    trees = Trees(world.board())
    trees.cycle()
    assert schedule.plan(trees.delivered[-1], AT).emergency == ()
    text = (world.src["xa"] / "programme.yaml").read_text(encoding="utf-8")
    (world.src["xa"] / "programme.yaml").write_text(
        text + "  - id: bao-lu\n    title: Cảnh báo lũ quét\n    body: Di dời ngay khỏi bờ suối\n"
               "    priority: emergency\n", encoding="utf-8")
    world.publish("xa")
    trees.cycle()
    plan = schedule.plan(trees.delivered[-1], AT)
    assert [s.id for s in plan.slides] == ["xa:bao-lu"]
    assert plan.emergency[0].title == "Cảnh báo lũ quét"


def test_eviction_keeps_every_channels_media(tmp_path, serve):
    world = Province(tmp_path, serve)
    cfg = world.board()
    trees = Trees(cfg)
    trees.cycle()
    merged = trees.delivered[-1]
    own_tree = trees.channels.trees[0]
    own_media = {s.image.sha256 for s in merged.slides if s.image is not None and ":" not in s.id}
    own_tree.store.evict(own_media, 0)  # the own tree's sync, told to free everything it does not need
    for s in merged.slides:
        if s.image is not None:
            assert s.image.path.is_file(), s.id
    for tree in trees.channels.trees[1:]:  # and each channel's own sync the same
        mine = {s.image.sha256 for s in merged.slides if s.image is not None and s.id.startswith(f"{tree.name}:")}
        tree.store.evict(mine, 0)
    assert all(s.image.path.is_file() for s in merged.slides if s.image is not None)
    # what no tree needs any more goes
    stray = cfg.cache.path / "media" / ("0" * 64)
    stray.write_bytes(b"x" * 100)
    own_tree.store.evict(own_media, 0)
    assert not stray.exists()


def test_sync_once_with_channels_is_one_line(tmp_path, serve):
    world = Province(tmp_path, serve)
    cfg = world.board()
    ok, line = channels.sync_once(cfg)
    assert ok and "\n" not in line and "channel tinh: manifest changed" in line and "channel xa:" in line


def test_the_state_of_a_channel_no_longer_followed_is_removed(tmp_path, serve):
    world = Province(tmp_path, serve)
    cfg = world.board()
    Trees(cfg).cycle()
    text = cfg.file.read_text(encoding="utf-8")
    kept = "\n".join(line for line in text.splitlines() if "name: xa" not in line) + "\n"
    cfg.file.write_text(kept, encoding="utf-8")
    fewer = Trees(config.load(cfg.file))
    fewer.channels.clean()
    assert [p.name.split("-")[0] for p in (cfg.cache.path / "channels").iterdir() if p.is_dir()] == ["tinh"]
    assert json.loads((cfg.cache.path / "state" / "manifest.json").read_bytes())["slides"]


def wait_for(condition, seconds: float = 20.0) -> bool:
    import time

    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_the_feed_plays_the_merged_programme_and_prunes_no_channels_frames(tmp_path, serve):
    from kiosk.content.current import Current
    from kiosk.source.feed import Feed
    from kiosk.source.prepare import Preparer

    world = Province(tmp_path, serve)
    cfg = world.board()
    status, current = Status(), Current()
    preparer = Preparer((64, 36), "fit", cfg.cache.path, cfg.speech, prune=True, status=status)
    feed = Feed(cfg, current, status, preparer.prepare, preparer.ready)
    feed.load_initial()
    feed.start()
    try:
        assert wait_for(lambda: [s.id for s in current.get().slides] == OWN + TINH + XA)
        assert wait_for(lambda: preparer.ready(current.get()))
        first = status.snapshot()["channels"][1]["version"]
        authoring(world.src["xa"], {"xa.png": "yellow"})  # only the commune's tree changes
        world.publish("xa")
        feed.sync_now.set()
        assert wait_for(lambda: status.snapshot()["channels"][1]["version"] != first)
        assert wait_for(lambda: preparer.ready(current.get()))
        merged = current.get()
        assert [s.id for s in merged.slides] == OWN + TINH + XA
        from kiosk.source.prepare import prepared_path

        for slide_ in merged.slides:  # the province's and the board's frames were not pruned
            if slide_.image is not None:
                assert prepared_path(slide_.image, (64, 36), "fit", cfg.cache.path).is_file(), slide_.id
    finally:
        feed.close()
    # a restart without network plays the merged programme at once
    for server in world.servers.values():
        server.close()
    again = Current()
    Feed(cfg, again, Status(), preparer.prepare, preparer.ready).load_initial()
    assert [s.id for s in again.get().slides] == OWN + TINH + XA


def test_freshness_of_signed_manifests_is_kept_per_channel(tmp_path, serve):
    import shutil

    world = Province(tmp_path, serve)
    trees = Trees(world.board())
    trees.cycle()
    old = tmp_path / "old-tinh"
    shutil.copytree(world.out["tinh"], old)
    authoring(world.src["tinh"], {"tinh.png": "green", "logo.png": "white"}, texts=2)
    world.publish("tinh")
    assert trees.cycle()["tinh"].changed
    for path in old.glob("manifest*"):  # a replay of the province's older, well-signed manifest(s)
        shutil.copy(path, world.out["tinh"] / path.name)
    results = trees.cycle()
    assert not results["tinh"].ok and "an older signed manifest is refused" in results["tinh"].error
    assert results[None].ok and results["xa"].ok and "tinh:tin-1" in trees.ids


def test_kiosk_render_and_sync_once_on_a_board_with_channels(tmp_path, serve):
    import os
    import subprocess
    import sys

    world = Province(tmp_path, serve)
    cfg = world.board()
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent), "SDL_VIDEODRIVER": "dummy"}
    sync_run = subprocess.run([sys.executable, "-m", "kiosk", "sync", "--once", "-c", str(cfg.file)],
                              capture_output=True, text=True, env=env, timeout=120)
    assert sync_run.returncode == 0, sync_run.stderr
    assert len(sync_run.stdout.splitlines()) == 1 and "channel xa: manifest changed" in sync_run.stdout
    out = tmp_path / "png"
    render = subprocess.run([sys.executable, "-m", "kiosk", "render", "--out", str(out), "--size", "320x180",
                             "--at", "2026-12-02T09:00", "-c", str(cfg.file)],
                            capture_output=True, text=True, env=env, timeout=120)
    assert render.returncode == 0, render.stderr
    names = sorted(p.name for p in out.glob("*.png"))
    assert names[0] == "01-tin-0.png" and "04-tinh:tin-0.png" in names and names[-1] == "08-xa:anh-xa.png"


def test_a_reload_drops_the_facts_and_errors_of_channels_no_longer_followed():
    status = Status()
    status.follow_channels({"tinh": "http://a/", "xa": "http://b/"})
    status.set_error("sync:xa", "cannot connect")
    status.channel_facts("xa", version="v1")
    status.follow_channels({"tinh": "http://a/", "xa": "http://c/"})  # another tree under the same name
    assert [c["version"] for c in status.snapshot()["channels"]] == [None, None]
    status.follow_channels({"tinh": "http://a/"})
    snap = status.snapshot()
    assert [c["name"] for c in snap["channels"]] == ["tinh"] and "sync:xa" not in snap["errors"]
    assert "channels" not in heartbeat.build({**Status().snapshot(), "errors": {}},
                                             config.validate({"device": {"id": "a", "name": "b"},
                                                              "source": {"url": "http://x/"}}, Path("c.yaml")),
                                             AT.timestamp())


def test_one_process_at_a_time_syncs_the_trees_of_a_cache(tmp_path, serve):
    world = Province(tmp_path, serve)
    cfg = world.board()
    trees = Trees(cfg)
    with channels._exclusive(trees.channels.trees[0].store):  # the player is in a cycle
        ok, line = channels.sync_once(cfg)
    assert not ok and "another sync of this cache is running" in line
    assert channels.sync_once(cfg)[0]


def test_a_channels_journal_lines_name_it_in_the_language_they_are_said_in(caplog):
    """`sync: channel xa: refused: …`, and with ui.language: vi `đồng bộ: kênh xa: bị từ chối: …`, never a
    Vietnamese line left without its channel."""
    import logging

    from kiosk import i18n
    from kiosk.i18n import _

    try:
        for language, said in (("en", "sync: channel xa: refused: no"), ("vi", "đồng bộ: kênh xa: bị từ chối: no")):
            i18n.use(language)
            caplog.clear()
            with caplog.at_level(logging.WARNING, "kiosk.sync"), channels._naming("xa"):
                channels.log.warning(_("sync: refused: {reason}").format(reason="no"))
                channels.log.warning(_("sync: channel {name}: no content cached yet").format(name="xa"))
            assert [r.getMessage() for r in caplog.records] == [
                said, _("sync: channel {name}: no content cached yet").format(name="xa")]
    finally:
        i18n.use("en")
