"""The player's decisions, driven by a fake clock and a fake screen: no display, no waiting.

Every test plays a programme for some minutes of fake time and checks what a person in front of the
board would have seen, and when: the frames put on screen (shown, faded in), the plays recorded.
The real loop (`Player.run`) runs; only time, the screen and the drawing are stand-ins.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import gc
import threading
import time
import weakref
import zoneinfo
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest
from fakeclock import FakeClock

from kiosk import config
from kiosk.content.current import Current
from kiosk.content.programme import Programme, Slide
from kiosk.content.windows import Window
from kiosk.player.frames import FrameBuilder
from kiosk.player.loop import Player
from kiosk.report.notify import Notifier
from kiosk.screen import power
from kiosk.status import Status

TZ = zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh")
START = dt.datetime(2026, 12, 1, 8, 0, tzinfo=TZ)  # a Tuesday morning
LOCAL = START.replace(tzinfo=None)


@dataclass
class FakeScreen:
    clock: FakeClock
    size: tuple[int, int] = (1920, 1080)
    shown: list[tuple[float, str, str]] = field(default_factory=list)  # (seconds, how, frame)
    ahead: list[tuple[float, str]] = field(default_factory=list)  # frames handed over before their slot

    def show(self, frame) -> None:
        self.shown.append((self.clock.t, "show", frame))

    def crossfade(self, new, duration_ms: int, old=None) -> list[float]:
        self.shown.append((self.clock.t, "fade", new))
        return [1.0]

    def black(self) -> str:
        return "black"

    def pump(self) -> bool:
        return True

    def prepare(self, frame) -> None:
        self.ahead.append((self.clock.t, frame))

    def frames(self) -> list[str]:
        return [frame for _t, _how, frame in self.shown]

    def at(self, seconds: float) -> str:
        """What is on screen at `seconds`."""
        on = [frame for t, _how, frame in self.shown if t <= seconds]
        return on[-1] if on else ""


class FakeRenderer:
    """A slide's pages are the parts of its body between '|'; a frame is a name a test can read."""

    def pages(self, slide: Slide) -> list[str]:
        parts = slide.body.split("|") if slide.body else [""]
        return [f"{slide.id}" + (f"#{n}" if len(parts) > 1 else "") for n in range(1, len(parts) + 1)]

    def idle(self, _name: str, at: dt.datetime) -> str:
        return f"idle {at:%H:%M}"


class Immediate(concurrent.futures.Executor):
    def submit(self, fn, /, *args, **kwargs):
        future: concurrent.futures.Future = concurrent.futures.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as exc:  # noqa: BLE001
            future.set_exception(exc)
        return future


class Plays:
    def __init__(self) -> None:
        self.records = []

    def record(self, play) -> None:
        self.records.append(play)

    def ids(self) -> list[tuple[str, float, bool]]:
        return [(p.slide_id, round(p.duration_s, 1), p.cut_short) for p in self.records]


@dataclass
class Board:
    player: Player
    clock: FakeClock
    screen: FakeScreen
    current: Current
    plays: Plays
    status: Status
    stop: threading.Event

    def run(self, seconds: float) -> None:
        self.clock.at(seconds, self.stop.set)
        assert self.player.run() == 0


def slide(sid: str, duration: float = 10, priority: str = "normal", body: str = "", **window) -> Slide:
    return Slide(id=sid, type="text", title=sid, body=body, duration=float(duration), priority=priority,
                 window=Window(**window))


def programme(*slides: Slide, version: str = "v1") -> Programme:
    return Programme(slides=tuple(slides), version=version)


