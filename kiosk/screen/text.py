"""Text layout decisions, pure: which size, which line breaks, which pages.

Nothing here draws or imports pygame. The renderer passes two seams,
`measure(text, size, bold) -> width` and `line_height(size, bold) -> pixels`,
so tests lay text out with a fake font and the screen with a real one.

The decision: the largest body size (title proportionally larger, bold) at
which the whole notice fits the box; if it does not fit even at the minimum
legible size, the notice is split into pages at that size, each page repeating
the title, and the player divides the slide's duration among them.
"""

from __future__ import annotations

import math
import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from kiosk.screen import scripts

Measure = Callable[[str, int, bool], int]
LineHeight = Callable[[int, bool], int]

TITLE_RATIO = 1.43  # title size / body size: the body never larger than 0.7 of the title
TITLE_GAP = 0.8  # space between title and body, in body sizes (the renderer draws a rule in it)
PARAGRAPH_GAP = 0.5  # extra space for a blank line, in body line heights
MAX_TITLE_SHARE = 0.45  # on paged notices the repeated title may use at most this share of the box


def legible_sizes(screen: tuple[int, int]) -> tuple[int, int]:
    """(minimum, maximum) body size in pixels for a screen of this logical size.

    The minimum is 1/22 of the shorter side: 49 px on a 1080-line screen, a cap
    height of about 2 cm on a 55" panel, readable from 6-8 metres (the usual
    1:300 signage rule). The maximum keeps a two-line notice from looking shouted.
    """
    short = min(screen)
    return max(12, round(short / 22)), max(16, round(short / 8.5))


@dataclass(frozen=True)
class Line:
    text: str
    y: int  # top of the line box, relative to the top of the text box
    size: int
    bold: bool


@dataclass(frozen=True)
class Page:
    lines: tuple[Line, ...]  # title lines first, then body lines
    height: int  # of the text block on this page
    title_height: int  # where the title block ends (0: no title); the rule goes below it


@dataclass(frozen=True)
class Layout:
    size: int  # body size
    title_size: int
    pages: tuple[Page, ...]

    @property
    def paged(self) -> bool:
        return len(self.pages) > 1


# What must not be broken across lines: a phone number or a number group written with spaces
# ("0235 3 888 999", "+84 235 3888 999", "100 000"), and a number from its unit ("30 %", "15 km").
_NUMBER = re.compile(r"^[+(]?\d[\d.]*\)?\Z")
_NUMBER_PART = re.compile(r"^\d[\d.]*[,.;:!?)]*\Z")
UNITS = frozenset({"%", "km", "m", "cm", "mm", "kg", "g", "ha", "tấn", "lít", "m²", "m³", "km²", "đ", "đồng",
                   "USD", "VNĐ", "°C"})
_SENTENCE_END = re.compile(r"[.!?…][\"”’»)]*\Z")
_CLAUSE_END = re.compile(r"[,;:–—][\"”’»)]*\Z")
_GAP = re.compile(r"[\s\u200b]")  # where one unit of text may end (see scripts.words)


def units(text: str) -> list[str]:
    """The words of `text`, a phone number or number group and a number with its unit each kept as one."""
    out: list[str] = []
    for word in text.split():
        last = out[-1].rsplit(" ", 1)[-1] if out else ""
        if out and _NUMBER.match(last) and (_NUMBER_PART.match(word) or word.rstrip(",.;:") in UNITS):
            out[-1] += " " + word
        else:
            out.append(word)
    return out


def joined_units(text: str) -> list[tuple[str, str]]:
    """scripts.words (spaces and ZERO WIDTH SPACEs) with units' grouping: a number keeps its unit or next group."""
    out: list[tuple[str, str]] = []
    for joiner, word in scripts.words(text):
        last = out[-1][1].rsplit(" ", 1)[-1] if out else ""
        if joiner == " " and _NUMBER.match(last) and (_NUMBER_PART.match(word) or word.rstrip(",.;:") in UNITS):
            out[-1] = (out[-1][0], out[-1][1] + " " + word)
        else:
            out.append((joiner, word))
    return out


