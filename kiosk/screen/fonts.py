"""The board's typeface: found once, checked for Vietnamese before use.

A font that lacks a single Vietnamese glyph would print a box in the middle of
a notice, so every candidate is checked against the whole alphabet (and each
slide's text, see FontSet.covers) and refused with a clear message when it
falls short. pygame's default font is never used: it has no Vietnamese.
"""

from __future__ import annotations

import logging
import os
import subprocess
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import pygame

from kiosk.i18n import _
from kiosk.screen import charmap

log = logging.getLogger(__name__)

AUTO_FAMILIES = ("Noto Sans", "DejaVu Sans")
FONT_DIRS = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"), Path.home() / ".local/share/fonts",
             Path.home() / ".fonts")
FONT_SUFFIXES = (".ttf", ".otf", ".ttc")
FONTS_KEPT = 12  # Font objects kept (~64 kB open, ~200 kB once drawn with): a slide's sizes and its bands'
_REGULAR_STYLES = ("regular", "book", "normal", "roman")
_NOT_PLAIN = ("italic", "oblique", "condensed", "semi", "extra", "light", "thin", "medium", "black", "narrow")

_VOWELS = "aăâeêioôơuưy"
_TONES = ("", "\u0300", "\u0301", "\u0309", "\u0303", "\u0323")  # huyền, sắc, hỏi, ngã, nặng


def _alphabet() -> str:
    lower = [unicodedata.normalize("NFC", v + t) for v in _VOWELS for t in _TONES]
    letters = "".join(lower) + "bcdđghklmnpqrstvx"
    return letters + letters.upper() + "0123456789.,:;!?()-–/%\"'"


VIETNAMESE = _alphabet()  # every letter with every tone mark, both cases, and the usual punctuation


class FontError(Exception):
    """No usable font: the message names what was tried and what to install."""


@dataclass(frozen=True)
class FontFiles:
    name: str  # for messages and the log
    regular: Path
    bold: Path | None  # None: pygame emboldens the regular face


def missing_glyphs(path: Path, text: str) -> str:
    """The characters of `text` that the font file cannot draw (whitespace and controls ignored).

    Raises OSError or charmap.FontFileError when the file cannot be read as a font.
    """
    have = charmap.codepoints(Path(path))
    chars = sorted({c for c in text if not c.isspace() and unicodedata.category(c)[0] != "C"})
    return "".join(c for c in chars if ord(c) not in have)


