"""Shared set-up for benchmarks under X: a throw-away Xvfb, pixels read off its screen, process trees.

Debian's xvfb is needed (`apt-get install xvfb`); without it these benchmarks say so and stop.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

SCREEN = (1920, 1080)


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


@contextlib.contextmanager
def xvfb(size: tuple[int, int] = SCREEN) -> Iterator[str]:
    """A fresh Xvfb (24-bit, no GPU: like this machine) on a free display; yields its name (':N')."""
    if shutil.which("Xvfb") is None:
        raise SystemExit("Xvfb is not installed: apt-get install xvfb")
    for number in range(90, 200):
        if not Path(f"/tmp/.X{number}-lock").exists() and not Path(f"/tmp/.X11-unix/X{number}").exists():
            break
    display = f":{number}"
    proc = subprocess.Popen(["Xvfb", display, "-screen", "0", f"{size[0]}x{size[1]}x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            if Path(f"/tmp/.X11-unix/X{number}").exists():
                break
            time.sleep(0.02)
        time.sleep(0.2)
        yield display
    finally:
        proc.terminate()
        proc.wait(10)


class Screen:
    """Pixels of an X display's root window (ctypes Xlib: no extra package)."""

    def __init__(self, display: str):
        self.x = ctypes.CDLL(ctypes.util.find_library("X11"))
        self.x.XOpenDisplay.restype = ctypes.c_void_p
        self.x.XOpenDisplay.argtypes = [ctypes.c_char_p]
        self.x.XDefaultRootWindow.restype = ctypes.c_ulong
        self.x.XDefaultRootWindow.argtypes = [ctypes.c_void_p]
        self.x.XGetImage.restype = ctypes.c_void_p
        self.x.XGetImage.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int, ctypes.c_int, ctypes.c_uint,
                                     ctypes.c_uint, ctypes.c_ulong, ctypes.c_int]
        self.x.XGetPixel.restype = ctypes.c_ulong
        self.x.XGetPixel.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
        self.x.XDestroyImage.argtypes = [ctypes.c_void_p]
        self.x.XCloseDisplay.argtypes = [ctypes.c_void_p]
        self.handle = self.x.XOpenDisplay(display.encode())
        if not self.handle:
            raise RuntimeError(f"cannot open X display {display}")
        self.root = self.x.XDefaultRootWindow(self.handle)

    def pixel(self, x: int, y: int) -> tuple[int, int, int]:
        image = self.x.XGetImage(self.handle, self.root, x, y, 1, 1, 0xFFFFFFFF, 2)  # ZPixmap
        if not image:
            return (0, 0, 0)
        try:
            value = self.x.XGetPixel(image, 0, 0)  # libX11 exports the functions behind Xutil.h's macros
        finally:
            self.x.XDestroyImage(image)
        return (value >> 16) & 255, (value >> 8) & 255, value & 255

    def close(self) -> None:
        self.x.XCloseDisplay(self.handle)


def tree(pid: int) -> list[int]:
    """`pid` and all its descendants now alive."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        todo.extend(children.get(current, []))
    return out


def cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def memory_mb(pids: list[int]) -> tuple[float, float, float]:
    """(sum of RSS, sum of PSS, sum of peak RSS) over the processes, in MB. PSS shares pages fairly among
    the processes that map them: the figure to compare a multi-process browser with one process."""
    rss = pss = hwm = 0
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                rss += int(line.split()[1])
            elif line.startswith("VmHWM:"):
                hwm += int(line.split()[1])
        for line in rollup.splitlines():
            if line.startswith("Pss:"):
                pss += int(line.split()[1])
    return rss / 1024, pss / 1024, hwm / 1024
