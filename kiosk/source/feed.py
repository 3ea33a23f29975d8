"""The content feed: keeps the current programme filled from the authoring folder (watched) or the
source system (synced), whichever config.yaml names. All loading happens on one thread of its own."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from kiosk.config import Config
from kiosk.content import media
from kiosk.content import programme as programmemod
from kiosk.content.current import Current
from kiosk.content.programme import Programme
from kiosk.problems import InvalidInput
from kiosk.status import Status

log = logging.getLogger("kiosk")

JOIN_SECONDS = 5.0


class Feed:
    """Keeps Current filled: from the authoring folder (watched) or the source system (synced).

    All loading happens on this object's own thread, one load at a time, so a slow load can never
    finish after a newer one; after close() nothing more reaches Current.
    """

    def __init__(self, cfg: Config, current: Current, status: Status,
                 prepare: Callable[[Programme], Programme], ready: Callable[[Programme], bool]):
        """`prepare` gets a programme ready for the screen (kiosk.source.prepare.Preparer.prepare);
        `ready` says whether it already is (everything prepared at an earlier run)."""
        self.cfg, self.current, self.status, self.prepare, self.ready = cfg, current, status, prepare, ready
        self.sync_now = threading.Event()
        self.stop = threading.Event()
        self._dirty = threading.Event()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._watcher = None
        status.follow_channels({c.name: c.url for c in cfg.source.channels})  # a reload may have changed them
        # a reload after an edit hashes only the pictures that changed
        self._memo = media.Memo(root=cfg.source.path) if cfg.source.path is not None else None

    # --- hand-off ---------------------------------------------------------------------------------
    def deliver(self, programme: programmemod.Programme) -> None:
        with self._lock:
            if self.stop.is_set():
                return  # a session that was closed must not touch the next one's screen
            if self.current.replace(programme):
                log.info("content %s: %d slides", programme.version, len(programme.slides))

    # --- before the first frame -------------------------------------------------------------------
    def load_initial(self) -> None:
        """Whatever is already on this device, with no network. Shown at once when its images are
        already prepared; otherwise it is current at once too, and the content thread prepares its
        pictures in play order: each slide shows from its first turn after its picture is ready (the
        player skips the others for now), so the first picture shows as soon as it alone is ready."""
        loaded = self._read_folder() if self.cfg.source.path is not None else self._read_cache()
        if loaded is None:
            return
        try:
            ready = self.ready(loaded) and self.prepare(loaded)
        except Exception as exc:  # noqa: BLE001 - the content thread tries again, the screen shows idle
            log.warning("content not ready at start (%s); preparing it in the background", exc)
            ready = None
        if ready:
            self.deliver(ready)
        else:
            log.info("preparing %d slides for this screen; each shows once its picture is ready",
                     len(loaded.slides))
            self.deliver(loaded)
            self._pending = loaded
            self._dirty.set()

    _pending: programmemod.Programme | None = None

    _channels = None

    def _trees(self):
        """A board with source.channels follows several trees (kiosk.source.channels), made once."""
        if self._channels is None:
            from kiosk.source import channels

            self._channels = channels.Channels(self.cfg, self.status, deliver=self.deliver,
                                               prepare=self._prepare_synced)
        return self._channels

    def _read_cache(self) -> programmemod.Programme | None:
        from kiosk.source import sync

        try:
            cached = self._trees().load_cached() if self.cfg.source.channels else sync.load_cached(self.cfg)
        except Exception as exc:  # noqa: BLE001 - a damaged cache must not stop the board
            log.error("cached content unusable: %s", exc)
            return None
        if cached is None:
            log.warning("no content cached yet; the idle screen shows until the first sync")
        return cached

    def _read_folder(self) -> programmemod.Programme | None:
        try:
            loaded = programmemod.load_folder(self.cfg.source.path, self._memo)
        except InvalidInput as exc:
            message = "; ".join(str(p) for p in exc.problems)
            log.error("authoring folder not loaded, keeping the current content: %s", message)
            self.status.set_error("content", message)
            return None
        for warning in loaded.warnings:
            log.warning("slide skipped: %s", warning)
        self.status.set_error("content", None)
        return loaded

    # --- the content thread -----------------------------------------------------------------------
    def start(self) -> None:
        if self.cfg.source.path is not None:
            from kiosk.source import watch

            self._spawn(self._folder_worker, "content")
            ignore = [self.cfg.cache.path]  # a cache inside the folder must not trigger reloads
            self._watcher = watch.FolderWatcher(self.cfg.source.path, self._dirty.set, ignore=ignore)
            self._watcher.start()
            return
        from kiosk.source import sync

        if self.cfg.source.channels:
            syncer = self._trees()
        else:
            syncer = sync.Syncer(self.cfg, self.status, on_ready=self.deliver, prepare=self._prepare_synced)

        def work() -> None:
            self._guarded(self._prepare_pending)  # cached content not yet prepared for this screen: before any sync
            syncer.run(self.stop, self.sync_now)

        self._spawn(work, "sync")

    def _spawn(self, target, name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _prepare_synced(self, programme: Programme) -> Programme:
        """A synced programme (its media verified) is prepared before it replaces the one on screen; with
        nothing on screen yet (the first sync), it becomes current at once and shows slide by slide as
        its pictures get ready, instead of leaving the idle screen up until the last one is."""
        if self.current.get() is programmemod.EMPTY:
            self.deliver(programme)
        return self.prepare(programme)

    def _prepare_pending(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            self.deliver(self.prepare(pending))

    def _guarded(self, step) -> None:
        """One load; whatever goes wrong is reported and the thread lives on for the next edit."""
        try:
            step()
        except Exception as exc:  # noqa: BLE001 - the content thread must outlive any one bad load
            log.error("loading content failed, keeping the current content: %s", exc,
                      exc_info=log.isEnabledFor(logging.DEBUG))
            self.status.set_error("content", f"loading content failed: {exc}")

    def _load_folder_once(self) -> None:
        if self._pending is not None:
            self._prepare_pending()
            return
        loaded = self._read_folder()
        if loaded is not None and not self.stop.is_set():
            self.deliver(self.prepare(loaded))

    def _folder_worker(self) -> None:
        while not self.stop.is_set():
            if not self._dirty.wait(1.0) or self.stop.is_set():
                continue
            self._dirty.clear()
            self._guarded(self._load_folder_once)

    def close(self) -> None:
        with self._lock:
            self.stop.set()
        self.sync_now.set()  # wakes a sync waiting for its next cycle: it sees `stop` at once
        self._dirty.set()
        if self._watcher is not None:
            self._watcher.stop()
        for thread in self._threads:
            thread.join(JOIN_SECONDS)