class Wrapper:
    """Word wrap with cached measurements: one instance per layout decision."""

    def __init__(self, measure: Measure):
        self._measure = measure
        self._cache: dict[tuple[str, int, bool], int] = {}

    def width(self, text: str, size: int, bold: bool) -> int:
        key = (text, size, bold)
        value = self._cache.get(key)
        if value is None:
            value = self._cache[key] = self._measure(text, size, bold)
        return value

    def wrap(self, text: str, size: int, bold: bool, max_width: int) -> list[str]:
        """Greedy wrap of one paragraph at spaces and ZERO WIDTH SPACEs (scripts written without spaces);
        words wider than the box are broken between grapheme clusters, never inside one."""
        lines, _rest = self._greedy(text, size, bold, max_width, None)
        return self._no_runt(lines, size, bold, max_width)

    def wrap_front(self, text: str, size: int, bold: bool, max_width: int, count: int) -> tuple[list[str], str | None]:
        """The first `count` lines of `wrap(text)` and the text after them, which wrapped on its own gives the
        lines that follow; or, for a paragraph of at most `count` + 2 lines, all of `wrap(text)` and None.

        Paging a long paragraph needs a page's lines at a time: wrapping all the rest again for each page
        made its layout grow with the square of its length. So a front of the text is wrapped, cut at a
        space or ZERO WIDTH SPACE, longer and longer until it holds those lines and two more (the words
        at the cut, a number group split there, are then past them)."""
        chars = (count + 4) * 160
        while chars < len(text):
            gap = _GAP.search(text, chars)
            if gap is None:
                break
            front, rest = self._greedy(text[:gap.start()], size, bold, max_width, count)
            if rest is not None and self._greedy(rest, size, bold, max_width, 2)[1] is not None:
                return front, rest + text[gap.start():]
            chars *= 2
        front, rest = self._greedy(text, size, bold, max_width, count)
        if rest is not None and self._greedy(rest, size, bold, max_width, 2)[1] is not None:
            return front, rest  # 3 lines or more after the front: the last lines' evening-out is not in it
        return self.wrap(text, size, bold, max_width), None

    def _greedy(self, text: str, size: int, bold: bool, max_width: int,
                limit: int | None) -> tuple[list[str], str | None]:
        """Lines filled one after the other. With `limit`, once that many are complete and more text is
        left: those lines and the text left (None when the paragraph ends within them)."""
        space = self.width(" ", size, bold)
        lines: list[str] = []
        current, current_w = "", 0
        units = joined_units(text)
        for i, (joiner, word) in enumerate(units):
            word_w = self.width(word, size, bold)
            if word_w > max_width:
                if current:
                    lines.append(current)
                pieces = self._break_word(word, size, bold, max_width)
                lines.extend(pieces[:-1])
                current, current_w = pieces[-1], self.width(pieces[-1], size, bold)
            elif not current:
                current, current_w = word, word_w
            else:
                guess = current_w + (space if joiner else 0) + word_w
                # Widths add up except for kerning across the space (and shaping across a ZWSP): near the
                # edge, measure the real line.
                if guess <= max_width * 0.97 or (guess <= max_width * 1.03 and
                                                  self.width(current + joiner + word, size, bold) <= max_width):
                    current, current_w = current + joiner + word, guess
                else:
                    lines.append(current)
                    current, current_w = word, word_w
            if limit is not None and len(lines) >= limit:
                # Past the limit: pieces of one broken word (lines[limit:]), then the line being filled
                # (it begins with that word's last piece, or is the word that did not fit), then the units
                # not reached, each after its own space or ZERO WIDTH SPACE.
                tail = "".join((" " if j == " " else scripts.ZWSP) + w for j, w in units[i + 1:])
                return lines[:limit], "".join(lines[limit:]) + current + tail
        if current:
            lines.append(current)
        return lines, None

    def _no_runt(self, lines: list[str], size: int, bold: bool, max_width: int) -> list[str]:
        """A single word alone on the last line takes the word before it along (the line before keeps one)."""
        if len(lines) < 2 or " " in lines[-1]:
            return lines
        before = lines[-2].rsplit(" ", 1)
        if len(before) < 2 or units(before[1]) != [before[1]]:
            return lines
        moved = before[1] + " " + lines[-1]
        if self.width(moved, size, bold) > max_width:
            return lines
        return [*lines[:-2], before[0], moved]

    def _break_word(self, word: str, size: int, bold: bool, max_width: int) -> list[str]:
        pieces = []
        units = scripts.clusters(word)
        while units:
            low, high = 1, len(units)  # the most clusters that fit (at least one)
            while low < high:
                mid = (low + high + 1) // 2
                if self.width("".join(units[:mid]), size, bold) <= max_width:
                    low = mid
                else:
                    high = mid - 1
            pieces.append("".join(units[:low]))
            units = units[low:]
        return pieces


def paragraphs(body: str) -> list[str | None]:
    """Source lines of the body; None marks a blank line (one gap however many blank lines)."""
    out: list[str | None] = []
    for raw in body.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = " ".join(raw.split())
        if line:
            out.append(line)
        elif out and out[-1] is not None:
            out.append(None)
    while out and out[-1] is None:
        out.pop()
    return out


