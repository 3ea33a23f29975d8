"""Layered channels: the board's own tree and each of `source.channels`, synced and kept apart, merged.

Each tree has its own Syncer (kiosk.source.sync) with its own key, its own state folder
(`<cache.path>/channels/<name>-<hash of url>/`: its last good manifest, validators and the freshness of
its signed manifests) and its own facts in status (`channels`, `errors["sync:<name>"]`); the media
folder is shared, content-addressed, and each channel's Cache pins what the others need so that no
channel's eviction removes another's pictures. One tree failing (down, hostile, signed with another
key) keeps its last good programme while the others update. The merge is kiosk.content.layers.merge
(pure); preparation and pruning of pictures always see the merged programme, so preparing one
channel never prunes another's frames.

The trees are synced in turn on the one content thread (each request under its overall deadline), so
two syncs never share the media folder at once; `sync_now` wakes all of them.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import fcntl
import hashlib
import logging
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from kiosk.config import ChannelConfig, Config
from kiosk.content import layers, manifest
from kiosk.content.programme import Programme
from kiosk.i18n import _
from kiosk.source import sync
from kiosk.source.cache import Cache
from kiosk.status import Status, SyncFacts

log = logging.getLogger("kiosk.sync")

CHANNELS_DIR = "channels"
BUSY_RETRY_SECONDS = 5.0
_tree: contextvars.ContextVar[str | None] = contextvars.ContextVar("kiosk_channel", default=None)


class _NameTheChannel(logging.Filter):
    """The journal lines of a channel's sync say which channel (`sync: channel xa: refused: …`), in the
    language the line was said in (`đồng bộ: kênh xa: bị từ chối: …`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        name = _tree.get()
        if name is None or not isinstance(record.msg, str):
            return True
        prefix = _("sync: ")
        for said in (prefix, "sync: "):  # a line said in English (a debug line) is named too
            if record.msg.startswith(said):
                named = _("sync: channel {name}: {message}")
                if not record.msg.startswith(named.format(name=name, message="")):
                    record.msg = named.format(name=name, message=record.msg[len(said):])
                break
        return True


_NAMER = _NameTheChannel()
log.addFilter(_NAMER)


class Busy(Exception):
    """Another process (`kiosk sync --once` beside the player) is syncing this cache's trees."""


@contextlib.contextmanager
def _exclusive(cache: Cache):
    """One process at a time syncs the trees of a cache: they share its media folder, and one process's
    eviction must not remove a file another is downloading (each tree's own lock covers only its state)."""
    folder = cache.root / CHANNELS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "a+b") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Busy(_("another sync of this cache is running")) from None
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


@contextlib.contextmanager
def _naming(name: str | None):
    token = _tree.set(name)
    try:
        yield
    finally:
        _tree.reset(token)


def state_folder(channel: ChannelConfig) -> str:
    """A channel's state folder: by name and URL, so a name given to another tree starts afresh (its
    validators and the freshness of its signed manifests belong to the tree they came from)."""
    return f"{channel.name}-{hashlib.sha256(channel.url.encode()).hexdigest()[:8]}"


def channel_config(cfg: Config, channel: ChannelConfig) -> Config:
    """The config one channel's Syncer sees: its URL, its key, its token (never the board's own)."""
    index = cfg.source.channels.index(channel)
    source = dataclasses.replace(cfg.source, url=channel.url, public_key=channel.public_key,
                                 public_key_field=f"source.channels[{index}].public_key",
                                 token_file=channel.token_file, report_url=None, channels=())
    return dataclasses.replace(cfg, source=source)


