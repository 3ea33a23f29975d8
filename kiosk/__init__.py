"""kiosk: the player for Vietnam's public electronic bulletin boards."""

import os

from kiosk.version import __version__

# pygame prints a banner on stdout at import; `kiosk render` prints paths there.
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

__all__ = ["__version__"]