class _Block:
    """Wrapped lines with their heights, before they are placed on pages."""

    def __init__(self) -> None:
        self.items: list[tuple[str | None, int]] = []  # (text, height); None text = gap
        self.paragraph: list[int] = []  # which source paragraph each item belongs to

    @property
    def height(self) -> int:
        return sum(h for _t, h in self.items)


def _body_block(wrapper: Wrapper, body: str, size: int, width: int, line_height: LineHeight) -> _Block:
    block = _Block()
    lh = line_height(size, False)
    for number, para in enumerate(paragraphs(body)):
        lines = [(None, round(lh * PARAGRAPH_GAP))] if para is None else [
            (line, lh) for line in wrapper.wrap(para, size, False, width)]
        block.items.extend(lines)
        block.paragraph.extend([number] * len(lines))
    return block


def _title_lines(wrapper: Wrapper, title: str, size: int, width: int) -> list[str]:
    lines: list[str] = []
    for para in paragraphs(title):
        if para is not None:
            lines.extend(wrapper.wrap(para, size, True, width))
    return lines


def title_size_for(size: int) -> int:
    return round(size * TITLE_RATIO)


def layout(title: str, body: str, box: tuple[int, int], measure: Measure, line_height: LineHeight,
           min_size: int, max_size: int) -> Layout:
    """Lay out a notice in a box of `box` = (width, height) pixels. Pure; see the module docstring.

    The search runs on widths measured once at the minimum size and scaled (a
    real font measures each new size from cold glyph caches, which is what costs);
    the chosen size is then checked with real measurements and stepped down (or
    up) to the largest size that truly fits, so nothing ever leaves the box.
    """
    width, height = box
    real = Wrapper(measure)
    ref = max(1, min_size)  # long notices end at the minimum size: its measurements are needed anyway
    estimate = Wrapper(lambda t, size, bold: math.ceil(real.width(t, ref, bold) * size / ref))
    has_body = bool(paragraphs(body))

    def arrange(size: int, wrapper: Wrapper) -> tuple[list[str], int, int, _Block]:
        tsize = title_size_for(size) if has_body else size
        tlines = _title_lines(wrapper, title, tsize, width)
        theight = len(tlines) * line_height(tsize, True)
        gap = round(size * TITLE_GAP) if tlines and has_body else 0
        return tlines, tsize, theight + gap, _body_block(wrapper, body, size, width, line_height)

    def fits(size: int, wrapper: Wrapper) -> bool:
        _t, _ts, top, block = arrange(size, wrapper)
        return top + block.height <= height

    low, high = min_size, max(min_size, max_size)
    if not has_body:  # a title alone may grow as large as a title would
        low, high = title_size_for(min_size), title_size_for(max(min_size, max_size))
    size = low
    if fits(low, estimate):
        lo, hi = low, high
        while lo < hi:  # the largest size that fits, by the estimate
            mid = (lo + hi + 1) // 2
            if fits(mid, estimate):
                lo = mid
            else:
                hi = mid - 1
        size = lo
    while size > low and not fits(size, real):
        size -= 1
    while size < high and fits(size, real) and fits(size + 1, real):  # the estimate may be a little shy
        size += 1
    if fits(size, real):
        tlines, tsize, top, block = arrange(size, real)
        return Layout(size, tsize, (_page(tlines, tsize, top, block.items, size, line_height),))
    tlines, tsize, top, _block = arrange(low, real)
    return _paginate(tlines, tsize, top, body, size=low, box=box, line_height=line_height, wrapper=real)


def _page(tlines: list[str], tsize: int, top: int, items: list[tuple[str | None, int]], size: int,
          line_height: LineHeight) -> Page:
    tlh = line_height(tsize, True)
    lines = [Line(text, i * tlh, tsize, True) for i, text in enumerate(tlines)]
    y = top
    for text, h in items:
        if text is not None:
            lines.append(Line(text, y, size, False))
        y += h
    return Page(tuple(lines), y, len(tlines) * tlh)


