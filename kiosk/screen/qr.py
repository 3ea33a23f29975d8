"""QR codes on the board (segno): the feedback address of config.yaml, or a slide's own `link:`.

A code is only worth showing if a phone can read it from where people stand (about 1.5 m): each module
at least MIN_MODULE_PX pixels, the quiet zone kept. On a panel too small for that it is not drawn at all
(and `kiosk render` says so): a code that cannot be scanned is noise.
"""

from __future__ import annotations

import pygame

BORDER = 3  # modules of quiet zone around the code (phones read 2; 4 is the standard's ideal)
MIN_MODULE_PX = 3
SHARE = 0.2  # the code's side, as a share of the screen's shorter side (216 px at 1080 lines)


def modules(url: str) -> int:
    """The code's side in modules, quiet zone included."""
    import segno  # imported on first use: its tables are 3 MB resident, and most boards show no code

    return segno.make(url, error="m", micro=False).symbol_size(border=BORDER)[0]


def side_for(url: str, screen: tuple[int, int]) -> int:
    """The code's side in pixels on this screen, a whole number of pixels a module; 0: not scannable here."""
    count = modules(url)
    module = int(min(screen) * SHARE) // count
    return module * count if module >= MIN_MODULE_PX else 0


def surface(url: str, side: int) -> pygame.Surface:
    """The code, black on white with its quiet zone, `side` pixels square (a multiple of its modules)."""
    import segno

    code = segno.make(url, error="m", micro=False)
    rows = list(code.matrix_iter(border=BORDER))
    module = side // len(rows)
    out = pygame.Surface((side, side))
    out.fill((255, 255, 255))
    for y, row in enumerate(rows):
        for x, dark in enumerate(row):
            if dark:
                out.fill((0, 0, 0), (x * module, y * module, module, module))
    return out