def board(tmp_path: Path, prog: Programme, extra: str = "", crossfade: int = 600,
          wall: dt.datetime = START, renderer=None, ready=lambda _slide: True) -> Board:
    path = tmp_path / "config.yaml"
    path.write_text(f"device: {{id: thu, name: UBND xã Thử}}\nsource: {{path: {tmp_path}}}\n"
                    f"display:\n  crossfade_ms: {crossfade}\n{extra}", encoding="utf-8")
    cfg = config.load(path)
    clock = FakeClock(wall)
    screen = FakeScreen(clock)
    current, status, plays, stop = Current(prog), Status(), Plays(), threading.Event()
    frames = FrameBuilder(renderer or FakeRenderer(), status, cfg.device.name, builder=Immediate(),
                          speech=Immediate(), ready=ready)
    panel = power.Panel(cfg.display.power)
    player = Player(cfg, screen, frames, current, status, stop, clock=clock, plays=plays, panel=panel,
                    notifier=Notifier(address=""))
    return Board(player, clock, screen, current, plays, status, stop)


def test_slots_end_on_time_and_each_play_is_recorded(tmp_path):
    b = board(tmp_path, programme(slide("a", 10), slide("b", 5)))
    b.run(31)
    assert b.screen.shown == [(0.0, "show", "a"), (10.0, "fade", "b"), (15.0, "fade", "a"), (25.0, "fade", "b"),
                              (30.0, "fade", "a")]
    assert b.plays.ids()[:4] == [("a", 10.0, False), ("b", 5.0, False), ("a", 10.0, False), ("b", 5.0, False)]
    assert b.plays.ids()[-1] == ("a", 1.0, True)  # stopped mid-slot
    assert b.status.counters["slide_changes"] == 5 and b.status.counters["frames_slipped"] == 0


def test_an_emergency_interrupts_at_once_and_holds_the_screen_while_valid(tmp_path):
    normal = programme(slide("a", 10), slide("b", 10))
    until = LOCAL + dt.timedelta(seconds=40)
    storm = programme(slide("a", 10), slide("b", 10), slide("bao", 15, "emergency", valid_until=until), version="v2")
    b = board(tmp_path, normal)
    b.clock.at(3.5, lambda: b.current.replace(storm))
    b.run(60)
    assert b.screen.shown[:2] == [(0.0, "show", "a"), (3.5, "show", "bao")]  # no fade: at once
    assert b.screen.at(39.9) == "bao"  # it repeats while valid, nothing else in between
    assert {f for t, _h, f in b.screen.shown if 3.5 <= t < 40} == {"bao"}
    assert b.screen.at(40.0) != "bao"  # valid_until ends it at that instant, back to the loop
    assert [t for t, _h, f in b.screen.shown if f != "bao" and t > 3.5][0] == 40.0
    assert b.plays.ids()[0] == ("a", 3.5, True)  # the interrupted play is cut short


def test_a_long_notice_turns_its_pages_within_its_slot(tmp_path):
    b = board(tmp_path, programme(slide("nghi-dinh", 30, body="p1|p2|p3"), slide("b", 10)))
    b.run(45)
    assert b.screen.shown[:5] == [(0.0, "show", "nghi-dinh#1"), (10.0, "show", "nghi-dinh#2"),
                                  (20.0, "show", "nghi-dinh#3"), (30.0, "fade", "b"), (40.0, "fade", "nghi-dinh#1")]
    assert b.plays.ids()[0] == ("nghi-dinh", 30.0, False)  # one play for the whole notice


def test_a_new_programme_takes_over_at_the_slide_boundary(tmp_path):
    b = board(tmp_path, programme(slide("a", 10), slide("b", 10)))
    b.clock.at(4, lambda: b.current.replace(programme(slide("moi", 10), slide("khac", 10), version="v2")))
    b.run(25)
    assert b.screen.shown[:3] == [(0.0, "show", "a"), (10.0, "fade", "moi"), (20.0, "fade", "khac")]
    assert b.plays.ids()[0] == ("a", 10.0, False)  # the slide on screen ended normally
    assert b.plays.records[1].content_version == "v2"


def test_the_idle_screen_turns_at_the_minute_and_leaves_when_content_arrives(tmp_path):
    b = board(tmp_path, programme(version="empty"), wall=START + dt.timedelta(seconds=30))
    b.clock.at(95, lambda: b.current.replace(programme(slide("a", 10))))
    b.run(100)
    assert b.screen.shown[:4] == [(0.0, "show", "idle 08:00"), (30.0, "fade", "idle 08:01"),
                                  (90.0, "fade", "idle 08:02"), (95.0, "fade", "a")]
    assert b.plays.ids() == [("a", 5.0, True)]  # the idle screen is no play