def _paginate(tlines: list[str], tsize: int, top: int, body: str, size: int, box: tuple[int, int],
              line_height: LineHeight, wrapper: Wrapper) -> Layout:
    """Too long even at the minimum size: fill pages at that size, each repeating the title.

    A page ends, by preference, between paragraphs; else after a sentence; else after a clause; only
    then between two lines of a sentence, and never leaving one line of a paragraph alone at the foot
    or the top of a page."""
    width, height = box
    tlh = line_height(tsize, True)
    gap = top - len(tlines) * tlh
    if tlines and top > height * MAX_TITLE_SHARE:  # a very long title: keep its first lines, mark the cut
        keep = max(1, int((height * MAX_TITLE_SHARE - gap) // tlh))
        if keep < len(tlines):
            tlines = tlines[:keep]
            last = tlines[-1].split()
            while len(last) > 1 and wrapper.width(" ".join(last) + " …", tsize, True) > width:
                last.pop()  # make room for the mark of the cut
            tlines[-1] = " ".join(last).rstrip(" .,;:") + " …"
            top = keep * tlh + gap
    lh = line_height(size, False)
    room = max(lh, height - top)
    gap_h = round(lh * PARAGRAPH_GAP)
    pages: list[list[tuple[str | None, int]]] = [[]]
    used = 0
    queue: deque[str | list[str] | None] = deque(paragraphs(body))  # a list: lines, placed as they are

    def wrap(part: str) -> list[str]:
        return wrapper.wrap(part, size, False, width)

    def place(lines: list[str]) -> None:
        nonlocal used
        pages[-1].extend((line, lh) for line in lines)
        used += lh * len(lines)

    def new_page() -> None:
        nonlocal used
        while pages[-1] and pages[-1][-1][0] is None:
            pages[-1].pop()
        pages.append([])
        used = 0

    while queue:
        part = queue.popleft()
        if part is None:
            if pages[-1] and used + gap_h + lh <= room:
                pages[-1].append((None, gap_h))
                used += gap_h
            elif pages[-1]:
                new_page()
            continue
        free = (room - used) // lh
        # a page's lines and a few more (all of them for a paragraph that ends there): `more` is the text
        # after them, None when `lines` is the whole paragraph
        lines, more = (part, None) if isinstance(part, list) else wrapper.wrap_front(part, size, False, width, free + 1)
        if more is None and len(lines) <= free:
            place(lines)
            continue
        full = used / room
        by_lines = isinstance(part, (list, _Lines))  # the rest of a paragraph split between lines: not cut again
        cut = None if full >= 0.75 or by_lines else _cut(part, lines, free, _SENTENCE_END, wrap)
        if cut is None and full < 0.5 and not by_lines:
            cut = _cut(part, lines, free, _CLAUSE_END, wrap)
        if cut is not None:
            head, rest = cut
            place(head)
            queue.appendleft(rest)
            new_page()
            continue
        if pages[-1] and full >= 0.5:  # between paragraphs: the whole paragraph on the next page
            queue.appendleft(part)
            new_page()
            continue
        total = len(lines) if more is None else math.inf  # (more: a paragraph longer than free + 3 lines)
        take = min(free, total - 2) if total >= 4 else min(free, total - 1)  # no lone last line
        if take < 2 and pages[-1]:  # no lone first line either
            queue.appendleft(lines if more is None else _Lines(part))
            new_page()
            continue
        take = int(max(1, take))
        place(lines[:take])
        queue.appendleft(lines[take:] if more is None else
                         _Lines(wrapper.wrap_front(part, size, False, width, take)[1]))
        new_page()
    while pages[-1] and pages[-1][-1][0] is None:
        pages[-1].pop()
    kept = [items for items in pages if items] or [[]]
    return Layout(size, tsize, tuple(_page(tlines, tsize, top, items, size, line_height) for items in kept))


class _Lines(str):
    """The rest of a paragraph whose first lines are on the page before: wrapped when its page comes, and
    placed line by line there, never cut again at a sentence's end (as its lines, when known, are)."""


def _cut(part: str, lines: list[str], free: int, end: re.Pattern, wrap) -> tuple[list[str], str] | None:
    """The paragraph's longest head ending at `end` (a sentence's or clause's end) that fills at least two
    of the `free` lines left on the page (one if the page has only that): (its lines, the rest).

    `lines`: the whole paragraph wrapped. Wrapping fills each line before the next, so a head that fits in
    `free` lines has no more words than the first `free` of them (one line more is tried, where the last
    lines were evened out): only those ends are tried. Trying every end of the paragraph, each head
    wrapped again, took minutes for a long paragraph of short sentences (text pasted from a document)."""
    words = part.split()
    most = min(len(words) - 1, len(" ".join(lines[:free + 1]).split()))
    for k in range(most, 0, -1):
        if not end.search(words[k - 1]):
            continue
        head = wrap(" ".join(words[:k]))
        if len(head) <= free and (len(head) >= 2 or free <= 2):
            return head, " ".join(words[k:])
    return None
