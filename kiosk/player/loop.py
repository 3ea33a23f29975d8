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
from kiosk.content.reading import MIN_READ_SECONDS  # the border warns on the same figure
from kiosk.i18n import _
from kiosk.player import volume
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
SLIPPED_SECONDS = 0.1  # a slide change later than this after its deadline counts in frames_slipped
IDLE_SECONDS = 60.0  # the idle screen's slot when nothing plays (it ends earlier, at the next minute)
LATE_SOUND_SECONDS = 3.0  # a slide's sound made after its slot began still starts this long into it
ZONE_LATE_SECONDS = 0.012  # a zone frame woken later than this is drawn for now, not for when it was due
VIDEO_UNKNOWN_SECONDS = 10.0  # a video whose length could not be learnt (it ends its slot when it ends)
VIDEO_END_SLACK_SECONDS = 0.5  # a video ending this close to its slot's end ends it on time
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
    failed: bool = False  # its video stopped before its slot's end: the play was cut short
    moving: bool = False  # a moving zone (a video) plays over the frame: the screen says when it next changes
    frames: Frames | None = None  # what it was built as (a slide that follows itself is not built again)


def _take(pages, index: int):
    """Page `index`, handed over: Pages (player.frames) then keeps it no longer; a plain list does."""
    take = getattr(pages, "take", None)
    return take(index) if take is not None else pages[index]