def test_the_next_slide_goes_to_the_screen_ahead_of_its_slot(tmp_path):
    b = board(tmp_path, programme(slide("a", 10), slide("b", 10)))
    b.run(25)
    assert b.screen.ahead[:2] == [(0.0, "b"), (10.0, "a")]  # handed over at the first turn once built
    assert [f for _t, how, f in b.screen.shown if how == "fade"][:2] == ["b", "a"]


def test_a_frame_once_on_screen_is_the_screens_alone(tmp_path):
    """A 1080p frame is 8 MB: once shown, neither the loop nor the frame builder keeps it (the screen has its
    pixels); only the next slide's, built ahead, is alive. A slide that follows itself is not drawn again."""
    made: list[weakref.ref] = []

    class Frame:
        def __init__(self, name: str):
            self.name = name

    class Renderer(FakeRenderer):
        def pages(self, slide):
            frame = Frame(slide.id)
            made.append(weakref.ref(frame))
            return [frame]

    class NamingScreen(FakeScreen):  # keeps what it was shown by name only, as a real one keeps pixels
        def show(self, frame):
            super().show(frame.name)

        def crossfade(self, new, duration_ms, old=None):
            return super().crossfade(new.name, duration_ms)

        def prepare(self, frame):
            self.ahead.append((self.clock.t, frame.name))

    b = board(tmp_path, programme(slide("a", 10), slide("b", 10), slide("c", 10)), renderer=Renderer())
    b.player.screen = b.screen = NamingScreen(b.clock)
    b.run(35)
    gc.collect()
    assert b.screen.frames() == ["a", "b", "c", "a"]
    assert [ref().name for ref in made if ref() is not None] == ["b"]  # the next one, built ahead

    (tmp_path / "alone").mkdir()
    alone = board(tmp_path / "alone", programme(slide("a", 10)), renderer=Renderer())
    made.clear()
    alone.player.screen = alone.screen = NamingScreen(alone.clock)
    alone.run(35)
    assert alone.screen.frames() == ["a"] and len(made) == 1  # drawn once, on screen for four slots
    assert [sid for sid, _d, _c in alone.plays.ids()] == ["a"] * 4


def test_a_slide_whose_picture_is_not_ready_is_skipped_for_this_loop_never_waited_for(tmp_path):
    ready = {"b"}  # a cold start: the pictures of a and c are still being prepared
    b = board(tmp_path, programme(slide("a", 10), slide("b", 10), slide("c", 10)), ready=lambda s: s.id in ready)
    b.clock.at(15, lambda: ready.add("c"))
    b.clock.at(25, lambda: ready.add("a"))
    b.run(61)
    # b at once (alone, it follows itself: its frame stays on screen, neither drawn nor shown again); each
    # of the others from its first turn after it became ready
    assert b.screen.frames()[:5] == ["b", "c", "a", "b", "c"]
    assert [t for t, _h, _f in b.screen.shown[:3]] == [0.0, 20.0, 30.0]
    assert [sid for sid, _d, _c in b.plays.ids()][:4] == ["b", "b", "c", "a"]
    assert b.status.counters["frames_slipped"] == 0 and not b.status.errors


def test_a_cold_start_leaves_the_idle_screen_when_the_first_picture_is_ready(tmp_path):
    ready: set[str] = set()
    b = board(tmp_path, programme(slide("a", 10), slide("b", 10)), ready=lambda s: s.id in ready)

    def prepared(sid: str) -> None:
        ready.add(sid)
        b.current.changed.set()  # what the preparer does as each picture gets ready

    b.clock.at(1.3, lambda: prepared("b"))
    b.clock.at(2.0, lambda: prepared("a"))
    b.run(30)
    assert b.screen.shown[:3] == [(0.0, "show", "idle 08:00"), (1.3, "fade", "b"), (11.3, "fade", "a")]


