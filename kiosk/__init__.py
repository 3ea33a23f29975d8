"""kiosk: the player for Vietnam's public electronic bulletin boards."""

from kiosk.version import __version__

__all__ = ["__version__"]
