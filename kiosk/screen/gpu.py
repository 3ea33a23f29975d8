"""Which of SDL's renderers this machine should draw with: the GPU where there is one, else SDL's own.

A renderer is chosen before it is created, because creating the wrong one is what costs: on a machine
without a GPU, SDL's OpenGL renderer runs on Mesa's software OpenGL (llvmpipe), which adds about 100 MB
of memory and ~17 ms of CPU to every frame, where SDL's software renderer copies pixels in a few ms.
So a hardware renderer is asked for only when a real GPU can serve this video driver:

- a DRM render node (`/dev/dri/renderD*`) exists whose kernel driver draws in hardware (a Pi's v3d or
  vc4, a desktop's i915, amdgpu, nouveau …; not vgem or vkms, which only pretend);
- under X11, the X server also hands that GPU to clients (DRI3 or DRI2): Xvfb and VNC servers do not,
  and their OpenGL is software whatever the machine has.

`SDL_RENDER_DRIVER` (SDL's own hint: opengles2, opengl, software) overrides the choice, for a board
whose GPU driver misbehaves. The decision itself is pure (`order`), the probes are thin.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from pathlib import Path

HARDWARE = ("opengles2", "opengl")  # GLES 2 first: what a Pi's GPU speaks natively
SOFTWARE = "software"
FAKE_GPU_DRIVERS = {"vgem", "vkms"}  # render nodes without a GPU behind them
X_GPU_EXTENSIONS = (b"DRI3", b"DRI2")


def order(video_driver: str, available: list[str], gpu: bool, forced: str | None = None) -> list[str]:
    """The renderers to try, best first, among those SDL was built with (`available`)."""
    if forced:
        return [forced] if forced in available else []
    wanted = [name for name in HARDWARE if name in available] if gpu else []
    if SOFTWARE in available:
        wanted.append(SOFTWARE)
    return wanted


def has_gpu(video_driver: str, dri: Path = Path("/sys/class/drm")) -> bool:
    """A hardware GPU can draw for `video_driver` (x11, wayland, kmsdrm; never dummy or offscreen)."""
    if video_driver in ("dummy", "offscreen", "evdev"):
        return False
    if not render_nodes(dri):
        return False
    if video_driver == "x11":
        return x_server_shares_gpu()
    return True


def render_nodes(dri: Path = Path("/sys/class/drm")) -> list[str]:
    """Kernel drivers of the DRM render nodes that draw in hardware, e.g. ['v3d']."""
    drivers = []
    try:
        nodes = sorted(dri.glob("renderD*"))
    except OSError:
        return []
    for node in nodes:
        try:
            driver = Path(os.readlink(node / "device" / "driver")).name
        except OSError:
            continue
        if driver not in FAKE_GPU_DRIVERS:
            drivers.append(driver)
    return drivers


def x_server_shares_gpu(display: str | None = None) -> bool:
    """The X server offers direct rendering (DRI3 or DRI2); False when it cannot be asked."""
    name = ctypes.util.find_library("X11")
    if not name:
        return False
    try:
        xlib = ctypes.CDLL(name)
    except OSError:
        return False
    xlib.XOpenDisplay.restype = ctypes.c_void_p
    xlib.XOpenDisplay.argtypes = [ctypes.c_char_p]
    xlib.XQueryExtension.argtypes = [ctypes.c_void_p, ctypes.c_char_p] + [ctypes.POINTER(ctypes.c_int)] * 3
    xlib.XCloseDisplay.argtypes = [ctypes.c_void_p]
    handle = xlib.XOpenDisplay(display.encode() if display else None)
    if not handle:
        return False
    try:
        out = [ctypes.c_int() for _ in range(3)]
        return any(xlib.XQueryExtension(handle, ext, *(ctypes.byref(o) for o in out)) for ext in X_GPU_EXTENSIONS)
    finally:
        xlib.XCloseDisplay(handle)
