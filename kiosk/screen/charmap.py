"""Which characters a font file maps to a real glyph, read from its cmap table.

pygame's Font.metrics() reports the .notdef box's metrics for a missing
character instead of None (pygame-ce 2.5), so coverage is read from the font
file itself: TrueType/OpenType (also CFF-flavoured) and the first face of a
collection; Unicode subtables of format 4 (BMP) and 12 (all planes).
"""

from __future__ import annotations

import struct
from functools import lru_cache
from pathlib import Path


class FontFileError(ValueError):
    """Not a font file this module can read."""


def _table_directory(data: bytes) -> dict[bytes, tuple[int, int]]:
    offset = 0
    if data[:4] == b"ttcf":
        offset = struct.unpack_from(">I", data, 12)[0]  # the first face of a collection
    version = data[offset:offset + 4]
    if version not in (b"\x00\x01\x00\x00", b"OTTO", b"true"):
        raise FontFileError("not a TrueType/OpenType font")
    count = struct.unpack_from(">H", data, offset + 4)[0]
    tables = {}
    for i in range(count):
        tag, _checksum, start, length = struct.unpack_from(">4sIII", data, offset + 12 + 16 * i)
        tables[tag] = (start, length)
    return tables


def _format4(data: bytes, at: int, out: set[int]) -> None:
    seg_count = struct.unpack_from(">H", data, at + 6)[0] // 2
    ends = struct.unpack_from(f">{seg_count}H", data, at + 14)
    starts_at = at + 16 + 2 * seg_count
    starts = struct.unpack_from(f">{seg_count}H", data, starts_at)
    deltas = struct.unpack_from(f">{seg_count}h", data, starts_at + 2 * seg_count)
    ranges_at = starts_at + 4 * seg_count
    range_offsets = struct.unpack_from(f">{seg_count}H", data, ranges_at)
    for i in range(seg_count):
        start, end, delta, range_offset = starts[i], ends[i], deltas[i], range_offsets[i]
        if start == 0xFFFF:
            continue
        if range_offset == 0:
            out.update(c for c in range(start, end + 1) if (c + delta) & 0xFFFF)
            continue
        base = ranges_at + 2 * i + range_offset
        for c in range(start, end + 1):
            pos = base + 2 * (c - start)
            if pos + 2 <= len(data):
                glyph = struct.unpack_from(">H", data, pos)[0]
                if glyph and (glyph + delta) & 0xFFFF:
                    out.add(c)


def _format12(data: bytes, at: int, out: set[int]) -> None:
    groups = struct.unpack_from(">I", data, at + 12)[0]
    for i in range(groups):
        start, end, glyph = struct.unpack_from(">III", data, at + 16 + 12 * i)
        out.update(range(start + (1 if glyph == 0 else 0), min(end, 0x10FFFF) + 1))


def codepoints_of(data: bytes) -> frozenset[int]:
    """The code points the font's Unicode cmap subtables map to a glyph other than .notdef."""
    try:
        tables = _table_directory(data)
        if b"cmap" not in tables:
            raise FontFileError("font has no cmap table")
        cmap = tables[b"cmap"][0]
        count = struct.unpack_from(">H", data, cmap + 2)[0]
        found: set[int] = set()
        for i in range(count):
            platform, encoding, offset = struct.unpack_from(">HHI", data, cmap + 4 + 8 * i)
            if not (platform == 0 or (platform == 3 and encoding in (1, 10))):
                continue
            at = cmap + offset
            fmt = struct.unpack_from(">H", data, at)[0]
            if fmt == 4:
                _format4(data, at, found)
            elif fmt == 12:
                _format12(data, at, found)
        return frozenset(found)
    except struct.error:
        raise FontFileError("font file is truncated or damaged") from None


class Coverage:
    """A font's code points as a bitmap: `ord(c) in coverage`. A frozenset of a Noto font's ~4,000 code
    points holds 0.4 MB for as long as the player runs; its bitmap, a few kB."""

    def __init__(self, points: frozenset[int]):
        top = max(points, default=-1)
        bits = bytearray(top // 8 + 1)
        for point in points:
            bits[point >> 3] |= 1 << (point & 7)
        self._bits, self._count = bytes(bits), len(points)

    def __contains__(self, point: object) -> bool:
        if not isinstance(point, int) or point < 0 or (point >> 3) >= len(self._bits):
            return False
        return bool(self._bits[point >> 3] & (1 << (point & 7)))

    def __len__(self) -> int:
        return self._count


@lru_cache(maxsize=16)
def codepoints(path: Path) -> Coverage:
    """Cached per path: fonts do not change while the player runs."""
    return Coverage(codepoints_of(Path(path).read_bytes()))
