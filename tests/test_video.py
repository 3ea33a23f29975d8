"""Video slides with real files made by PyAV here: H.264/AAC in MP4 and VP9/Opus in WebM, 2 s at 160x90.

Probed at the border (what cannot be played is refused, naming the slide), published and synced,
played on a real offscreen screen (pictures through the YUV texture, sound through SDL), played by the
real player with a fake clock (the loop's decisions), and by `kiosk run` headless with SDL's disk audio
driver capturing what is heard.
"""

from __future__ import annotations

import array
import datetime as dt
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import videos
from fakeclock import FakeClock
from PIL import Image
from player_process import ROOT, Player, free_port, write_config
from servers import StaticServer
from syncboard import Board
from test_player import START as WALL
from test_player import FakeRenderer, FakeScreen, Immediate, Plays

from kiosk import config
from kiosk.content import programme, video
from kiosk.content.current import Current
from kiosk.content.programme import Programme, Slide
from kiosk.player import volume
from kiosk.player.frames import FrameBuilder
from kiosk.player.loop import Player as Loop
from kiosk.problems import InvalidInput
from kiosk.report.notify import Notifier
from kiosk.source import publish
from kiosk.status import Status


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("videos")
    made = {
        "h264.mp4": videos.make(folder / "h264.mp4"),
        "vp9.webm": videos.make(folder / "vp9.webm", codecs=videos.VP9, tone=660),
        "long.webm": videos.make(folder / "long.webm", seconds=8, codecs=videos.VP9, audio=False),
        "sound.mp4": videos.sound_only(folder / "sound.mp4"),
        "mpeg4.mkv": videos.sparse(folder / "mpeg4.mkv", (64, 48), 1, codec="mpeg4", container="matroska"),
        "8k.mp4": videos.sparse(folder / "8k.mp4", (7680, 4320), 1),
        "10h.mp4": videos.sparse(folder / "10h.mp4", (64, 48), 36000),
    }
    made["cut.mp4"] = videos.cut(made["h264.mp4"], folder / "cut.mp4", 0.5)
    made["cut.webm"] = videos.cut(made["long.webm"], folder / "cut.webm", 0.4)
    return made


# --- at the border ----------------------------------------------------------------------------------------

def test_h264_and_vp9_are_probed_whole(files):
    h264 = video.probe(files["h264.mp4"])
    assert (h264.container, h264.codec, h264.width, h264.height, h264.audio) == ("MP4", "h264", 160, 90, "aac")
    assert h264.seconds == pytest.approx(2.0, abs=0.1) and h264.fps == 15
    vp9 = video.probe(files["vp9.webm"])
    assert (vp9.container, vp9.codec, vp9.audio) == ("MKV/WebM", "vp9", "opus")
    assert "H.264 160x90 15 fps, 0:02, sound aac" in h264.describe()


@pytest.mark.parametrize("name, reason", [
    ("sound.mp4", "has no video stream"),
    ("mpeg4.mkv", "uses the mpeg4 codec, which a board does not play; use H.264"),
    ("8k.mp4", "is 7680x4320, at most 1920x1080"),
    ("10h.mp4", "is 10:00:00 long, at most 1:00:00"),
    ("cut.mp4", "cut short"),
    ("cut.webm", "is cut short: its pictures end at"),
])
def test_what_cannot_be_played_is_refused_with_its_reason(files, name, reason):
    with pytest.raises(ValueError, match=reason):
        video.probe(files[name])


def test_a_folder_keeps_the_videos_it_can_play_and_names_the_slides_it_cannot(tmp_path, files):
    slides = ["slides:", "  - id: tin", "    title: Thông báo"]
    for name in files:
        (tmp_path / name).write_bytes(files[name].read_bytes())
        slides += [f"  - id: v-{name.split('.')[0]}-{name.split('.')[1]}", f"    file: {name}"]
    slides += ["  - id: lap", "    type: video", "    file: h264.mp4", "    duration: 5"]
    (tmp_path / "programme.yaml").write_text("\n".join(slides) + "\n", encoding="utf-8")
    prog = programme.load_folder(tmp_path)
    kept = {s.id: s for s in prog.slides}
    assert sorted(kept) == ["lap", "tin", "v-h264-mp4", "v-long-webm", "v-vp9-webm"]
    assert kept["v-h264-mp4"].type == "video" and kept["v-h264-mp4"].duration is None  # its own length
    assert kept["lap"].duration == 5.0
    refused = {p.path: p.message for p in prog.warnings}
    assert set(refused) == {f"slides[{i}] (v-{n.split('.')[0]}-{n.split('.')[1]}).file" for i, n in
                            enumerate(files, 1) if n.split(".")[0] in ("sound", "mpeg4", "8k", "10h", "cut")}
    assert any("10h.mp4: is 10:00:00 long" in m for m in refused.values())


