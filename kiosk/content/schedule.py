"""What plays at an instant, in what order, and until when: the pure schedule.

`plan(programme, at)` is a plain function of its inputs. Its `next_change`
is exact (the first instant at which the answer would differ), so the player
sleeps until then, or until new content, a clock jump or a change of clock
trust, instead of polling.

The three levels of Thông tư 39/2020/TT-BTTTT:
- emergency slides that are open hold the screen alone (several rotate);
- priority slides play first in every loop, then the normal slides;
- each group keeps the editor's programme order.

Without a trusted clock (a Pi has no battery clock; see kiosk.clock) no
time window decides anything, because the time of day is as wrong as the
date: every slide plays, so the board never blanks. Priorities are kept,
with one care: an emergency limited in time (any window) may already be
over, so it plays first in the loop instead of taking the screen alone; an
emergency with no window still holds the screen. `ignored_dates` reports it,
and `next_change` is then a re-check UNTRUSTED_RECHECK later (the plan
itself cannot tell when the clock will become trusted).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from kiosk.content import windows
from kiosk.content.programme import Programme, Slide

# Without a trusted clock the plan cannot know when it changes; it asks to be made again this soon,
# so a player that sleeps until next_change notices when the clock becomes trusted.
UNTRUSTED_RECHECK = dt.timedelta(seconds=30)


@dataclass(frozen=True)
class Plan:
    emergency: tuple[Slide, ...]  # open emergencies in programme order; when any, they hold the screen alone
    loop: tuple[Slide, ...]  # priority slides first, then normal ones, each in programme order
    next_change: dt.datetime | None  # the next instant at which the plan differs; None: never
    ignored_dates: bool  # windows were ignored because the clock is not trusted

    @property
    def slides(self) -> tuple[Slide, ...]:
        """What goes on screen now, in order: the emergencies if any, else the loop."""
        return self.emergency or self.loop

    @property
    def empty(self) -> bool:
        return not self.emergency and not self.loop


def plan(programme: Programme, at: dt.datetime, dates_trusted: bool = True) -> Plan:
    """The plan at `at` (naive local time in schedule.timezone)."""
    emergency: list[Slide] = []
    first: list[Slide] = []
    priority: list[Slide] = []
    normal: list[Slide] = []
    if not dates_trusted:
        windowed = False
        for slide in programme.slides:
            limited = not slide.window.always
            windowed = windowed or limited
            if slide.priority == "emergency":
                (first if limited else emergency).append(slide)
            else:
                (priority if slide.priority == "priority" else normal).append(slide)
        recheck = at + UNTRUSTED_RECHECK if windowed else None
        return Plan(tuple(emergency), tuple(first + priority + normal), recheck, windowed)

    soonest: dt.datetime | None = None
    state = windows.state
    for slide in programme.slides:
        when = slide.window
        if when.always:
            opened = True
        else:
            opened, change = state(when, at)
            if change is not None and (soonest is None or change < soonest):
                soonest = change
        if opened:
            if slide.priority == "emergency":
                emergency.append(slide)
            elif slide.priority == "priority":
                priority.append(slide)
            else:
                normal.append(slide)
    return Plan(tuple(emergency), tuple(priority + normal), soonest, False)


# --- which slide follows: the player loop's pure decisions ---------------------------------------


def next_slide(plan: Plan, previous: str | None, playable: Callable[[Slide], bool] | None = None) -> Slide | None:
    """The slide after `previous` in what may play now; the first one when `previous` is gone.

    `playable` (when given) skips the slides that cannot show yet (a picture still being prepared): the
    next one that can, in order, or None when none can."""
    slides = plan.slides
    if not slides:
        return None
    ids = [slide.id for slide in slides]
    start = ids.index(previous) + 1 if previous in ids else 0
    for step in range(len(slides)):
        slide = slides[(start + step) % len(slides)]
        if playable is None or playable(slide):
            return slide
    return None


def must_interrupt(plan: Plan, showing: Slide | None) -> bool:
    """Cut the current slot short: an emergency became valid, or the emergency on screen ended."""
    ids = {slide.id for slide in plan.emergency}
    if ids:
        return showing is None or showing.id not in ids or showing.priority != "emergency"
    return showing is not None and showing.priority == "emergency"
