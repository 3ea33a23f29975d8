"""Sync with a content tree over HTTP: verified, resumable, offline-first.

One cycle: conditional GET of manifest.v2.json (format 2; on 404, of
manifest.json, format 1: a tree published for boards before 0.2) →
signature check (when source.public_key is set; the .sig beside the manifest
read) → full validation → fetch only missing media (resumed, hashed, held to
declared sizes) → prepare for the screen → commit the manifest to state/
atomically → hand the programme to the player. Any refusal leaves the last
good programme playing and is written to status.

A tree without manifest.v2.json is remembered as such for its source.url, so
an unchanged poll stays one conditional request; manifest.v2.json is asked
for again every V2_RECHECK_SECONDS (and at each start), so a tree that gains
one is picked up. Freshness (§4) compares the signed generated_at of whatever
state/ holds, whichever name it came from.

state/ holds manifest.json (the exact bytes last accepted) and a sidecar
manifest-<digest>.json (signature, ETag, Last-Modified) named after those
bytes. The sidecar is written first, the manifest renamed over the old one
last, so a power cut leaves a matching pair, old or new.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import fcntl
import hashlib
import json
import logging
import os
import random
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import urljoin

from kiosk.config import Config
from kiosk.content import manifest, media, programme, video
from kiosk.durable import remove, write_atomic
from kiosk.i18n import _
from kiosk.problems import InvalidInput, Problem
from kiosk.source import signing
from kiosk.source.cache import Cache
from kiosk.source.client import RESUME_FROM, Client, FetchError, Limits, TokenError, next_delay, read_token
from kiosk.status import Status, SyncFacts

log = logging.getLogger("kiosk.sync")

SIG_MAX_BYTES = signing.MAX_SIGNATURE_BYTES
STATE_MANIFEST = "manifest.json"
DOWNLOAD_ATTEMPTS = 3  # per file and cycle, while each attempt makes progress
VERIFY_SLICE_SECONDS = 5.0  # hashing of cached media after each cycle (see Syncer._verify_some)
PREPARED_ALLOWANCE = 1024 * 1024  # room counted for the prepared frame of each picture (a full-HD JPEG: ~0.3 MB)
DOCUMENT_PAGES_GUESS = 20  # a document slide showing every page: its pages are not known before it is opened


def prepared_allowance(slide) -> int:
    """Room to count for what preparing a slide's file writes: a frame for a picture, a page image (~0.5-1 MB
    at full HD) for each page of a document."""
    if slide.type != "document":
        return PREPARED_ALLOWANCE
    pages = sum(last - first + 1 for first, last in slide.pages) if slide.pages else DOCUMENT_PAGES_GUESS
    return PREPARED_ALLOWANCE * min(pages, media.MAX_PDF_SHOWN_PAGES)


FAILED_CAP_SECONDS = 900.0  # a failing source is asked again at least this often
MEDIA_RECHECK_SECONDS = 3600.0  # an unchanged poll trusts the media it saw whole this long, then looks again
V2_RECHECK_SECONDS = 3600.0  # a tree that had no manifest.v2.json is asked for one again this often


@dataclass(frozen=True)
class SyncResult:
    ok: bool
    changed: bool = False
    version: str | None = None
    slides: int = 0
    files: int = 0  # media files fetched (or completed) this cycle
    bytes: int = 0  # bytes received this cycle, manifest included
    error: str | None = None
    format: int | None = None  # the format of the manifest read (1: manifest.json, 2: manifest.v2.json)
    name: str | None = None  # the file it was read from
    skipped: tuple[str, ...] = ()  # slides of a format-2 manifest this board cannot play, each with its reason

    def summary(self) -> str:
        if not self.ok:
            return _("sync failed: {error}; current content kept ({files} files, {bytes} bytes fetched)").format(
                error=self.error, files=self.files, bytes=self.bytes)
        what = _("manifest changed") if self.changed else _("manifest unchanged")
        read = _(" (format {format}, {file})").format(format=self.format, file=self.name) \
            if self.format is not None else ""
        skipped = ""
        if self.skipped:
            more = _(" (+{count} more)").format(count=len(self.skipped) - 1) if len(self.skipped) > 1 else ""
            skipped = _("; {count} skipped: {first}{more}").format(count=len(self.skipped), first=self.skipped[0],
                                                                   more=more)
        return _("{what}: version {version}{read}, {slides} slides, {files} files fetched, {bytes} bytes"
                 "{skipped}").format(what=what, version=self.version, read=read, slides=self.slides,
                                     files=self.files, bytes=self.bytes, skipped=skipped)


@dataclass(frozen=True)
class _State:
    data: bytes
    digest: str
    signature: bytes | None
    etag: str | None
    last_modified: str | None
    url: str | None = None  # the source.url these validators belong to
    name: str = manifest.FILENAME  # the file of the tree the bytes came from (before 0.2: always manifest.json)


class Refused(Exception):
    """One cycle's failure, with the sentence that goes to the log and the health report."""