class _ChannelStatus:
    """What a channel's Syncer writes to status goes to that channel's facts, not the board's own sync."""

    def __init__(self, status: Status, name: str):
        self._status, self._name = status, name

    def set_error(self, part: str, message: str | None) -> None:
        self._status.set_error(f"{part}:{self._name}" if part == "sync" else part, message)

    def update(self, **facts) -> None:
        last = facts.pop("last_sync", None)
        if isinstance(last, SyncFacts):
            self._status.channel_facts(self._name, last_sync={"at": last.at, "ok": last.ok, "error": last.error})
            self._status.count("sync_ok" if last.ok else "sync_failed")
            self._status.count("bytes_downloaded", max(0, int(last.bytes)))
        if facts:
            self._status.update(**facts)

    def __getattr__(self, name: str):
        return getattr(self._status, name)


@dataclass
class _Tree:
    name: str | None  # None: the board's own tree
    cfg: Config
    store: Cache
    syncer: sync.Syncer | None = None
    due: float = 0.0


class Channels:
    """The trees a board follows, one Syncer each, their programmes merged and handed to `deliver`.

    `prepare` gets a (merged) programme ready for the screen (kiosk.source.feed's); it runs on the
    content thread only."""

    def __init__(self, cfg: Config, status: Status, deliver: Callable[[Programme], None],
                 prepare: Callable[[Programme], Programme]):
        self.cfg, self.status, self.deliver, self.prepare = cfg, status, deliver, prepare
        root = Cache(cfg.cache.path)
        self._layers: dict[str | None, Programme | None] = {None: None}
        self._lock = threading.Lock()
        self.trees = [_Tree(None, cfg, Cache(root.root, pinned=lambda: self._needed(None)))]
        for channel in cfg.source.channels:
            state = root.root / CHANNELS_DIR / state_folder(channel)
            store = Cache(root.root, state=state, pinned=lambda name=channel.name: self._needed(name))
            self.trees.append(_Tree(channel.name, channel_config(cfg, channel), store))
            self._layers[channel.name] = None
        status.follow_channels({c.name: c.url for c in cfg.source.channels})
        self._staged: tuple[str | None, Programme, Programme] | None = None

    # --- the merged programme ---------------------------------------------------------------------

    def _needed(self, besides: str | None) -> set[str]:
        """The media every other tree's last good programme needs (pinned in `besides`' cache)."""
        with self._lock:
            progs = [p for name, p in self._layers.items() if name != besides and p is not None]
        return {sha for p in progs for sha in manifest.media_of(p)}

    def merged(self, replace: tuple[str | None, Programme] | None = None) -> Programme:
        with self._lock:
            current = dict(self._layers)
        if replace is not None:
            current[replace[0]] = replace[1]
        return layers.merge([layers.Layer(name, prog) for name, prog in current.items()])

    def _set(self, name: str | None, prog: Programme) -> None:
        with self._lock:
            self._layers[name] = prog
        if name is not None:
            self.status.channel_facts(name, version=prog.version, slides=len(prog.slides))

    # --- before the first frame -------------------------------------------------------------------

    def load_cached(self) -> Programme | None:
        """Each tree's last good programme from its own state, merged; None when no tree has one."""
        found = False
        for tree in self.trees:
            try:
                with _naming(tree.name):
                    prog = sync.load_cached(tree.cfg, tree.store)
            except Exception as exc:  # noqa: BLE001 - one damaged state must not cost the other trees
                log.error(_("sync: cached content of {tree} unusable: {reason}").format(tree=_label(tree.name),
                                                                                        reason=exc))
                prog = None
            if prog is not None:
                self._set(tree.name, prog)
                found = True
            elif tree.name is not None:
                log.warning(_("sync: channel {name}: no content cached yet").format(name=tree.name))
        return self.merged() if found else None

    # --- the content thread -----------------------------------------------------------------------

    def _syncer(self, tree: _Tree) -> sync.Syncer:
        if tree.syncer is None:
            status = self.status if tree.name is None else _ChannelStatus(self.status, tree.name)
            tree.syncer = sync.Syncer(tree.cfg, status,
                                      on_ready=lambda prog, name=tree.name: self._ready(name, prog),
                                      prepare=lambda prog, name=tree.name: self._prepare(name, prog),
                                      store=tree.store)
        return tree.syncer

    def _prepare(self, name: str | None, prog: Programme) -> Programme:
        """A tree's new programme is prepared as part of the merged one (so pruning keeps every tree's
        frames); the tree itself keeps its programme whole."""
        prepared = self.prepare(self.merged((name, prog)))
        self._staged = (name, prog, prepared)
        return prog

    def _ready(self, name: str | None, prog: Programme) -> None:
        self._set(name, prog)
        staged, self._staged = self._staged, None
        if staged is not None and staged[0] == name and staged[1] is prog:
            self.deliver(staged[2])
        else:
            self.deliver(self.prepare(self.merged()))

    def cycle_all(self) -> list[tuple[str | None, sync.SyncResult]]:
        """One cycle of every tree, in order (`kiosk sync --once`, tests)."""
        out = []
        try:
            with _exclusive(self.trees[0].store):
                for tree in self.trees:
                    with _naming(tree.name):
                        out.append((tree.name, self._syncer(tree).cycle()))
        except (Busy, OSError) as exc:
            return [(tree.name, sync.SyncResult(ok=False, error=str(exc))) for tree in self.trees]
        return out

    def run(self, stop: threading.Event, wake: threading.Event) -> None:
        """Sync each tree when it is due, in turn, until `stop`; `wake` makes every tree due now."""
        self.clean()
        try:
            while not stop.is_set():
                for tree in self.trees:
                    if stop.is_set():
                        break
                    if tree.due <= time.monotonic():
                        tree.due = time.monotonic() + self._step(tree, stop)
                while not stop.is_set():
                    remaining = min(t.due for t in self.trees) - time.monotonic()
                    if remaining <= 0:
                        break
                    if wake.wait(min(remaining, 1.0)):  # short slices so `stop` is seen within a second
                        wake.clear()
                        for tree in self.trees:
                            tree.due = 0.0
                        break
        finally:
            for tree in self.trees:
                if tree.syncer is not None:
                    tree.syncer.close()

    def _step(self, tree: _Tree, stop: threading.Event) -> float:
        try:
            with _exclusive(tree.store), _naming(tree.name):
                return self._syncer(tree).step(stop)
        except (Busy, OSError) as exc:  # a technician's sync --once: this tree's turn comes a little later
            log.info("sync: %s: %s; trying again in %g s", _label(tree.name), exc, BUSY_RETRY_SECONDS)
            return BUSY_RETRY_SECONDS

    def clean(self) -> None:
        """State folders of channels no longer configured are removed (their media go with eviction)."""
        folder = Cache(self.cfg.cache.path).root / CHANNELS_DIR
        wanted = {t.store.state_dir.name for t in self.trees if t.name is not None}
        try:
            entries = list(folder.iterdir())
        except OSError:
            return
        for entry in entries:
            if entry.is_dir() and entry.name not in wanted:
                shutil.rmtree(entry, ignore_errors=True)
                log.info("sync: removed the state of a channel no longer followed (%s)", entry.name)


def sync_once(cfg: Config) -> tuple[bool, str]:
    """`kiosk sync --once` on a board with channels: one cycle of every tree, one summary line."""
    trees = Channels(cfg, Status(), deliver=lambda _prog: None, prepare=sync.probe_only)
    level = log.level
    log.setLevel(logging.CRITICAL)  # the summary line is the whole output (SPEC)
    try:
        trees.load_cached()  # what each tree holds is pinned before any of them evicts
        results = trees.cycle_all()
    finally:
        log.setLevel(level)
        for tree in trees.trees:
            if tree.syncer is not None:
                tree.syncer.close()
    parts = [result.summary() if name is None else _("channel {name}: {summary}").format(name=name,
                                                                                        summary=result.summary())
             for name, result in results]
    return all(result.ok for _name, result in results), "; ".join(parts)


def _label(name: str | None) -> str:
    return "source.url" if name is None else _("channel {name}").format(name=name)
