"""Layered channels merged into the one programme the player plays: a pure rule (docs/protocol.md §channels).

A board follows its own tree (`source.url`) and, in `source.channels`, further trees (the province's, the
commune's), each verified with its own key. Their programmes are laid one after the other, the board's own
first, then the channels in the order config.yaml lists them; the schedule (kiosk.content.schedule) then
applies Thông tư 39's levels to the whole: open emergencies from any channel hold the screen (several
rotate, in that order), priority slides come before normal ones in every loop, and within a level the
order of channels, then each tree's own order. A channel with nothing good yet adds nothing.

Slide ids are namespaced by channel (`tinh:thong-bao`), so two trees may both have a `thong-bao`, and a
play records the channel it came from; the board's own slides keep their ids unchanged, so a board
without channels plays, reports and counts exactly as before.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from kiosk.content.programme import EMPTY, Programme, version_of

SEPARATOR = ":"  # not in a slide id (a-z 0-9 -) nor in a channel name; allowed in a play's slide_id


@dataclass(frozen=True)
class Layer:
    name: str | None  # None: the board's own tree (ids unchanged)
    programme: Programme | None  # None: nothing good from this tree yet


def namespaced(channel: str | None, slide_id: str) -> str:
    return slide_id if channel is None else f"{channel}{SEPARATOR}{slide_id}"


def channel_of(slide_id: str | None) -> str | None:
    """The channel a (namespaced) slide id came from; None for the board's own slides."""
    if not slide_id or SEPARATOR not in slide_id:
        return None
    return slide_id.split(SEPARATOR, 1)[0]


def merge(layers: Sequence[Layer]) -> Programme:
    """The programme the board plays: the layers' slides in layer order, channel slides renamed
    `<channel>:<id>`. Only the board's own tree with content: that programme itself, unchanged."""
    present = [layer for layer in layers if layer.programme is not None]
    if not present:
        return EMPTY
    if len(present) == 1 and present[0].name is None:
        return present[0].programme
    slides = tuple(
        dataclasses.replace(slide, id=namespaced(layer.name, slide.id)) if layer.name is not None else slide
        for layer in present for slide in layer.programme.slides
    )
    warnings = tuple(w for layer in present for w in layer.programme.warnings)
    return Programme(slides=slides, version=version_of(slides), warnings=warnings)
