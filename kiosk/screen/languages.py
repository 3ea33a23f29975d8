"""A text slide in several languages (`translations`, `display.languages`), like the Vietnamese/Khmer
panels of Bình Phước's LED walls: side by side (`display.language_layout: split`; one above the other on
a portrait screen), or one after the other (`alternate`), each for the slide's duration.

The slide's own title and body are in the first language of `display.languages`; the others come from its
translations, in that order. A translation no installed font can draw is left out, with a warning naming
the slide and the language: the slide shows what can be read, never boxes.
"""

from __future__ import annotations

import datetime as dt
import logging
import unicodedata
from collections.abc import Sequence

import pygame

from kiosk.i18n import _
from kiosk.screen.drawn import Drawn

log = logging.getLogger(__name__)


def versions(renderer, slide) -> list[tuple[str, str, str]]:
    """(language, title, body) to show, in display.languages order; only those that can be drawn."""
    languages = tuple(getattr(renderer.display_cfg, "languages", ("vi",)))
    out = [(languages[0], _nfc(slide.title), _nfc(slide.body))]
    for language in languages[1:]:
        texts = slide.translation(language)
        if texts is None:
            continue
        title, body = _nfc(texts[0]), _nfc(texts[1])
        if renderer.check_scripts(slide.id, language, title + body):
            log.warning(_("slide {slide}: its {language} translation is left out until a font for it is installed")
                        .format(slide=slide.id, language=language))
            continue
        out.append((language, title, body))
    return out


def pages(renderer, slide, shown: list[tuple[str, str, str]], now: dt.datetime | None, geo) -> Sequence:
    """The frames of a slide shown in several languages (`shown`: from versions, more than one), in the
    slide area `geo` (screen.bands.Geometry) leaves between the header and the ticker."""
    if getattr(renderer.display_cfg, "language_layout", "split") == "alternate":
        return Alternate(renderer, slide, shown, now, geo)
    return Split(renderer, slide, shown, now, geo)


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


class _Pages(Drawn):
    def __init__(self, renderer, slide, now, geo):
        self._renderer, self._slide, self._now, self._geo = renderer, slide, now, geo
        # with a header the page marker has a line of its own under the text: kept free in case of pages
        self._box = renderer._text_box(slide.priority == "emergency", geo, paged=bool(geo.header_h))
        self._emergency = slide.priority == "emergency"
        self._title_color = renderer.title_color(self._emergency)

    def _frame(self) -> pygame.Surface:
        frame = self._renderer._background("emergency" if self._emergency else "text")
        if self._emergency:
            self._renderer._emergency_band(frame)
        if self._geo.picture is not None:
            self._renderer._draw_picture(frame, self._slide, self._geo)
        return frame


class Split(_Pages):
    """Every language at once, each in its share of the text box (columns, or rows on a tall screen), all
    at the size of the one that needs the smallest: a hall reads them as one notice."""

    def __init__(self, renderer, slide, shown, now, geo):
        super().__init__(renderer, slide, now, geo)
        box = self._box
        count = len(shown)
        gap = round(72 * renderer.unit)
        self.columns = box.width >= box.height
        if self.columns:
            width = (box.width - gap * (count - 1)) // count
            self._boxes = [pygame.Rect(box.left + i * (width + gap), box.top, width, box.height) for i in range(count)]
        else:
            height = (box.height - gap * (count - 1)) // count
            self._boxes = [pygame.Rect(box.left, box.top + i * (height + gap), box.width, height) for i in range(count)]
        self._gap = gap
        self._files = [renderer.fonts.for_text(t + b) for _l, t, b in shown]
        layouts = [renderer._layout(t, b, sub.size, files)
                   for (_l, t, b), sub, files in zip(shown, self._boxes, self._files, strict=True)]
        smallest = min(lay.size for lay in layouts)
        if any(lay.size != smallest for lay in layouts):
            layouts = [renderer._layout(t, b, sub.size, files, max_size=smallest)
                       for (_l, t, b), sub, files in zip(shown, self._boxes, self._files, strict=True)]
        self._layouts = layouts
        self._count = max(len(lay.pages) for lay in layouts)

    def __len__(self) -> int:
        return self._count

    def _draw(self, index: int) -> pygame.Surface:
        renderer = self._renderer
        frame = self._frame()
        for lay, sub, files in zip(self._layouts, self._boxes, self._files, strict=True):
            if index < len(lay.pages):
                renderer.draw_text(frame, lay, lay.pages[index], sub, files, self._title_color)
        thickness = max(2, round(3 * renderer.unit))
        for before in self._boxes[:-1]:  # a rule between the languages
            if self.columns:
                frame.fill(self._title_color, (before.right + self._gap // 2 - thickness // 2, before.top,
                                               thickness, before.height))
            else:
                frame.fill(self._title_color, (before.left, before.bottom + self._gap // 2 - thickness // 2,
                                               before.width, thickness))
        pager = f"Trang {index + 1}/{self._count}" if self._count > 1 else ""
        renderer.finish(frame, self._now, pager, self._emergency, self._geo)
        return renderer._ready(frame)


class Alternate(_Pages):
    """One language after the other, each with the whole screen for the slide's duration (shared by its
    pages when it is long): the slot lasts the duration once per language."""

    def __init__(self, renderer, slide, shown, now, geo):
        super().__init__(renderer, slide, now, geo)
        box = self._box
        self._items: list[tuple[object, int, object]] = []  # (layout, page index, files)
        durations: list[float] = []
        for _language, title, body in shown:
            files = renderer.fonts.for_text(title + body)
            lay = renderer._layout(title, body, (box.width, box.height), files)
            self._items += [(lay, i, files) for i in range(len(lay.pages))]
            durations += [slide.duration / len(lay.pages)] * len(lay.pages)
        self.durations = tuple(durations)

    def __len__(self) -> int:
        return len(self._items)

    def _draw(self, index: int) -> pygame.Surface:
        lay, number, files = self._items[index]
        frame = self._frame()
        self._renderer.draw_text(frame, lay, lay.pages[number], self._box, files, self._title_color)
        pager = f"Trang {number + 1}/{len(lay.pages)}" if lay.paged else ""
        self._renderer.finish(frame, self._now, pager, self._emergency, self._geo)
        return self._renderer._ready(frame)
