"""Fonts for other scripts: each run of a line (screen.scripts) drawn with a font that covers it, shaped with
its HarfBuzz script, all on one baseline.

The board's typeface (screen.fonts) is chosen for Vietnamese; a Khmer translation, a Thai name or a
Chinese brand needs another. fontconfig is asked which installed fonts cover a run's characters (Noto
Sans Khmer for Khmer, and so on: Debian's fonts-noto-core), a plain sans-serif face preferred. Each run's
pygame Font gets `set_script` (pygame-ce >= 2.5, SDL_ttf with HarfBuzz): without it HarfBuzz guesses
Latin for the whole line and Khmer subscript consonants are drawn detached beside their base.

Thread-confined like the Renderer that owns it.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pygame

from kiosk.i18n import _
from kiosk.screen import fonts, scripts

log = logging.getLogger(__name__)

_NOT_SANS = ("serif", "mono", "looped", "display", "condensed")


def install_hint() -> str:
    """What to install for the fonts of other scripts, in the language in use."""
    return _("install fonts-noto-core (it has Noto Sans for Khmer, Thai, Lao, Myanmar and many more)")


def _letters(text: str) -> str:
    """A run's own letters: without the digits, punctuation and spaces every script shares."""
    return "".join(ch for ch in text if not ch.isspace() and scripts.script_of(ch) not in scripts.COMMON)


class Fallback:
    """The fonts of one FontSet and, for what it lacks, fontconfig's, per script."""

    def __init__(self, fontset: fonts.FontSet):
        self.fontset = fontset
        self._by_script: dict[str, list[fonts.FontFiles]] = {}
        self._fonts: dict[tuple[Path, bool, int, str], pygame.font.Font] = {}

    # --- which font --------------------------------------------------------------------------------

    def _covers(self, files: fonts.FontFiles, text: str) -> bool:
        try:
            return not fonts.missing_glyphs(files.regular, text)
        except (OSError, ValueError):
            return False

    def _candidates(self, code: str, text: str) -> list[fonts.FontFiles]:
        found = self._by_script.get(code)
        if found is None:
            chars = sorted({c for c in text if not c.isspace() and ord(c) > 0x7F})[:32]
            pattern = ":charset=" + " ".join(f"{ord(c):x}" for c in chars)
            families: dict[str, dict[str, Path]] = {}
            for path, names, styles in fonts._fc_list(pattern):
                if path.suffix.lower() not in fonts.FONT_SUFFIXES or not names:
                    continue
                faces = families.setdefault(names[0], {})
                if fonts._plain(styles, fonts._REGULAR_STYLES):
                    faces.setdefault("regular", path)
                elif fonts._plain(styles, ("bold",)):
                    faces.setdefault("bold", path)
            ranked = sorted((f for f in families if "regular" in families[f]),
                            key=lambda f: (any(word in f for word in _NOT_SANS), "sans" not in f, len(f), f))
            found = [fonts.FontFiles(f.title(), families[f]["regular"], families[f].get("bold")) for f in ranked]
            self._by_script[code] = found
            if found:
                log.info("font for %s text: %s (%s)", scripts.name(code), found[0].name, found[0].regular)
        return found

    def files_for(self, code: str, text: str, files: fonts.FontFiles) -> fonts.FontFiles | None:
        """The font for one run: the slide's own when it covers the run's letters, else the first installed
        that does. (Digits and punctuation in the run are drawn by whichever of the two has them.)"""
        letters = _letters(text)
        if not letters or self._covers(files, letters):
            return files
        for candidate in self._candidates(code, letters):
            if self._covers(candidate, letters):
                return candidate
        return None

    def missing(self, text: str, files: fonts.FontFiles | None = None) -> str:
        """The characters of `text` that no installed font draws (each run tried with its fallbacks)."""
        files = files or self.fontset.files
        lacking = set()
        for code, part in scripts.runs(text):
            chosen = self.files_for(code, part, files)
            for ch in set(part) - {" "}:
                if not ch.isspace() and not (chosen and self._covers(chosen, ch)) and not self._covers(files, ch):
                    lacking.add(ch)
        return "".join(sorted(lacking))

    # --- drawing -----------------------------------------------------------------------------------

    def font(self, size: int, bold: bool, files: fonts.FontFiles, code: str) -> pygame.font.Font:
        path = files.bold if bold and files.bold else files.regular
        key = (path, bold, size, code)
        font = self._fonts.get(key)
        if font is None:
            if len(self._fonts) >= 64:  # bounded over months of changing programmes
                self._fonts.clear()
            font = pygame.font.Font(str(path), size)
            if bold and files.bold is None:
                font.bold = True
            if code not in scripts.COMMON:
                font.set_script(code)
            self._fonts[key] = font
        return font

    def pieces(self, text: str, size: int, bold: bool, files: fonts.FontFiles) -> list[tuple[pygame.font.Font, str]]:
        """The line as (font, text) runs; of a run no font covers, only what the slide's font draws."""
        out = []
        for code, part in scripts.runs(text):
            chosen = self.files_for(code, part, files) or files
            piece, piece_files = "", chosen
            for ch in part:  # what the run's font lacks (a comma, a digit) from the slide's font; never boxes:
                # what neither draws is left out (the renderer says so, naming the slide)
                if ch.isspace() or self._covers(chosen, ch):
                    target = chosen
                elif self._covers(files, ch):
                    target = files
                else:
                    continue
                if target is not piece_files and piece:
                    out.append((self.font(size, bold, piece_files, code), piece))
                    piece = ""
                piece, piece_files = piece + ch, target
            if piece:
                out.append((self.font(size, bold, piece_files, code), piece))
        return out

    def width(self, text: str, size: int, bold: bool, files: fonts.FontFiles) -> int:
        return sum(font.size(part)[0] for font, part in self.pieces(text, size, bold, files))

    def place(self, text: str, size: int, bold: bool, files: fonts.FontFiles, color
              ) -> tuple[int, list[tuple[pygame.Surface, int, int]]]:
        """The line drawn run by run: its width and each run's (surface, x, y from the baseline), so that
        every run sits on one baseline. Runs are blitted straight onto the frame by the caller (composing
        them on a transparent line first would darken the antialiased edges)."""
        placed = []
        x = 0
        for font, part in self.pieces(text, size, bold, files):
            width = font.size(part)[0]
            if part.strip():
                try:
                    surface = font.render(part, True, color)
                except (pygame.error, ValueError):  # only invisible characters
                    surface = None
                if surface is not None:
                    tops = [m[3] for m in font.metrics(part) if m]
                    excess = (max(0, max(tops, default=0) - font.get_ascent())
                              if surface.get_height() > font.get_height() else 0)
                    placed.append((surface, x, -font.get_ascent() - excess))
            x += width
        return x, placed
