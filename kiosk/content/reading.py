"""Reading time: how long a page of a long notice must stay on screen, and whether a slide's duration gives
its pages that.

A notice too long for the screen is split into pages that share the slide's `duration` (kiosk.screen.text).
The duration stays the editor's: the slot is not stretched to the text. That is what signage players do
(Xibo, BrightSign, info-beamer: a slot lasts what the schedule says, unless the editor asks per item),
because the loop's length belongs to the whole programme: every other notice waits for a stretched slot (a
100,000-character decree at 4 s a page would hold the screen for 13 minutes), proof of play counts planned
durations, and the editor who wrote 10 s is the one who can choose a longer duration or split the text.
So the border says it, with the numbers (check-config, render, publish, as a warning: the slide still
plays), and the player says it again in the journal when a page does flip too fast (kiosk.player.loop).

Pure: the layout needs fonts and a screen, so the border estimates pages from the text's length; the
estimate is for a 16:9 screen, where a page holds about the same at any resolution (the smallest legible
size is a fixed share of the screen's height, kiosk.screen.text.legible_sizes).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

MIN_READ_SECONDS = 4.0  # below this a page of a long notice flips before anyone can read it
# Characters of Vietnamese prose on one page at the smallest legible size: from 500 (short paragraphs, a
# blank line between them) to 740 (one paragraph, no title), the same at 1920x1080 and 1366x768, measured
# with kiosk.screen.slide.Renderer on a decree's text. Their middle: the warning says "about".
CHARS_PER_PAGE = 600


@dataclass(frozen=True)
class TooFast:
    """A text whose pages would flip faster than MIN_READ_SECONDS."""

    pages: int  # about this many on a 16:9 screen
    seconds: float  # on screen, each
    needed: int  # the duration that gives each page MIN_READ_SECONDS


def estimated_pages(chars: int) -> int:
    return max(1, math.ceil(chars / CHARS_PER_PAGE))


def too_fast(chars: int, duration: float) -> TooFast | None:
    """The pages of a body of `chars` characters sharing `duration` seconds, when each would get less than
    MIN_READ_SECONDS; None when they can be read (or the text fits one page)."""
    pages = estimated_pages(chars)
    if pages < 2 or duration / pages >= MIN_READ_SECONDS:
        return None
    return TooFast(pages, duration / pages, math.ceil(pages * MIN_READ_SECONDS))
