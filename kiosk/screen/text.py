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
from collections.abc import Callable
from dataclasses import dataclass

from kiosk.screen import scripts

Measure = Callable[[str, int, bool], int]
LineHeight = Callable[[int, bool], int]

TITLE_RATIO = 1.3  # title size / body size: a clear hierarchy without starving the body
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
        space = self.width(" ", size, bold)
        lines: list[str] = []
        current, current_w = "", 0
        for joiner, word in scripts.words(text):
            word_w = self.width(word, size, bold)
            if word_w > max_width:
                if current:
                    lines.append(current)
                pieces = self._break_word(word, size, bold, max_width)
                lines.extend(pieces[:-1])
                current, current_w = pieces[-1], self.width(pieces[-1], size, bold)
                continue
            if not current:
                current, current_w = word, word_w
                continue
            guess = current_w + (space if joiner else 0) + word_w
            # Widths add up except for kerning across the space (and shaping across a ZWSP): near the edge,
            # measure the real line.
            if guess <= max_width * 0.97 or (guess <= max_width * 1.03 and
                                              self.width(current + joiner + word, size, bold) <= max_width):
                current, current_w = current + joiner + word, guess
            else:
                lines.append(current)
                current, current_w = word, word_w
        if current:
            lines.append(current)
        return lines

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
    tlines, tsize, top, block = arrange(low, real)
    return _paginate(tlines, tsize, top, block, size=low, box=box, line_height=line_height, wrapper=real)


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


def _paginate(tlines: list[str], tsize: int, top: int, block: _Block, size: int, box: tuple[int, int],
              line_height: LineHeight, wrapper: Wrapper) -> Layout:
    """Too long even at the minimum size: fill pages at that size, each repeating the title."""
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
    room = max(line_height(size, False), height - top)
    pages_items: list[list[tuple[str | None, int]]] = [[]]
    page_paras: list[list[int]] = [[]]
    used = 0
    paras = block.paragraph
    for index, ((text, h), para) in enumerate(zip(block.items, paras, strict=True)):
        if text is None and not pages_items[-1]:
            continue  # no gap at the top of a page
        if used + h > room and pages_items[-1]:
            if text is None:
                continue
            carry_items: list[tuple[str | None, int]] = []
            carry_paras: list[int] = []
            same = sum(1 for p in page_paras[-1] if p == para)
            last_of_paragraph = index + 1 == len(paras) or paras[index + 1] != para
            orphan = same == 1 and len(pages_items[-1]) > 2  # a paragraph's first line alone at the foot
            widow = last_of_paragraph and same >= 3  # its last line alone at the top of the next page
            if orphan or widow:
                carry_items, carry_paras = [pages_items[-1].pop()], [page_paras[-1].pop()]
                while pages_items[-1] and pages_items[-1][-1][0] is None:
                    pages_items[-1].pop()
                    page_paras[-1].pop()
            pages_items.append(carry_items)
            page_paras.append(carry_paras)
            used = sum(item_h for _t, item_h in carry_items)
        pages_items[-1].append((text, h))
        page_paras[-1].append(para)
        used += h
    for items in pages_items:
        while items and items[-1][0] is None:
            items.pop()
    pages_items = [items for items in pages_items if items] or [[]]
    return Layout(size, tsize, tuple(_page(tlines, tsize, top, items, size, line_height) for items in pages_items))
