"""Hot reload: watch config.yaml and the authoring folder with `watchdog`, and call back when they change.

As in watchdog itself, producers are separate from reactions: an Observer (inotify on Linux) produces
file events, a small handler only filters them and pokes a `Debouncer`, and the debouncer calls the
owner's callback once the burst is over (an editor's save is several events: write a temp file,
rename it over the original, touch the directory). The callbacks run on the debouncer's thread and
must hand work over quickly; they never run on the render loop.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from watchdog.events import (
    EVENT_TYPE_CLOSED_NO_WRITE,
    EVENT_TYPE_OPENED,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer
from watchdog.observers.polling import PollingObserver

from kiosk import config as configmod
from kiosk.config import Config
from kiosk.i18n import _
from kiosk.problems import InvalidInput, Problem

log = logging.getLogger("kiosk.watch")

DEBOUNCE_SECONDS = 0.5
# Events that are reads, not changes: the loader reading the folder must not trigger a reload.
_READS = {EVENT_TYPE_OPENED, EVENT_TYPE_CLOSED_NO_WRITE}


class Debouncer:
    """Calls `action` once, `delay` seconds after the last `poke()` of a burst. One thread, started lazily,
    waiting on a condition: nothing runs between bursts."""

    def __init__(self, delay: float, action: Callable[[], None], name: str = "debounce"):
        self.delay = delay
        self.action = action
        self.name = name
        self._cond = threading.Condition()
        self._due: float | None = None
        self._closed = False
        self._thread: threading.Thread | None = None

    def poke(self) -> None:
        with self._cond:
            if self._closed:
                return
            self._due = time.monotonic() + self.delay
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                self._thread.start()
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._closed and (self._due is None or time.monotonic() < self._due):
                    self._cond.wait(None if self._due is None else self._due - time.monotonic())
                if self._closed:
                    return
                self._due = None
            try:
                self.action()
            except Exception:  # the owner's bug must not kill the watcher
                log.exception("%s: callback failed", self.name)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)


class _Poke(FileSystemEventHandler):
    """The reaction side: keep the events that matter, poke the debouncer. Nothing else."""

    def __init__(self, wanted: Callable[[Path], bool], debouncer: Debouncer):
        self.wanted = wanted
        self.debouncer = debouncer

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in _READS:
            return
        paths = [event.src_path, getattr(event, "dest_path", "")]
        if any(p and self.wanted(Path(_text(p))) for p in paths):
            self.debouncer.poke()


def _text(path: str | bytes) -> str:
    return path.decode("utf-8", "surrogateescape") if isinstance(path, bytes) else path


def _observe(folder: Path, handler: FileSystemEventHandler, recursive: bool):
    """inotify where it works; polling (every 2 s) when it does not (inotify limits, odd file systems)."""
    try:
        observer = Observer()
        observer.schedule(handler, str(folder), recursive=recursive)
        observer.start()
        return observer
    except OSError as exc:
        log.warning(_("cannot watch {folder} with inotify ({reason}); polling it every 2 s instead")
            .format(folder=folder, reason=exc))
        observer = PollingObserver(timeout=2)
        observer.schedule(handler, str(folder), recursive=recursive)
        observer.start()
        return observer


def _stop(observer) -> None:
    if observer is not None:
        observer.stop()
        observer.join(timeout=5)


class ConfigWatcher:
    """Reloads config.yaml when it changes: a valid edit goes to `on_valid(cfg)`, an invalid one to
    `on_invalid(problems)` and the running config stays. An edit that changes no setting (same bytes,
    or only comments) is not reported. The directory is watched, not the file, because editors replace
    files by rename."""

    def __init__(
        self,
        path: Path,
        on_valid: Callable[[Config], None],
        on_invalid: Callable[[list[Problem]], None],
        debounce: float = DEBOUNCE_SECONDS,
    ):
        self.path = Path(path).absolute()
        self.on_valid = on_valid
        self.on_invalid = on_invalid
        self._debouncer = Debouncer(debounce, self._reload, name="config-watch")
        self._observer = None
        self._digest: bytes | None = None
        self._config: Config | None = None
        self._refused = False

    def start(self) -> None:
        self._digest = self._read_digest()
        try:
            self._config = configmod.load(self.path)
        except InvalidInput:
            self._config = None
        handler = _Poke(lambda p: p.name == self.path.name and p.parent == self.path.parent, self._debouncer)
        self._observer = _observe(self.path.parent, handler, recursive=False)

    def stop(self) -> None:
        _stop(self._observer)
        self._observer = None
        self._debouncer.close()

    def _read_digest(self) -> bytes | None:
        try:
            return hashlib.sha256(self.path.read_bytes()).digest()
        except OSError:
            return None

    def _reload(self) -> None:
        digest = self._read_digest()
        if digest is None:
            self._refused = True
            self.on_invalid([Problem(str(self.path), None, "", "the config file is gone; keeping the running config")])
            return
        if digest == self._digest:
            return
        try:
            cfg = configmod.load(self.path)
        except InvalidInput as exc:
            self._digest = digest  # report this version once; the next edit is looked at again
            self._refused = True
            self.on_invalid(exc.problems)
            return
        self._digest = digest
        refused_before, self._refused = self._refused, False
        if cfg == self._config and not refused_before:  # a comment or spacing changed: nothing to apply
            return
        self._config = cfg
        self.on_valid(cfg)  # also after a refused edit is undone, so the error it left is cleared


class FolderWatcher:
    """Calls `on_change()` once after a burst of edits anywhere in the authoring folder (recursive).
    Hidden files and editor leftovers (.swp, ~, .tmp) are not edits; paths under `ignore` neither."""

    def __init__(
        self,
        folder: Path,
        on_change: Callable[[], None],
        debounce: float = DEBOUNCE_SECONDS,
        ignore: Iterable[Path] = (),
    ):
        self.folder = Path(folder).absolute()
        self.on_change = on_change
        self.ignore = tuple(Path(p).absolute() for p in ignore)
        self._debouncer = Debouncer(debounce, on_change, name="folder-watch")
        self._observer = None

    def start(self) -> None:
        self._observer = _observe(self.folder, _Poke(self._wanted, self._debouncer), recursive=True)

    def stop(self) -> None:
        _stop(self._observer)
        self._observer = None
        self._debouncer.close()

    def _wanted(self, path: Path) -> bool:
        if any(path == ig or ig in path.parents for ig in self.ignore):
            return False
        try:
            parts = path.relative_to(self.folder).parts
        except ValueError:
            return False
        if not parts:  # the folder itself (its mtime moves with every file created in it)
            return False
        name = parts[-1]
        hidden = any(part.startswith(".") for part in parts)
        return not (hidden or name.endswith(("~", ".swp", ".swx", ".tmp")) or name == "4913")
