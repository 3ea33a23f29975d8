"""The board's loudspeaker: sounds loaded ahead of their slot (off the loop), played when a slide shows.

pygame's mixer is opened only when something is to be played: a board whose slides never speak
never opens an audio device (which costs CPU for as long as it is open).
"""

from __future__ import annotations

import io
import logging
import threading
from pathlib import Path

import pygame

from kiosk.i18n import _
from kiosk.screen import quiet

log = logging.getLogger("kiosk.sound")


class Speaker:
    """`volume` (0..1, sound.volume) applies to every sound; `chime` is the attention signal's WAV bytes."""

    def __init__(self, volume: float = 1.0, chime: bytes | None = None):
        self.volume = max(0.0, min(1.0, volume))
        self._chime_bytes = chime
        self._chime: pygame.mixer.Sound | None = None
        self._lock = threading.Lock()

    def _init(self) -> None:
        if not pygame.mixer.get_init():  # first use, or a video took the audio device since (screen.clip)
            quiet.silence_alsa()
            pygame.mixer.init()
            self._chime = None  # made with the mixer that was closed

    def load(self, path: Path) -> pygame.mixer.Sound:
        """A sound ready to play (called on the speech thread). Raises pygame.error without audio, or
        when the file does not decode (WAV, OGG, MP3)."""
        with self._lock:
            self._init()
            sound = pygame.mixer.Sound(str(path))
            sound.set_volume(self.volume)
            if self._chime is None and self._chime_bytes:
                self._chime = pygame.mixer.Sound(file=io.BytesIO(self._chime_bytes))
                self._chime.set_volume(self.volume)
        return sound

    @property
    def chime_seconds(self) -> float:
        return self._chime.get_length() if self._chime is not None else 0.0

    def play(self, sound: pygame.mixer.Sound, chime: bool = False) -> None:
        """Play `sound`; after the attention chime when `chime` (an emergency). A sound loaded before a video
        took the audio device (screen.clip) cannot play: that showing is silent, never an error."""
        try:
            if not pygame.mixer.get_init():
                raise pygame.error("the mixer was closed for a video's sound")
            if chime and self._chime is not None:
                channel = self._chime.play()
                if channel is not None:
                    channel.queue(sound)
                    return
            sound.play()
        except pygame.error as exc:
            log.warning(_("a sound could not be played ({reason}); the slide plays silent this time").format(
                reason=exc))

    def stop(self) -> None:
        """Silence whatever plays (the last slide's voice)."""
        if pygame.mixer.get_init():
            pygame.mixer.stop()
