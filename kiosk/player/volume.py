"""How loud the board may be at a given instant: sound.volume, and nothing at all during sound.quiet_hours
(but for an emergency, which is always heard).

Pure (the instant is a parameter), so the render loop asks it each turn a video plays, and the tests ask
it for any minute of the day.
"""

from __future__ import annotations

import datetime as dt

from kiosk.content import windows


def level(sound, local: dt.datetime, emergency: bool = False) -> float:
    """0.0 (silent) .. 1.0 (the file's own level) at naive local time `local`; `sound` is config.SoundConfig
    (None: full level)."""
    if sound is None:
        return 1.0
    if sound.quiet_hours and not emergency and windows.in_span(sound.quiet_hours, local):
        return 0.0
    return max(0, min(100, sound.volume)) / 100