def test_screen_power_goes_dark_on_time_and_an_emergency_wakes_it(tmp_path):
    evening = START.replace(hour=21, minute=59, second=50)
    extra = '  power: {on: "06:00", off: "22:00"}\n'
    storm = programme(slide("a", 10), slide("bao", 10, "emergency"), version="v2")
    b = board(tmp_path, programme(slide("a", 10)), extra=extra, wall=evening)
    b.clock.at(100, lambda: b.current.replace(storm))
    b.run(130)
    assert b.screen.shown[:2] == [(0.0, "show", "a"), (10.0, "show", "black")]  # 22:00 exactly
    assert b.screen.at(99) == "black" and b.screen.at(100) == "bao"
    assert b.plays.ids()[0] == ("a", 10.0, True)  # the screen going off cut it
    assert b.status.power == "on"  # the emergency holds the screen on


def test_the_screen_comes_back_on_in_the_morning(tmp_path):
    dawn = START.replace(hour=5, minute=59, second=30)
    b = board(tmp_path, programme(slide("a", 10)), extra='  power: {on: "06:00", off: "22:00"}\n', wall=dawn)
    b.run(45)
    assert b.screen.shown[:2] == [(0.0, "show", "black"), (30.0, "show", "a")]


def test_a_clock_set_back_replans_at_once(tmp_path):
    """A board whose clock ran a year ahead is corrected while a slide shows: what was "expired" plays."""
    ahead = START + dt.timedelta(days=365)
    notice = slide("tiem-chung", 20, valid_until=LOCAL + dt.timedelta(days=30))
    storm = slide("bao", 20, "emergency", valid_from=LOCAL, valid_until=LOCAL + dt.timedelta(hours=1))
    b = board(tmp_path, programme(notice, storm, slide("b", 20)), wall=ahead)
    b.clock.at(5.5, lambda: setattr(b.clock, "offset", b.clock.offset - 365 * 86400))
    b.run(60)
    assert b.screen.shown[0] == (0.0, "show", "b")  # both look over, a year from now
    # the step back is seen at the next turn (at most a second later): the emergency is on at once
    assert b.screen.shown[1][1:] == ("show", "bao") and 5.5 <= b.screen.shown[1][0] <= 6.5


def test_an_untrusted_clock_plays_every_slide_and_looks_again(tmp_path):
    later = slide("sau", 10, valid_from=LOCAL + dt.timedelta(days=7))
    b = board(tmp_path, programme(slide("a", 10), later))
    b.clock.is_trusted = False
    b.clock.at(35, lambda: setattr(b.clock, "is_trusted", True))
    b.run(80)
    assert "sau" in b.screen.frames()[:3]  # windows are ignored: a wrong date must not blank the board
    assert all(f == "a" for t, _h, f in b.screen.shown if t >= 61)  # trusted again: the window counts
    assert b.status.clock_synced is True


def test_a_slide_that_cannot_be_drawn_is_skipped(tmp_path):
    class Broken(FakeRenderer):
        def pages(self, s):
            if s.id == "hong":
                raise ValueError("picture cannot be loaded")
            return super().pages(s)

    b = board(tmp_path, programme(slide("a", 10), slide("hong", 10), slide("c", 10)))
    b.player.frames.renderer = Broken()
    b.run(25)
    assert b.screen.frames()[:3] == ["a", "c", "a"]
    assert "picture cannot be loaded" in b.status.errors["slide:hong"]


def test_a_late_slide_keeps_the_old_frame_and_counts_as_slipped(tmp_path):
    """Frames not ready in time: the frame on screen stays, the change shows late and is counted."""
    b = board(tmp_path, programme(slide("a", 10), slide("b", 10)))
    late = {"b": 2}  # b's frames are "not ready" twice

    real_get = b.player.frames.get

    def get(s, version, at, wait):
        if s is not None and late.get(s.id):
            late[s.id] -= 1
            return None
        return real_get(s, version, at, wait)

    b.player.frames.get = get
    b.run(15)
    assert b.screen.shown[:2] == [(0.0, "show", "a"), (12.0, "fade", "b")]  # two 1-second holds
    assert b.status.counters["frames_slipped"] == 1
    assert list(b.player.flip_slips) == [pytest.approx(2.0, abs=0.01)]  # measured from the first deadline


