"""The hall's bands: the header (board name, logo, weekday, date and time) and the ticker strip.

Both are zones (screen.zones): drawn by the CPU only when they change (the header once a minute, a
ticker segment when it comes into the strip) and put on screen by the display every frame. They are
built on the builder thread with the slide they stand with and used on the render thread afterwards; each
has Font objects of its own, never shared with the renderer that keeps drawing slides meanwhile.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path

import pygame

from kiosk.content import area
from kiosk.i18n import _
from kiosk.screen import zones
from kiosk.screen.palette import FOOTER_BG, GOLD, MUTED, RED, RED_DARK, WEEKDAYS, WHITE

log = logging.getLogger(__name__)

HEADER_BG = FOOTER_BG
TICKER_BG = RED_DARK
SEPARATOR = "   •   "
SEGMENT_MAX = 1024  # pixels: a ticker segment is one texture; a Pi 3's GPU takes 2048 at most
TICKER_FPS = 60
MIN_TEXT_PX = area.MIN_TEXT_PX


def vietnamese_stamp(now: dt.datetime) -> str:
    """'Thứ Ba, 01/12/2026 · 10:05'."""
    return f"{WEEKDAYS[now.weekday()]}, {now:%d/%m/%Y} · {now:%H:%M}"


@dataclass(frozen=True)
class Geometry:
    """Where the bands are on a screen of `size`: heights 0 when a band is off."""

    size: tuple[int, int]
    header_h: int
    ticker_h: int
    header_font: int
    ticker_font: int
    qr_link: str = ""  # the address shown as a QR code with this slide ("" none)
    qr_side: int = 0  # its side in pixels
    qr_label: str = ""
    picture: zones.Rect | None = None  # where a text slide's picture goes (its own aspect, bars trimmed)

    @property
    def header_rect(self) -> zones.Rect:
        return (0, 0, self.size[0], self.header_h)

    @property
    def ticker_rect(self) -> zones.Rect:
        return (0, self.size[1] - self.ticker_h, self.size[0], self.ticker_h)


def geometry(size: tuple[int, int], header: bool, ticker: bool) -> Geometry:
    """Band heights for a screen (content.area: the preparation of pictures reads the same)."""
    return Geometry(size, *area.band_heights(size, header, ticker), *area.band_fonts(size))


def _line(font: pygame.font.Font, text: str, color) -> pygame.Surface:
    return font.render(text, True, color)


class Header:
    """The header band: drawn once a minute, exactly at the minute."""

    def __init__(self, geo: Geometry, files, device_name: str, logo: Path | None):
        self.rect = geo.header_rect
        self.geo = geo
        self.name = device_name
        size = geo.header_font
        self._bold = pygame.font.Font(str(files.bold or files.regular), size)
        if files.bold is None:
            self._bold.bold = True
        self._regular = pygame.font.Font(str(files.regular), size)
        self._logo = _load_logo(logo, round(geo.header_h * 0.78)) if logo else None
        self._drawn: tuple[str, pygame.Surface] | None = None

    def due(self, mono: float, local: dt.datetime) -> float:
        return zones.next_minute(mono, local)

    def pieces(self, mono: float, local: dt.datetime) -> list[zones.Piece]:
        minute = local.strftime("%Y%m%d%H%M")
        if self._drawn is None or self._drawn[0] != minute:
            self._drawn = (minute, self.draw(local))
        return [zones.Piece(self._drawn[1], self.rect)]

    def draw(self, local: dt.datetime) -> pygame.Surface:
        width, height = self.rect[2], self.rect[3]
        band = pygame.Surface((width, height))
        band.fill(HEADER_BG)
        stripe = max(2, round(height * 0.06))
        band.fill(RED, (0, height - stripe, width, stripe))
        band.fill(GOLD, (0, height - stripe - max(1, stripe // 3), width, max(1, stripe // 3)))
        margin = round(max(width, height) * 0.02) if width >= height * 2 else round(width * 0.04)
        inner = height - stripe
        x = margin
        if self._logo is not None:
            band.blit(self._logo, (x, (inner - self._logo.get_height()) // 2))
            x += self._logo.get_width() + round(self.geo.header_font * 0.5)
        stamps = (vietnamese_stamp(local), f"{local:%d/%m/%Y} · {local:%H:%M}", f"{local:%H:%M}")
        stamp = stamps[-1]
        for candidate in stamps:  # the whole date where it fits beside the name, the time at least
            if self._regular.size(candidate)[0] <= (width - x - margin) * 0.55:
                stamp = candidate
                break
        date, _, clock = stamp.rpartition(" · ")
        clock_s = _line(self._bold, clock, GOLD)
        right = width - margin - clock_s.get_width()
        band.blit(clock_s, (right, (inner - self._bold.get_height()) // 2))
        if date:
            date_s = _line(self._regular, date + " · ", MUTED)
            right -= date_s.get_width()
            band.blit(date_s, (right, (inner - self._regular.get_height()) // 2))
        room = right - x - margin
        name = self.name
        while name and self._bold.size(name)[0] > room:  # a long name is shortened, never drawn over the date
            name = name[:-2].rstrip() + "…" if len(name) > 2 else ""
        if name:
            band.blit(_line(self._bold, name, WHITE), (x, (inner - self._bold.get_height()) // 2))
        return band


def _load_logo(path: Path, height: int) -> pygame.Surface | None:
    try:
        from kiosk.content import media

        media.probe(path)
        image = pygame.image.load(str(path))
    except (ValueError, OSError, pygame.error) as exc:
        log.error(_("display.logo {file} cannot be shown: {reason}; the header goes without it").format(
            file=path, reason=exc))
        return None
    w, h = image.get_size()
    if not w or not h:
        return None
    scaled = (max(1, round(w * height / h)), height)
    return pygame.transform.smoothscale(image.convert_alpha() if pygame.display.get_surface() else image, scaled)


class Ticker:
    """The ticker strip: its text cut into segments, each drawn when it first comes into the strip and let
    go when it has left; between, it only moves (the display draws the same textures further left)."""

    def __init__(self, geo: Geometry, files, lines: tuple[str, ...], speed: float, fps: float = TICKER_FPS):
        self.rect = geo.ticker_rect
        self._font = pygame.font.Font(str(files.regular), geo.ticker_font)
        self.lines = lines
        self.texts = _segments(self._font, lines)
        widths = [self._font.size(t)[0] for t in self.texts]
        unit = min(geo.size) / 1080
        self.scroll = zones.Scroll(widths, self.rect, speed * unit, fps, gap=round(200 * unit))
        self._drawn: dict[int, pygame.Surface] = {}
        self._background = pygame.Surface((self.rect[2], self.rect[3]))
        self._background.fill(TICKER_BG)
        line = max(1, round(self.rect[3] * 0.05))
        self._background.fill(GOLD, (0, 0, self.rect[2], line))

    def due(self, mono: float, local: dt.datetime) -> float:
        return self.scroll.due(mono)

    def preview(self, mono: float) -> None:
        """Place the text as if it had been scrolling a while: its start at the left margin (kiosk render)."""
        margin = round(self.rect[2] * 0.03)
        self.scroll.origin = mono - (self.rect[2] - margin) / self.scroll.speed

    def pieces(self, mono: float, local: dt.datetime) -> list[zones.Piece]:
        placed = self.scroll.placed(mono)
        wanted = {p.index for p in placed}
        for index in [i for i in self._drawn if i not in wanted]:
            del self._drawn[index]
        out = [zones.Piece(self._background, self.rect)]
        for p in placed:
            surface = self._drawn.get(p.index)
            if surface is None:
                surface = self._drawn[p.index] = self._segment(p.index)
            out.append(zones.Piece(surface, p.dst, p.src))
        return out

    def _segment(self, index: int) -> pygame.Surface:
        x, y, width, height = self.rect
        text = self.texts[index]
        surface = pygame.Surface((self.scroll.widths[index], height))
        surface.fill(TICKER_BG)
        line = max(1, round(height * 0.05))
        surface.fill(GOLD, (0, 0, surface.get_width(), line))
        if text.strip():
            drawn = self._font.render(text, True, WHITE)
            surface.blit(drawn, (0, line + (height - line - self._font.get_height()) // 2))
        return surface


def _segments(font: pygame.font.Font, lines: tuple[str, ...]) -> list[str]:
    """The ticker's text in pieces of at most SEGMENT_MAX pixels, cut after a space (between words)."""
    out: list[str] = []
    for line in lines:
        current = ""
        for word in line.split(" "):
            candidate = current + word + " "
            if current and font.size(candidate)[0] > SEGMENT_MAX:
                out.append(current)
                current = word + " "
            else:
                current = candidate
            while font.size(current)[0] > SEGMENT_MAX and len(current) > 1:  # one word wider than a segment
                cut = max(1, len(current) // 2)
                out.append(current[:cut])
                current = current[cut:]
        out.append(current.rstrip() + SEPARATOR)
    return out
