"""Writing systems in a line of text, pure: runs of one script, grapheme clusters, break opportunities.

A Vietnamese notice with a Khmer translation mixes Latin and Khmer in one paragraph; each run is drawn
with a font that covers it and with its HarfBuzz script (without it Khmer subscript consonants come out
detached, see screen.fallback). Line breaking may break only between clusters: a Khmer consonant with its
COENG and subscript, a letter with its combining marks, is one unit on screen. Scripts written without
spaces (Khmer, Thai, Lao, Myanmar) mark where a line may break with ZERO WIDTH SPACE, which authors type
(or their word processors insert); this module finds those, and never a box is drawn for one.

The Unicode script of each character comes from fontTools' copy of the Unicode Character Database.
"""

from __future__ import annotations

import functools
import unicodedata

COMMON = ("Zyyy", "Zinh", "Zzzz")  # common (digits, punctuation, spaces), inherited (marks), unknown
ZWSP, ZWNJ, ZWJ = "\u200b", "\u200c", "\u200d"
# Characters that join the cluster before them although they are not marks: joiners, variation selectors,
# and the viramas that stack the next consonant under this one (Khmer COENG, Myanmar's, Balinese …).
_JOINERS = {ZWNJ, ZWJ}
_STACKERS = {"\u17d2", "\u1039", "\u103a", "\u1a60", "\u0e3a", "\u0eba"}
NO_SPACES = ("Khmr", "Thai", "Laoo", "Mymr")  # scripts written without spaces between words

NAMES = {"Latn": "Latin", "Khmr": "Khmer", "Thai": "Thai", "Laoo": "Lao", "Mymr": "Myanmar", "Hani": "Chinese",
         "Arab": "Arabic", "Cyrl": "Cyrillic", "Grek": "Greek", "Hang": "Korean", "Hira": "Japanese",
         "Kana": "Japanese", "Deva": "Devanagari", "Hebr": "Hebrew", "Ethi": "Ethiopic", "Tavt": "Tai Viet"}


@functools.cache
def script_of(ch: str) -> str:
    """ISO 15924 code of a character's script ('Latn', 'Khmr'; 'Zyyy' for digits and punctuation)."""
    from fontTools import unicodedata as ucd  # ~50 ms to import: only once a text has another script

    return ucd.script(ch)


def name(code: str) -> str:
    return NAMES.get(code, code)


def runs(text: str) -> list[tuple[str, str]]:
    """`text` as (script, part) runs, in order. Digits, punctuation, spaces and marks belong to the run
    they stand in (the one before them; at the start, the one after), so a run breaks only where the
    writing system does."""
    out: list[list[str]] = []  # [script, text]
    pending = ""  # common characters before the first real script
    for ch in text:
        code = script_of(ch)
        if code in COMMON or ch in _JOINERS or ch == ZWSP:
            if out:
                out[-1][1] += ch
            else:
                pending += ch
            continue
        if out and out[-1][0] == code:
            out[-1][1] += ch
        else:
            out.append([code, pending + ch if not out else ch])
            pending = ""
    if not out:
        return [("Zyyy", pending)] if pending else []
    return [(code, part) for code, part in out]


def scripts_in(text: str) -> set[str]:
    return {code for code, _part in runs(text)} - set(COMMON)


def clusters(text: str) -> list[str]:
    """Grapheme clusters, as a reader sees letters: a base with its combining marks, joiners, and a
    consonant stacked under it after a COENG or virama. (Unicode's extended grapheme clusters, UAX #29,
    simplified to what the board's scripts need; Python has no segmenter of its own.)"""
    out: list[str] = []
    for ch in text:
        joins = out and (unicodedata.category(ch)[0] == "M" or ch in _JOINERS or out[-1][-1] in _STACKERS
                         or out[-1][-1] in _JOINERS or 0xFE00 <= ord(ch) <= 0xFE0F)
        if joins:
            out[-1] += ch
        else:
            out.append(ch)
    return out


def words(paragraph: str) -> list[tuple[str, str]]:
    """The paragraph as (joiner, word): a word after a space has joiner ' ', after a ZERO WIDTH SPACE ''
    (a line may break there, and nothing is drawn for it). ZWSPs are dropped; the first joiner is ''."""
    out: list[tuple[str, str]] = []
    for i, spaced in enumerate(paragraph.split()):
        for j, word in enumerate(spaced.split(ZWSP)):
            if word:
                out.append((" " if i and j == 0 and out else "", word))
    return out


def needs_runs(text: str) -> bool:
    """Whether `text` may hold another script than Latin (Vietnamese included): only then is it split into
    runs. A quick test on code points; the common case, Vietnamese, never pays for script lookups."""
    return any(_other(ch) for ch in set(text))


def _other(ch: str) -> bool:
    point = ord(ch)
    if point < 0x0370 or 0x1E00 <= point <= 0x1EFF or 0x2000 <= point <= 0x2BFF or 0xFE00 <= point <= 0xFE0F:
        return False  # Latin (with Vietnamese), general punctuation, symbols, arrows, variation selectors
    return point not in (0xFEFF,)


def wants_zwsp(text: str) -> bool:
    """Whether ZERO WIDTH SPACEs in `text` carry meaning (a script written without spaces is in it)."""
    return any(script_of(ch) in NO_SPACES for ch in text if ord(ch) > 0x7F)
