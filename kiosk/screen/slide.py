"""Slides to full-screen frames: the one drawing code for the screen and `kiosk render`.

A Renderer is thread-confined (one worker prepares the next frames ahead of
their slot) and works without any display: frames are plain pygame Surfaces,
converted to the display format only when a display exists.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import unicodedata
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pygame

from kiosk import durable
from kiosk.content import video
from kiosk.i18n import _
from kiosk.screen import bands, clip, fallback, fonts, languages, qr, scripts, text, zones
from kiosk.screen.drawn import Drawn
from kiosk.screen.palette import (  # noqa: F401 - NAVY_* and the rest are this module's names too
    BLACK,
    EMERGENCY_BG,
    FOOTER_BG,
    GOLD,
    MUTED,
    NAVY_BOTTOM,
    NAVY_TOP,
    RED,
    RED_DARK,
    WEEKDAYS,
    WHITE,
    YELLOW,
)
from kiosk.screen.picture import decode_into
from kiosk.screen.picture import surface_of as picture_surface
from kiosk.source import prepare

log = logging.getLogger(__name__)

LAYOUTS_KEPT = 64  # text layouts remembered: a notice is fitted once, not each time the loop comes round to it
LAYOUT_KEPT_CHARS = 20_000  # a longer text is laid out each time (its layout, all its pages' lines, is big)
LINE_SPACING = 1.15  # line box = font height x this: room for stacked marks (Ễ, Ộ) above a descender (g, y)


class _TextPages(Drawn):
    """The pages of a text slide: laid out once, each drawn when asked for (see Renderer.pages)."""

    def __init__(self, renderer: Renderer, slide, now: dt.datetime | None, geo: bands.Geometry):
        self._renderer, self._slide, self._now, self._geo = renderer, slide, now, geo
        self._files = renderer.fonts.for_text(nfc(slide.title) + nfc(slide.body))
        renderer.check_scripts(slide.id, "", nfc(slide.title) + nfc(slide.body))
        self._layout = renderer.layout(slide, geo)

    def __len__(self) -> int:
        return len(self._layout.pages)

    def _draw(self, index: int) -> pygame.Surface:
        return self._renderer._text_page(self._slide, self._layout, index + 1, self._files, self._now, self._geo)


def _into(picture: pygame.Surface, size: tuple[int, int], fit: str) -> pygame.Surface:
    """A prepared full-screen picture scaled into the area the bands leave: whole (fit) or cropped (fill)."""
    w, h = picture.get_size()
    scale = (max if fit == "fill" else min)(size[0] / w, size[1] / h)
    scaled = pygame.transform.smoothscale(picture, (max(1, round(w * scale)), max(1, round(h * scale))))
    if fit != "fill":
        return scaled
    crop = pygame.Rect(0, 0, *size)
    crop.center = scaled.get_rect().center
    return scaled.subsurface(crop.clip(scaled.get_rect())).copy()


def save_png(frame: pygame.Surface, path: Path) -> None:
    """Write a frame as a PNG file (`kiosk render`); OSError when it cannot be written.

    Encoded in memory, then written whole: SDL writing the file itself did not notice a full disk
    (empty or cut PNGs, and `kiosk render` said nothing)."""
    buffer = io.BytesIO()
    try:
        pygame.image.save(frame, buffer, "png")
    except pygame.error as exc:
        raise OSError(str(exc)) from None
    durable.write_atomic(path, buffer.getvalue())


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def vietnamese_date(now: dt.datetime) -> str:
    """'Thứ Năm, 26/11/2026'."""
    return f"{WEEKDAYS[now.weekday()]}, {now:%d/%m/%Y}"


class Renderer:
    """Draws slides, the idle screen and the emergency style at one logical screen size."""

    def __init__(self, size: tuple[int, int], display_cfg, cache_dir: Path, device_name: str = "", feedback=None):
        if not pygame.font.get_init():
            pygame.font.init()
        self.size = (int(size[0]), int(size[1]))
        self.display_cfg = display_cfg
        self.cache_dir = Path(cache_dir)
        self.device_name = device_name
        self.feedback = feedback  # config.FeedbackConfig: its url as a QR code on every slide
        self.fonts = fonts.load(getattr(display_cfg, "font", "auto"))
        self.scripts = fallback.Fallback(self.fonts)  # other scripts' fonts, found when a text needs them
        self._used: dict[tuple[str, Path], tuple[fonts.FontFiles, ...]] = {}
        self._layouts: dict[tuple, text.Layout] = {}  # oldest first (see _layout)
        self.notes: dict[str, str] = {}  # slide id -> what of its text no installed font draws (for status)
        w, h = self.size
        self.unit = min(w, h) / 1080  # every dimension below is designed at 1080 lines and scaled
        self.margin_x = round(max(w, h) * 0.045 if w >= h else w * 0.06)
        self.margin_top = round(64 * self.unit)
        # the footer (with display.header off) keeps a legible size on a small LED panel
        self.footer_font_px = max(bands.MIN_TEXT_PX, round(30 * self.unit))
        self.footer_h = max(round(58 * self.unit), round(self.footer_font_px * 1.7))
        self.min_size, self.max_size = text.legible_sizes(self.size)
        self._gradient: pygame.Surface | None = None  # 1 pixel wide; scaled out for every frame
        self._header: bands.Header | None = None  # the zones, kept across slides: the ticker never restarts
        self._ticker: bands.Ticker | None = None

    # --- public ---------------------------------------------------------------------------------

    def pages(self, slide, now: dt.datetime | None = None, ticker: tuple[str, ...] = ()) -> Sequence[pygame.Surface]:
        """Full-screen frames for a slide: several for a long notice (they share its duration).

        A sequence drawn on demand: the layout is decided once, here, and each page is drawn when it
        is indexed, and not kept (a 100,000-character notice is 148 full-screen pages: 1.2 GB at
        1080p if drawn ahead). `now` (naive local time), when given, is printed in the footer: pass it
        only if the frames are redrawn every minute, a stale clock misleads.
        `ticker`: the programme's ticker lines, which take a band at the bottom (display.ticker).
        Raises ValueError when an image slide's picture or a document's pages cannot be loaded. A sequence
        with `durations` (a document's sections) says how long each frame stays on screen.
        """
        self.notes.pop(slide.id, None)
        geo = self.geometry(slide, ticker)
        if slide.type in ("image", "video"):  # a video's frame is its first picture (screen.motion plays it)
            return [self._ready(self._image_page(slide, geo))]
        if slide.type == "document":
            from kiosk.screen.document import DocumentPages  # a module of its own; it draws with this renderer

            return DocumentPages(self, slide, now, geo)
        if slide.translations and len(getattr(self.display_cfg, "languages", ())) > 1:
            shown = languages.versions(self, slide)  # translations beside or after the text
            if len(shown) > 1:
                return languages.pages(self, slide, shown, now, geo)
        return _TextPages(self, slide, now, geo)

    # --- the hall's bands -----------------------------------------------------------------------

    def geometry(self, slide, ticker: tuple[str, ...] = ()) -> bands.Geometry:
        """Which bands stand with `slide`: none for an emergency or a video (each takes the whole screen: the
        video's moving picture is drawn over the whole frame, screen.motion). A document takes the slide area
        between the bands, without a QR code (its page is as wide as the screen)."""
        whole = slide is not None and (slide.priority == "emergency" or slide.type == "video")
        header = bool(getattr(self.display_cfg, "header", False)) and not whole
        scrolls = bool(getattr(self.display_cfg, "ticker", False)) and bool(ticker) and not whole
        geo = bands.geometry(self.size, header, scrolls)
        if slide is not None and slide.type in ("video", "document"):
            return geo
        link, label = self.link_of(slide)
        side = qr.side_for(link, self.size) if link else 0
        if side:
            geo = replace(geo, qr_link=link, qr_side=side, qr_label=label)
        if slide is not None and slide.type == "text" and slide.image is not None:
            geo = replace(geo, picture=self._picture_rect(slide, geo))
        return geo

    def _picture_rect(self, slide, geo: bands.Geometry) -> zones.Rect:
        """Where a text slide's picture goes: beside the text (landscape, right) or above it (portrait), as
        large as its share of the slide area allows at its own aspect. Raises ValueError when its file
        cannot be read."""
        area = self._text_box(slide.priority == "emergency", replace(geo, picture=None))
        pw, ph = prepare.oriented_size(slide.image)
        w, h = self.size
        if w >= h:
            box = pygame.Rect(area.right - round(area.width * 0.42), area.top, round(area.width * 0.42), area.height)
        else:
            box = pygame.Rect(area.left, area.top, area.width, round(area.height * 0.4))
        scale = min(box.width / pw, box.height / ph)
        rect = pygame.Rect(0, 0, max(1, round(pw * scale)), max(1, round(ph * scale)))
        if w >= h:
            rect.midright = box.midright
        else:
            rect.midtop = box.midtop
        return (rect.x, rect.y, rect.width, rect.height)

    def _draw_picture(self, frame: pygame.Surface, slide, geo: bands.Geometry) -> None:
        """A text slide's picture, from its prepared copy (bars trimmed), with a thin gold frame."""
        box = prepare.picture_box(self.size)
        try:
            image = prepare.open_prepared(slide.image, box, "fit", self.cache_dir)
        except (ValueError, OSError) as exc:
            raise ValueError(_("{file}: prepared image cannot be loaded ({reason})").format(
                file=slide.image.name, reason=exc)) from None
        prepared = picture_surface(image)
        pw, ph = prepare.oriented_size(slide.image)
        scale = min(box[0] / pw, box[1] / ph)
        inner = pygame.Rect(0, 0, max(1, round(pw * scale)), max(1, round(ph * scale)))
        inner.center = (box[0] // 2, box[1] // 2)
        picture = prepared.subsurface(inner.clip(prepared.get_rect()))
        target = pygame.Rect(geo.picture)
        frame.blit(pygame.transform.smoothscale(picture, target.size), target)
        edge = max(1, round(3 * self.unit))
        pygame.draw.rect(frame, GOLD, target.inflate(2 * edge, 2 * edge), edge)

    def link_of(self, slide) -> tuple[str, str]:
        """The address shown as a QR code with `slide`, and its label: the slide's own link, else the feedback
        address (not on an emergency, which takes the whole screen); ("", "") for none."""
        if slide is not None and getattr(slide, "link", None):
            return slide.link, ""
        url = getattr(self.feedback, "url", None)
        if url and slide is not None and slide.priority != "emergency":
            return url, getattr(self.feedback, "label", "")
        return "", ""

    def qr_hidden(self, slide) -> str | None:
        """Why the slide's QR code is not drawn on this screen (None: it is, or there is none)."""
        link, _label = self.link_of(slide)
        if link and not qr.side_for(link, self.size):
            return _("the QR code of {link} is hidden: a {width}x{height} panel is too small for a code that can be "
                     "scanned").format(link=link, width=self.size[0], height=self.size[1])
        return None

    def _qr_card(self, geo: bands.Geometry) -> tuple[int, int]:
        """(width, height) the code and its label take, with their margin to the text."""
        if not geo.qr_side:
            return 0, 0
        label_h = self._line_h(self._qr_font()) * 2 if geo.qr_label else 0
        return geo.qr_side + round(40 * self.unit), geo.qr_side + label_h + round(30 * self.unit)

    def _qr_font(self) -> pygame.font.Font:
        return self.fonts.font(max(bands.MIN_TEXT_PX, round(24 * self.unit)), False)

    def _draw_qr(self, frame: pygame.Surface, geo: bands.Geometry, top: bool = False) -> None:
        """The code at the bottom right of the slide area, its label under it: where text never goes. `top`:
        at the top right (a picture's caption is at the bottom)."""
        if not geo.qr_side:
            return
        w, h = self.size
        font = self._qr_font()
        label_lines = text.Wrapper(lambda t, s, b: font.size(t)[0]).wrap(
            geo.qr_label, font.get_height(), False, round(geo.qr_side * 1.5))[:2] if geo.qr_label else []
        label_h = self._line_h(font) * len(label_lines)
        x = w - self.margin_x - geo.qr_side
        y = h - geo.ticker_h - round(24 * self.unit) - label_h - geo.qr_side
        if not geo.header_h:
            y -= self.footer_h
        if top:
            y = geo.header_h + round(24 * self.unit)
            if label_lines:  # over a picture: the label on a dark card of its own
                lw = max(font.size(line)[0] for line in label_lines) + round(16 * self.unit)
                card = pygame.Surface((lw, label_h + round(8 * self.unit)), pygame.SRCALPHA)
                card.fill((0, 0, 0, 178))
                frame.blit(card, (x + (geo.qr_side - lw) // 2, y + geo.qr_side))
        frame.blit(qr.surface(geo.qr_link, geo.qr_side), (x, y))
        y += geo.qr_side + round(4 * self.unit)
        for line in label_lines:
            lw = font.size(line)[0]
            self._blit_line(frame, font, line, WHITE, x + (geo.qr_side - lw) // 2, y)
            y += self._line_h(font)

    def zones(self, slide, ticker: tuple[str, ...] = ()) -> list:
        """The zones that change while `slide` stands (screen.zones): the header clock, the ticker."""
        geo = self.geometry(slide, ticker)
        out: list = []
        if geo.header_h:
            if self._header is None or self._header.rect != geo.header_rect:
                files = self.fonts.for_text(self.device_name + bands.vietnamese_stamp(dt.datetime(2026, 1, 1)))
                self._header = bands.Header(geo, files, self.device_name, getattr(self.display_cfg, "logo", None))
            out.append(self._header)
        if geo.ticker_h:
            if self._ticker is None or self._ticker.lines != ticker or self._ticker.rect != geo.ticker_rect:
                files = self.fonts.for_text(" ".join(ticker))
                speed = float(getattr(self.display_cfg, "ticker_speed", 120.0))
                self._ticker = bands.Ticker(geo, files, ticker, speed)
            out.append(self._ticker)
        return out

    def motion(self, slide) -> clip.Video:
        """A video slide's moving picture, played over its first picture (`pages`); the file is looked at
        again here (it was checked when it was accepted). ValueError when it cannot be played."""
        info = video.probe(slide.image.path)
        fit = prepare.slide_fit(slide, getattr(self.display_cfg, "fit", "fit"))
        loop = slide.duration is not None and slide.duration > info.seconds + 0.5
        return clip.Video(Path(slide.image.path), (info.width, info.height), info.seconds, info.fps,
                          info.audio is not None, self.size, fit, loop, slide.image.name)

    def document_box(self, geo: bands.Geometry, box: pygame.Rect) -> pygame.Rect:
        """Where a document's section goes: `box` (the area its pages were prepared for, above the footer)
        moved below the header and shortened to end above the ticker and the page marker."""
        w, h = self.size
        pad = box.top
        top = geo.header_h + pad
        bottom = h - geo.ticker_h - pad - (self._pager_h() if geo.header_h else self.footer_h)
        return pygame.Rect(box.left, top, box.width, min(box.height, bottom - top))

    def finish(self, frame: pygame.Surface, now: dt.datetime | None, pager: str, emergency: bool,
               geo: bands.Geometry) -> None:
        """What a slide's frame has under its content: the QR code, the footer or (with a header) the pager."""
        self._draw_qr(frame, geo)
        if geo.header_h:
            if pager:
                self._pager(frame, pager, geo)
        else:
            self._footer(frame, now, pager, emergency, geo)

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

    def layout(self, slide, geo: bands.Geometry | None = None) -> text.Layout:
        """The layout decision for a text slide (also used by tests and `kiosk render`).

        With a header the page marker has its own line under the text: it is taken only by a notice
        that needs pages."""
        title, body = nfc(slide.title), nfc(slide.body)
        files = self.fonts.for_text(title + body)
        geo = geo or self.geometry(slide)
        box = self._text_box(slide.priority == "emergency", geo)
        lay = self._layout(title, body, (box.width, box.height), files)
        if lay.paged and geo.header_h:
            box = self._text_box(slide.priority == "emergency", geo, paged=True)
            lay = self._layout(title, body, (box.width, box.height), files)
        return lay

    # --- text slides ----------------------------------------------------------------------------

    def title_color(self, emergency: bool) -> tuple[int, int, int]:
        return YELLOW if emergency else GOLD

    def _layout(self, title: str, body: str, box: tuple[int, int], files: fonts.FontFiles,
                max_size: int | None = None) -> text.Layout:
        """The text's layout, remembered: fitting tries a dozen sizes, measuring each word at each (half of
        what drawing a notice costs), and a slide is drawn again each time it comes round."""
        key = (title, body, box, files, max_size)
        lay = self._layouts.pop(key, None)
        if lay is None:
            lay = self._fit(title, body, box, files, max_size)
        if len(title) + len(body) <= LAYOUT_KEPT_CHARS:
            self._layouts[key] = lay  # the newest last
            while len(self._layouts) > LAYOUTS_KEPT:
                del self._layouts[next(iter(self._layouts))]
        return lay

    def _fit(self, title: str, body: str, box: tuple[int, int], files: fonts.FontFiles,
             max_size: int | None) -> text.Layout:
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
            said = {"slide": slide_id, "language": language, "letters": repr(lacking[:24]),
                    "hint": fallback.install_hint()}
            if language:
                log.warning(_("slide {slide} ({language} translation): no installed font draws {letters}; they are "
                              "left out ({hint})").format(**said))
                note = _("no installed font draws {letters} of its {language} translation; {hint}").format(**said)
            else:
                log.warning(_("slide {slide}: no installed font draws {letters}; they are left out ({hint})")
                            .format(**said))
                note = _("no installed font draws {letters}; {hint}").format(**said)
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

    def _text_box(self, emergency: bool, geo: bands.Geometry | None = None, paged: bool = False) -> pygame.Rect:
        w, h = self.size
        geo = geo or bands.geometry(self.size, False, False)
        top = self.margin_top + (self._emergency_band_h() if emergency else 0) + geo.header_h
        if geo.header_h:  # no footer: the header names the board and tells the time
            bottom = h - geo.ticker_h - round(40 * self.unit) - (self._pager_h() if paged else 0)
        else:
            bottom = h - self.footer_h - geo.ticker_h - round(40 * self.unit)
        card_w, card_h = self._qr_card(geo)
        right = w - self.margin_x
        if card_w and w >= h:  # landscape: the code has a column of its own, right of the text
            right -= card_w
        elif card_h:  # portrait: a row of its own, under the text
            bottom = min(bottom, h - geo.ticker_h - card_h - (0 if geo.header_h else self.footer_h))
        if geo.picture is not None:  # the picture's side (landscape) or top (portrait) is not the text's
            gap = round(48 * self.unit)
            if w >= h:
                right = geo.picture[0] - gap
            else:
                top = geo.picture[1] + geo.picture[3] + gap
        return pygame.Rect(self.margin_x, top, right - self.margin_x, bottom - top)

    def _pager_h(self) -> int:
        return round(self._line_h(self._pager_font()) * 1.2)

    def _pager_font(self) -> pygame.font.Font:
        return self.fonts.font(max(bands.MIN_TEXT_PX, round(30 * self.unit)), True)

    def _pager(self, frame: pygame.Surface, pager: str, geo: bands.Geometry) -> None:
        """The page marker's one place with a header: under the text, at the left margin, above the ticker."""
        font = self._pager_font()
        y = self.size[1] - geo.ticker_h - round(40 * self.unit) - self._pager_h() + round(self._pager_h() * 0.2)
        self._blit_line(frame, font, pager, MUTED, self.margin_x, y)

    def _text_page(self, slide, lay: text.Layout, number: int, files: fonts.FontFiles,
                   now: dt.datetime | None, geo: bands.Geometry | None = None) -> pygame.Surface:
        """Page `number` (from 1) of a text slide laid out as `lay`."""
        emergency = slide.priority == "emergency"
        geo = geo or self.geometry(slide)
        box = self._text_box(emergency, geo, paged=lay.paged and bool(geo.header_h))
        title_color = YELLOW if emergency else GOLD
        page = lay.pages[number - 1]
        frame = self._background("emergency" if emergency else "text")
        if emergency:
            self._emergency_band(frame)
        if geo.picture is not None:
            self._draw_picture(frame, slide, geo)
        self.draw_text(frame, lay, page, box, files, title_color)
        pager = f"Trang {number}/{len(lay.pages)}" if lay.paged else ""
        self.finish(frame, now, pager, emergency, geo)
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

    def _footer(self, frame: pygame.Surface, now: dt.datetime | None, pager: str, emergency: bool,
                geo: bands.Geometry | None = None) -> None:
        w, h = self.size
        u = self.unit
        top = h - self.footer_h - (geo.ticker_h if geo else 0)
        frame.fill(RED_DARK if emergency else FOOTER_BG, (0, top, w, self.footer_h))
        font = self.fonts.font(self.footer_font_px, False, self.fonts.for_text(self.device_name))
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
            bold = self.fonts.font(self.footer_font_px, True)
            self._blit_line(frame, bold, pager, WHITE, None, y, center=True)

    # --- image slides ---------------------------------------------------------------------------

    def _image_page(self, slide, geo: bands.Geometry | None = None) -> pygame.Surface:
        banded = (bool(geo.header_h), bool(geo.ticker_h)) if geo is not None else prepare.NO_BANDS
        size, fit = prepare.prepared_as(slide, self.size, getattr(self.display_cfg, "fit", "fit"), banded)
        frame = pygame.Surface(self.size)
        area = frame.get_rect()
        if geo is not None and (geo.header_h or geo.ticker_h):  # the picture in what the bands leave
            area = pygame.Rect(0, geo.header_h, self.size[0], self.size[1] - geo.header_h - geo.ticker_h)
        if not (tuple(size) == area.size and self._decoded_into(frame, slide, size, fit, area)):
            self._place_picture(frame, slide, size, fit, area)
        if slide.type == "video":
            return frame  # what a video slide shows under its moving picture: nothing drawn over it
        if slide.title:
            self._caption(frame, nfc(slide.title), area)
        if geo is not None:
            self._draw_qr(frame, geo, top=True)
        if slide.priority == "emergency":  # a picture can be an emergency too: the same red band and frame
            pygame.draw.rect(frame, RED, frame.get_rect(), max(4, round(14 * self.unit)))
            self._emergency_band(frame)
        return frame

    def _decoded_into(self, frame: pygame.Surface, slide, size, fit: str, area: pygame.Rect) -> bool:
        """The prepared picture decoded straight into the frame (screen.picture): one full-screen buffer."""
        try:
            path = prepare.prepare_image(slide.image, size, fit, self.cache_dir, slide.type)
        except (ValueError, OSError) as exc:  # the picture cannot be prepared: said once, not tried again
            raise ValueError(_("{file}: prepared image cannot be loaded ({reason})").format(
                file=slide.image.name, reason=exc)) from None
        return decode_into(frame, path, area.topleft, area.size)

    def _place_picture(self, frame: pygame.Surface, slide, size, fit: str, area: pygame.Rect) -> None:
        try:  # normally prepared ahead by prepare_programme; a missing or damaged file is made again here
            image = prepare.open_prepared(slide.image, size, fit, self.cache_dir, slide.type)
        except (ValueError, OSError) as exc:
            raise ValueError(_("{file}: prepared image cannot be loaded ({reason})").format(
                file=slide.image.name, reason=exc)) from None
        picture = picture_surface(image)  # decoded whole by Pillow, never grey
        frame.fill(BLACK)
        if area != frame.get_rect() and picture.get_size() != area.size:  # prepared for the whole screen
            # (a video's first picture) but shown between bands
            picture = _into(picture, area.size, fit)
        frame.blit(picture, picture.get_rect(center=area.center))

    CAPTION_SHARE = 0.36  # of the picture's height: a caption never hides more of it
    CAPTION_LINES = 3

    def caption_layout(self, caption: str, area_h: int | None = None) -> tuple[pygame.font.Font, list[str], bool]:
        """The caption's font and lines: the largest size (52 at 1080 lines, down to the smallest legible
        one) at which it fits in at most three lines and 30 % of the picture; True when even that is not
        enough and its end is cut (kiosk render and kiosk publish say so)."""
        _size, font, lines, cut = self._caption_fit(caption, area_h, self.fonts.for_text(caption))
        return font, lines, cut

    def _caption_fit(self, caption: str, area_h: int | None, files: fonts.FontFiles
                     ) -> tuple[int, pygame.font.Font, list[str], bool]:
        u = self.unit
        width = self.size[0] - 2 * self.margin_x
        room = (area_h or self.size[1]) * self.CAPTION_SHARE - 2 * round(26 * u)
        largest, smallest = max(self.min_size, round(52 * u)), self.min_size

        def wrapper(size: int, font: pygame.font.Font) -> text.Wrapper:
            return text.Wrapper(lambda t, _s, _b: self.scripts.width(t, size, True, files) if scripts.needs_runs(t)
                                else font.size(t)[0])

        for size in range(largest, smallest - 1, -max(1, round(2 * u))):
            font = self.fonts.font(size, True, files)
            lines = wrapper(size, font).wrap(caption, size, True, width)
            if len(lines) <= self.CAPTION_LINES and len(lines) * self._line_h(font) <= room:
                return size, font, lines, False
        font = self.fonts.font(smallest, True, files)
        lines = wrapper(smallest, font).wrap(caption, smallest, True, width)
        keep = max(1, min(self.CAPTION_LINES, int(room // self._line_h(font))))
        kept = lines[:keep]
        last = kept[-1].split()
        measure = wrapper(smallest, font).width
        while len(last) > 1 and measure(" ".join(last) + " …", smallest, True) > width:
            last.pop()
        kept[-1] = " ".join(last).rstrip(" .,;:") + " …"
        return smallest, font, kept, True

    def caption_warning(self, slide, ticker: tuple[str, ...] = ()) -> str | None:
        """What of an image slide's caption is cut on this screen (None: it fits whole)."""
        if slide.type != "image" or not slide.title:
            return None
        geo = self.geometry(slide, ticker)
        _font, _lines, cut = self.caption_layout(nfc(slide.title), self.size[1] - geo.header_h - geo.ticker_h)
        if cut:
            return _("slide {slide}: its caption (title) is too long for a {width}x{height} screen even in {lines} "
                     "lines at the smallest legible size: its end is cut; shorten it or make it a text slide with "
                     "image:").format(slide=slide.id, width=self.size[0], height=self.size[1],
                                      lines=self.CAPTION_LINES)
        return None

    def _caption(self, frame: pygame.Surface, caption: str, area: pygame.Rect | None = None) -> None:
        w, h = self.size
        h = area.bottom if area is not None else h
        u = self.unit
        files = self.fonts.for_text(caption)
        size, font, lines, _cut = self._caption_fit(caption, area.height if area is not None else None, files)
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