class LazyRenderer(FakeRenderer):
    """Pages drawn when indexed, as the real renderer does; it counts the draws and can fail one page."""

    def __init__(self, fail_at: int | None = None):
        self.draws: list[int] = []
        self.fail_at = fail_at

    def pages(self, slide: Slide):
        renderer = self

        class Lazy:
            def __len__(self):
                return slide.body.count("|") + 1

            def __getitem__(self, index):
                renderer.draws.append((slide.id, index))
                if index == renderer.fail_at:
                    raise RuntimeError("surface lost")
                return f"{slide.id}#{index + 1}" if len(self) > 1 else slide.id

        return Lazy()


def test_a_long_notice_is_drawn_a_page_at_a_time_never_all_ahead(tmp_path):
    """The issue: 148 pages drawn ahead, 2.4 GB at 1080p. Now each page is drawn once, one ahead."""
    renderer = LazyRenderer()
    notice = slide("nghi-dinh", 100, body="|".join(["x"] * 100))
    b = board(tmp_path, programme(notice, slide("b", 5)), renderer=renderer)
    def pages_drawn():
        return [index for sid, index in renderer.draws if sid == "nghi-dinh"]

    b.clock.at(0.5, lambda: pages_drawn() == [0, 1] or pytest.fail(f"drawn ahead: {pages_drawn()}"))
    b.clock.at(50.5, lambda: pages_drawn() == list(range(52)) or pytest.fail(f"drawn ahead: {pages_drawn()}"))
    b.run(99.5)
    assert b.screen.frames()[:100] == [f"nghi-dinh#{n}" for n in range(1, 101)]
    assert pages_drawn() == list(range(100))  # each page drawn once, in order: never the whole notice at once


def test_a_page_that_cannot_be_drawn_keeps_the_one_on_screen(tmp_path, caplog):
    renderer = LazyRenderer(fail_at=2)
    b = board(tmp_path, programme(slide("nghi-dinh", 40, body="a|b|c|d"), slide("b", 5)), renderer=renderer)
    b.run(45)
    assert b.screen.at(25) == "nghi-dinh#2" and b.screen.at(39.9) == "nghi-dinh#2"
    assert b.screen.at(40.5) == "b"  # the slot ends on time; nothing crashed
    assert "page 3 of 4 cannot be drawn" in caplog.text


def test_a_display_lost_mid_slide_ends_the_loop_and_loses_no_play(tmp_path):
    b = board(tmp_path, programme(slide("a", 10), slide("b", 10)))
    lost = []
    b.screen.pump = lambda: not lost
    b.clock.at(14, lambda: lost.append(True) or b.current.changed.set())
    assert b.player.run() == 1  # systemd starts the player again
    assert b.plays.ids() == [("a", 10.0, False), ("b", 4.0, True)]


@pytest.mark.parametrize("jump_days", [365, -365])
def test_the_clock_jumping_a_year_on_a_running_player(tmp_path, jump_days):
    """NTP fixing a board that booted a year off (or a bad RTC): re-planned at once, never black, plays sane."""
    week = LOCAL + dt.timedelta(days=7)
    b = board(tmp_path, programme(slide("luon", 10), slide("tuan-nay", 10, valid_until=week)))
    b.clock.at(25, lambda: setattr(b.clock, "offset", b.clock.offset + jump_days * 86400))
    b.run(60)
    before = {f for t, _h, f in b.screen.shown if t < 25}
    after = [f for t, _h, f in b.screen.shown if t > 25.5]
    assert before == {"luon", "tuan-nay"}
    assert "black" not in b.screen.frames()
    if jump_days > 0:  # a week's notice is over a year later: gone at once, not at its slot's end; luon then
        # follows itself (its frame stays on screen: plays, not frames, say it goes on)
        assert set(after) <= {"luon"} and [sid for sid, _d, _c in b.plays.ids()][-3:] == ["luon"] * 3
    else:
        assert set(after) == {"luon", "tuan-nay"}  # still valid (valid_until is ahead), and nothing stalls
    assert all(0 <= duration <= 10.01 for _sid, duration, _cut in b.plays.ids())  # monotonic, not wall