def _fc_list(family: str) -> list[tuple[Path, list[str], list[str]]]:
    try:
        out = subprocess.run(
            ["fc-list", "-f", "%{file}|%{family}|%{style}\\n", family],
            capture_output=True, text=True, timeout=10, check=False,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    found = []
    for line in out.splitlines():
        parts = line.split("|")
        if len(parts) == 3:
            found.append((Path(parts[0]), [f.strip().lower() for f in parts[1].split(",")],
                          [s.strip().lower() for s in parts[2].split(",")]))
    return found


def _plain(styles: list[str], wanted: tuple[str, ...]) -> bool:
    return any(s in wanted for s in styles) and not any(bad in s for s in styles for bad in _NOT_PLAIN)


def _by_fontconfig(family: str) -> FontFiles | None:
    entries = [e for e in _fc_list(family) if e[1] and e[1][0] == family.lower() and e[0].suffix.lower() in
               FONT_SUFFIXES]
    regular = next((p for p, _f, s in entries if _plain(s, _REGULAR_STYLES)), None)
    bold = next((p for p, _f, s in entries if _plain(s, ("bold",))), None)
    return FontFiles(family, regular, bold) if regular else None


def _by_scan(family: str, dirs: tuple[Path, ...] = FONT_DIRS) -> FontFiles | None:
    """Without fontconfig: guess from file names (NotoSans-Regular.ttf, DejaVuSans.ttf)."""
    stem = family.replace(" ", "").lower()
    regular = bold = None
    for root in dirs:
        if not root.is_dir():
            continue
        for dirpath, _dirs, files in os.walk(root):
            for name in sorted(files):
                path = Path(dirpath, name)
                if path.suffix.lower() not in FONT_SUFFIXES:
                    continue
                base = path.stem.lower()
                if regular is None and base in (stem, stem + "-regular", stem + "-book"):
                    regular = path
                elif bold is None and base == stem + "-bold":
                    bold = path
    return FontFiles(family, regular, bold) if regular else None


def find_family(family: str) -> FontFiles | None:
    return _by_fontconfig(family) or _by_scan(family)


def _from_path(path: Path) -> FontFiles:
    bold = None
    for guess in (path.stem.replace("-Regular", "") + "-Bold", path.stem + "-Bold", path.stem + "Bold"):
        candidate = path.with_name(guess + path.suffix)
        if candidate != path and candidate.is_file():
            bold = candidate
            break
    return FontFiles(path.name, path, bold)


def candidates(spec: str) -> tuple[list[FontFiles], list[str]]:
    """Font files to try, in order, for a display.font value; plus what could not be found."""
    spec = (spec or "auto").strip()
    found: list[FontFiles] = []
    notes: list[str] = []
    if spec.lower() != "auto":
        looks_like_path = "/" in spec or Path(spec).suffix.lower() in FONT_SUFFIXES
        if looks_like_path:
            path = Path(os.path.expanduser(spec))
            if path.is_file():
                found.append(_from_path(path))
            else:
                notes.append(_("font file {spec} not found").format(spec=repr(spec)))
        else:
            files = find_family(spec)
            if files:
                found.append(files)
            else:
                notes.append(_("font family {spec} is not installed").format(spec=repr(spec)))
    for family in AUTO_FAMILIES:
        files = find_family(family)
        if files and all(f.regular != files.regular for f in found):
            found.append(files)
    return found, notes


class FontSet:
    """The chosen regular + bold faces, with pygame Font objects cached per size.

    Thread-confined like the Renderer that owns it.
    """

    def __init__(self, chosen: FontFiles, fallbacks: list[FontFiles]):
        self.files = chosen
        self.fallbacks = fallbacks  # other fonts that also cover Vietnamese, for rare characters
        self._fonts: dict[tuple[Path, bool, int], pygame.font.Font] = {}
        self._covers: dict[tuple[Path, str], bool] = {}

    @property
    def name(self) -> str:
        return self.files.name

    def font(self, size: int, bold: bool = False, files: FontFiles | None = None) -> pygame.font.Font:
        files = files or self.files
        path = files.bold if bold and files.bold else files.regular
        key = (path, bold, size)
        font = self._fonts.pop(key, None)
        if font is None:
            # Opening is cheap (~0.06 ms), a font once drawn with is not (~260 kB: its face's tables and
            # glyphs), and fitting text tries a dozen sizes a slide: keep only the sizes used lately.
            while len(self._fonts) >= FONTS_KEPT:
                self._fonts.pop(next(iter(self._fonts)))
            font = pygame.font.Font(str(path), size)
            if bold and files.bold is None:
                font.bold = True  # no bold face installed: embolden the regular one
        self._fonts[key] = font  # the most recently used last
        return font

    def for_text(self, text: str) -> FontFiles:
        """The first font that draws every character of `text` (the chosen one when none does)."""
        if len(self._covers) > 256:  # programmes change over months: keep the memo bounded
            self._covers.clear()
        chars = "".join(sorted({c for c in text if ord(c) > 0x7F}))  # ASCII is in every candidate
        for files in (self.files, *self.fallbacks):
            key = (files.regular, chars)
            if key not in self._covers:
                self._covers[key] = not missing_glyphs(files.regular, chars) and (
                    files.bold is None or not missing_glyphs(files.bold, chars))
            if self._covers[key]:
                return files
        from kiosk.screen import scripts  # other scripts are drawn run by run (screen.fallback), not by one font

        if not scripts.needs_runs(text):
            log.warning(_("no installed font draws {letters}; {hint}").format(
                letters=repr(missing_glyphs(self.files.regular, text)),
                hint=_("install fonts-noto-core or fonts-dejavu-core (apt-get install fonts-dejavu-core)")))
        return self.files


def load(spec: str) -> FontSet:
    """Resolve display.font ("auto", a family name or a TTF/OTF path) to a FontSet covering Vietnamese.

    Raises FontError naming what was tried and what to install when nothing is usable.
    """
    if not pygame.font.get_init():
        pygame.font.init()
    found, notes = candidates(spec)
    usable: list[FontFiles] = []
    for files in found:
        try:
            lacking = missing_glyphs(files.regular, VIETNAMESE)
            if not lacking and files.bold is not None and missing_glyphs(files.bold, VIETNAMESE):
                files = FontFiles(files.name, files.regular, None)
        except (OSError, ValueError, pygame.error) as exc:
            notes.append(_("font {name} ({file}) cannot be read: {reason}")
                .format(name=files.name, file=files.regular, reason=exc))
            continue
        if lacking:
            note = _("font {name} ({file}) lacks Vietnamese letters {letters}: refused").format(
                name=files.name, file=files.regular, letters=repr(lacking[:24]))
            notes.append(note)
            log.warning("%s", note)
            continue
        usable.append(files)
    if not usable:
        hint = _("install fonts-noto-core or fonts-dejavu-core (apt-get install fonts-dejavu-core)")
        raise FontError(_("no font with Vietnamese letters for display.font={spec} ({notes}); {hint}").format(
            spec=repr(spec), notes="; ".join(notes) or _("nothing found"), hint=hint))
    for note in notes:
        log.warning(_("{note}; using {font}").format(note=note, font=usable[0].name))
    log.info("font: %s (%s, bold: %s)", usable[0].name, usable[0].regular, usable[0].bold or "emboldened")
    return FontSet(usable[0], usable[1:])
