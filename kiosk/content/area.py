"""How much of the screen a full-screen picture gets: the bands' heights (header, ticker) are plain arithmetic
of the screen's size, decided here, where both the preparation (source.prepare, which scales each picture
once, ahead of its slot) and the screen (screen.bands, which draws the bands) read them. A picture prepared
at the very size it is shown at is never scaled again while slides are drawn.
"""

from __future__ import annotations

MIN_TEXT_PX = 12  # below this a band's text cannot be read on any panel


def band_fonts(size: tuple[int, int]) -> tuple[int, int]:
    """The header's and the ticker's text sizes: designed at 1080 lines and scaled, never below legible."""
    unit = min(size) / 1080
    return max(MIN_TEXT_PX, round(38 * unit)), max(MIN_TEXT_PX, round(38 * unit))


def band_heights(size: tuple[int, int], header: bool, ticker: bool) -> tuple[int, int]:
    """(header, ticker) heights in pixels on a screen of `size`; 0 for a band that is off."""
    header_font, ticker_font = band_fonts(size)
    return round(header_font * 2.3) if header else 0, round(ticker_font * 1.8) if ticker else 0


def picture_area(size: tuple[int, int], header: bool, ticker: bool) -> tuple[int, int]:
    """The size a picture slide's picture is shown at: the screen less the bands that stand with it."""
    header_h, ticker_h = band_heights(size, header, ticker)
    return size[0], max(1, size[1] - header_h - ticker_h)
