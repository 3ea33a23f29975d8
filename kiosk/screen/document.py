"""A document slide's frames: each section of each prepared page (source.document) on its own frame.

Like a long notice's pages, sections are drawn when asked for (player.frames.Pages keeps the one on
screen and the next): a 20-page decree cut in 60 sections costs two frames of memory. Each section
carries its own time on screen (`durations`), read by the player.
"""

from __future__ import annotations

import datetime as dt
import logging

import pygame

from kiosk.i18n import _
from kiosk.screen.drawn import Drawn
from kiosk.screen.picture import surface_of
from kiosk.source import document

log = logging.getLogger(__name__)

PAPER_SHADOW = (2, 10, 24)


def marker(section: document.Section, count: int, part: int, parts: int) -> str:
    """'Trang 2/5' in the page-marker place; 'Trang 2/5 · 1/3' while a tall page is shown in parts."""
    text = f"Trang {section.page}/{count}"
    return f"{text} · {part}/{parts}" if parts > 1 else text


class DocumentPages(Drawn):
    """The sections of a document slide, drawn on demand (on the builder thread)."""

    def __init__(self, renderer, slide, now: dt.datetime | None, geo=None):
        self._renderer, self._slide, self._now = renderer, slide, now
        self._geo = geo if geo is not None else renderer.geometry(slide)  # the bands: header, ticker
        try:
            self._doc = document.load(slide.image, renderer.size, slide.pages, renderer.cache_dir)
        except (ValueError, OSError) as exc:
            raise ValueError(f"{slide.image.name}: {exc}") from None
        self._sections = self._doc.sections
        self.durations = tuple(s.seconds if slide.auto_duration else slide.duration for s in self._sections)
        self._page: tuple[int, pygame.Surface] | None = None  # the page image last decoded (its sections follow)

    def __len__(self) -> int:
        return len(self._sections)

    def _picture(self, number: int) -> pygame.Surface:
        if self._page is None or self._page[0] != number:
            try:
                image = document.open_page(self._doc.pages[number])
            except ValueError as exc:  # a power cut, a failing card: prepared again once, never shown grey
                log.warning(_("slide {slide}: prepared page {page} is damaged ({reason}); preparing it again")
                            .format(slide=self._slide.id, page=number, reason=exc))
                slide, renderer = self._slide, self._renderer
                document.index_path(slide.image, renderer.size, slide.pages, renderer.cache_dir).unlink(missing_ok=True)
                self._doc.pages[number].unlink(missing_ok=True)
                self._doc = document.load(slide.image, renderer.size, slide.pages, renderer.cache_dir)
                image = document.open_page(self._doc.pages[number])
            self._page = (number, surface_of(image))
        return self._page[1]

    def _draw(self, index: int) -> pygame.Surface:
        renderer = self._renderer
        section = self._sections[index]
        same_page = [s for s in self._sections if s.page == section.page]
        part = same_page.index(section) + 1
        picture = self._picture(section.page)
        prepared = document.area(renderer.size)  # what the page was prepared for: the screen above the footer
        box = renderer.document_box(self._geo, pygame.Rect(prepared.x, prepared.y, prepared.width, prepared.height))
        frame = renderer._background("idle")
        height = min(section.bottom - section.top, prepared.height)
        cut = pygame.Rect(0, section.top, picture.get_width(), height).clip(picture.get_rect())
        piece = picture.subsurface(cut)
        scale = min(1.0, box.height / max(1, prepared.height))
        if scale < 1.0:  # between a header and a ticker: the section a little smaller, never cut
            piece = pygame.transform.smoothscale(piece, (max(1, round(piece.get_width() * scale)),
                                                         max(1, round(piece.get_height() * scale))))
        x = box.x + (box.width - piece.get_width()) // 2
        y = box.y + (max(0, (box.height - piece.get_height()) // 2) if len(same_page) == 1 else 0)
        shadow = max(2, round(6 * renderer.unit))
        frame.fill(PAPER_SHADOW, (x + shadow, y + shadow, piece.get_width(), piece.get_height()))
        frame.blit(piece, (x, y))
        emergency = self._slide.priority == "emergency"
        if emergency:
            pygame.draw.rect(frame, (200, 16, 28), frame.get_rect(), max(4, round(14 * renderer.unit)))
        renderer.finish(frame, self._now, marker(section, self._doc.count, part, len(same_page)), emergency,
                        self._geo)
        return renderer._ready(frame)
