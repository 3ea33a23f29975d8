"""A picture decoded by Pillow, handed to pygame with the fewest full-screen copies alive at once.

Pillow holds an RGB picture at 4 bytes a pixel (8.3 MB at 1080p), its bytes are 3 (6.2 MB), and a Surface
made with `frombytes` is a third copy. Here the bytes are taken, the Pillow image is let go at once, and the
Surface is made over those bytes (`frombuffer` keeps them alive, no copy): 14.5 MB at the peak instead of
about 29 MB, each time a picture slide is drawn.
"""

from __future__ import annotations

import pygame


def surface_of(image) -> pygame.Surface:
    """A 24-bit Surface of a Pillow RGB image, which is closed (it must not be used after)."""
    size, data = image.size, image.tobytes()
    image.close()
    return pygame.image.frombuffer(data, size, "RGB")