@dataclass
class ZoneScreen(FakeScreen):
    """A screen with zones: `refresh` is asked for at the instants the zones give (a 10 Hz ticker here)."""

    zones: list = field(default_factory=list)
    refreshed: list[float] = field(default_factory=list)
    period: float | None = 0.1

    def set_zones(self, shown, mono, local) -> None:
        self.zones = list(shown)

    def refresh(self, mono, local) -> float:
        self.refreshed.append(self.clock.t)
        if not self.zones:
            return float("inf")
        minute = mono + 60 - local.second - local.microsecond / 1e6
        return min(minute, mono + self.period) if self.period else minute


class ZoneRenderer(FakeRenderer):
    def zones(self, slide, ticker=()):
        return ["header", *(["ticker"] if ticker else [])] if slide.priority != "emergency" else []

    def pages(self, slide, ticker=()):
        return [p + ("+ticker" if ticker else "") for p in super().pages(slide)]


def zone_board(tmp_path, prog, period):
    b = board(tmp_path, prog, renderer=ZoneRenderer())
    screen = ZoneScreen(b.clock, period=period)
    b.player.screen = screen
    b.screen = screen
    return b


def test_the_ticker_gets_its_frames_between_the_loops_deadlines(tmp_path):
    prog = Programme(slides=(slide("a", 10), slide("b", 10)), version="v1", ticker=("Lịch cắt điện",))
    b = zone_board(tmp_path, prog, period=0.1)
    b.run(5)
    assert b.screen.frames()[0] == "a+ticker"  # the slide laid out with the ticker's band
    assert b.screen.zones == ["header", "ticker"]
    steps = [round(y - x, 3) for x, y in zip(b.screen.refreshed, b.screen.refreshed[1:], strict=False)]
    assert len(b.screen.refreshed) >= 49 and max(steps) <= 0.1  # a frame every 0.1 s, none skipped


def test_without_a_ticker_the_clock_alone_wakes_the_loop_exactly_at_the_minute(tmp_path):
    b = zone_board(tmp_path, programme(slide("a", 300)), period=None)
    b.run(130)  # 08:00:00 + 130 s
    assert [t for t in b.screen.refreshed if t > 0] == [60.0, 120.0]
    assert b.screen.zones == ["header"]


def test_an_emergency_takes_the_whole_screen_without_zones(tmp_path):
    prog = Programme(slides=(slide("bao", 10, "emergency"),), version="v1", ticker=("x",))
    b = zone_board(tmp_path, prog, period=0.1)
    b.run(3)
    assert b.screen.zones == [] and [t for t in b.screen.refreshed if t > 0] == []


class SectionRenderer(FakeRenderer):
    """A document's frames decide their own times (kiosk.screen.document.DocumentPages.durations)."""

    class Sections(list):
        durations = (12.0, 8.0, 20.0)

    def pages(self, slide: Slide):
        if slide.id.startswith("doc"):
            return self.Sections([f"{slide.id}#{n}" for n in (1, 2, 3)])
        return super().pages(slide)


def test_a_document_holds_each_section_for_its_own_time_and_its_slot_is_their_sum(tmp_path):
    b = board(tmp_path, programme(slide("doc", 10), slide("b", 10)), renderer=SectionRenderer())
    b.run(55)
    assert b.screen.shown[:5] == [(0.0, "show", "doc#1"), (12.0, "show", "doc#2"), (20.0, "show", "doc#3"),
                                  (40.0, "fade", "b"), (50.0, "fade", "doc#1")]
    assert b.plays.ids()[0] == ("doc", 40.0, False)


