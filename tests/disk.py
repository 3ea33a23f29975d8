"""A small real disk for tests: a tmpfs of a few MiB that can be filled to the last byte or made read-only.

`mount -t tmpfs` needs root (CI runs as root); where mounting is impossible the tests that need it skip.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest


class SmallDisk:
    def __init__(self, path: Path, size_mb: int = 8):
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mb}m,mode=0755", "tmpfs", str(self.path)],
                              capture_output=True, text=True)
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip() or done.returncode})")
        self._filler = self.path / ".filler"

    def free(self) -> int:
        st = os.statvfs(self.path)
        return st.f_bavail * st.f_frsize

    def fill(self, leave: int = 0) -> None:
        """Take every free byte but `leave` (the disk of a board whose card is full)."""
        with open(self._filler, "ab") as f:
            block = b"\0" * 65536
            while self.free() > leave + len(block):
                try:
                    f.write(block)
                    f.flush()
                except OSError:
                    break
            rest = self.free() - leave
            for size in (4096, 512, 1):
                while rest >= size:
                    try:
                        f.write(b"\0" * size)
                        f.flush()
                    except OSError:
                        break
                    rest = self.free() - leave

    def make_room(self) -> None:
        """Space comes back (the technician deleted something)."""
        self._filler.unlink(missing_ok=True)

    def read_only(self, yes: bool = True) -> None:
        subprocess.run(["mount", "-o", f"remount,{'ro' if yes else 'rw'}", str(self.path)], check=True)

    def close(self) -> None:
        subprocess.run(["umount", "-l", str(self.path)], capture_output=True)
        shutil.rmtree(self.path, ignore_errors=True)
