"""The render loop: one thread that owns the screen and only ever shows what is ready.

It sleeps until the next thing to do (a slot ends, the schedule changes, a
new programme arrives, the watchdog is due) and never redraws a still
frame. Slides are drawn ahead of their slot by a single builder thread, so
the loop itself only blits and flips.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import hashlib
import logging
import threading
import time
import zoneinfo
from dataclasses import dataclass, replace
from pathlib import Path

from kiosk import clock as timesync
from kiosk.config import Config
from kiosk.content import schedule
from kiosk.content import schedule as playlist
from kiosk.content.current import Current
from kiosk.content.programme import Programme, Slide
from kiosk.report.notify import Notifier
from kiosk.screen import power
from kiosk.status import Status

log = logging.getLogger("kiosk.player")

PUMP_SECONDS = 1.0  # wake at least this often to read display events and beat
BUILD_WAIT_SECONDS = 3.0  # how long a due slot may wait for its frames before the old frame stays
CLOCK_JUMP_SECONDS = 2.0
TRUST_RECHECK_SECONDS = 30.0
MIN_READ_SECONDS = 4.0  # below this a page of a long notice flips before anyone can read it


@dataclass(frozen=True)
class Frames:
    """A slide ready for its slot: full-screen pages, and (a future of) its speech for `speak: true`."""

    pages: list
    sound: concurrent.futures.Future | None = None


@dataclass
class Showing:
    slide: Slide | None  # None: the idle screen
    pages: list
    page: int
    page_end: float  # monotonic
    slot_end: float  # monotonic
    started_wall: dt.datetime
    started_mono: float
    version: str


class Player:
    def __init__(self, cfg: Config, screen, renderer, current: Current, status: Status,
                 stop: threading.Event, plays=None, panel: power.Panel | None = None,
                 notifier: Notifier | None = None, reload=lambda: False):
        self.cfg = cfg
        self.screen = screen
        self.renderer = renderer
        self.current = current
        self.status = status
        self.stop = stop
        self.wake = current.changed
        self.plays = plays
        self.panel = panel
        self.dark = False  # the screen is off on purpose (display.power)
        self.notifier = notifier or Notifier()
        self.reload_requested = reload
        self.tz = zoneinfo.ZoneInfo(cfg.schedule.timezone)
        self.builder = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="builder")
        # Speech on its own thread: an emergency's frames never wait behind espeak-ng.
        self.voice = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="speech")
        self._built: dict[tuple, concurrent.futures.Future] = {}
        self.showing: Showing | None = None
        self.plan: schedule.Plan | None = None
        self.clock_trusted = True
        self._planned_at = time.monotonic()
        self._planned: Programme | None = None
        self.flip_slips: list[float] = []  # seconds late per planned flip, for bench/
        self._wall_offset = time.time() - time.monotonic()
        self._ready_sent = False
        self._next_watchdog = 0.0

    # --- time -------------------------------------------------------------------------------
    def now_local(self) -> dt.datetime:
        return dt.datetime.now(self.tz).replace(tzinfo=None)

    def now_aware(self) -> dt.datetime:
        return dt.datetime.now(self.tz).replace(microsecond=0)

    def _clock_jumped(self) -> bool:
        offset = time.time() - time.monotonic()
        jumped = abs(offset - self._wall_offset) > CLOCK_JUMP_SECONDS
        self._wall_offset = offset
        return jumped

    # --- building frames (on the builder thread) -----------------------------------------------
    def _key(self, slide: Slide | None, version: str) -> tuple:
        if slide is None:
            return ("idle", self.now_local().strftime("%Y-%m-%d %H:%M"))
        return (slide.id, version)

    def _build(self, slide: Slide | None) -> Frames:
        if slide is None:
            return Frames([self.renderer.idle(self.cfg.device.name, self.now_local())])
        sound = self.voice.submit(self._speech, slide) if slide.speak else None
        return Frames(self.renderer.pages(slide), sound)

    def _speech(self, slide: Slide):
        """Synthesised on the speech thread; a failure leaves the slide silent, never off screen."""
        from kiosk.cli.run import speech_text
        from kiosk.source import speech

        try:
            path = speech.synthesize(speech_text(slide), self.cfg.speech.voice, self.cfg.speech.rate,
                                     Path(self.cfg.cache.path) / "speech")
            import pygame

            if not pygame.mixer.get_init():  # opened only when a slide speaks: an idle device costs CPU
                pygame.mixer.init()
            sound = pygame.mixer.Sound(str(path))
            self.status.set_error("speech", None)
            return sound
        except Exception as exc:  # noqa: BLE001 - espeak-ng missing, no audio device, …
            log.warning("slide %s will play without speech: %s", slide.id, exc)
            self.status.set_error("speech", str(exc))
            return None

    def prebuild(self, slide: Slide | None, version: str) -> concurrent.futures.Future:
        key = self._key(slide, version)
        future = self._built.get(key)
        if future is None:
            future = self.builder.submit(self._build, slide)
            self._built[key] = future
            # Keep only the current and the next slide's frames: each full-HD frame is 8 MB.
            while len(self._built) > 2:
                self._built.pop(next(iter(self._built)))
        return future

    def frames(self, slide: Slide | None, version: str, wait: float) -> Frames | None:
        future = self.prebuild(slide, version)
        name = f"slide:{slide.id if slide else 'idle'}"
        try:
            frames = future.result(timeout=wait)
            self.status.set_error(name, None)
            return frames
        except concurrent.futures.TimeoutError:
            return None
        except Exception as exc:  # noqa: BLE001 - a slide that cannot be drawn is skipped, not fatal
            log.error("slide %s cannot be drawn: %s", slide.id if slide else "idle", exc)
            self.status.set_error(name, str(exc))
            self._built.pop(self._key(slide, version), None)
            return Frames([])

    # --- decisions ----------------------------------------------------------------------------
    def replan(self, programme: Programme) -> None:
        trusted = timesync.clock_trusted()
        self.plan = schedule.plan(programme, self.now_local(), dates_trusted=trusted)
        self._planned = programme
        self.clock_trusted = trusted
        self._planned_at = time.monotonic()
        self.status.update(
            content_version=programme.version,
            slide_count=len(programme.slides),
            content_warnings=tuple(str(w) for w in programme.warnings),
            clock_synced=trusted,
            emergency=bool(self.plan.emergency),
        )

    def _plan_expired(self) -> bool:
        if self.plan is None or self._seconds_until_trust_check() <= 0:
            return True
        return self.plan.next_change is not None and self.now_local() >= self.plan.next_change

    def _seconds_until_trust_check(self) -> float:
        """While the clock is not trusted, look again every TRUST_RECHECK_SECONDS (it may become so unstepped)."""
        if self.clock_trusted:
            return float("inf")
        return self._planned_at + TRUST_RECHECK_SECONDS - time.monotonic()

    def _seconds_until_plan_change(self) -> float:
        until = self._seconds_until_trust_check()
        if self.plan is None or self.plan.next_change is None:
            return max(0.0, until)
        return max(0.0, min(until, (self.plan.next_change - self.now_local()).total_seconds()))

    # --- showing ------------------------------------------------------------------------------
    def _record_play(self, showing: Showing, cut_short: bool) -> None:
        if self.plays is None or showing.slide is None:
            return
        from kiosk.report.plays import Play

        self.plays.record(
            Play.create(
                showing.slide.id, showing.started_wall, self.now_aware(), cut_short=cut_short,
                content_version=showing.version, duration_s=time.monotonic() - showing.started_mono,
            )
        )

    def _start(self, slide: Slide | None, frames: Frames, transition: bool, planned: float | None) -> None:
        pages = frames.pages
        now = time.monotonic()
        if self.showing is not None:
            self._record_play(self.showing, cut_short=now < self.showing.slot_end - 0.5)
        duration = slide.duration if slide is not None else 60.0
        per_page = duration / max(1, len(pages))
        if slide is not None and len(pages) > 1 and per_page < MIN_READ_SECONDS:
            log.warning("slide %s: %d pages share %g s (%.1f s a page): too fast to read; give it a longer "
                        "duration or a shorter text", slide.id, len(pages), duration, per_page)
        old = self.showing.pages[self.showing.page] if self.showing and self.showing.pages else None
        begin = time.monotonic()
        if transition and old is not None and self.cfg.display.crossfade_ms > 0:
            fade = self.screen.crossfade(old, pages[0], self.cfg.display.crossfade_ms)
            first_flip = begin + (fade[0] / 1000 if fade else 0.0)
        else:
            self.screen.show(pages[0])
            first_flip = time.monotonic()
        flipped = time.monotonic()
        self._speak(frames.sound)
        if planned is not None:  # how late the change began to show, against the slot's deadline
            self.flip_slips.append(max(0.0, first_flip - planned))
        if slide is None:  # the idle clock turns at the next minute
            seconds = 60 - self.now_local().second
            per_page = duration = float(seconds)
        self.showing = Showing(
            slide=slide, pages=pages, page=0, page_end=now + per_page, slot_end=now + duration,
            started_wall=self.now_aware(), started_mono=flipped,
            version=self.current.get().version,
        )
        self.status.update(current_slide=slide.id if slide else None)
        try:
            from kiosk.report import metrics

            metrics.slide_changed()
        except (ImportError, AttributeError):
            pass
        if not self._ready_sent:
            self._ready_sent = True
            self.notifier.ready(f"playing {slide.id if slide else 'idle screen'}")
            log.info("first frame on screen: %s", slide.id if slide else "idle screen")

    def advance(self, planned: float | None, interrupt: bool = False) -> None:  # noqa: C901 - one decision
        """Put the next slide on screen; keep the current frame if the next one is not ready."""
        programme = self.current.get()
        if programme is not self._planned or self._plan_expired():
            self.replan(programme)
        assert self.plan is not None
        previous = self.showing.slide.id if self.showing and self.showing.slide else None
        tried: set[str] = set()
        while True:
            slide = playlist.next_slide(self.plan.emergency, self.plan.loop, previous)
            if slide is not None and slide.id in tried:
                slide = None  # every candidate failed to draw: idle screen
            wait = BUILD_WAIT_SECONDS if self.showing is not None else 30.0
            frames = self.frames(slide, programme.version, wait)
            if frames is None:  # not ready in time: keep what is on screen a little longer
                log.warning("slide %s not ready in time; keeping the current frame", slide.id if slide else "idle")
                if self.showing is not None:
                    self.showing.slot_end = self.showing.page_end = time.monotonic() + 1.0
                    return
                continue
            if frames.pages or slide is None:
                break
            tried.add(slide.id)
            previous = slide.id
        emergency = slide is not None and slide.priority == "emergency"
        if not frames.pages:  # even the idle screen failed to draw: keep the last frame
            if self.showing is None:
                raise RuntimeError("nothing can be drawn, not even the idle screen")
            self.showing.slot_end = self.showing.page_end = time.monotonic() + 5.0
            return
        self._start(slide, frames, transition=not (interrupt or emergency), planned=planned)
        upcoming = playlist.next_slide(self.plan.emergency, self.plan.loop, slide.id if slide else None)
        if upcoming is not None and (slide is None or upcoming.id != slide.id):
            self.prebuild(upcoming, programme.version)

    def next_page(self) -> None:
        showing = self.showing
        assert showing is not None
        showing.page += 1
        self.screen.show(showing.pages[showing.page])
        per_page = (showing.slot_end - showing.page_end) / max(1, len(showing.pages) - showing.page)
        showing.page_end = time.monotonic() + per_page

    def _speak(self, sound: concurrent.futures.Future | None) -> None:
        """Stop the last slide's voice; start this one's if it is ready (it is made ahead, with the frames)."""
        import pygame

        if pygame.mixer.get_init():
            pygame.mixer.stop()
        if sound is not None:
            if sound.done() and sound.result() is not None:
                sound.result().play()
            elif not sound.done():
                log.info("speech not ready in time for this showing; the slide plays silent")

    # --- screen power ---------------------------------------------------------------------------
    def _power_wanted(self) -> bool:
        """display.power decides, but an emergency always wakes the screen."""
        cfg = self.cfg.display.power
        if cfg is None:
            return True
        return power.wanted(cfg, self.now_local(), self.clock_trusted) or bool(self.plan and self.plan.emergency)

    def _seconds_until_power_change(self) -> float:
        cfg = self.cfg.display.power
        if cfg is None:
            return float("inf")
        change = power.next_change(cfg, self.now_local(), self.clock_trusted)
        return float("inf") if change is None else max(0.0, (change - self.now_local()).total_seconds())

    def _apply_power(self) -> bool:
        """Switch the screen off or on when display.power (or an emergency) asks; True if it did."""
        wanted = self._power_wanted()
        if wanted != self.dark:
            return False
        if wanted:
            self._wake_up()
        else:
            self._go_dark()
        return True

    def _go_dark(self) -> None:
        """Screen off on purpose: the last play ends, the panel is switched off, black is drawn."""
        import pygame

        if self.showing is not None:
            self._record_play(self.showing, cut_short=True)
        state = self.panel.set(False) if self.panel is not None else power.OFF_BLACK
        black = pygame.Surface(self.screen.size)
        black.fill((0, 0, 0))
        self.screen.show(black)
        self._speak(None)
        now = time.monotonic()
        self.showing = Showing(None, [black], 0, float("inf"), float("inf"), self.now_aware(), now, "")
        self.dark = True
        self.status.update(current_slide=None, power=state)
        if not self._ready_sent:
            self._ready_sent = True
            self.notifier.ready("screen off (display.power)")
        log.info("screen off until %s (display.power)", "the next 'on' time")

    def _wake_up(self) -> None:
        state = self.panel.set(True) if self.panel is not None else power.ON
        self.dark = False
        self.showing = None if self.showing is None or self.showing.slide is None else self.showing
        self.status.update(power=state)
        log.info("screen on (display.power%s)", " overridden by an emergency" if self.plan.emergency else "")
        self.advance(planned=None, interrupt=True)

    # --- the loop -------------------------------------------------------------------------------
    def run(self) -> int:
        """Play until `stop` is set. Returns 0 on a clean stop, 1 when the display is lost."""
        self.replan(self.current.get())
        wanted = self._power_wanted()
        if self.panel is not None:  # a panel left in standby by an earlier run must come back on
            self.status.update(power=self.panel.set(wanted))
        if wanted:
            self.advance(planned=None)
        else:
            self._go_dark()
        while not self.stop.is_set() and not self.reload_requested():
            now = time.monotonic()
            self.wake.clear()  # before reading: a replace() after this line wakes the next wait
            programme = self.current.get()
            if programme is not self._planned or self._clock_jumped() or self._plan_expired():
                self.replan(programme)
                assert self.plan is not None and self.showing is not None
                if self._apply_power() or self.dark:
                    pass  # power first: an emergency wakes the screen, none flashes before it goes dark
                elif playlist.must_interrupt(self.plan.emergency, self.showing.slide):
                    self.advance(planned=None, interrupt=True)
                elif self.showing.slide is None and playlist.playable(self.plan.emergency, self.plan.loop):
                    self.advance(planned=None)  # content arrived: leave the idle screen at once
            else:
                self._apply_power()  # an on/off time of display.power may have come
            showing = self.showing
            assert showing is not None
            if self.dark:
                pass
            elif now >= showing.slot_end:
                self.advance(planned=showing.slot_end)
            elif now >= showing.page_end and showing.page + 1 < len(showing.pages):
                self.next_page()
            if not self.screen.pump():
                log.error("the display was lost; exiting so that systemd restarts the player")
                self.status.update(display_ok=False)
                return 1
            self._watchdog()
            showing = self.showing
            more_pages = showing.page + 1 < len(showing.pages)
            deadline = min(showing.slot_end, showing.page_end) if more_pages else showing.slot_end
            timeout = min(deadline - time.monotonic(), self._seconds_until_plan_change(),
                          self._seconds_until_power_change(), PUMP_SECONDS)
            self.status.beat(time.monotonic() + max(timeout, 0) + PUMP_SECONDS)
            if timeout > 0:
                self.wake.wait(timeout)
        if self.showing is not None:
            self._record_play(self.showing, cut_short=time.monotonic() < self.showing.slot_end - 0.5)
        self.builder.shutdown(wait=False, cancel_futures=True)
        self.voice.shutdown(wait=False, cancel_futures=True)
        return 0

    def _watchdog(self) -> None:
        interval = self.notifier.watchdog_interval
        if interval is not None and time.monotonic() >= self._next_watchdog:
            self.notifier.watchdog()
            self._next_watchdog = time.monotonic() + interval


def without_unpreparable(programme: Programme, problems: dict[str, str]) -> Programme:
    """Drop slides whose media could not be prepared, and say why in the programme's warnings."""
    if not problems:
        return programme
    from kiosk.problems import Problem

    warnings = programme.warnings + tuple(Problem(sid, None, "", msg) for sid, msg in problems.items())
    kept = tuple(s for s in programme.slides if s.id not in problems)
    # A version of its own: once the cause is mended, the whole programme differs and replaces this one.
    dropped = hashlib.sha256(" ".join(sorted(problems)).encode()).hexdigest()[:8]
    return replace(programme, slides=kept, warnings=warnings, version=f"{programme.version}-{dropped}")
