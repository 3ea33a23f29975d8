"""Frames drawn ahead of their slot: one builder thread draws slides, one speech thread makes their voice.

The loop only ever asks for frames it will show now or next; drawing (text layout, loading prepared
pictures) and speech synthesis happen here, off the loop, so a slot boundary costs a flip. A long
notice's pages are drawn one by one (Pages), so its memory is two pages whatever its length. Frames are
whatever the renderer makes (pygame surfaces on a board, strings in tests): this module never looks
inside them, and imports no pygame.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from kiosk.content.programme import Slide
from kiosk.i18n import _
from kiosk.status import Status

log = logging.getLogger("kiosk.player")

KEEP = 2  # slides built ahead and not yet taken by the loop (a full-HD frame is 8 MB; one on screen is the screen's)


class PageError(ValueError):
    """A page of a long notice could not be drawn (the one on screen stays)."""


class Pages(Sequence):
    """A slide's pages, drawn one at a time on the builder thread: the page asked for and the next.

    A long notice is many full-screen pages (148 for 100,000 characters: 1.2 GB at 1080p); only the
    page on screen and the one after it exist, the next being drawn while the current one is read.
    `take(i)` hands page i over and forgets it: once on screen its pixels are the screen's, so a page
    shown is not kept here as well (8 MB at 1080p); asked for again, it is drawn again.
    `source` is the renderer's sequence (a page is drawn when indexed); the first page is drawn at
    once, by the caller (the builder thread, building the slide). `ready(i)` says whether page i is
    drawn, so the render loop never waits for one.
    """

    def __init__(self, source: Sequence, builder: concurrent.futures.Executor):
        self._source, self._builder = source, builder
        self._count = len(source)
        self.durations = getattr(source, "durations", None)  # seconds per page, when the source decides them
        self._lock = threading.Lock()
        self._drawn: dict[int, concurrent.futures.Future] = {}
        if self._count:
            first: concurrent.futures.Future = concurrent.futures.Future()
            first.set_result(source[0])
            self._drawn[0] = first
            if self._count > 1:
                self._draw(1)
            elif isinstance(source, list):
                self._source = None  # its one frame is ours now: the list would keep it alive

    def __len__(self) -> int:
        return self._count

    def _draw(self, index: int) -> concurrent.futures.Future:
        future = self._drawn.get(index)
        if future is None:
            if self._source is None:
                future = concurrent.futures.Future()
                future.set_exception(PageError("its frame was handed over"))  # a one-frame list, taken
                return future
            try:
                future = self._builder.submit(self._source.__getitem__, index)
            except RuntimeError as exc:  # the builder is shut down: the player is stopping
                future = concurrent.futures.Future()
                future.set_exception(PageError(str(exc)))
            self._drawn[index] = future
        return future

    def ready(self, index: int) -> bool:
        """Page `index` is drawn (asking starts drawing it)."""
        with self._lock:
            return self._draw(index).done()

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self._count))]
        if index < 0:
            index += self._count
        if not 0 <= index < self._count:
            raise IndexError(index)
        with self._lock:
            future = self._draw(index)
        try:
            frame = future.result()  # normally drawn already, while the page before it was on screen
        except Exception as exc:  # noqa: BLE001 - the renderer's; reported, the page before it stays
            raise PageError(_("page {page} of {count} cannot be drawn: {reason}").format(
                page=index + 1, count=self._count, reason=exc)) from exc
        with self._lock:
            for other in [i for i in self._drawn if i not in (index, index + 1)]:
                del self._drawn[other]
            if index + 1 < self._count:
                self._draw(index + 1)
        return frame

    def take(self, index: int):
        """Page `index`, no longer kept here (the next one is drawn ahead as ever)."""
        frame = self[index]
        with self._lock:
            self._drawn.pop(index % self._count, None)
        return frame


@dataclass(frozen=True)
class Frames:
    """A slide ready for its slot: its pages (several for a long notice), for `speak: true` its voice, and
    the zones that change while it stands (the header clock, the ticker: screen.zones); for a video its moving
    picture (`motion`, played by the screen over the first page) and length."""

    pages: Sequence
    sound: concurrent.futures.Future | None = None
    zones: Sequence = ()
    motion: object | None = None
    length: float | None = None  # seconds: how long the motion lasts once through


class FrameBuilder:
    """Builds the frames of a slide (or of the idle screen for a minute) on request, ahead of time.

    `renderer` draws (`pages(slide)`, `idle(name, at)`); `voice(slide)` makes the sound of a speaking
    slide or None, on its own thread so an emergency's frames never wait behind espeak-ng; `ready(slide)`
    says whether a slide can be drawn now (its picture is prepared), so the player skips it otherwise.
    Executors are parameters so tests can build synchronously.
    """

    def __init__(self, renderer, status: Status, device_name: str,
                 voice: Callable[[Slide], object | None] | None = None,
                 builder: concurrent.futures.Executor | None = None,
                 speech: concurrent.futures.Executor | None = None,
                 ready: Callable[[Slide], bool] = lambda _slide: True):
        self.renderer, self.status, self.device_name, self.voice = renderer, status, device_name, voice
        self.ready = ready
        self._builder = builder or concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="builder")
        self._speech = speech or concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="speech")
        self._built: dict[tuple, concurrent.futures.Future] = {}

    @staticmethod
    def key(slide: Slide | None, version: str, at: dt.datetime) -> tuple:
        """The idle screen shows the time: one build per minute. A slide: one per programme version."""
        return ("idle", at.strftime("%Y-%m-%d %H:%M")) if slide is None else (slide.id, version)

    def prebuild(self, slide: Slide | None, version: str, at: dt.datetime,
                 ticker: tuple[str, ...] = ()) -> concurrent.futures.Future:
        """`ticker`: the programme's ticker lines (part of `version`), which take a band of the screen."""
        key = self.key(slide, version, at)
        future = self._built.get(key)
        if future is None:
            future = self._builder.submit(self._build, slide, at, ticker)
            self._built[key] = future
            while len(self._built) > KEEP:
                self._built.pop(next(iter(self._built)))
        return future

    def get(self, slide: Slide | None, version: str, at: dt.datetime, wait: float,
            ticker: tuple[str, ...] = ()) -> Frames | None:
        """The frames, waiting at most `wait` seconds; None when not ready in time; no pages when the
        slide cannot be drawn (said in the journal and in status as errors['slide:<id>'])."""
        future = self.prebuild(slide, version, at, ticker)
        name = f"slide:{slide.id if slide else 'idle'}"
        try:
            frames = future.result(timeout=wait)
        except concurrent.futures.TimeoutError:
            return None
        except Exception as exc:  # noqa: BLE001 - a slide that cannot be drawn is skipped, not fatal
            log.error(_("slide {slide} cannot be drawn: {reason}").format(slide=slide.id if slide else "idle",
                                                                          reason=exc))
            self.status.set_error(name, str(exc))
            self._built.pop(self.key(slide, version, at), None)
            return Frames([])
        self.status.set_error(name, None)
        if frames.motion is None:  # its frames go on screen now: the caller's, not kept here as well (a video's
            self._built.pop(self.key(slide, version, at), None)  # first picture shows again when it does)
        return frames

    def _build(self, slide: Slide | None, at: dt.datetime, ticker: tuple[str, ...] = ()) -> Frames:
        if slide is None:
            return Frames(Pages([self.renderer.idle(self.device_name, at)], self._builder))
        heard = slide.speak or getattr(slide, "audio", None) is not None
        sound = self._speech.submit(self.voice, slide) if heard and self.voice is not None else None
        pages = self.renderer.pages(slide, ticker=ticker) if ticker else self.renderer.pages(slide)
        pages = Pages(pages, self._builder)  # its first page drawn now
        # what of a slide's text no font draws (left out of its frames): a warning in /healthz until fixed
        self.status.set_error(f"fonts:{slide.id}", getattr(self.renderer, "notes", {}).get(slide.id))
        zones = getattr(self.renderer, "zones", None)
        motion = getattr(self.renderer, "motion", None)
        moving = motion(slide) if motion is not None and slide.type == "video" else None
        return Frames(pages, sound, tuple(zones(slide, ticker)) if zones else (), moving,
                      getattr(moving, "length", None))

    def close(self) -> None:
        self._builder.shutdown(wait=False, cancel_futures=True)
        self._speech.shutdown(wait=False, cancel_futures=True)


