"""How loud the board may be at a given instant: sound.volume, and nothing at all during sound.quiet_hours.

Pure (the instant is a parameter), so the render loop asks it each turn a video plays, and the tests ask
it for any minute of the day.
"""

from __future__ import annotations

import datetime as dt


def level(sound, local: dt.datetime) -> float:
    """0.0 (silent) .. 1.0 (the file's own level) at naive local time `local`; `sound` is config.SoundConfig
    (None: full level)."""
    if sound is None:
        return 1.0
    if quiet(sound.quiet_hours, local):
        return 0.0
    return max(0, min(100, sound.volume)) / 100


def quiet(span, local: dt.datetime) -> bool:
    """`local` falls in ((h, m), (h, m)), its end excluded; a span past midnight wraps (21:30-06:00)."""
    if span is None:
        return False
    (h1, m1), (h2, m2) = span
    start, end, minute = h1 * 60 + m1, h2 * 60 + m2, local.hour * 60 + local.minute
    return start <= minute < end if start < end else minute >= start or minute < end
