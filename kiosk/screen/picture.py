"""A picture decoded by Pillow, handed to pygame with the fewest full-screen copies alive at once.

Pillow holds an RGB picture at 4 bytes a pixel (8.3 MB at 1080p), its bytes are 3 (6.2 MB), and a Surface
made with `frombytes` is a third copy. `surface_of` takes the bytes, lets the Pillow image go at once, and
makes the Surface over those bytes (`frombuffer` keeps them alive, no copy): 14.5 MB at the peak instead of
about 29 MB.

A prepared picture slide does better (`decode_into`): Pillow's JPEG decoder writes straight into the
frame's own pixels, so the frame is the only full-screen buffer (bench/decode_into_frame.py: -6 MB at a
picture slide's peak, a little faster, the same pixels). It goes through two calls Pillow does not
document (`Image._getdecoder`, `putband`): anything unexpected there, or in the file, and the caller
draws the picture the ordinary way, which also deals with damaged files.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pygame
from PIL import Image

log = logging.getLogger(__name__)

BGRX = (0xFF0000, 0xFF00, 0xFF, 0)  # a 32-bit Surface's masks as SDL's software renderer has them


def surface_of(image) -> pygame.Surface:
    """A 24-bit Surface of a Pillow RGB image, which is closed (it must not be used after)."""
    size, data = image.size, image.tobytes()
    image.close()
    return pygame.image.frombuffer(data, size, "RGB")


def decode_into(frame: pygame.Surface, path: Path, at: tuple[int, int], size: tuple[int, int]) -> bool:
    """Fill `frame` black and decode the JPEG at `path`, which must be exactly `size`, into it at `at`.

    False when it cannot be done so (another format or size, a damaged file, a Pillow that changed):
    the frame's pixels are then undefined and the caller draws it the ordinary way."""
    x, y = at
    w, h = size
    if (frame.get_bitsize() != 32 or frame.get_masks() != BGRX or x < 0 or y < 0
            or x + w > frame.get_width() or y + h > frame.get_height()):
        return False
    try:
        with Image.open(path) as image:
            if image.format != "JPEG" or image.mode != "RGB" or image.size != (w, h) or len(image.tile) != 1:
                return False
            tile = image.tile[0]
            image.fp.seek(tile.offset)
            data = image.fp.read()
        frame.fill((0, 0, 0))
        view = frame.get_view("0")
        try:
            target = Image.frombuffer("RGBX", frame.get_size(), view, "raw", "RGBX", frame.get_pitch(), 1)
            decoder = Image._getdecoder("RGBX", "jpeg", ("RGB", tile.args[1]))
            try:
                decoder.setimage(target.im, (x, y, x + w, y + h))
                consumed, error = decoder.decode(data)
            finally:
                decoder.cleanup()
            if consumed >= 0 or error < 0:  # more data wanted (a short file) or a decoding error
                return False
            # Pillow writes R,G,B,X; the frame is B,G,R,X: R and B swapped in place (2 MB a band at 1080p;
            # a blit between two Surfaces over the same pixels is refused, the view locking the frame)
            red, blue = target.getchannel(0), target.getchannel(2)
            target.im.putband(blue.im, 0)
            target.im.putband(red.im, 2)
            del red, blue, target
        finally:
            del view
    except Exception as exc:  # noqa: BLE001 - Pillow raises many types, and its private calls may change
        log.debug("%s not decoded into its frame (%s: %s): drawn the ordinary way", path, type(exc).__name__, exc)
        return False
    return True
