"""A video playing in a zone: decoded by PyAV on its own thread, shown at its timestamps, heard through SDL.

The decoder thread reads the file and keeps a few pictures ahead in a bounded queue (QUEUE_FRAMES: a
1080p picture is 3 MB of YUV) and the sound ahead in SDL's audio queue. The render thread takes, at each
frame it draws, the picture due at the clock, uploads its three YUV planes to one streaming texture
(screen.sdl: no RGB conversion on the CPU) and draws it over the slide; pictures whose time has passed
behind a later one are dropped, never shown late in a row. The clock is the sound when there is sound
(what has been heard, from SDL's queue), the monotonic clock otherwise (and once the sound has run out).

A failure while playing (a file damaged past its header, a decoder error) ends the zone with the reason;
the slot then ends early and the loop goes on. Nothing blocks the render thread: it never waits for
the decoder, it keeps the picture it has.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pygame

from kiosk.i18n import _
from kiosk.screen import sdl
from kiosk.screen.motion import Place, Zone, fitted

log = logging.getLogger(__name__)

QUEUE_FRAMES = 6  # pictures decoded ahead: 0.2 s at 30 fps, ~18 MB at 1080p
AUDIO_RATE, AUDIO_CHANNELS = 48000, 2
AUDIO_AHEAD_SECONDS = 1.0  # the sound is decoded this far ahead of what is heard
NO_PICTURE_RECHECK = 0.02  # the decoder is behind: look again this soon (it also wakes the loop)
CATCH_UP_SECONDS = 0.5  # a decoder this far behind the clock skips the frames nothing refers to
SEEK_SECONDS = 2.0  # and this far behind, it jumps ahead to a key frame (at most every 2 x this)
SEEK_AHEAD_SECONDS = 1.0  # how far past the clock that jump aims: the time to get there and decode
MAX_LEFT_OUT = 4  # late pictures left out in a row at most
LATE_FRAMES = 1.0  # a picture shown more than this many frame intervals after its time counts as late


@dataclass(frozen=True)
class Video:
    """A video slide's moving picture, as the frame builder describes it: played anew each time it shows."""

    path: Path
    size: tuple[int, int]  # the video's pictures
    seconds: float
    fps: float
    has_sound: bool
    screen: tuple[int, int]  # logical screen size
    fit: str
    loop: bool  # the slot is longer than the video: start again at the end
    name: str = ""  # for messages

    @property
    def length(self) -> float:
        return self.seconds

    @property
    def rect(self) -> tuple[int, int, int, int]:
        return fitted(self.size, self.screen, self.fit)


@dataclass
class Stats:
    """What a playing clip measured (bench/ reads it)."""

    shown: int = 0
    dropped: int = 0  # decoded, but a later picture was due before it could be shown
    late: int = 0  # shown more than LATE_FRAMES intervals after its time
    offsets_ms: list[float] = field(default_factory=list)  # picture time minus clock, at each picture shown
    audio: bool = False


_END = object()


class _Failed:
    def __init__(self, reason: str):
        self.reason = reason


