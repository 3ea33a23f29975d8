"""The C libraries under SDL speak to a person's terminal; here they speak to the journal, at debug level.

ALSA prints a dozen `ALSA lib confmisc.c:855:(parse_card) cannot find card '0'` lines on a board without a
sound card, straight to file descriptor 2, before SDL reports its own one-line error (which kiosk turns into
a sentence). libasound lets a program replace that printer (snd_lib_error_set_handler); we give it one that
does nothing. Not a redirection of fd 2: other threads' log lines go there at the same moment.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger("kiosk.screen")

# void handler(const char *file, int line, const char *function, int err, const char *fmt, ...): the
# variadic tail is never read, so this fixed prototype is safe to give to C.
_ALSA_HANDLER = ctypes.CFUNCTYPE(None, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_int,
                                 ctypes.c_char_p)
_handler = None  # kept alive for as long as libasound may call it


def _alsa_says(file: bytes | None, line: int, function: bytes | None, err: int, fmt: bytes | None) -> None:
    log.debug("ALSA: %s:%d (%s) %s", (file or b"").decode(errors="replace"), line,
              (function or b"").decode(errors="replace"), (fmt or b"").decode(errors="replace"))


def silence_alsa() -> None:
    """ALSA's own error printing off (once per process); nothing happens where libasound is absent."""
    global _handler
    if _handler is not None:
        return
    name = ctypes.util.find_library("asound") or "libasound.so.2"
    try:
        library = ctypes.CDLL(name)
    except OSError:
        _handler = False
        return
    _handler = _ALSA_HANDLER(_alsa_says)
    library.snd_lib_error_set_handler(_handler)


def wayland_can_connect() -> bool:
    """libwayland prints `error: XDG_RUNTIME_DIR is invalid or not set in the environment.` when asked to
    connect without a session; without one (and without WAYLAND_DISPLAY) there is nothing to connect to."""
    import os

    return bool(os.environ.get("WAYLAND_DISPLAY") or os.environ.get("XDG_RUNTIME_DIR"))
