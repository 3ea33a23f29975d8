"""Which slide comes next: pure decisions of the player loop, separate from its timing and I/O."""

from __future__ import annotations

from kiosk.programme import Slide


def playable(emergency: tuple[Slide, ...], loop: tuple[Slide, ...]) -> tuple[Slide, ...]:
    """Emergencies hold the screen alone while any is valid."""
    return emergency or loop


def next_slide(emergency: tuple[Slide, ...], loop: tuple[Slide, ...], previous: str | None) -> Slide | None:
    """The slide after `previous` in what may play now; the first one when `previous` is gone."""
    slides = playable(emergency, loop)
    if not slides:
        return None
    ids = [slide.id for slide in slides]
    if previous in ids:
        return slides[(ids.index(previous) + 1) % len(slides)]
    return slides[0]


def must_interrupt(emergency: tuple[Slide, ...], showing: Slide | None) -> bool:
    """Cut the current slot short: an emergency became valid, or the emergency on screen ended."""
    ids = {slide.id for slide in emergency}
    if ids:
        return showing is None or showing.id not in ids or showing.priority != "emergency"
    return showing is not None and showing.priority == "emergency"
