"""Slides to full-screen frames: the one drawing code for the screen and `kiosk render`.

A Renderer is thread-confined (one worker prepares the next frames ahead of
their slot) and works without any display: frames are plain pygame Surfaces,
converted to the display format only when a display exists.
"""

from __future__ import annotations

import datetime as dt
import logging
import unicodedata
from collections.abc import Sequence
from pathlib import Path

import pygame

from kiosk.screen import fallback, fonts, languages, scripts, text
from kiosk.screen.drawn import Drawn
from kiosk.source import prepare

log = logging.getLogger("kiosk.render.slide")

WEEKDAYS = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ Nhật")

# A palette a commune hall can read from the back row: deep blue, white, the gold of the flag's star.
NAVY_TOP = (12, 39, 76)
NAVY_BOTTOM = (6, 22, 46)
FOOTER_BG = (4, 15, 33)
GOLD = (255, 205, 64)
WHITE = (255, 255, 255)
MUTED = (178, 196, 222)
RED = (200, 16, 28)
RED_DARK = (120, 0, 8)
EMERGENCY_BG = (12, 0, 0)
YELLOW = (255, 230, 40)
BLACK = (0, 0, 0)
LINE_SPACING = 1.15  # line box = font height x this: room for stacked marks (Ễ, Ộ) above a descender (g, y)


class _TextPages(Drawn):
    """The pages of a text slide: laid out once, each drawn when asked for (see Renderer.pages)."""

    def __init__(self, renderer: Renderer, slide, now: dt.datetime | None):
        self._renderer, self._slide, self._now = renderer, slide, now
        self._files = renderer.fonts.for_text(nfc(slide.title) + nfc(slide.body))
        renderer.check_scripts(slide.id, "", nfc(slide.title) + nfc(slide.body))
        self._layout = renderer.layout(slide)

    def __len__(self) -> int:
        return len(self._layout.pages)

    def _draw(self, index: int) -> pygame.Surface:
        return self._renderer._text_page(self._slide, self._layout, index + 1, self._files, self._now)


def save_png(frame: pygame.Surface, path: Path) -> None:
    """Write a frame as a PNG file (`kiosk render`); OSError when it cannot be written."""
    try:
        pygame.image.save(frame, str(path))
    except pygame.error as exc:
        raise OSError(str(exc)) from None


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def vietnamese_date(now: dt.datetime) -> str:
    """'Thứ Năm, 26/11/2026'."""
    return f"{WEEKDAYS[now.weekday()]}, {now:%d/%m/%Y}"


