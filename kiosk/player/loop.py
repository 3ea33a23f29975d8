"""The render loop's decisions: which slide, when, interrupts, paging and screen power.

`Player` is the one object that decides what is on the screen. It imports no pygame and keeps no clock
of its own: time comes from `clock` (kiosk.clock.SystemClock on a board, a fake one in tests), frames
from a FrameBuilder, and everything visible goes through `screen` (show, crossfade, black, pump). So its
decisions are tested without a display or a wait (tests/test_player.py).

Each turn reads the clock once (a `Now`), decides, and returns the monotonic instant it may sleep until:
the slot or page ends, the schedule or the screen power changes, or a second at most (display events,
the health beat); `current.changed` wakes it early for new content. The clock is read again only where
something blocked in between (a slide's frames waited for, a crossfade) and for measurements.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import threading
import zoneinfo
from collections import deque
from dataclasses import dataclass

from kiosk import clock as clockmod
from kiosk.config import Config
from kiosk.content import schedule
from kiosk.content.current import Current
from kiosk.content.programme import Programme, Slide
from kiosk.player.frames import FrameBuilder, Frames, PageError
from kiosk.report.notify import Notifier
from kiosk.report.plays import Play
from kiosk.screen import power
from kiosk.status import Status

log = logging.getLogger("kiosk.player")

PUMP_SECONDS = 1.0  # wake at least this often to read display events and beat
BUILD_WAIT_SECONDS = 3.0  # how long a due slot may wait for its frames before the old frame stays
FIRST_WAIT_SECONDS = 30.0  # the first frame: nothing is on screen yet, so wait longer
NOT_READY_RETRY_SECONDS = 1.0
PAGE_RETRY_SECONDS = 0.1  # the next page of a long notice is still being drawn: look again this soon
UNDRAWABLE_RETRY_SECONDS = 5.0
CLOCK_JUMP_SECONDS = 2.0
TRUST_RECHECK_SECONDS = 30.0
MIN_READ_SECONDS = 4.0  # below this a page of a long notice flips before anyone can read it
SLIPPED_SECONDS = 0.1  # a slide change later than this after its deadline counts in frames_slipped
IDLE_SECONDS = 60.0  # the idle screen's slot when nothing plays (it ends earlier, at the next minute)
SLIPS_KEPT = 10_000  # flip_slips keeps the latest: bench/ reads them, a board runs for months


@dataclass(frozen=True)
class Now:
    """One reading of the clocks: monotonic for deadlines, wall and local time for what a person sees."""

    mono: float
    wall: float  # epoch seconds
    local: dt.datetime  # naive, in schedule.timezone


@dataclass
class Showing:
    slide: Slide | None  # None: the idle screen (or black while the screen is off)
    pages: object  # a sequence of frames
    page: int
    page_end: float  # monotonic
    slot_end: float  # monotonic
    started_wall: float
    started_mono: float
    version: str
    due: float | None = None  # the slot's first deadline, when the next slide was late and this one held on


def page_durations(pages) -> tuple[float, ...] | None:
    """Seconds on screen for each page when its frames decide them (a document's sections), else None: the
    slide's duration is then shared out evenly."""
    durations = getattr(pages, "durations", None)
    if durations is None or len(durations) != len(pages) or not len(pages):
        return None
    return tuple(float(d) for d in durations)


class Player:
    def __init__(self, cfg: Config, screen, frames: FrameBuilder, current: Current, status: Status,
                 stop: threading.Event, *, clock=None, speaker=None, plays=None,
                 panel: power.Panel | None = None, notifier: Notifier | None = None, reload=lambda: False):
        self.cfg = cfg
        self.screen = screen
        self.frames = frames
        self.current = current
        self.status = status
        self.stop = stop
        self.clock = clock or clockmod.SystemClock()
        self.speaker = speaker
        self.wake = current.changed
        self.plays = plays
        self.panel = panel
        self.notifier = notifier or Notifier()
        self.reload_requested = reload
        self.tz = zoneinfo.ZoneInfo(cfg.schedule.timezone)
        self.dark = False  # the screen is off on purpose (display.power)
        self.showing: Showing | None = None
        self.plan: schedule.Plan | None = None
        self.clock_trusted = True
        self._planned: Programme | None = None
        self._planned_at = 0.0
        self._last_reading: tuple[float, float] | None = None  # (wall, mono) of the previous turn
        self.flip_slips: deque[float] = deque(maxlen=SLIPS_KEPT)  # seconds late per planned flip, for bench/
        self._ready_sent = False
        self._next_watchdog = 0.0
        self._upcoming = None  # the future of the next slide's frames, until its first frame is uploaded

    # --- time -------------------------------------------------------------------------------------
    def now(self) -> Now:
        wall = self.clock.wall()
        return Now(self.clock.monotonic(), wall, self._local(wall))

    def _local(self, wall: float) -> dt.datetime:
        return dt.datetime.fromtimestamp(wall, self.tz).replace(tzinfo=None)

    def _aware(self, wall: float) -> dt.datetime:
        return dt.datetime.fromtimestamp(wall, self.tz).replace(microsecond=0)

    def _clock_jumped(self, now: Now) -> bool:
        before, self._last_reading = self._last_reading, (now.wall, now.mono)
        return before is not None and clockmod.jumped(*before, now.wall, now.mono, CLOCK_JUMP_SECONDS)

    # --- the schedule -----------------------------------------------------------------------------
    def replan(self, programme: Programme, now: Now) -> None:
        trusted = self.clock.trusted()
        before = self.plan
        self.plan = schedule.plan(programme, now.local, dates_trusted=trusted)
        if self.plan.ignored_dates and not (before and before.ignored_dates):
            log.warning("the clock is not trusted yet (not synchronised): time windows are ignored and every "
                        "slide plays until it is")
        self._planned, self.clock_trusted, self._planned_at = programme, trusted, now.mono
        self.status.update(
            content_version=programme.version,
            content_format=programme.format,
            slide_count=len(programme.slides),
            content_warnings=tuple(str(w) for w in programme.warnings),
            clock_synced=trusted,
            emergency=bool(self.plan.emergency),
        )

    def _plan_expired(self, now: Now) -> bool:
        if self.plan is None or self._until_trust_check(now) <= 0:
            return True
        return self.plan.next_change is not None and now.local >= self.plan.next_change

    def _until_trust_check(self, now: Now) -> float:
        """While the clock is not trusted, look again every TRUST_RECHECK_SECONDS (it may become so unstepped)."""
        return math.inf if self.clock_trusted else self._planned_at + TRUST_RECHECK_SECONDS - now.mono

    def _until_plan_change(self, now: Now) -> float:
        until = self._until_trust_check(now)
        if self.plan is None or self.plan.next_change is None:
            return max(0.0, until)
        return max(0.0, min(until, (self.plan.next_change - now.local).total_seconds()))

    # --- showing ----------------------------------------------------------------------------------
    def _record_play(self, showing: Showing, now: Now, cut_short: bool) -> None:
        if self.plays is None or showing.slide is None:
            return
        self.plays.record(Play.create(
            showing.slide.id, self._aware(showing.started_wall), self._aware(now.wall), cut_short=cut_short,
            content_version=showing.version, duration_s=now.mono - showing.started_mono,
        ))

    def _start(self, slide: Slide | None, frames: Frames, transition: bool, planned: float | None) -> None:
        pages = frames.pages
        now = self.now()  # the slide goes on screen now: its frames may have been waited for
        if self.showing is not None:
            self._record_play(self.showing, now, cut_short=now.mono < self.showing.slot_end - 0.5)
        duration = slide.duration if slide is not None else IDLE_SECONDS
        per_page = duration / max(1, len(pages))
        timed = page_durations(pages)
        if timed:  # a document: each section has its own time, the slot is their sum
            per_page, duration = timed[0], math.fsum(timed)
        if slide is not None and not timed and len(pages) > 1 and per_page < MIN_READ_SECONDS:
            log.warning("slide %s: %d pages share %g s (%.1f s a page): too fast to read; give it a longer "
                        "duration or a shorter text", slide.id, len(pages), duration, per_page)
        old = self.showing.pages[self.showing.page] if self.showing and len(self.showing.pages) else None
        if transition and old is not None and self.cfg.display.crossfade_ms > 0:
            fade = self.screen.crossfade(old, pages[0], self.cfg.display.crossfade_ms)
            first_flip = now.mono + (fade[0] / 1000 if fade else 0.0)
        else:
            self.screen.show(pages[0])
            first_flip = self.clock.monotonic()
        flipped = self.clock.monotonic()  # a measurement: the slide is wholly on screen
        self._speak(frames.sound)
        if planned is not None:  # how late the change began to show, against the slot's deadline
            slip = max(0.0, first_flip - planned)
            self.flip_slips.append(slip)
            if slip > SLIPPED_SECONDS:
                self.status.count("frames_slipped")
        if slide is None:  # the idle clock turns at the next minute
            per_page = duration = 60.0 - now.local.second - now.local.microsecond / 1e6
        self.showing = Showing(slide=slide, pages=pages, page=0, page_end=now.mono + per_page,
                               slot_end=now.mono + duration, started_wall=now.wall, started_mono=flipped,
                               version=self.current.get().version)
        self.status.slide_started(slide.id if slide else None)
        if not self._ready_sent:
            self._ready_sent = True
            self.notifier.ready(f"playing {slide.id if slide else 'idle screen'}")
            log.info("first frame on screen: %s", slide.id if slide else "idle screen")

    def advance(self, now: Now, planned: float | None, interrupt: bool = False) -> None:
        """Put the next slide on screen; keep the current frame if the next one is not ready."""
        programme = self.current.get()
        if programme is not self._planned or self._plan_expired(now):
            self.replan(programme, now)
        assert self.plan is not None
        previous = self.showing.slide.id if self.showing and self.showing.slide else None
        tried: set[str] = set()
        while True:
            slide = schedule.next_slide(self.plan, previous, self.frames.ready)  # not ready yet: skipped this loop
            if slide is not None and slide.id in tried:
                slide = None  # every candidate failed to draw: idle screen
            wait = BUILD_WAIT_SECONDS if self.showing is not None else FIRST_WAIT_SECONDS
            frames = self.frames.get(slide, programme.version, now.local, wait)
            if frames is None:  # not ready in time: keep what is on screen a little longer
                log.warning("slide %s not ready in time; keeping the current frame", slide.id if slide else "idle")
                if self.showing is not None:
                    self._hold(NOT_READY_RETRY_SECONDS)
                    return
                continue
            if len(frames.pages) or slide is None:
                break
            tried.add(slide.id)
            previous = slide.id
        if not len(frames.pages):  # even the idle screen failed to draw: keep the last frame
            if self.showing is None:
                raise RuntimeError("nothing can be drawn, not even the idle screen")
            self._hold(UNDRAWABLE_RETRY_SECONDS)
            return
        emergency = slide is not None and slide.priority == "emergency"
        self._start(slide, frames, transition=not (interrupt or emergency), planned=planned)
        upcoming = schedule.next_slide(self.plan, slide.id if slide else None, self.frames.ready)
        if upcoming is not None and (slide is None or upcoming.id != slide.id):
            self._upcoming = self.frames.prebuild(upcoming, programme.version, now.local)

    def _upload_ahead(self) -> None:
        """The next slide's first frame goes to the screen (a texture, on a GPU) once it is built, before
        its slot: the slot boundary then only draws."""
        future, prepare = self._upcoming, getattr(self.screen, "prepare", None)
        if future is None or not future.done():
            return
        self._upcoming = None
        if prepare is None or future.exception() is not None:
            return
        pages = future.result().pages
        if len(pages):
            prepare(pages[0])

    def _something_ready(self) -> bool:
        """While the idle screen shows: a slide of the plan can show now (its picture became ready)."""
        return bool(self.plan and self.plan.slides) and \
            schedule.next_slide(self.plan, None, self.frames.ready) is not None

    def _hold(self, seconds: float) -> None:
        """Keep the frame on screen `seconds` more, then try again (the clock is read: we may have waited)."""
        assert self.showing is not None
        if self.showing.due is None:
            self.showing.due = self.showing.slot_end
        self.showing.slot_end = self.showing.page_end = self.clock.monotonic() + seconds

    def next_page(self, now: Now) -> None:
        """The next page of a long notice. Pages are drawn one ahead (player.frames.Pages): one not drawn yet
        keeps the page on screen a moment longer, one that cannot be drawn keeps it to the end of the slot."""
        showing = self.showing
        assert showing is not None
        ready = getattr(showing.pages, "ready", None)  # a plain list is always ready
        if ready is not None and not ready(showing.page + 1):
            showing.page_end = now.mono + PAGE_RETRY_SECONDS
            return
        try:
            frame = showing.pages[showing.page + 1]
        except PageError as exc:
            log.error("slide %s: %s; its page %d stays on screen", showing.slide.id if showing.slide else "idle",
                      exc, showing.page + 1)
            showing.page_end = showing.slot_end
            return
        remaining = len(showing.pages) - showing.page - 1
        per_page = (showing.slot_end - showing.page_end) / max(1, remaining)
        timed = page_durations(showing.pages)
        if timed:
            per_page = timed[showing.page + 1]
        showing.page += 1
        self.screen.show(frame)
        showing.page_end = now.mono + per_page

    def _speak(self, sound) -> None:
        """Stop the last slide's voice; start this one's if it is ready (it is made ahead, with the frames)."""
        if self.speaker is None:
            return
        self.speaker.stop()
        if sound is not None:
            if sound.done() and sound.result() is not None:
                self.speaker.play(sound.result())
            elif not sound.done():
                log.info("speech not ready in time for this showing; the slide plays silent")

    # --- screen power -------------------------------------------------------------------------------
    def _power_wanted(self, now: Now) -> bool:
        """display.power decides, but an emergency always wakes the screen."""
        cfg = self.cfg.display.power
        if cfg is None:
            return True
        return power.wanted(cfg, now.local, self.clock_trusted) or bool(self.plan and self.plan.emergency)

    def _until_power_change(self, now: Now) -> float:
        cfg = self.cfg.display.power
        if cfg is None:
            return math.inf
        change = power.next_change(cfg, now.local, self.clock_trusted)
        return math.inf if change is None else max(0.0, (change - now.local).total_seconds())

    def _apply_power(self, now: Now) -> bool:
        """Switch the screen off or on when display.power (or an emergency) asks; True if it did."""
        wanted = self._power_wanted(now)
        if wanted != self.dark:
            return False
        if wanted:
            self._wake_up(now)
        else:
            self._go_dark(now)
        return True

    def _go_dark(self, now: Now) -> None:
        """Screen off on purpose: the last play ends, the panel is switched off, black is drawn."""
        if self.showing is not None:
            self._record_play(self.showing, now, cut_short=True)
        state = self.panel.set(False) if self.panel is not None else power.OFF_BLACK
        black = self.screen.black()
        self.screen.show(black)
        self._speak(None)
        self.showing = Showing(None, [black], 0, math.inf, math.inf, now.wall, now.mono, "")
        self.dark = True
        self.status.update(current_slide=None, power=state)
        if not self._ready_sent:
            self._ready_sent = True
            self.notifier.ready("screen off (display.power)")
        log.info("screen off until %s (display.power)", "the next 'on' time")

    def _wake_up(self, now: Now) -> None:
        state = self.panel.set(True) if self.panel is not None else power.ON
        self.dark = False
        self.showing = None if self.showing is None or self.showing.slide is None else self.showing
        self.status.update(power=state)
        log.info("screen on (display.power%s)", " overridden by an emergency" if self.plan.emergency else "")
        self.advance(now, planned=None, interrupt=True)

    # --- the loop -------------------------------------------------------------------------------------
    def begin(self) -> None:
        """The first frame (or black, when display.power says the screen is off now)."""
        now = self.now()
        self._last_reading = (now.wall, now.mono)
        self.replan(self.current.get(), now)
        wanted = self._power_wanted(now)
        if self.panel is not None:  # a panel left in standby by an earlier run must come back on
            self.status.update(power=self.panel.set(wanted))
        if wanted:
            self.advance(now, planned=None)
        else:
            self._go_dark(now)

    def turn(self) -> float | None:
        """One turn of the loop; the monotonic instant to sleep until, or None when the display is lost."""
        now = self.now()
        self.wake.clear()  # before reading: a replace() after this line wakes the next wait
        programme = self.current.get()
        if programme is not self._planned or self._clock_jumped(now) or self._plan_expired(now):
            self.replan(programme, now)
            assert self.plan is not None and self.showing is not None
            if self._apply_power(now) or self.dark:
                pass  # power first: an emergency wakes the screen, none flashes before it goes dark
            elif schedule.must_interrupt(self.plan, self.showing.slide):
                self.advance(now, planned=None, interrupt=True)
            elif self.showing.slide is None and self._something_ready():
                self.advance(now, planned=None)  # content arrived: leave the idle screen at once
        else:
            self._apply_power(now)  # an on/off time of display.power may have come
        showing = self.showing
        assert showing is not None
        if self.dark:
            pass
        elif now.mono >= showing.slot_end:
            self.advance(now, planned=showing.slot_end if showing.due is None else showing.due)
        elif now.mono >= showing.page_end and showing.page + 1 < len(showing.pages):
            self.next_page(now)
        elif showing.slide is None and self._something_ready():
            self.advance(now, planned=None)  # a cold start: the first picture is prepared, leave the idle screen
        if not self.dark:
            self._upload_ahead()
        if not self.screen.pump():
            log.error("the display was lost; exiting so that systemd restarts the player")
            self.status.update(display_ok=False)
            return None
        self._watchdog(now)
        showing = self.showing
        more_pages = showing.page + 1 < len(showing.pages)
        deadline = min(showing.slot_end, showing.page_end) if more_pages else showing.slot_end
        wake_at = min(deadline, now.mono + min(self._until_plan_change(now), self._until_power_change(now),
                                               PUMP_SECONDS))
        self.status.beat(max(wake_at, now.mono) + PUMP_SECONDS)
        return wake_at

    def finish(self) -> None:
        if self.showing is not None:
            now = self.now()
            self._record_play(self.showing, now, cut_short=now.mono < self.showing.slot_end - 0.5)
        self.frames.close()

    def run(self) -> int:
        """Play until `stop` is set (or a reload is wanted). 0 on a clean stop, 1 when the display is lost
        (the play on screen is recorded either way: a lost display is no reason to lose proof of play)."""
        self.begin()
        try:
            while not self.stop.is_set() and not self.reload_requested():
                wake_at = self.turn()
                if wake_at is None:
                    return 1
                self.clock.sleep_until(self.wake, wake_at)
            return 0
        finally:
            self.finish()

    def _watchdog(self, now: Now) -> None:
        interval = self.notifier.watchdog_interval
        if interval is not None and now.mono >= self._next_watchdog:
            self.notifier.watchdog()
            self._next_watchdog = now.mono + interval