class Clip(Zone):
    def __init__(self, video: Video, wake: threading.Event | None = None, volume: float = 1.0):
        self.video = video
        self.wake = wake
        self.stats = Stats()
        self.error: str | None = None
        self._volume = volume
        self._queue: collections.deque = collections.deque()
        self._cv = threading.Condition()
        self._stopping = False
        self._ended = False
        self._frozen = False
        self._texture: sdl.YUVTexture | None = None
        self._audio: sdl.AudioQueue | None = None
        self._audio_done = False  # all the sound of the file is queued (or its track failed)
        self._t0: float | None = None  # monotonic instant of time 0, without sound
        self._last_clock: tuple[float, float] | None = None  # (clock, now) last read
        self._heard: tuple[float, float] | None = None  # (seconds heard, when that was first seen)
        self._interval = 1 / video.fps if video.fps else 1 / 30
        self._thread: threading.Thread | None = None
        self._position = 0.0  # the clock when a picture was last shown (the decoder thread reads it)
        self._skipping = False
        self._left_out = 0  # late pictures left out in a row
        self._sound_thread: threading.Thread | None = None

    # --- the render thread --------------------------------------------------------------------------

    def start(self, place: Place, now: float) -> None:
        super().start(place, now)
        try:
            self._renderer = sdl.renderer_of(place.window)
        except OSError as exc:  # no SDL to bind: the first picture stays for the slot
            log.warning(_("video {file}: cannot be played here ({reason}); its first picture stays")
                        .format(file=self.video.name, reason=exc))
            self._frozen = True  # the slot runs its course on the still
            return
        if self.video.has_sound:  # at volume 0 too (quiet hours): the sound still keeps the time
            self._audio = self._open_audio()
        self.stats.audio = self._audio is not None
        self._thread = threading.Thread(target=self._decode, name="video", daemon=True)
        self._thread.start()
        if self._audio is not None:
            self._sound_thread = threading.Thread(target=self._sound, name="video-sound", daemon=True)
            self._sound_thread.start()

    def _open_audio(self) -> sdl.AudioQueue | None:
        try:
            audio = sdl.AudioQueue(AUDIO_RATE, AUDIO_CHANNELS)
        except OSError as exc:
            if not pygame.mixer.get_init():
                log.warning(_("video {file} plays without sound: {reason}").format(file=self.video.name, reason=exc))
                return None
            # Where the sound card has one device only (a Pi's HDMI without dmix, SDL's dummy driver), the
            # speech mixer (screen.sound) holds it: a video's sound comes first; the mixer opens again for
            # the next spoken slide.
            pygame.mixer.quit()
            try:
                audio = sdl.AudioQueue(AUDIO_RATE, AUDIO_CHANNELS)
            except OSError as again:
                log.warning(_("video {file} plays without sound: {reason}").format(file=self.video.name,
                                                                                  reason=again))
                return None
        audio.volume = round(sdl.MIX_MAXVOLUME * self._volume)
        return audio

    def set_volume(self, volume: float) -> None:
        self._volume = volume
        if self._audio is not None:
            self._audio.volume = round(sdl.MIX_MAXVOLUME * volume)

    def clock(self, now: float) -> float | None:
        """Where the video is, in its own seconds; None before its first picture is shown."""
        audio = self._audio
        if audio is not None and audio.started:
            if not (self._audio_done and audio.queued_seconds() <= 0):
                # SDL takes sound a device buffer at a time (21 ms): between two takes time goes on
                heard = audio.played()
                if self._heard is None or heard != self._heard[0]:
                    self._heard = (heard, now)
                value = max(self._last_clock[0] if self._last_clock else 0.0,
                            heard + min(now - self._heard[1], audio.latency))
                self._last_clock = (value, now)
                return value
            if self._last_clock is None:
                self._last_clock = (audio.played(), now)
            return self._last_clock[0] + now - self._last_clock[1]  # the sound has run out: time goes on
        return None if self._t0 is None else now - self._t0

    def due(self) -> float | None:
        if self._ended:
            return None
        if self._frozen:
            return float("inf")
        with self._cv:
            head = self._queue[0] if self._queue else None
        now = time.monotonic()
        if head is None:
            return now + NO_PICTURE_RECHECK
        if isinstance(head, _Failed) or head is _END:
            return now
        position = self.clock(now)
        return now if position is None else now + max(0.0, head[0] - position)

    def update(self, now: float) -> bool:
        if self._ended or self._frozen:
            return False
        position = self.clock(now)
        if position is not None:
            self._position = position  # the decoder thread compares its pictures with it
        picked = None
        with self._cv:
            while self._queue:
                head = self._queue[0]
                if head is _END or isinstance(head, _Failed):
                    if picked is None:  # the last picture has had its time
                        self._queue.popleft()
                        self._finish(head)
                    break
                if position is not None and head[0] > position:
                    break
                self._queue.popleft()
                if picked is not None:
                    self.stats.dropped += 1
                picked = head
                if position is None:
                    break  # the first picture: it sets the clock
            self._cv.notify_all()
        if picked is None:
            return False
        at, picture = picked
        try:
            self._upload(picture)
        except OSError as exc:
            self._finish(_Failed(str(exc)))
            return False
        if position is None:  # time starts with the first picture (and the sound with it)
            if self._audio is not None:
                self._audio.start()
            else:
                self._t0 = now - at
            position = at
        self.stats.shown += 1
        offset = at - position
        self.stats.offsets_ms.append(offset * 1000)
        if -offset > LATE_FRAMES * self._interval:
            self.stats.late += 1
        return True

    def _upload(self, frame) -> None:
        if self._texture is None or (self._texture.width, self._texture.height) != (frame.width, frame.height):
            if self._texture is not None:
                self._texture.destroy()
            self._texture = sdl.YUVTexture(self._renderer, frame.width, frame.height)
        y, u, v = frame.planes
        self._texture.update(y.buffer_ptr, y.line_size, u.buffer_ptr, u.line_size, v.buffer_ptr, v.line_size)

    def paint(self) -> None:
        if self._texture is not None and self._texture.pointer:
            rect, angle = self.place.rect(*self.video.rect)
            self._texture.draw(rect, angle)

    def _finish(self, how) -> None:
        self._ended = True
        if isinstance(how, _Failed):
            self.error = how.reason
            log.error(_("video {file} stopped: {reason}; its slot ends now").format(file=self.video.name,
                                                                                    reason=how.reason))
        self._silence()

    def _silence(self) -> None:
        self._stopping = True
        with self._cv:
            self._cv.notify_all()
        if self._audio is not None:
            self._audio.close()

    def freeze(self) -> None:
        self._frozen = True
        self._silence()

    def stop(self) -> None:
        self._ended = True
        self._silence()
        for thread in (self._thread, self._sound_thread):
            if thread is not None:
                thread.join(timeout=1.0)
        with self._cv:
            self._queue.clear()
        if self._texture is not None:
            self._texture.destroy()
            self._texture = None

    # --- the decoder thread ---------------------------------------------------------------------------

    def _put(self, item) -> bool:
        """Queue a picture (or the end); waits while the queue is full. False when the clip is stopping."""
        with self._cv:
            while len(self._queue) >= QUEUE_FRAMES and not self._stopping:
                self._cv.wait(0.5)
            if self._stopping:
                return False
            was_empty = not self._queue
            self._queue.append(item)
        if was_empty and self.wake is not None:
            self.wake.set()  # the loop may be waiting for a picture
        return True

    def _decode(self) -> None:
        try:
            self._decode_pictures()
        except Exception as exc:  # noqa: BLE001 - FFmpeg's errors on damaged files are many
            self._put(_Failed(f"{self.video.name}: {exc}"))

    def _decode_pictures(self) -> None:
        """The pictures, from a demuxer of their own: a file whose sound is stored far from its pictures
        (muxed badly) then never starves one while the other fills its queue."""
        import av

        offset, next_seek = 0.0, 0.0
        with av.open(str(self.video.path)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"  # frame threads: every core decodes
            while not self._stopping:
                for packet in container.demux(stream):
                    for frame in packet.decode():
                        if frame.time is None:
                            continue
                        at = offset + float(frame.time)
                        if self._position - at > SEEK_SECONDS and time.monotonic() >= next_seek:
                            # far behind (a stall, a board too slow for this file): on to the first key
                            # frame after where the sound will be, so nothing decoded there is late
                            next_seek = time.monotonic() + 2 * SEEK_SECONDS
                            target = self._position + SEEK_AHEAD_SECONDS - offset
                            log.info("video %s: %.1f s behind its sound; jumping ahead", self.video.name,
                                     self._position - at)
                            self._seek(container, stream, target)
                            break
                        if self._behind(stream, at):
                            continue
                        if frame.format.name not in ("yuv420p", "yuvj420p"):
                            frame = frame.reformat(format="yuv420p")  # 10-bit, 4:2:2, …: once, here
                        if not self._put((at, frame)):
                            return
                    if self._stopping:
                        return
                if not self.video.loop:
                    self._put(_END)
                    return
                offset += self.video.seconds
                container.seek(0)

    @staticmethod
    def _seek(container, stream, target: float) -> None:
        """To the first key frame at or after `target` (seconds of the file); with none after it (near the
        end), to the one before it; with neither, on from where it is."""
        import av

        for backward in (False, True):
            try:
                container.seek(int(target / stream.time_base), stream=stream, backward=backward)
                return
            except av.FFmpegError:
                continue

    def _behind(self, stream, at: float) -> bool:
        """A decoder that cannot keep up (a slow board, a busy one) catches up instead of drifting behind the
        sound: pictures already past their time are not queued, and while it lags by more than CATCH_UP
        seconds the frames nothing refers to are not even decoded. True: leave this picture out."""
        lag = self._position - at
        skipping = lag > CATCH_UP_SECONDS
        if skipping != self._skipping:
            self._skipping = skipping
            try:
                stream.codec_context.skip_frame = "NONREF" if skipping else "DEFAULT"
            except (AttributeError, ValueError):  # an older PyAV: the pictures are still left out below
                pass
            if skipping:
                log.info("video %s: %.1f s behind its sound; skipping pictures to catch up", self.video.name, lag)
        if lag > self._interval and self._left_out < MAX_LEFT_OUT:
            self._left_out += 1
            self.stats.dropped += 1
            return True
        self._left_out = 0  # one in MAX_LEFT_OUT + 1 is shown however late: the picture keeps moving
        return False

    def _sound(self) -> None:
        """The sound, resampled to what the device takes, kept about AUDIO_AHEAD_SECONDS ahead of what is
        heard. A sound track that fails leaves the pictures playing on the monotonic clock."""
        import av

        audio = self._audio
        offset = 0.0
        try:
            with av.open(str(self.video.path)) as container:
                stream = container.streams.audio[0]
                while not self._stopping:
                    resampler = av.AudioResampler(format="s16", layout="stereo", rate=AUDIO_RATE)
                    for packet in container.demux(stream):
                        for frame in packet.decode():
                            for out in resampler.resample(frame):
                                audio.push(bytes(out.planes[0])[: out.samples * 4])
                        while audio.queued_seconds() > AUDIO_AHEAD_SECONDS and not self._stopping:
                            time.sleep(0.05)
                        if self._stopping:
                            return
                    for out in resampler.resample(None):
                        audio.push(bytes(out.planes[0])[: out.samples * 4])
                    if not self.video.loop:
                        return
                    offset += self.video.seconds  # silence to the end of the round: the next starts together
                    gap = offset - audio.pushed / audio.bytes_per_second
                    if gap > 0:
                        audio.push(bytes(int(gap * AUDIO_RATE) * 4))
                    container.seek(0)
        except Exception as exc:  # noqa: BLE001 - the pictures go on without it
            log.warning(_("video {file}: its sound stopped ({reason})").format(file=self.video.name, reason=exc))
        finally:
            self._audio_done = True