def test_a_slide_built_ahead_then_taken_at_its_slot_is_not_sent_ahead_again(tmp_path):
    """b's frames, built ahead while a shows, are taken at b's slot; if b is then also the next (a's
    picture no longer ready), what was built ahead is not asked for again: its frame is the screen's."""
    gate, ready = threading.Event(), {"a": True, "b": True}

    class Slow(FakeRenderer):
        def pages(self, s):
            if s.id == "b":
                gate.wait(10)  # the builder waiting its turn behind a big picture being prepared
            return super().pages(s)

    b = board(tmp_path, programme(slide("a", 10), slide("b", 10)), ready=lambda s: ready[s.id])
    b.player.frames = FrameBuilder(Slow(), b.status, "x", builder=concurrent.futures.ThreadPoolExecutor(1),
                                   speech=Immediate(), ready=lambda s: ready[s.id])

    def a_not_ready():
        ready["a"] = False
        gate.set()
        time.sleep(0.2)  # b is built

    b.clock.at(9.9, a_not_ready)
    b.run(30)  # never a PageError out of the loop
    assert b.screen.frames() == ["a", "b"] and [sid for sid, _d, _c in b.plays.ids()] == ["a", "b", "b"]


def test_a_slide_that_follows_itself_across_a_new_programme_is_drawn_again(tmp_path):
    """The new programme arrives while the loop waits for a slide's frames: they are of the old version,
    so when the slide follows itself in the new programme it is built again (its new ticker shows)."""

    class Ticker(FakeRenderer):
        def pages(self, s, ticker=()):
            return [f"{s.id} [{' '.join(ticker)}]"]

    v1 = replace(programme(slide("a", 10), slide("b", 10), version="v1"), ticker=("cũ",))
    v2 = replace(programme(slide("b", 10), version="v2"), ticker=("MỚI",))
    b = board(tmp_path, v1, renderer=Ticker())
    real_get, swapped = b.player.frames.get, []

    def get(s, version, *args, **kwargs):
        frames = real_get(s, version, *args, **kwargs)
        if s is not None and s.id == "b" and not swapped:  # swapped in while the loop waited for b
            swapped.append(True)
            b.current.replace(v2)
        return frames

    b.player.frames.get = get
    b.run(35)
    assert b.screen.frames()[:3] == ["a [cũ]", "b [cũ]", "b [MỚI]"]
    assert [p.content_version for p in b.plays.records][:3] == ["v1", "v1", "v2"]


def test_a_long_notice_that_follows_itself_never_waits_on_the_render_thread_for_its_first_page(tmp_path):
    """At its last page, its first (handed over long ago) is drawn again on the builder, which may be slow
    (a big page, a busy board): the last page stays a moment longer meanwhile, the loop never blocks."""
    drawn, later = [], []

    class Lazy:  # a renderer's pages, drawn when indexed (screen.slide's)
        def __init__(self, names):
            self.names = names

        def __len__(self):
            return len(self.names)

        def __getitem__(self, i):
            drawn.append(i)
            return self.names[i]

    class Pages(FakeRenderer):
        def pages(self, s):
            return Lazy(super().pages(s))

    class Builder(Immediate):  # draws at once, but page 1 drawn again only takes until 31 s
        def submit(self, fn, /, *args, **kwargs):
            if args == (0,) and 0 in drawn:
                future: concurrent.futures.Future = concurrent.futures.Future()

                def draw():
                    if not future.done():
                        future.set_result(fn(*args))

                later.append(draw)
                timer = threading.Timer(5, draw)  # a loop that waits for it fails the test, never hangs it
                timer.daemon = True
                timer.start()
                return future
            return super().submit(fn, *args, **kwargs)

    b = board(tmp_path, programme(slide("tb", 30, body="1|2|3")))
    b.player.frames = FrameBuilder(Pages(), b.status, "x", builder=Builder(), speech=Immediate())
    b.clock.at(31, lambda: [draw() for draw in later])  # a loop blocked on page 1 would never get here
    b.run(35)
    assert b.screen.frames()[:4] == ["tb#1", "tb#2", "tb#3", "tb#1"] and drawn.count(0) == 2
    assert b.screen.shown[2][0] == 20.0 and b.screen.shown[3][0] >= 31.0  # the last page held meanwhile