class KeyUnusable(Refused):
    """source.public_key cannot be read or is not a key: nothing new can be verified.

    What state/ holds was verified when it was accepted, so it keeps playing (a damaged or deleted key
    file must not turn the board dark); new content is refused until the key is mended."""


def probe_only(prog: programme.Programme) -> programme.Programme:
    """A `prepare` for when no screen is known: keep image slides whose file decodes as an image."""
    kept, dropped = [], []
    for slide in prog.slides:
        if slide.image is not None:
            try:
                if slide.type == "document":
                    media.check_pdf(slide.image.path)
                else:
                    (video.probe if slide.type == "video" else media.probe)(slide.image.path)
            except ValueError as exc:
                log.warning(_("sync: slide {slide} will not play: {file}: {reason}")
                    .format(slide=slide.id, file=slide.image.name, reason=exc))
                dropped.append(Problem(manifest.FILENAME, None, f"slides ({slide.id}).file",
                                       _("{file}: {reason}; this slide will not play")
                                           .format(file=slide.image.name, reason=exc)))
                continue
        kept.append(slide)
    if not dropped:
        return prog
    slides = tuple(kept)
    return programme.Programme(slides=slides, version=programme.version_of(slides, prog.ticker),
                               warnings=prog.warnings + tuple(dropped), ticker=prog.ticker, format=prog.format)


def load_cached(cfg: Config, store: Cache | None = None) -> programme.Programme | None:
    """The last good programme from state/, if whole: every media file present, signature still valid.
    `store`: a channel's (kiosk.source.channels); by default the board's own."""
    if cfg.source.url is None:
        return None
    store = store or Cache(cfg.cache.path)
    state = _read_state(store)
    if state is None:
        return None
    try:
        _check_signature(cfg, state.data, state.signature, _joined(cfg.source.url, state.name))
    except KeyUnusable as exc:
        log.warning(_("sync: {reason}; playing the content verified when it was accepted").format(reason=exc))
    except Refused as exc:
        log.warning(_("sync: cached programme not used: {reason}").format(reason=_first_line(exc)))
        return None
    try:
        prog = manifest.decode(state.data, store.media_dir, state.name)
    except InvalidInput as exc:
        log.warning(_("sync: cached programme not used: {reason}").format(reason=_first_line(exc)))
        return None
    missing = [sha for sha, size in manifest.media_of(prog).items() if not store.has(sha, size)]
    if missing:
        log.warning(_("sync: cached programme not used: {count} media files missing from {folder}")
            .format(count=len(missing), folder=store.media_dir))
        return None
    return prog