# --- publish and sync ----------------------------------------------------------------------------------

def _authoring(folder: Path, files, names: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["slides:", "  - id: tin", "    title: Tiêm chủng mở rộng"]
    for name in names:
        (folder / name).write_bytes(files[name].read_bytes())
        lines += [f"  - id: {name.split('.')[0]}", "    type: video", f"    file: {name}"]
    (folder / "programme.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def test_videos_pass_through_publish_and_sync(tmp_path, files):
    src = _authoring(tmp_path / "src", files, ["h264.mp4", "vp9.webm"])
    publish.publish(src, tmp_path / "out", None)
    server = StaticServer(tmp_path / "out")
    try:
        board = Board(tmp_path / "board", server.url)
        result = board.cycle()
        assert result.ok and result.files == 2, result
        (prog,) = board.ready
        assert [(s.id, s.type, s.duration) for s in prog.slides] == [
            ("tin", "text", 10.0), ("h264", "video", None), ("vp9", "video", None)]
        for slide in prog.slides[1:]:
            assert slide.image.path.read_bytes() == files[slide.image.name].read_bytes()
            assert video.probe(slide.image.path).codec in ("h264", "vp9")
    finally:
        server.close()


def test_publish_refuses_a_video_it_cannot_play_naming_the_slide(tmp_path, files):
    src = _authoring(tmp_path / "src", files, ["h264.mp4", "8k.mp4"])
    with pytest.raises(InvalidInput) as refused:
        publish.publish(src, tmp_path / "out", None)
    assert "slides[2] (8k).file: 8k.mp4: is 7680x4320" in str(refused.value)
    assert not (tmp_path / "out").exists()


# --- on a real screen ------------------------------------------------------------------------------------

@pytest.fixture
def screen():
    from kiosk.screen.display import Screen

    shown = Screen.offscreen((320, 180))
    yield shown
    shown.close()


@pytest.fixture(params=[False, True], ids=["software", "gpu-way"])
def either(request):
    """A screen drawing SDL's software way (one draw over the last frame) or the GPU's (every layer each
    frame), both on SDL's software renderer."""
    from kiosk.screen.display import Screen

    shown = Screen.offscreen((320, 180))
    shown.hardware = request.param
    yield shown
    shown.close()


def _clip(path: Path, screen_size, loop=False, fit="fit"):
    from kiosk.screen import clip

    info = video.probe(path)
    return clip.Video(path, (info.width, info.height), info.seconds, info.fps, info.audio is not None,
                      screen_size, fit, loop, path.name)


def _play(screen, motion, limit: float = 10.0) -> None:
    """Drive the screen's moving zone the way the loop does: sleep until it is due, until it ends."""
    import pygame

    wake = threading.Event()
    screen.wake = wake
    still = pygame.Surface(screen.size)
    still.fill((200, 0, 0))
    screen.show(still)
    screen.play(motion, 1.0)
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        due = screen.animate(time.monotonic())
        if due is None:
            return
        wake.wait(max(0.0, min(due, deadline) - time.monotonic()))
        wake.clear()
    raise AssertionError("the video never ended")


def _grey_ramp(png: bytes) -> bool:
    """The test pictures: dark at the left, light at the right, never the red still under them."""
    import io

    image = Image.open(io.BytesIO(png)).convert("RGB")
    w, h = image.size
    left, right = image.getpixel((w // 8, h // 2)), image.getpixel((w * 7 // 8, h // 2))
    return left[0] < right[0] - 60 and abs(left[0] - left[1]) < 20 and abs(right[0] - right[2]) < 20


@pytest.mark.parametrize("name", ["h264.mp4", "vp9.webm"])
def test_a_video_plays_on_a_real_screen_and_ends(screen, files, name):
    _play(screen, _clip(files[name], screen.size))
    stats = screen.last_clip.stats
    assert screen.zone_error is None
    # each of its 30 pictures shown or left out (a busy machine catches up by leaving some out, never drifts)
    assert 0 < stats.shown <= stats.shown + stats.dropped <= 30
    assert stats.audio  # the sound was the clock
    assert _grey_ramp(screen.screenshot_png())  # the video's last picture, scaled to the screen


def test_a_video_damaged_past_its_header_ends_with_the_reason(screen, files, tmp_path):
    motion = _clip(files["long.webm"], screen.size)
    damaged = tmp_path / "long.webm"  # probed whole, then damaged on the card
    damaged.write_bytes(files["cut.webm"].read_bytes()[:2000])
    from dataclasses import replace
    _play(screen, replace(motion, path=damaged))
    assert screen.last_clip.stats.shown < 120  # it ended long before its 8 s


def test_a_looping_video_goes_round_then_fades_out_without_a_black_frame(either, files):
    screen = either
    import pygame

    wake = threading.Event()
    screen.wake = wake
    still = pygame.Surface(screen.size)
    screen.show(still)
    screen.play(_clip(files["h264.mp4"], screen.size, loop=True), 0.0)
    t0 = time.monotonic()
    while screen.last_clip.stats.shown + screen.last_clip.stats.dropped <= 30:
        due = screen.animate(time.monotonic())
        assert due is not None and time.monotonic() - t0 < 20
        wake.wait(max(0.0, due - time.monotonic()))
        wake.clear()
    text = pygame.Surface(screen.size)
    text.fill((0, 0, 255))
    seen = []
    real = screen._render

    def render(layers):  # every frame of the fade read back in its middle: never black
        real(layers)
        seen.append(tuple(screen.renderer.to_surface(area=pygame.Rect(160, 90, 1, 1)).get_at((0, 0)))[:3])

    screen._render = render
    screen.crossfade(text, 100)  # a fade out of the moving picture
    assert seen and (0, 0, 0) not in seen and seen[-1] == (0, 0, 255)
    assert screen.animate() is None  # the new frame ended the video
    import io
    assert Image.open(io.BytesIO(screen.screenshot_png())).convert("RGB").getpixel((10, 10)) == (0, 0, 255)


# --- the loop's decisions (fake clock, fake screen) --------------------------------------------------------

class MovingScreen(FakeScreen):
    """A fake screen whose video has `pictures` pictures 1/10 s apart, or fails after `fails_after`."""

    def __init__(self, clock, pictures=30, fails_after=None):
        super().__init__(clock)
        self.pictures, self.fails_after = pictures, fails_after
        self.playing = None
        self.zone_error = None
        self.volumes: list[tuple[float, float]] = []
        self.animated = 0

    def play(self, motion, level):
        self.playing, self.started, self.zone_error = motion, self.clock.mono, None
        self.volumes.append((self.clock.t, level))

    def show(self, frame):
        self.playing = None
        super().show(frame)

    def crossfade(self, new, duration_ms, old=None):
        self.playing = None
        return super().crossfade(new, duration_ms, old)

    def set_volume(self, level):
        self.volumes.append((self.clock.t, level))

    def animate(self, now):
        if self.playing is None:
            return None
        self.animated += 1
        picture = int((now - self.started) * 10 + 1e-6)
        if self.fails_after is not None and picture >= self.fails_after:
            self.playing, self.zone_error = None, "Invalid data found when processing input"
            return None
        if picture >= self.pictures and not self.playing.loop:
            self.playing = None
            return None
        return self.started + (picture + 1) / 10


class VideoRenderer(FakeRenderer):
    def motion(self, slide):
        from kiosk.screen.clip import Video

        return Video(Path("x.mp4"), (160, 90), 3.0, 10.0, True, (1920, 1080), "fit",
                     slide.duration is not None and slide.duration > 3.0, slide.id)


def _board(tmp_path, slides, screen_kwargs=None, extra=""):
    path = tmp_path / "config.yaml"
    path.write_text(f"device: {{id: thu, name: UBND xã Thử}}\nsource: {{path: {tmp_path}}}\n{extra}",
                    encoding="utf-8")
    cfg = config.load(path)
    clock = FakeClock(WALL)
    screen = MovingScreen(clock, **(screen_kwargs or {}))
    current, status, plays, stop = Current(Programme(tuple(slides), "v1")), Status(), Plays(), threading.Event()
    frames = FrameBuilder(VideoRenderer(), status, "b", builder=Immediate(), speech=Immediate())
    loop = Loop(cfg, screen, frames, current, status, stop, clock=clock, plays=plays, notifier=Notifier(address=""))
    return loop, clock, screen, plays, status, stop


def _run(loop, clock, stop, seconds):
    clock.at(seconds, stop.set)
    assert loop.run() == 0


def _video(sid, duration=None):
    return Slide(id=sid, type="video", duration=duration)


def _text(sid):
    return Slide(id=sid, type="text", title=sid, duration=2.0)


def test_a_video_slot_lasts_the_video_and_the_loop_wakes_for_each_picture(tmp_path):
    loop, clock, screen, plays, _status, stop = _board(tmp_path, [_video("v"), _text("t")])
    _run(loop, clock, stop, 6.5)
    assert [(t, f) for t, _h, f in screen.shown][:3] == [(0.0, "v"), (3.0, "t"), (5.0, "v")]
    assert plays.ids()[:2] == [("v", 3.0, False), ("t", 2.0, False)]
    assert screen.animated >= 30  # woken at each of its pictures, not once a second


def test_a_duration_cuts_a_long_video_or_loops_a_short_one(tmp_path):
    loop, clock, screen, plays, _status, stop = _board(tmp_path, [_video("cut", 2), _video("loop", 7),
                                                                  _text("t")])
    _run(loop, clock, stop, 12)
    assert plays.ids()[:3] == [("cut", 2.0, False), ("loop", 7.0, False), ("t", 2.0, False)]


def test_a_video_that_fails_mid_play_ends_its_slot_and_the_loop_goes_on(tmp_path):
    loop, clock, screen, plays, status, stop = _board(tmp_path, [_video("hong", 20), _text("t")],
                                                      {"fails_after": 12})
    _run(loop, clock, stop, 4)
    assert [(t, f) for t, _h, f in screen.shown][:2] == [(0.0, "hong"), (1.2, "t")]
    assert plays.ids()[0] == ("hong", 1.2, True)
    assert "the video stopped while playing" in status.errors["video:hong"]


def test_quiet_hours_silence_a_playing_video_and_volume_sets_its_level(tmp_path):
    # WALL is 08:00 local; quiet from 08:00:30 would be finer than minutes: use 08:01
    loop, clock, screen, _plays, _status, stop = _board(
        tmp_path, [_video("v", 120)], extra="sound:\n  volume: 40\n  quiet_hours: 08:01-09:00\n")
    _run(loop, clock, stop, 70)
    assert screen.volumes[0] == (0.0, 0.4)
    assert screen.volumes[-1][1] == 0.0 and 60.0 <= screen.volumes[-1][0] < 60.2


def test_volume_levels_through_the_day():
    sound = config.SoundConfig(volume=80, quiet_hours=(dt.time(21, 30), dt.time(6, 0)))
    at = dt.datetime(2026, 12, 1, 21, 29)
    assert volume.level(sound, at) == 0.8
    assert volume.level(sound, at.replace(minute=30)) == 0.0
    assert volume.level(sound, at.replace(hour=5, minute=59)) == 0.0
    assert volume.level(sound, at.replace(hour=6, minute=0)) == 0.8
    assert volume.level(None, at) == 1.0


def test_the_sound_section_of_config_is_checked(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(f"device: {{id: a, name: b}}\nsource: {{path: {tmp_path}}}\n"
                    "sound:\n  volume: 120\n  quiet_hours: 22h-6h\n", encoding="utf-8")
    with pytest.raises(InvalidInput) as bad:
        config.load(path)
    text = str(bad.value)
    assert "sound.volume" in text and "sound.quiet_hours: expected HH:MM-HH:MM" in text and "'22h-6h'" in text


# --- kiosk run and kiosk render -----------------------------------------------------------------------------

def _samples(path: Path) -> array.array:
    data = array.array("h")
    raw = path.read_bytes() if path.exists() else b""
    data.frombytes(raw[: len(raw) // 2 * 2])
    return data


@pytest.mark.parametrize("quiet", [False, True])
def test_kiosk_run_headless_shows_the_video_and_is_heard_unless_quiet(tmp_path, files, quiet):
    content = _authoring(tmp_path / "content", files, ["h264.mp4"])
    (content / "programme.yaml").write_text(
        "slides:\n  - id: h264\n    file: h264.mp4\n    duration: 60\n", encoding="utf-8")
    port = free_port()
    extra = "sound:\n  volume: 100\n" + ("  quiet_hours: 00:00-23:59\n" if quiet else "")
    cfg = write_config(tmp_path, f"  path: {content}", port, extra)
    heard = tmp_path / "heard.raw"
    player = Player(cfg, port, env={"SDL_AUDIODRIVER": "disk", "SDL_DISKAUDIOFILE": str(heard)})
    try:
        assert player.wait_for_notify("READY=1")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and (len(_samples(heard)) < 48000 * 2 * 2):  # 2 s heard
            time.sleep(0.2)
        code, png = player.get("/screenshot.png")
        assert code == 200 and _grey_ramp(png)  # the moving picture, not the still's red nor black
    finally:
        rc, output = player.stop()
    assert rc == 0, output
    assert "Traceback" not in output
    loudest = max(map(abs, _samples(heard)), default=0)
    assert loudest == 0 if quiet else loudest > 5000, loudest


def test_kiosk_render_writes_a_videos_first_picture(tmp_path, files):
    content = _authoring(tmp_path / "content", files, ["vp9.webm"])
    cfg = write_config(tmp_path, f"  path: {content}", free_port())
    out = tmp_path / "png"
    done = subprocess.run([sys.executable, "-m", "kiosk", "render", "-c", str(cfg), "--out", str(out)],
                          env={"PYTHONPATH": str(ROOT), "SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy",
                               "PATH": "/usr/bin:/bin"}, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    image = Image.open(out / "02-vp9.png").convert("RGB")
    assert image.size == (640, 360)
    assert image.getpixel((40, 180))[0] < image.getpixel((600, 180))[0] - 60


@pytest.mark.parametrize("on_gpu", [False, True], ids=["software", "gpu-way"])
def test_a_video_on_a_turned_screen_is_turned_with_it(files, on_gpu):
    from kiosk.screen.display import Screen

    turned = Screen.offscreen((180, 320), rotation=90)  # a portrait panel: the logical screen is 320x180
    turned.hardware = on_gpu
    try:
        assert turned.size == (320, 180)
        _play(turned, _clip(files["h264.mp4"], turned.size))
        assert turned.zone_error is None
        assert _grey_ramp(turned.screenshot_png())  # read back and turned back: left dark, right light
    finally:
        turned.close()


def test_a_board_syncs_a_published_video_and_plays_it(tmp_path, files):
    src = _authoring(tmp_path / "src", files, ["vp9.webm"])
    (src / "programme.yaml").write_text("slides:\n  - id: vp9\n    file: vp9.webm\n    duration: 30\n",
                                        encoding="utf-8")
    publish.publish(src, tmp_path / "www", None)
    server = StaticServer(tmp_path / "www")
    port = free_port()
    player = Player(write_config(tmp_path, f"  url: {server.url}\n  poll_seconds: 5", port), port)
    try:
        assert player.wait_for_notify("READY=1"), player.stop()[1]
        assert player.wait_until(lambda: player.health()[1].get("current_slide") == "vp9", 30)
        assert player.wait_until(lambda: _grey_ramp(player.get("/screenshot.png")[1]), 10)
    finally:
        code, out = player.stop()
        server.close()
    assert code == 0, out
    assert "Traceback" not in out
