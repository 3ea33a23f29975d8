"""The C libraries under SDL speak to a person's terminal; here they speak to the journal, at debug level.

ALSA prints a dozen `ALSA lib confmisc.c:855:(parse_card) cannot find card '0'` lines on a board without a
sound card, straight to file descriptor 2, before SDL reports its own one-line error (which kiosk turns into
a sentence). libasound lets a program replace that printer (snd_lib_error_set_handler); we give it one that
does nothing (a C one: see silence_alsa). Not a redirection of fd 2: other threads' log lines go there at the
same moment.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger("kiosk.screen")

_handler = None  # set once: libasound keeps the pointer


def silence_alsa() -> None:
    """ALSA's own error printing off (once per process); nothing happens where libasound is absent.

    The handler must be C, never a Python callback: ALSA calls it from SDL's own threads (its hotplug
    thread) while the thread that started the mixer holds the GIL and waits for that thread to end, so a
    callback that needs the GIL deadlocks the board (seen: `kiosk run` with a spoken slide and no sound card
    stopped answering SIGTERM). libc's getpid is a C function that reads none of its arguments and has no
    effect; on the ABIs of a Pi and a PC the caller owns the argument registers and the stack of a variadic
    call, so a handler that ignores them is safe."""
    global _handler
    if _handler is not None:
        return
    name = ctypes.util.find_library("asound") or "libasound.so.2"
    try:
        library = ctypes.CDLL(name)
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        _handler = False
        return
    _handler = ctypes.cast(libc.getpid, ctypes.c_void_p)
    library.snd_lib_error_set_handler(_handler)
    log.debug("ALSA's error printer silenced")


def wayland_can_connect() -> bool:
    """libwayland prints `error: XDG_RUNTIME_DIR is invalid or not set in the environment.` when asked to
    connect without a session; without one (and without WAYLAND_DISPLAY) there is nothing to connect to."""
    import os

    return bool(os.environ.get("WAYLAND_DISPLAY") or os.environ.get("XDG_RUNTIME_DIR"))
