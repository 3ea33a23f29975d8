"""The media cache: content-addressed, verified files that survive power cuts.

Layout under cache.path:
  media/<sha256>         verified bytes, named by their SHA-256 (immutable)
  media/<sha256>.part    a download in progress; kept across restarts so it resumes
  prepared/<sha256>-…    images scaled for the screen (kiosk.source.prepare owns these)
  state/                 the last good manifest, so a cold boot plays at once

Every write goes to a temporary file in the same folder, is fsynced, renamed
over the target and the folder fsynced: a power cut leaves old or new, never
a torn file.

What the cache trusts it also checks: a file of the right size may still be
damaged (an SD card flips bits at rest), so `verified` hashes each file once
per process (the sync thread does it in slices after its cycles, in the
background) and removes a damaged one, which the sync then fetches again. And it stays
within the disk it has: `free_bytes` and `reserve_bytes` let the sync refuse a
programme that would fill the card, before downloading a byte.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from kiosk.content.manifest import SHA256
from kiosk.durable import remove
from kiosk.i18n import _

log = logging.getLogger("kiosk.cache")

PART = ".part"
RESERVE_SHARE = 0.05  # of the disk, left free for the rest of the board (plays, prepared images, the system) ...
RESERVE_MAX = 64 * 1024 * 1024  # ... but never more than this

# (path) -> (device, inode, size, mtime_ns) of files hashed right in this process: hashed once, not every cycle.
_verified: dict[Path, tuple[int, int, int, int]] = {}
_verified_lock = threading.Lock()


@dataclass(frozen=True)
class Cache:
    """Paths of one cache folder. Cheap to build; creates folders on first use.

    A board that follows channels (kiosk.source.channels) has one Cache per channel: the media and
    prepared folders shared (content-addressed: a logo both trees use is stored once), the state its
    own (`state`), and `pinned` naming the media the other channels need, which eviction never removes."""

    root: Path
    state: Path | None = None  # None: <root>/state, the board's own tree
    pinned: Callable[[], set[str]] | None = field(default=None, compare=False)

    @property
    def media_dir(self) -> Path:
        return self.root / "media"

    @property
    def prepared_dir(self) -> Path:
        return self.root / "prepared"

    @property
    def state_dir(self) -> Path:
        return self.state if self.state is not None else self.root / "state"

    def kept_by_others(self) -> set[str]:
        """Media other channels need (never evicted nor removed by this one's sync)."""
        return set(self.pinned()) if self.pinned is not None else set()

    def media(self, sha256: str) -> Path:
        if not SHA256.match(sha256):  # names come from the network: never let one escape the folder
            raise ValueError(f"not a SHA-256: {sha256!r}")
        return self.media_dir / sha256

    def part(self, sha256: str) -> Path:
        return self.media(sha256).with_name(sha256 + PART)

    def has(self, sha256: str, size: int) -> bool:
        """A verified file is present (verified on arrival; size checked again as a cheap guard)."""
        try:
            return self.media(sha256).stat().st_size == size
        except OSError:
            return False

    def verified(self, sha256: str, size: int) -> bool:
        """A file is present and its bytes hash to its name (hashed once per process, then trusted while
        the file is unchanged). A damaged file is removed, so the next sync fetches it again."""
        path = self.media(sha256)
        try:
            st = path.stat()
        except OSError:
            return False
        if st.st_size != size:
            return False
        stamp = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
        with _verified_lock:
            if _verified.get(path) == stamp:
                return True
        digest = hashlib.sha256()
        try:
            with open(path, "rb") as f:
                while chunk := f.read(1 << 20):
                    digest.update(chunk)
        except OSError as exc:
            log.warning(_("cache: {file} cannot be read ({reason}); fetching it again").format(
                file=path.name, reason=exc.strerror or exc))
            remove(path)
            return False
        if digest.hexdigest() != sha256:
            log.warning(_("cache: {file} is damaged (its bytes no longer match their SHA-256); fetching it "
                          "again").format(file=path.name))
            remove(path)
            return False
        with _verified_lock:
            _verified[path] = stamp
        return True

    def free_bytes(self) -> int | None:
        """Bytes the player may still write on the disk that holds the cache (None when unknown)."""
        for folder in (self.media_dir, self.root, *self.root.parents):
            try:
                st = os.statvfs(folder)
            except OSError:
                continue
            return st.f_bavail * st.f_frsize
        return None

    def reserve_bytes(self) -> int:
        """What a sync must leave free on the disk."""
        for folder in (self.media_dir, self.root, *self.root.parents):
            try:
                st = os.statvfs(folder)
            except OSError:
                continue
            return min(RESERVE_MAX, int(st.f_blocks * st.f_frsize * RESERVE_SHARE))
        return RESERVE_MAX

    def ensure(self) -> None:
        """Create the folders; remove temp files a crash left behind (only old ones: another writer may be busy)."""
        for folder in (self.media_dir, self.state_dir):
            folder.mkdir(parents=True, exist_ok=True)
            for leftover in folder.glob(".tmp-*"):
                try:
                    if time.time() - leftover.stat().st_mtime > 3600:
                        leftover.unlink()
                except OSError:
                    pass

    def usage(self) -> int:
        """Bytes held in media/ and prepared/."""
        return sum(size for _path, _sha, size, _mtime in self._entries())

    def _entries(self) -> Iterable[tuple[Path, str, int, float]]:
        for folder in (self.media_dir, self.prepared_dir):
            try:
                names = os.scandir(folder)
            except OSError:
                continue
            with names:
                for entry in names:
                    try:
                        if not entry.is_file(follow_symlinks=False):
                            continue
                        st = entry.stat(follow_symlinks=False)
                    except OSError:
                        continue
                    yield Path(entry.path), entry.name[:64], st.st_size, st.st_mtime

    def evict(self, keep: set[str], max_bytes: int, room: int = 0) -> int:
        """Delete files of media not in `keep` (oldest first) until usage + room ≤ max_bytes.

        Partial downloads of unneeded media go first, then whole files with
        their prepared images. Returns the bytes freed. What `keep` names is
        never touched, so the current and the incoming programme stay whole.
        """
        entries = list(self._entries())
        total = sum(e[2] for e in entries)
        if total + room <= max_bytes:
            return 0
        keep = keep | self.kept_by_others()
        candidates = [e for e in entries if e[1] not in keep and not e[0].name.startswith(".tmp-")]
        candidates.sort(key=lambda e: (not e[0].name.endswith(PART), e[3]))
        freed = 0
        for path, _sha, size, _mtime in candidates:
            if total - freed + room <= max_bytes:
                break
            if remove(path):
                freed += size
                log.info("cache: evicted %s (%d bytes)", path.name, size)
        return freed
