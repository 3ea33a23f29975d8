"""The board's loudspeaker: sounds loaded ahead of their slot (off the loop), played when a slide shows.

pygame's mixer is opened only when something is to be played: a board whose slides never speak
never opens an audio device (which costs CPU for as long as it is open).
"""

from __future__ import annotations

from pathlib import Path

import pygame

from kiosk.screen import quiet


class Speaker:
    def load(self, path: Path) -> pygame.mixer.Sound:
        """A sound ready to play (called on the speech thread). Raises pygame.error without audio."""
        if not pygame.mixer.get_init():
            quiet.silence_alsa()
            pygame.mixer.init()
        return pygame.mixer.Sound(str(path))

    def play(self, sound: pygame.mixer.Sound) -> None:
        sound.play()

    def stop(self) -> None:
        """Silence whatever plays (the last slide's voice)."""
        if pygame.mixer.get_init():
            pygame.mixer.stop()