def _first(frames: Frames):
    """The first frame of a slide going on screen; a video's stays kept (it shows again when the video does)."""
    return frames.pages[0] if frames.motion is not None else _take(frames.pages, 0)


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
        self._volume = 1.0  # the level the playing video was last given
        self._upcoming = None  # the future of the next slide's frames, until its first frame is uploaded
        self._zone_due = math.inf  # when the zones on screen (clock, ticker) next want a frame
        self._spoken: dict[str, float] = {}  # emergency id -> monotonic instant it was last announced
        self._pending_sound = None  # (future, slide, since): a sound not made yet when its slide showed

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
            log.warning(_("the clock is not trusted yet (not synchronised): time windows are ignored and every "
                          "slide plays until it is"))
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

    def _start(self, slide: Slide | None, frames: Frames, transition: bool, planned: float | None,
               version: str) -> None:
        """`version`: the programme's the frames were built for (Current may have moved on while they were
        waited for: a slide that follows itself is only kept if it is of the same version)."""
        pages = frames.pages
        now = self.now()  # the slide goes on screen now: its frames may have been waited for
        if self.showing is not None:
            self._record_play(self.showing, now, cut_short=now.mono < self.showing.slot_end - 0.5
                              or self.showing.failed)
            gone = self.showing.slide
            if gone is not None and gone.type == "video" and not self.showing.failed:
                self.status.set_error(f"video:{gone.id}", None)  # it played through this time
        duration = IDLE_SECONDS if slide is None else slide.duration if slide.duration is not None else \
            frames.length or VIDEO_UNKNOWN_SECONDS  # a video without duration: its own length
        timed = page_durations(pages)
        if timed:  # a document: each section has its own time, the slot is their sum
            duration = math.fsum(timed)
        # the frame on screen is the screen's: faded from there, and not kept here (8 MB at 1080p)
        again = self.showing is not None and self.showing.frames is frames and self.showing.page == 0 \
            and frames.motion is None  # the slide follows itself: its frame is on screen already
        self._set_zones(frames.zones, now)
        if again:
            first_flip = self.clock.monotonic()
        elif transition and self.showing is not None and self.cfg.display.crossfade_ms > 0:
            fade = self.screen.crossfade(_first(frames), self.cfg.display.crossfade_ms)
            first_flip = now.mono + (fade[0] / 1000 if fade else 0.0)
        else:
            self.screen.show(_first(frames))
            first_flip = self.clock.monotonic()
        flipped = self.clock.monotonic()  # a measurement: the slide is wholly on screen
        heard = self._speak(frames.sound, slide, now)
        duration = max(duration, heard)  # a recorded announcement is heard to its end
        per_page = timed[0] if timed else duration / max(1, len(pages))
        if slide is not None and not timed and len(pages) > 1 and per_page < MIN_READ_SECONDS:
            log.warning(_("slide {slide}: {pages} pages share {duration} s ({seconds} s a page): too fast to read; "
                          "give it a longer duration or a shorter text").format(
                slide=slide.id, pages=len(pages), duration=f"{duration:g}", seconds=f"{per_page:.1f}"))
        play = getattr(self.screen, "play", None)
        moving = frames.motion is not None and play is not None
        if moving:  # the video starts over its first picture, which is on screen now
            self._volume = volume.level(getattr(self.cfg, "sound", None), now.local)
            play(frames.motion, self._volume)
        if planned is not None:  # how late the change began to show, against the slot's deadline
            slip = max(0.0, first_flip - planned)
            self.flip_slips.append(slip)
            if slip > SLIPPED_SECONDS:
                self.status.count("frames_slipped")
        if slide is None:  # the idle clock turns at the next minute
            per_page = duration = 60.0 - now.local.second - now.local.microsecond / 1e6
        self.showing = Showing(slide=slide, pages=pages, page=0, page_end=now.mono + per_page,
                               slot_end=now.mono + duration, started_wall=now.wall, started_mono=flipped,
                               version=version, moving=moving, frames=frames)
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
            showing = self.showing
            if showing is not None and showing.frames is not None and slide is not None \
                    and showing.slide == slide and showing.version == programme.version:
                frames = showing.frames  # it follows itself: built already
                ready = getattr(frames.pages, "ready", None)
                if showing.page != 0 and ready is not None and not ready(0):  # its first page, handed over
                    self._hold(PAGE_RETRY_SECONDS)  # long ago, is being drawn again: never waited for here
                    return
            else:
                frames = self.frames.get(slide, programme.version, now.local, wait, **self._ticker(programme))
            if frames is None:  # not ready in time: keep what is on screen a little longer
                log.warning(_("slide {slide} not ready in time; keeping the current frame").format(
                    slide=slide.id if slide else "idle"))
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
        self._upcoming = None  # whatever was built ahead is taken now, or not the next any more
        self._start(slide, frames, transition=not (interrupt or emergency), planned=planned,
                    version=programme.version)
        upcoming = schedule.next_slide(self.plan, slide.id if slide else None, self.frames.ready)
        if upcoming is not None and (slide is None or upcoming.id != slide.id):
            self._upcoming = self.frames.prebuild(upcoming, programme.version, now.local, **self._ticker(programme))

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
        try:
            if len(pages):
                prepare(pages[0])
        except PageError:  # taken already (it became the slide on screen): nothing to send ahead
            pass

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
            frame = _take(showing.pages, showing.page + 1)
        except PageError as exc:
            log.error(_("slide {slide}: {reason}; its page {page} stays on screen").format(
                slide=showing.slide.id if showing.slide else "idle", reason=exc, page=showing.page + 1))
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

    # --- zones: the parts that change while a slide stands --------------------------------------------
    @staticmethod
    def _ticker(programme: Programme) -> dict:
        """The programme's ticker for the frame builder (nothing when it has none: the plain call)."""
        return {"ticker": programme.ticker} if programme.ticker else {}

    def _set_zones(self, shown, now: Now) -> None:
        set_zones = getattr(self.screen, "set_zones", None)
        if set_zones is None:
            return
        set_zones(list(shown), now.mono, now.local)
        self._zone_due = now.mono if shown else math.inf  # drawn at once, then when they ask

    def _zone_frames(self, wake_at: float) -> None:
        """Sleep until `wake_at`, drawing the zones' frames on the way, each at its instant (the ticker's
        60 a second, the clock's at the minute). A wake-up (new content, a screenshot) ends the wait."""
        refresh = getattr(self.screen, "refresh", None)
        while not self.stop.is_set():
            if refresh is None or self.dark or self._zone_due >= wake_at:
                self.clock.sleep_until(self.wake, wake_at)
                return
            if self.clock.sleep_until(self.wake, self._zone_due):
                return
            now = self.now()
            # drawn for the instant it was due when the wake-up is only a little late: even steps
            mono = self._zone_due if now.mono - self._zone_due < ZONE_LATE_SECONDS else now.mono
            self._zone_due = max(refresh(mono, now.local), now.mono + 0.001)

    def _speak(self, sound, slide: Slide | None = None, now: Now | None = None) -> float:
        """Start the slide's sound (its audio: file or its speech) if it is ready, made ahead with the frames;
        the seconds it lasts (0: none). The last slide's sound stops, except an emergency's own while it
        stands. Quiet hours (sound.quiet_hours) silence all but emergencies; an emergency begins with the
        chime and is heard again only every speech.emergency_repeat_minutes while it stands."""
        if self.speaker is None:
            return 0.0
        emergency = slide is not None and slide.priority == "emergency"
        if not emergency:
            self._spoken.clear()  # an emergency that comes again later is announced again
        elif now is not None and not self._repeat_due(slide, now):
            return 0.0  # it still stands: its announcement keeps playing, or waits for its next turn
        self.speaker.stop()
        if sound is None or slide is None or now is None:
            return 0.0
        if not sound.done():  # made on the speech thread: it may still start early in the slot (turn)
            self._pending_sound = (sound, slide, now.mono)
            return 0.0
        return self._play(sound.result(), slide, now, emergency)

    def _play(self, loaded, slide: Slide, now: Now, emergency: bool) -> float:
        self._pending_sound = None
        if loaded is None:
            return 0.0
        if volume.level(getattr(self.cfg, "sound", None), now.local, emergency) <= 0:
            return 0.0  # sound.quiet_hours (all but emergencies), or sound.volume 0
        self.speaker.play(loaded, chime=emergency) if emergency else self.speaker.play(loaded)
        if emergency:
            self._spoken[slide.id] = now.mono
        length = getattr(loaded, "get_length", None)
        seconds = float(length()) if callable(length) else 0.0
        return seconds + (float(getattr(self.speaker, "chime_seconds", 0.0)) if emergency else 0.0)

    def _late_sound(self, now: Now) -> None:
        """A sound not ready when its slide went on screen starts once it is, within LATE_SOUND_SECONDS of the
        slot's start (the slot then lasts to its end); later than that the slide plays silent."""
        pending, showing = self._pending_sound, self.showing
        if pending is None or showing is None or showing.slide is not pending[1]:
            self._pending_sound = None
            return
        sound, slide, since = pending
        if now.mono - since > LATE_SOUND_SECONDS:
            log.info("sound of slide %s not ready in time for this showing; the slide plays silent", slide.id)
            self._pending_sound = None
            return
        if sound.done():
            heard = self._play(sound.result(), slide, now, slide.priority == "emergency")
            if heard and len(showing.pages) <= 1:
                showing.slot_end = showing.page_end = max(showing.slot_end, now.mono + heard)

    def _repeat_due(self, slide: Slide, now: Now) -> bool:
        """An emergency standing on screen is announced again once its repeat interval has passed."""
        last = self._spoken.get(slide.id)
        if last is None:
            return True
        every = self.cfg.speech.emergency_repeat_minutes * 60
        return every > 0 and now.mono - last >= every - 0.5

    def _animate(self, showing: Showing, now: Now) -> float | None:
        """The moving zone brought up to date by the screen; when its next picture is due. A video that has
        ended (or failed: nothing on screen may freeze) ends its slot now."""
        level = volume.level(getattr(self.cfg, "sound", None), now.local)
        if level != self._volume:  # sound.quiet_hours began or ended, or sound.volume was changed
            self._volume = level
            self.screen.set_volume(level)
        due = self.screen.animate(self.clock.monotonic())  # a crossfade may have passed since `now`
        if due is not None:
            return due
        showing.moving = False
        error = getattr(self.screen, "zone_error", None)
        name = showing.slide.id if showing.slide else "idle"
        if error:
            self.status.set_error(f"video:{name}", _("the video stopped while playing: {reason}").format(reason=error))
        if now.mono < showing.slot_end - VIDEO_END_SLACK_SECONDS:
            if error:
                log.warning(_("slide {slide}: its slot ends {seconds} s early").format(
                    slide=name, seconds=f"{showing.slot_end - now.mono:.1f}"))
                showing.failed = True
            showing.slot_end = showing.page_end = now.mono
        return None

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
        self._set_zones((), now)
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
        showing = self.showing
        motion_due = self._animate(showing, now) if showing.moving and not self.dark else None
        if not self.dark:
            self._upload_ahead()
            self._late_sound(now)
        if not self.screen.pump():
            log.error(_("the display was lost; exiting so that systemd restarts the player"))
            self.status.update(display_ok=False)
            return None
        self._watchdog(now)
        showing = self.showing
        more_pages = showing.page + 1 < len(showing.pages)
        deadline = min(showing.slot_end, showing.page_end) if more_pages else showing.slot_end
        if self._pending_sound is not None:
            deadline = min(deadline, now.mono + PAGE_RETRY_SECONDS)  # look again soon: is the sound made?
        if showing.moving and motion_due is not None:
            deadline = min(deadline, motion_due)  # the video's next picture
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
                self._zone_frames(wake_at)
            return 0
        finally:
            self.finish()

    def _watchdog(self, now: Now) -> None:
        interval = self.notifier.watchdog_interval
        if interval is not None and now.mono >= self._next_watchdog:
            self.notifier.watchdog()
            self._next_watchdog = now.mono + interval