class Syncer:
    """The background sync of one board. `run` loops; `cycle` is one step (used by tests and sync --once)."""

    def __init__(self, cfg: Config, status: Status, on_ready: Callable[[programme.Programme], None],
                 prepare: Callable[[programme.Programme], programme.Programme], limits: Limits | None = None,
                 store: Cache | None = None):
        """`store`: a channel's cache, with its own state/ (kiosk.source.channels); by default the board's."""
        if cfg.source.url is None:
            raise ValueError("Syncer needs source.url")
        self.cfg = cfg
        self.status = status
        self.on_ready = on_ready
        self.prepare = prepare
        self.limits = limits or Limits()
        self.store = store or Cache(cfg.cache.path)
        self._client: Client | None = None
        self._stop = threading.Event()
        self._delivered: str | None = None  # digest of the manifest handed to on_ready in this process
        self._decoded: tuple[tuple[str, bytes | None], programme.Programme] | None = None
        self._damaged_found = False  # _verify_some removed a damaged file: the next cycle comes at once
        self._all_hashed = False  # every cached file present at start has been hashed in this process
        # An unchanged poll does no work that grows with the programme: state/ is read again only when
        # its file changed (a stat), and the media are looked at once an hour, not at every poll.
        self._state: tuple[tuple[int, ...], _State | None] | None = None  # (stat of state/, state)
        self._whole_at: tuple[tuple[str, bytes | None], float] | None = None  # media seen whole, when
        self._ensured = False
        self._v2_missing: tuple[str, float] | None = None  # (source.url, monotonic time) of a 404 for manifest.v2.json
        self._warned: str | None = None  # digest of the manifest whose skipped slides went to the journal

    # --- the loop ---

    def run(self, stop: threading.Event, wake: threading.Event) -> None:
        """Cycle every source.poll_seconds (with jitter, backing off on failure) until `stop`; `wake` = now."""
        self._stop = stop
        failures = 0
        while not stop.is_set():
            result = self.cycle()
            failures = 0 if result.ok else failures + 1
            poll = self.cfg.source.poll_seconds  # jitter spreads a province's boards; failures back off
            delay = next_delay(poll, failures, random.random(), first=poll, cap=max(poll, FAILED_CAP_SECONDS))
            if self._damaged_found:  # a cached file was damaged and removed: fetch it again now
                self._damaged_found, delay = False, 0.0
            deadline = time.monotonic() + delay
            while not stop.is_set():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                if wake.wait(min(remaining, 1.0)):  # short slices so `stop` is seen within a second
                    wake.clear()
                    break
        if self._client is not None:
            self._client.close()

    def step(self, stop: threading.Event) -> float:
        """One cycle, for a caller that runs several Syncers in turn (kiosk.source.channels); the seconds
        until this one's next cycle (poll with jitter, backoff on failure, at once after damage)."""
        self._stop = stop
        result = self.cycle()
        self._failures = 0 if result.ok else self._failures + 1
        poll = self.cfg.source.poll_seconds
        delay = next_delay(poll, self._failures, random.random(), first=poll, cap=max(poll, FAILED_CAP_SECONDS))
        if self._damaged_found:
            self._damaged_found, delay = False, 0.0
        return delay

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    _failures = 0

    def cycle(self) -> SyncResult:
        """One whole sync; never raises. The outcome is also written to status and, on failure, the log."""
        counter = _Counter()
        try:
            with _locked(self.store):
                result = self._cycle(counter)
                self._verify_some(VERIFY_SLICE_SECONDS)
        except Refused as exc:
            result = SyncResult(ok=False, error=str(exc), files=counter.files, bytes=counter.bytes)
        except FetchError as exc:
            result = SyncResult(ok=False, error=str(exc), files=counter.files, bytes=counter.bytes)
        except OSError as exc:
            result = SyncResult(ok=False, error=_("cache {folder}: {reason}")
                .format(folder=self.store.root, reason=exc.strerror or exc),
                                files=counter.files, bytes=counter.bytes)
        except Exception as exc:  # noqa: BLE001 - a sync bug must not end the player; it is reported instead
            log.error(_("sync: unexpected error: {error}").format(error=repr(exc)),
                      exc_info=log.isEnabledFor(logging.DEBUG))
            result = SyncResult(ok=False, error=_("internal error: {kind}: {reason}").format(
                kind=exc.__class__.__name__, reason=exc), files=counter.files, bytes=counter.bytes)
        if result.ok:
            self.status.set_error("sync", None)
            if result.changed:
                log.info("sync: %s", result.summary())
        else:
            log.warning(_("sync: refused: {reason}").format(reason=result.error))
            self.status.set_error("sync", result.error)
        self.status.update(last_sync=SyncFacts(at=time.time(), ok=result.ok, error=result.error,
                                               changed=result.changed, bytes=result.bytes))
        return result

    # --- one cycle, raising Refused/FetchError on the first problem ---

    def _cycle(self, counter: _Counter) -> SyncResult:
        client = self._client_now()
        if not self._ensured:  # folders made, a crash's temp files removed: once, not at every poll
            self.store.ensure()
            self._ensured = True
        state = self._read_state()
        current = self._whole(state)  # the programme now in state/, if complete
        # Validators only for the URL and file they came from: a board moved to another tree, or from
        # manifest.json to manifest.v2.json, must fetch it whole.
        same_source = state is not None and state.url == self.cfg.source.url
        name, answer, validators = manifest.FILENAME, None, (None, None)
        for name in self._names():
            ours = current is not None and same_source and state.name == name
            validators = (state.etag, state.last_modified) if ours else (None, None)
            answer = client.get_small(name, manifest.MAX_BYTES, *validators, compressed=True, stop=self._stop)
            counter.bytes += answer.received
            if answer.status != 404:
                break
            if name == manifest.FILENAME_V2:  # a tree published for boards before 0.2: remembered (see _names)
                self._v2_missing = (self.cfg.source.url, time.monotonic())
        if name == manifest.FILENAME_V2:
            self._v2_missing = None
        if answer.status == 404:
            raise Refused(_("{url}: not found (HTTP 404), nor {v2}; is source.url right?").format(
                url=client.url(manifest.FILENAME), v2=manifest.FILENAME_V2))
        if answer.status == 304 and validators == (None, None):
            raise Refused(_("{url}: the server answered 304 Not Modified to a request without validators (a broken "
                            "cache or proxy on the way?)").format(url=client.url(name)))
        if answer.status == 304 or (current is not None and state and answer.body == state.data):
            fresh = (answer.etag, answer.last_modified) != (state.etag, state.last_modified) or not same_source \
                or state.name != name
            if answer.status == 200 and fresh:
                self._write_state(answer.body, state.signature, answer.etag, answer.last_modified, name)
            if self._delivered != state.digest:  # first cycle of this process: make sure the player has it
                self._deliver(current, state.digest)
            return SyncResult(ok=True, changed=False, version=current.version, slides=len(current.slides),
                              bytes=counter.bytes, format=current.format, name=name,
                              skipped=tuple(map(str, current.warnings)))
        data = answer.body
        signature = self._signature(client, counter, name)
        try:
            _check_signature(self.cfg, data, signature, client.url(name))
        except Refused:
            if signature is None:
                raise
            # The publisher may have replaced manifest and signature between our two requests: ask once more.
            answer = client.get_small(name, manifest.MAX_BYTES, compressed=True, stop=self._stop)
            counter.bytes += answer.received
            data, signature = answer.body, self._signature(client, counter, name)
            _check_signature(self.cfg, data, signature, client.url(name))
        try:
            incoming = manifest.decode(data, self.store.media_dir, client.url(name))
        except InvalidInput as exc:
            raise Refused(_first_line(exc)) from None
        if self.cfg.source.public_key:  # across both names: state/ may hold the other file's bytes
            _check_fresh(client.url(name), data, state.data if state is not None else None)
        self._warn_once(_digest(data), incoming)
        self.store.ensure()  # the folders may have gone since the first cycle
        self._fetch_media(client, incoming, current, counter)
        try:
            prepared = self.prepare(incoming)
        except Exception as exc:  # noqa: BLE001 - preparation is another part's code; its failure is a fact
            raise Refused(_("preparing images failed: {reason}").format(reason=exc)) from None
        digest = _digest(data)
        self._write_state(data, signature, answer.etag, answer.last_modified, name)
        self._deliver(prepared, digest, prepared_already=True)
        self.store.evict(set(manifest.media_of(incoming)), self.cfg.cache.max_mb * 1024 * 1024)
        return SyncResult(ok=True, changed=True, version=prepared.version, slides=len(prepared.slides),
                          files=counter.files, bytes=counter.bytes, format=incoming.format, name=name,
                          skipped=tuple(map(str, incoming.warnings)))

    def _names(self) -> tuple[str, ...]:
        """The manifests to ask for, in order: manifest.v2.json, then manifest.json if it is not found; only
        manifest.json while this source.url had no manifest.v2.json within the last V2_RECHECK_SECONDS."""
        missing = self._v2_missing
        if missing is not None and missing[0] == self.cfg.source.url \
                and time.monotonic() - missing[1] < V2_RECHECK_SECONDS:
            return (manifest.FILENAME,)
        return (manifest.FILENAME_V2, manifest.FILENAME)

    def _warn_once(self, digest: str, prog: programme.Programme) -> None:
        """The slides a format-2 manifest had that this board skips: in the journal once per manifest (health
        and the heartbeat carry them while it plays, as content_warnings)."""
        if digest == self._warned:
            return
        self._warned = digest
        for warning in prog.warnings:
            log.warning(_("sync: {warning}").format(warning=warning))

    def _verify_some(self, budget: float) -> None:
        """Hash cached media not yet hashed in this process, for at most `budget` seconds after the cycle's
        own work: a damaged file (an SD card flips bits at rest) is removed, and fetched again at once.

        In slices, after the manifest was asked for: a board that boots with 2 GB of pictures does not
        hold back an emergency while it hashes them (a Pi hashes some 50 MB/s). Once every file present at
        start has been hashed, nothing more is done: a download is hashed as it arrives, and an unchanged
        poll stays one request and a few system calls."""
        if self._all_hashed:
            return
        end = time.monotonic() + budget
        try:
            entries = sorted(os.scandir(self.store.media_dir), key=lambda e: e.name)
        except OSError:
            return
        for entry in entries:
            if time.monotonic() >= end or self._stop.is_set():
                return
            if not manifest.SHA256.match(entry.name):
                continue  # partial downloads and their validators
            try:
                size = entry.stat().st_size
            except OSError:
                continue
            if not self.store.verified(entry.name, size):
                self._damaged_found = True
                self._whole_at = None  # the next poll looks at the media again, and fetches this one
        self._all_hashed = True

    def _client_now(self) -> Client:
        token = None
        if self.cfg.source.token_file is not None:
            try:
                token = read_token(self.cfg.source.token_file, "source.token_file")
            except TokenError as exc:
                raise Refused(str(exc)) from None
        if self._client is None or (self._client.token, self._client.limits) != (token, self.limits):
            # a rotated token takes effect at once
            if self._client is not None:
                self._client.close()
                self._client = None
            try:
                self._client = Client(self.cfg.source.url, token, self.cfg.source.ca_file, self.limits)
            except (OSError, ssl.SSLError) as exc:  # tried again next cycle: a restored file heals it
                raise Refused(_("source.ca_file {file}: cannot be used ({reason})")
                    .format(file=self.cfg.source.ca_file, reason=getattr(exc, 'strerror', None) or exc)) from None
        return self._client

    def _signature(self, client: Client, counter: _Counter, name: str) -> bytes | None:
        """The signature beside the manifest read (`name` + .sig)."""
        if not self.cfg.source.public_key:
            return None
        answer = client.get_small(name + ".sig", SIG_MAX_BYTES, stop=self._stop)
        counter.bytes += answer.received
        return answer.body if answer.status == 200 else None

    def _read_state(self) -> _State | None:
        """state/ as last committed; read again only when its manifest file changed (one stat a poll)."""
        try:
            st = (self.store.state_dir / STATE_MANIFEST).stat()
            key = (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
        except OSError:
            key = None
        if key is not None and self._state is not None and self._state[0] == key:
            return self._state[1]
        state = _read_state(self.store)
        self._state = (key, state) if key is not None else None
        return state

    def _whole(self, state: _State | None) -> programme.Programme | None:
        if state is None:
            return None
        key = (state.digest, state.signature)
        if self._decoded is not None and self._decoded[0] == key:
            prog = self._decoded[1]  # polls every minute: decode and verify the same bytes only once
        else:
            try:
                _check_signature(self.cfg, state.data, state.signature,  # the key may have changed since
                                 _joined(self.cfg.source.url, state.name))
            except KeyUnusable:
                pass  # verified when it was accepted; new content is refused until the key is mended
            except Refused:
                return None
            try:
                prog = manifest.decode(state.data, self.store.media_dir, state.name)
            except InvalidInput:
                return None
            self._decoded = (key, prog)
            self._warn_once(state.digest, prog)
        seen = self._whole_at
        if seen is not None and seen[0] == key and time.monotonic() - seen[1] < MEDIA_RECHECK_SECONDS:
            return prog  # this process verified and committed these media, and only it evicts
        if all(self.store.has(sha, size) for sha, size in manifest.media_of(prog).items()):
            self._whole_at = (key, time.monotonic())
            return prog  # (the bytes are hashed in the background: _verify_some)
        self._whole_at = None
        return None

    def _fetch_media(self, client: Client, incoming: programme.Programme, current: programme.Programme | None,
                     counter: _Counter) -> None:
        needed = manifest.media_of(incoming)
        budget = self.cfg.cache.max_mb * 1024 * 1024
        total = sum(needed.values())
        if total > budget:
            raise Refused(_("the programme needs {total} MB of media, more than cache.max_mb ({max_mb} MB)")
                .format(total=format(total / 1e6, ".1f"), max_mb=self.cfg.cache.max_mb))
        missing = {sha: size for sha, size in needed.items() if not self.store.has(sha, size)}
        if not missing:
            return
        keep = set(needed) | set(manifest.media_of(current) if current else {})
        self.store.evict(keep, budget, room=sum(missing.values()))
        self._make_room(incoming, current, keep, missing)
        try:
            for sha, size in sorted(missing.items(), key=lambda item: item[1]):  # small first: most slides soonest
                for attempt in range(DOWNLOAD_ATTEMPTS):
                    before = _size(self.store.part(sha))
                    try:
                        done = client.download(f"media/{sha}", sha, size, self.store, self._stop,
                                               progress=counter.add)
                    except FetchError:
                        # retry at once only when the partial file grew: a cut on a flaky link, not a broken
                        # server; a small file is never resumed (it starts again at byte 0), so never retried
                        if attempt + 1 == DOWNLOAD_ATTEMPTS or size < RESUME_FROM \
                                or _size(self.store.part(sha)) <= before or self._stop.is_set():
                            raise
                        continue
                    counter.files += 1
                    if done.resumed_from:
                        log.info(_("sync: media/{sha} resumed at byte {offset} of {size}")
                            .format(sha=sha, offset=done.resumed_from, size=size))
                    break
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                self._forget_refused(incoming, current)
                raise Refused(_("the disk is full (while fetching media): the new programme was not kept, the current "
                                "one plays on; free space on the card or lower cache.max_mb")) from None
            if exc.errno == errno.EROFS:
                raise Refused(_("the cache {folder} is on a read-only disk (a failing SD card?); the current programme "
                                "plays on").format(folder=self.store.root)) from None
            raise

    def _make_room(self, incoming: programme.Programme, current: programme.Programme | None, keep: set[str],
                   missing: dict[str, int]) -> None:
        """Refuse, before a byte is fetched, a programme that would fill the disk (the cache is one tenant
        of the card: plays, prepared images and the system need room too). Unneeded media go first."""
        free = self.store.free_bytes()
        if free is None:
            return
        reserve = self.store.reserve_bytes()
        to_write = sum(max(0, size - _size(self.store.part(sha))) for sha, size in missing.items())
        to_write += sum(prepared_allowance(s) for s in incoming.slides if s.image is not None)
        short = to_write + reserve - free
        if short > 0:
            usage = self.store.usage()
            self.store.evict(keep, max(0, usage - short))
            free = self.store.free_bytes() or 0
            short = to_write + reserve - free
        if short > 0:
            self._forget_refused(incoming, current)
            raise Refused(_("not enough free space on the disk for the new programme: it needs {need} more, "
                            "{usable} can be used ({reserve} kept free for the board); the current programme plays on")
                                .format(need=_mb(to_write), usable=_mb(max(0, free - reserve)), reserve=_mb(reserve)))

    def _forget_refused(self, incoming: programme.Programme, current: programme.Programme | None) -> None:
        """After a refusal for lack of space nothing of the new programme is kept (its partial and whole
        files would only hold the disk full): the disk is as it was before the sync."""
        playing = (set(manifest.media_of(current)) if current else set()) | self.store.kept_by_others()
        for sha in manifest.media_of(incoming):
            if sha in playing:
                continue
            for path in (self.store.media(sha), self.store.part(sha),
                         self.store.part(sha).with_name(self.store.part(sha).name + ".validator")):
                if remove(path):
                    log.info(_("sync: removed {file} (its programme was refused for lack of space)")
                        .format(file=path.name))

    def _deliver(self, prog: programme.Programme, digest: str, prepared_already: bool = False) -> None:
        if not prepared_already:
            try:
                prog = self.prepare(prog)
            except Exception as exc:  # noqa: BLE001
                raise Refused(_("preparing images failed: {reason}").format(reason=exc)) from None
        self.on_ready(prog)
        self._delivered = digest

    def _write_state(self, data: bytes, signature: bytes | None, etag: str | None, last_modified: str | None,
                     name: str) -> None:
        digest = _digest(data)
        meta = {"signature": signature.decode("ascii", "replace").strip() if signature else None,
                "etag": etag, "last_modified": last_modified, "url": self.cfg.source.url, "name": name,
                "accepted_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        state_dir = self.store.state_dir
        write_atomic(state_dir / f"manifest-{digest}.json", json.dumps(meta, indent=1).encode() + b"\n")
        try:
            unchanged = (state_dir / STATE_MANIFEST).read_bytes() == data
        except OSError:
            unchanged = False
        if not unchanged:  # new validators for the same bytes rewrite only the sidecar
            write_atomic(state_dir / STATE_MANIFEST, data)
        for old in state_dir.glob("manifest-*.json"):
            if old.name != f"manifest-{digest}.json":
                remove(old)
        self._state = None  # read again (once) at the next cycle


class _Counter:
    def __init__(self) -> None:
        self.files = 0
        self.bytes = 0

    def add(self, n: int) -> None:
        self.bytes += n


def sync_once(cfg: Config) -> tuple[bool, str]:
    """`kiosk sync --once`: one cycle, one summary line. Images are only probed (no screen is known here)."""
    if cfg.source.url is None:
        return False, _("nothing to sync: {file} sets source.path (the folder is played directly), not "
                        "source.url").format(file=cfg.file)
    syncer = Syncer(cfg, Status(), on_ready=lambda _prog: None, prepare=probe_only)
    level = log.level
    log.setLevel(logging.CRITICAL)  # the summary line is the whole output (SPEC); the journal is not involved
    try:
        result = syncer.cycle()
    finally:
        log.setLevel(level)
    return result.ok, result.summary()


def _check_signature(cfg: Config, data: bytes, signature: bytes | None, url: str) -> None:
    """`data`, read from `url`, signed with the key of cfg.source (the board's, or a channel's: messages name
    its own field and URL)."""
    if not cfg.source.public_key:
        return
    try:
        key = signing.load_public_key(cfg.source.public_key, cfg.file.parent)
    except ValueError as exc:
        raise KeyUnusable(_("{key}: {reason}; new content is refused until it is mended")
            .format(key=cfg.source.public_key_field, reason=exc)) from None
    try:
        signing.verify(key, data, signature, url, cfg.source.public_key_field)
    except signing.BadSignature as exc:
        raise Refused(str(exc)) from None


def _joined(base: str | None, name: str) -> str:
    return urljoin(base or "", name)  # as Client.url


def _check_fresh(where: str, data: bytes, accepted: bytes | None) -> None:
    """Signed content must also be fresh: a manifest published before the one this board accepted last
    is refused, however good its signature (a replayed old manifest could bring back a retracted
    emergency). The signed `generated_at` is the clock; docs/protocol.md §4 says how to roll back."""
    if accepted is None:
        return
    before = manifest.published_at(accepted)
    if before is None:
        return  # the board never had a dated publication from this tree: nothing to compare with
    now = manifest.published_at(data)
    if now is None:
        raise Refused(_("{where}: no readable generated_at, but the manifest this board plays was published at "
                        "{before}: an older signed manifest cannot be ruled out, refused")
                            .format(where=where, before=_utc(before)))
    if now < before:
        raise Refused(_("{where}: published at {at}, before the manifest this board plays ({before}): an older signed "
                        "manifest is refused (a replay?); to go back to older content, publish it again")
                            .format(where=where, at=_utc(now), before=_utc(before)))


def _utc(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def _read_state(store: Cache) -> _State | None:
    try:
        data = (store.state_dir / STATE_MANIFEST).read_bytes()
    except OSError:
        return None
    digest = _digest(data)
    try:
        meta = json.loads((store.state_dir / f"manifest-{digest}.json").read_text(encoding="utf-8"))
        if not isinstance(meta, dict):
            raise ValueError
    except (OSError, ValueError):
        meta = {}
    signature = meta.get("signature")
    etag, modified, url, name = meta.get("etag"), meta.get("last_modified"), meta.get("url"), meta.get("name")
    return _State(data=data, digest=digest, url=url if isinstance(url, str) else None,
                  name=name if name in (manifest.FILENAME, manifest.FILENAME_V2) else manifest.FILENAME,
                  signature=signature.encode("ascii") if isinstance(signature, str) else None,
                  etag=etag if isinstance(etag, str) else None,
                  last_modified=modified if isinstance(modified, str) else None)


def _size(path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def _first_line(exc: BaseException) -> str:
    if isinstance(exc, InvalidInput) and exc.problems:
        more = len(exc.problems) - 1
        return str(exc.problems[0]) + (_(" (and {more} more problems)").format(more=more) if more else "")
    return str(exc)


@contextlib.contextmanager
def _locked(store: Cache) -> Iterator[None]:
    """One sync at a time per cache (the player's background sync and a technician's `sync --once`)."""
    store.state_dir.mkdir(parents=True, exist_ok=True)
    with open(store.state_dir / ".lock", "a+b") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Refused(_("another sync of this cache is running")) from None
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)