def speech_voice(speech_cfg, cache_dir: Path, speaker, status: Status) -> Callable[[Slide], object | None]:
    """The `voice` of a FrameBuilder: a slide's `audio:` file, or espeak-ng's WAV (cached), loaded by the
    speaker. A failure leaves the slide silent, never off screen, and says which slide and why."""
    from kiosk.source import speech

    def voice(slide: Slide) -> object | None:
        if slide.audio is not None:
            try:
                sound = speaker.load(slide.audio.path)
            except Exception as exc:  # noqa: BLE001 - no audio device, a file that does not decode, …
                log.warning(_("slide {slide} will play without its sound: {file}: {reason}").format(
                    slide=slide.id, file=slide.audio.name, reason=exc))
                status.set_error(f"audio:{slide.id}", f"{slide.audio.name}: {exc}")
                return None
            status.set_error(f"audio:{slide.id}", None)
            return sound
        try:
            path = speech.synthesize(speech.text_of(slide), speech_cfg.voice, speech_cfg.rate,
                                     Path(cache_dir) / "speech")
            sound = speaker.load(path)
        except Exception as exc:  # noqa: BLE001 - espeak-ng missing, no audio device, …
            log.warning(_("slide {slide} will play without speech: {reason}").format(slide=slide.id, reason=exc))
            status.set_error("speech", str(exc))
            return None
        status.set_error("speech", None)
        return sound

    return voice