class Renderer:
    """Draws slides, the idle screen and the emergency style at one logical screen size."""

    def __init__(self, size: tuple[int, int], display_cfg, cache_dir: Path, device_name: str = ""):
        if not pygame.font.get_init():
            pygame.font.init()
        self.size = (int(size[0]), int(size[1]))
        self.display_cfg = display_cfg
        self.cache_dir = Path(cache_dir)
        self.device_name = device_name
        self.fonts = fonts.load(getattr(display_cfg, "font", "auto"))
        self.scripts = fallback.Fallback(self.fonts)  # other scripts' fonts, found when a text needs them
        self._used: dict[tuple[str, Path], tuple[fonts.FontFiles, ...]] = {}
        self.notes: dict[str, str] = {}  # slide id -> what of its text no installed font draws (for status)
        w, h = self.size
        self.unit = min(w, h) / 1080  # every dimension below is designed at 1080 lines and scaled
        self.margin_x = round(max(w, h) * 0.045 if w >= h else w * 0.06)
        self.margin_top = round(64 * self.unit)
        self.footer_h = round(58 * self.unit)
        self.min_size, self.max_size = text.legible_sizes(self.size)
        self._gradient: pygame.Surface | None = None  # 1 pixel wide; scaled out for every frame

    # --- public ---------------------------------------------------------------------------------

    def pages(self, slide, now: dt.datetime | None = None) -> Sequence[pygame.Surface]:
        """Full-screen frames for a slide: several for a long notice (they share its duration).

        A sequence drawn on demand: the layout is decided once, here, and each page is drawn when it
        is indexed, and not kept (a 100,000-character notice is 148 full-screen pages: 1.2 GB at
        1080p if drawn ahead). `now` (naive local time), when given, is printed in the footer: pass it
        only if the frames are redrawn every minute, a stale clock misleads.
        Raises ValueError when an image slide's picture or a document's pages cannot be loaded. A sequence
        with `durations` (a document's sections) says how long each frame stays on screen.
        """
        self.notes.pop(slide.id, None)
        if slide.type == "image":
            return [self._ready(self._image_page(slide))]
        if slide.type == "document":
            from kiosk.screen.document import DocumentPages  # a module of its own; it draws with this renderer

            return DocumentPages(self, slide, now)
        if slide.translations and len(getattr(self.display_cfg, "languages", ())) > 1:
            shown = languages.versions(self, slide)  # translations beside or after the text
            if len(shown) > 1:
                return languages.pages(self, slide, shown, now)
        return _TextPages(self, slide, now)

    def idle(self, device_name: str, now: dt.datetime) -> pygame.Surface:
        """Shown when nothing is scheduled: the board's name, today's date and the time, in Vietnamese."""
        w, h = self.size
        u = self.unit
        frame = self._background("idle")
        files = self.fonts.for_text(device_name + vietnamese_date(now))
        name_font = self.fonts.font(round(60 * u), True, files)
        clock_font = self.fonts.font(round(min(w, h) * 0.26), True, files)
        date_font = self.fonts.font(round(64 * u), False, files)
        name_lines = text.Wrapper(lambda t, s, b: name_font.size(t)[0]).wrap(
            device_name, name_font.get_height(), True, w - 2 * self.margin_x)[:2]
        clock = f"{now:%H:%M}"
        blocks = [(line, name_font, WHITE) for line in name_lines]
        heights = [self._line_h(f) for _t, f, _c in blocks]
        rule_gap = round(56 * u)
        total = sum(heights) + rule_gap + clock_font.get_height() + round(12 * u) + self._line_h(date_font)
        y = (h - total) // 2
        for (line, font, color), lh in zip(blocks, heights, strict=True):
            self._blit_line(frame, font, line, color, None, y, center=True)
            y += lh
        rule_w = round(220 * u)
        pygame.draw.rect(frame, GOLD, ((w - rule_w) // 2, y + rule_gap // 2 - round(3 * u), rule_w, round(6 * u)))
        y += rule_gap
        self._blit_line(frame, clock_font, clock, WHITE, None, y, center=True)
        y += clock_font.get_height() + round(12 * u)
        self._blit_line(frame, date_font, vietnamese_date(now), GOLD, None, y, center=True)
        return self._ready(frame)

    def layout(self, slide) -> text.Layout:
        """The layout decision for a text slide (also used by tests and `kiosk render`)."""
        title, body = nfc(slide.title), nfc(slide.body)
        files = self.fonts.for_text(title + body)
        box = self._text_box(slide.priority == "emergency")
        return self._layout(title, body, (box.width, box.height), files)

    # --- text slides ----------------------------------------------------------------------------

    def title_color(self, emergency: bool) -> tuple[int, int, int]:
        return YELLOW if emergency else GOLD

    def _layout(self, title: str, body: str, box: tuple[int, int], files: fonts.FontFiles,
                max_size: int | None = None) -> text.Layout:
        used = self.files_used(title + body, files)

        def measure(t: str, size: int, bold: bool) -> int:
            if len(used) > 1 or scripts.needs_runs(t):
                return self.scripts.width(t, size, bold, files)
            return self.fonts.font(size, bold, files).size(t)[0]

        def line_height(size: int, bold: bool) -> int:  # the tallest of the fonts the text needs
            return max(self._line_h(self.fonts.font(size, bold, f)) for f in used)

        return text.layout(title, body, box, measure, line_height, self.min_size, min(self.max_size, max_size or
                                                                                          self.max_size))

    # --- other scripts ----------------------------------------------------------------------------

    def files_used(self, text_: str, files: fonts.FontFiles) -> tuple[fonts.FontFiles, ...]:
        """The fonts a text is drawn with: `files`, and the fallbacks its other scripts need (first: `files`)."""
        if not scripts.needs_runs(text_):
            return (files,)
        key = (text_, files.regular)
        used = self._used.get(key)
        if used is None:
            found = [files]
            for code, part in scripts.runs(text_):
                chosen = self.scripts.files_for(code, part, files)
                if chosen is not None and chosen not in found:
                    found.append(chosen)
            if len(self._used) > 64:
                self._used.clear()
            used = self._used[key] = tuple(found)
        return used

    def check_scripts(self, slide_id: str, language: str, text_: str) -> str:
        """The characters of a slide's text no installed font draws ('' when all are), said in the journal
        naming the slide: they are left out of the frame, never drawn as boxes."""
        if not scripts.needs_runs(text_):
            return ""
        lacking = self.scripts.missing(text_)
        if lacking:
            where = f"slide {slide_id}" + (f" ({language} translation)" if language else "")
            log.warning("%s: no installed font draws %r; they are left out (%s)", where, lacking[:24],
                        fallback.INSTALL_HINT)
            note = f"no installed font draws {lacking[:24]!r}" + (f" of its {language} translation" if language
                                                                  else "") + f"; {fallback.INSTALL_HINT}"
            self.notes[slide_id] = "; ".join(filter(None, (self.notes.get(slide_id), note)))
        return lacking

    def draw_line(self, frame: pygame.Surface, line: str, size: int, bold: bool, files: fonts.FontFiles, color,
                  x: int | None, y: int, center: bool = False,
                  used: tuple[fonts.FontFiles, ...] | None = None) -> None:
        """One line of a text slide: in one font (the usual case), or run by run with each script's font, on
        the baseline of the tallest of the fonts `used` by the text it belongs to (every line on the same)."""
        font = self.fonts.font(size, bold, files)
        used = used or self.files_used(line, files)
        if len(used) == 1 and not scripts.needs_runs(line):
            self._blit_line(frame, font, line, color, x, y, center)
            return
        width, placed = self.scripts.place(line, size, bold, files, color)
        if center or x is None:
            x = (self.size[0] - width) // 2
        baseline = y + max(self.fonts.font(size, bold, f).get_ascent() for f in used)
        for surface, dx, dy in placed:
            frame.blit(surface, (x + dx, baseline + dy))

    def _text_box(self, emergency: bool) -> pygame.Rect:
        w, h = self.size
        top = self.margin_top + (self._emergency_band_h() if emergency else 0)
        bottom = h - self.footer_h - round(40 * self.unit)
        return pygame.Rect(self.margin_x, top, w - 2 * self.margin_x, bottom - top)

    def _text_page(self, slide, lay: text.Layout, number: int, files: fonts.FontFiles,
                   now: dt.datetime | None) -> pygame.Surface:
        """Page `number` (from 1) of a text slide laid out as `lay`."""
        emergency = slide.priority == "emergency"
        box = self._text_box(emergency)
        title_color = YELLOW if emergency else GOLD
        page = lay.pages[number - 1]
        frame = self._background("emergency" if emergency else "text")
        if emergency:
            self._emergency_band(frame)
        self.draw_text(frame, lay, page, box, files, title_color)
        pager = f"Trang {number}/{len(lay.pages)}" if lay.paged else ""
        self._footer(frame, now, pager, emergency)
        return self._ready(frame)

    def draw_text(self, frame: pygame.Surface, lay: text.Layout, page: text.Page, box: pygame.Rect,
                  files: fonts.FontFiles, title_color) -> None:
        """A page of a laid-out text in its box: title, rule, body."""
        # a single page is centred vertically; pages of a long notice start at the top, like a document
        top = box.top + (max(0, (box.height - page.height) // 2) if not lay.paged else 0)
        used = self.files_used("".join(line.text for line in page.lines), files)
        for line in page.lines:
            color = title_color if line.bold else WHITE
            self.draw_line(frame, line.text, line.size, line.bold, files, color, box.left, top + line.y, used=used)
        if page.title_height and any(not line.bold for line in page.lines):
            gap = round(lay.size * text.TITLE_GAP)
            rule_y = top + page.title_height + round(gap * 0.3)
            rule_w = min(box.width, round(260 * self.unit))
            pygame.draw.rect(frame, title_color, (box.left, rule_y, rule_w, max(2, round(5 * self.unit))))

    def _emergency_band_h(self) -> int:
        return round(150 * self.unit)

    def _emergency_band(self, frame: pygame.Surface) -> None:
        w, _h = self.size
        u = self.unit
        band_h = self._emergency_band_h()
        frame.fill(RED, (0, 0, w, band_h))
        frame.fill(YELLOW, (0, band_h, w, max(2, round(8 * u))))
        font = self.fonts.font(round(86 * u), True)
        label = "KHẨN CẤP"
        label_w = font.size(label)[0]
        tri = round(96 * u)
        gap = round(36 * u)
        x = (w - (2 * tri + 2 * gap + label_w)) // 2
        cy = band_h // 2
        mark = self.fonts.font(round(64 * u), True)
        for tx in (x, x + tri + gap + label_w + gap):  # a warning sign on both sides of the word
            points = [(tx + tri // 2, cy - tri // 2), (tx + tri, cy + tri // 2 - round(6 * u)),
                      (tx, cy + tri // 2 - round(6 * u))]
            pygame.draw.polygon(frame, YELLOW, points)
            surf = mark.render("!", True, BLACK)
            frame.blit(surf, surf.get_rect(center=(tx + tri // 2, cy + round(8 * u))))
        self._blit_line(frame, font, label, WHITE, x + tri + gap, cy - font.get_height() // 2)

    def _footer(self, frame: pygame.Surface, now: dt.datetime | None, pager: str, emergency: bool) -> None:
        w, h = self.size
        u = self.unit
        top = h - self.footer_h
        frame.fill(RED_DARK if emergency else FOOTER_BG, (0, top, w, self.footer_h))
        font = self.fonts.font(round(30 * u), False, self.fonts.for_text(self.device_name))
        y = top + (self.footer_h - font.get_height()) // 2
        if self.device_name:
            self._blit_line(frame, font, self.device_name, MUTED, self.margin_x, y)
        if now is not None:
            stamp = f"{now:%H:%M}  ·  {vietnamese_date(now)}"
            room = w - 2 * self.margin_x - font.size(self.device_name)[0] - round(40 * u)
            if font.size(stamp)[0] > room or (pager and font.size(stamp)[0] > w // 2 - self.margin_x - 120 * u):
                stamp = f"{now:%H:%M}"  # a narrow (portrait) screen: the time alone
            self._blit_line(frame, font, stamp, MUTED, w - self.margin_x - font.size(stamp)[0], y)
        if pager:
            bold = self.fonts.font(round(30 * u), True)
            self._blit_line(frame, bold, pager, WHITE, None, y, center=True)

    # --- image slides ---------------------------------------------------------------------------

    def _image_page(self, slide) -> pygame.Surface:
        fit = prepare.slide_fit(slide, getattr(self.display_cfg, "fit", "fit"))
        try:  # normally prepared ahead by prepare_programme; a missing or damaged file is made again here
            image = prepare.open_prepared(slide.image, self.size, fit, self.cache_dir)
        except (ValueError, OSError) as exc:
            raise ValueError(f"{slide.image.name}: prepared image cannot be loaded ({exc})") from None
        picture = pygame.image.frombytes(image.tobytes(), image.size, "RGB")  # decoded whole by Pillow, never grey
        frame = pygame.Surface(self.size)
        frame.fill(BLACK)
        frame.blit(picture, picture.get_rect(center=frame.get_rect().center))
        if slide.title:
            self._caption(frame, nfc(slide.title))
        if slide.priority == "emergency":  # a picture can be an emergency too: the same red band and frame
            pygame.draw.rect(frame, RED, frame.get_rect(), max(4, round(14 * self.unit)))
            self._emergency_band(frame)
        return frame

    def _caption(self, frame: pygame.Surface, caption: str) -> None:
        w, h = self.size
        u = self.unit
        files = self.fonts.for_text(caption)
        size = round(52 * u)
        font = self.fonts.font(size, True, files)
        width = w - 2 * self.margin_x
        lines = text.Wrapper(lambda t, s, b: self.scripts.width(t, size, True, files) if scripts.needs_runs(t)
                             else font.size(t)[0]).wrap(caption, font.get_height(), True, width)[:2]
        pad = round(26 * u)
        band_h = len(lines) * self._line_h(font) + 2 * pad
        band = pygame.Surface((w, band_h), pygame.SRCALPHA)
        band.fill((0, 0, 0, 178))
        frame.blit(band, (0, h - band_h))
        frame.fill(GOLD, (0, h - band_h, w, max(2, round(5 * u))))
        y = h - band_h + pad
        for line in lines:
            self.draw_line(frame, line, size, True, files, WHITE, self.margin_x, y)
            y += self._line_h(font)

    # --- drawing helpers ------------------------------------------------------------------------

    @staticmethod
    def _line_h(font: pygame.font.Font) -> int:
        return round(font.get_height() * LINE_SPACING)

    def _blit_line(self, frame: pygame.Surface, font: pygame.font.Font, line: str, color, x: int | None, y: int,
                   center: bool = False) -> None:
        """Draw one line with its baseline where a plain line's would be.

        SDL_ttf makes the surface taller when marks stack above the ascent
        (Ễ, Ộ); shifting it up by that excess keeps every line on one baseline
        and nothing is clipped.
        """
        if not line.strip():
            return
        try:
            surface = font.render(line, True, color)
        except (pygame.error, ValueError):  # only invisible characters: nothing to draw
            return
        tops = [m[3] for m in font.metrics(line) if m]
        excess = max(0, max(tops, default=0) - font.get_ascent()) if surface.get_height() > font.get_height() else 0
        if center or x is None:
            x = (self.size[0] - surface.get_width()) // 2
        frame.blit(surface, (x, y - excess))

    def _background(self, kind: str) -> pygame.Surface:
        """A new frame with the background of `kind` (text, emergency, idle) drawn on it.

        Only a one-pixel-wide gradient column is kept: scaling it out makes the
        frame and paints it in one C call, and saves 8 MB per cached 1080p background.
        """
        w, h = self.size
        if kind == "emergency":
            frame = pygame.Surface(self.size)
            frame.fill(EMERGENCY_BG)
            pygame.draw.rect(frame, RED, frame.get_rect(), max(4, round(14 * self.unit)))
            return frame
        column = self._gradient
        if column is None:
            column = pygame.Surface((1, h))
            for y in range(h):  # a quiet vertical gradient
                t = y / max(1, h - 1)
                column.set_at((0, y), tuple(round(a + (b - a) * t) for a, b in zip(NAVY_TOP, NAVY_BOTTOM, strict=True)))
            self._gradient = column
        frame = pygame.transform.scale(column, self.size)
        if kind == "text":
            stripe = max(3, round(10 * self.unit))
            frame.fill(RED, (0, 0, w, stripe))
            frame.fill(GOLD, (0, stripe, w, max(1, round(3 * self.unit))))
        return frame

    @staticmethod
    def _ready(frame: pygame.Surface) -> pygame.Surface:
        """In the display's pixel format when there is a display (a fast blit later); as is otherwise."""
        if pygame.display.get_init() and pygame.display.get_surface() is not None:
            return frame.convert()
        return frame
