"""The one HTTP client of the source system: how the board talks to it, for content and for reports.

Shared by sync and the reporter: `make_session` (timeouts and retries are the caller's; no proxies
from the environment, the provincial CA beside the system's, our User-Agent), `read_token` (the bearer
token file, read at each use so a rotated token applies at once), `next_delay` (the one backoff) and
`reason` (an error's root cause in one line).

`Client` is the content tree's side: one call per protocol step, `get_small` (manifest, signature:
conditional, size-capped, the manifest gzip-compressed when the server offers it) and `download` (a
media file: resumable, hashed on the fly, held to its declared size and an overall deadline). Every
refusal raises FetchError with a sentence a technician can act on.

requests (with urllib3 and ssl, ~6 MB of a Pi's memory) is imported on first use: a board that plays an
authoring folder and reports nowhere never loads it.
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import queue
import re
import socket
import threading
import time
import weakref
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

from kiosk import durable
from kiosk.i18n import _
from kiosk.problems import shown
from kiosk.source import cache
from kiosk.version import __version__

if TYPE_CHECKING:
    import requests
    from urllib3.util.retry import Retry

log = logging.getLogger("kiosk.sync")
# urllib3 logs a warning per retry; the sync logs one line per failed cycle instead (journal stays readable).
logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)

CHUNK = 1 << 20
RESUME_FROM = CHUNK  # smaller files are fetched whole again after a cut (no validator file written)
WRITE_BACK_EVERY = 8 * CHUNK  # a growing .part goes to the card in steps this big (see _WriteBack)


MAX_TOKEN_FILE = 64 * 1024  # a token is one line; the rest of a bigger file is never read


class TokenError(ValueError):
    """A token file cannot be used; the message names the key and the file."""


def read_token(path: Path, key: str) -> str:
    """The bearer token in a token file (its first line, trimmed). `key` names the setting in messages."""
    try:
        with open(path, "rb") as f:
            lines = f.read(MAX_TOKEN_FILE).decode("utf-8").strip().splitlines()
    except PermissionError:
        raise TokenError(_("{key} {path}: permission denied (the service user must be able to read it)")
            .format(key=key, path=path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise TokenError(_("{key} {path}: cannot read it ({reason})")
            .format(key=key, path=path, reason=getattr(exc, 'strerror', None) or exc)) from None
    token = lines[0].strip() if lines else ""
    if not token:
        raise TokenError(_("{key} {path}: the file is empty; put the token in it, on one line")
            .format(key=key, path=path))
    if not token.isprintable():
        raise TokenError(_("{key} {path}: the first line must be the token alone (no control characters)")
            .format(key=key, path=path))
    return token


_adapter_class = None


def _adapter(ca_file: Path | None = None, **kwargs):
    """An HTTPAdapter that keeps hold of its connections, so that a Deadline can cut them; for HTTPS, the
    system CAs plus source.ca_file (a provincial CA), not instead of them. The class is made on first use,
    when requests is imported (see the module's docstring)."""
    global _adapter_class
    if _adapter_class is None:
        import ssl

        from requests.adapters import HTTPAdapter
        from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

        class Adapter(HTTPAdapter):
            def __init__(self, ca_file: Path | None = None, **kwargs):
                self._context = None
                if ca_file is not None:
                    self._context = ssl.create_default_context()
                    self._context.load_verify_locations(cafile=str(ca_file))
                self.sockets: weakref.WeakSet = weakref.WeakSet()  # every socket its connections opened
                super().__init__(**kwargs)

            def init_poolmanager(self, *args, **kwargs):
                if self._context is not None:
                    kwargs["ssl_context"] = self._context
                super().init_poolmanager(*args, **kwargs)
                self.poolmanager.pool_classes_by_scheme = {
                    "http": _tracked(HTTPConnectionPool, self.sockets),
                    "https": _tracked(HTTPSConnectionPool, self.sockets),
                }

            def cut(self) -> None:
                """Shut down every socket still open: a read or write blocked in another thread returns at
                once. The sockets themselves are kept, not their connections: http.client lets go of a
                connection's socket (conn.sock = None) while its response still reads the body from it."""
                for sock in list(self.sockets):
                    try:
                        socket.socket.shutdown(sock, socket.SHUT_RDWR)  # the plain socket's method: TLS too
                    except OSError:
                        pass

        _adapter_class = Adapter
    return _adapter_class(ca_file, **kwargs)


def _tracked(pool: type, registry: weakref.WeakSet) -> type:
    class Connection(pool.ConnectionCls):
        def connect(self):
            super().connect()
            registry.add(self.sock)

    class Tracked(pool):
        ConnectionCls = Connection

    return Tracked


class Deadline:
    """An overall deadline for whatever a session does inside `with Deadline(session, seconds, stop):`.

    requests and urllib3 only time out each read: a server that sends a byte every few seconds, in its
    headers or its body, would hold the board for ever. When the time is up (or `stop` is set) every
    connection of the session is cut, and `expired` says why the request then failed.
    """

    def __init__(self, session: requests.Session, seconds: float, stop: threading.Event | None = None):
        self.adapters = [a for a in session.adapters.values() if hasattr(a, "cut")]
        self.seconds, self.stop = seconds, stop
        self.expired = False
        self._done = threading.Event()

    def __enter__(self) -> Deadline:
        threading.Thread(target=self._watch, name="kiosk-deadline", daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._done.set()

    def _watch(self) -> None:
        end = time.monotonic() + self.seconds
        while not self._done.wait(min(0.25, max(0.0, end - time.monotonic()))):
            if time.monotonic() >= end or (self.stop is not None and self.stop.is_set()):
                self.expired = True
                for adapter in self.adapters:
                    adapter.cut()
                return


def make_session(ca_file: Path | None = None, token: str | None = None, retry: Retry | None = None
                 ) -> requests.Session:
    """A Session for the source system. Raises OSError or ssl.SSLError when ca_file is unusable."""
    import requests

    session = requests.Session()
    session.trust_env = False  # no proxies or .netrc from the environment: only the config counts
    session.headers["User-Agent"] = f"kiosk/{__version__}"
    if token:
        session.headers["Authorization"] = f"Bearer {token}"
    retries = retry if retry is not None else 0
    session.mount("https://", _adapter(ca_file, max_retries=retries))
    session.mount("http://", _adapter(max_retries=retries))
    return session


def next_delay(period: float, failures: int, rand: float, first: float, cap: float) -> float:
    """Seconds until the next try. No failure: `period` ±10 % (`rand` in [0, 1)), so boards powered on
    together drift apart. After n failures in a row: "equal jitter" exponential backoff, first·2^(n-1)
    capped at `cap`, drawn from [half, whole]."""
    if failures <= 0:
        return period * (0.9 + 0.2 * rand)
    ceiling = min(cap, first * 2 ** min(failures - 1, 30))
    return ceiling * (0.5 + 0.5 * rand)


class FetchError(Exception):
    """A server answer was refused; the message says why."""


class _Cut(FetchError):
    """The connection failed while the body was arriving."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True)
class Limits:
    """Timeouts and caps. Defaults suit a village 3G link; tests shrink them."""

    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    small_deadline: float = 60.0  # whole manifest or signature
    min_rate: float = 8 * 1024.0  # bytes/s a media download must average (plus a fixed allowance)
    file_allowance: float = 120.0  # seconds added to every media deadline
    retries: int = 2  # within one cycle; the cycle itself is retried later with its own backoff
    backoff: float = 0.5  # urllib3 backoff_factor: 0, 1, 2 … seconds (plus jitter) between retries
    retry_after_max: float = 120.0  # a Retry-After longer than this is cut to it
    max_redirects: int = 3


@dataclass
class Answer:
    status: int  # 200 or 304
    body: bytes = b""
    etag: str | None = None
    last_modified: str | None = None
    received: int = 0  # bytes that crossed the wire for the body (compressed, when it was)


@dataclass
class Download:
    resumed_from: int = 0  # bytes that were already there from an earlier, cut download


@dataclass
class Client:
    """A configured Session for one base URL; cheap to keep for the life of the player."""

    base_url: str
    token: str | None = None
    ca_file: Path | None = None
    limits: Limits = field(default_factory=Limits)
    session: requests.Session = field(init=False, repr=False)

    def __post_init__(self) -> None:
        from urllib3.util.retry import Retry

        retry = Retry(
            total=self.limits.retries, connect=self.limits.retries, read=self.limits.retries,
            status=self.limits.retries, redirect=0, allowed_methods=frozenset({"GET"}),
            status_forcelist=(408, 425, 429, 500, 502, 503, 504), backoff_factor=self.limits.backoff,
            backoff_jitter=self.limits.backoff, backoff_max=60.0, respect_retry_after_header=True,
            retry_after_max=self.limits.retry_after_max, raise_on_status=False, raise_on_redirect=False,
        )
        self.session = make_session(self.ca_file, self.token, retry)
        self.session.headers["Accept-Encoding"] = "identity"  # sizes and ranges are of the bytes on disk
        self._origin = _origin(self.base_url)

    def url(self, path: str) -> str:
        return urljoin(self.base_url, path)

    def close(self) -> None:
        self.session.close()

    def _get(self, path: str, headers: dict[str, str], timeout: tuple[float, float]) -> requests.Response:
        """GET following redirects only within the source's own scheme, host and port."""
        import requests

        url = where = self.url(path)
        for _hop in range(self.limits.max_redirects + 1):
            try:
                response = self.session.get(url, headers=headers, timeout=timeout, stream=True,
                                            allow_redirects=False)
            except requests.exceptions.SSLError as exc:
                raise FetchError(_("{where}: TLS verification failed ({reason}); see source.ca_file")
                    .format(where=where, reason=reason(exc))) from None
            except requests.exceptions.ConnectTimeout:
                raise FetchError(_("{where}: connection to {host} timed out")
                    .format(where=where, host=self._origin[1])) from None
            except requests.exceptions.ConnectionError as exc:
                raise FetchError(_("{where}: cannot connect to {host} ({reason})")
                    .format(where=where, host=self._origin[1], reason=reason(exc))) from None
            except requests.exceptions.RequestException as exc:
                raise FetchError(f"{where}: {reason(exc)}") from None
            except ValueError as exc:  # e.g. requests parsing an invalid Location for response.next
                raise FetchError(_("{where}: invalid answer from the server, refused ({reason})")
                    .format(where=where, reason=exc)) from None
            if response.status_code not in (301, 302, 303, 307, 308):
                return response
            location = response.headers.get("Location", "")
            response.close()
            try:
                target = urljoin(url, location)
                origin = _origin(target)
            except ValueError:
                raise FetchError(_("{where}: redirect to an invalid address refused ({location})")
                    .format(where=where, location=shown(location))) from None
            if origin[0] not in ("http", "https"):  # file:///etc/passwd has no host to compare: say what it is
                raise FetchError(_("{where}: redirect to {url} refused: only http:// and https:// addresses on the "
                                   "source's own host are followed").format(where=where, url=shown(target)))
            if origin != self._origin:
                raise FetchError(_("{where}: redirect to another host refused ({host})")
                    .format(where=where, host=shown(target)))
            url = target
        raise FetchError(_("{where}: more than {count} redirects").format(where=where, count=self.limits.max_redirects))

    def get_small(self, path: str, max_bytes: int, etag: str | None = None,
                  last_modified: str | None = None, compressed: bool = False,
                  stop: threading.Event | None = None) -> Answer:
        """A small file, whole, in memory; 304 when the validators still match. 404 → status 404, empty body.

        `compressed`: the server may send it gzip-compressed (the manifest: a thousand slides are 200 kB
        of JSON, a tenth of that compressed). Media never are: their sizes and ranges are of the bytes
        on disk. `max_bytes` holds for the body as it arrives and for what it unpacks to.
        """
        where = self.url(path)
        headers = {"Accept-Encoding": "gzip"} if compressed else {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        deadline = time.monotonic() + self.limits.small_deadline
        with Deadline(self.session, self.limits.small_deadline, stop) as cut:
            try:
                answer = self._get_small(path, where, headers, deadline, max_bytes, etag, last_modified, compressed)
            except FetchError:
                if cut.expired and not (stop is not None and stop.is_set()):
                    raise FetchError(_("{where}: too slow: not complete within {seconds} s")
                        .format(where=where, seconds=format(self.limits.small_deadline, "g"))) \
                        from None
                raise
        if cut.expired:  # a body with no length ends when the connection does: here ours, cut at the deadline
            if stop is not None and stop.is_set():
                raise FetchError(f"{where}: stopped")
            raise FetchError(_("{where}: too slow: not complete within {seconds} s")
                             .format(where=where, seconds=format(self.limits.small_deadline, "g")))
        return answer

    def _get_small(self, path: str, where: str, headers: dict[str, str], deadline: float, max_bytes: int,
                   etag: str | None, last_modified: str | None, compressed: bool) -> Answer:
        response = self._get(path, headers, (self.limits.connect_timeout, self.limits.read_timeout))
        with response:
            if response.status_code == 304:
                return Answer(304, etag=etag, last_modified=last_modified)
            if response.status_code == 404:
                return Answer(404)
            if response.status_code != 200:
                raise FetchError(_("{where}: the server answered HTTP {status} {phrase}")
                    .format(where=where, status=response.status_code, phrase=response.reason or "")
                                 .rstrip())
            encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
            if encoding not in ("identity", "") and not (compressed and encoding == "gzip"):
                raise FetchError(_("{where}: sent with Content-Encoding {encoding}, which was not asked for")
                    .format(where=where, encoding=repr(encoding[:40])))
            unpack = zlib.decompressobj(16 + zlib.MAX_WBITS) if encoding == "gzip" else None
            length = _int(response.headers.get("Content-Length"))
            if length is not None and length > max_bytes:
                raise FetchError(_("{where}: {length} bytes announced, more than the limit of {max_bytes}")
                    .format(where=where, length=length, max_bytes=max_bytes))
            body, received = bytearray(), 0
            try:
                for chunk in _chunks(response, where, deadline, self.limits.small_deadline):
                    received += len(chunk)
                    if unpack is not None:  # never more than the limit unpacked: a gzip bomb stops here
                        chunk = unpack.decompress(chunk, max_bytes + 1 - len(body))
                    body += chunk
                    if len(body) > max_bytes or received > max_bytes:
                        raise FetchError(_("{where}: more than the limit of {max_bytes} bytes")
                            .format(where=where, max_bytes=max_bytes))
                if unpack is not None:
                    body += unpack.flush()
                    if not unpack.eof or unpack.unconsumed_tail or len(body) > max_bytes:
                        raise zlib.error("incomplete or too large")
            except _Cut as exc:
                raise FetchError(_("{where}: {reason} after {received} bytes")
                    .format(where=where, reason=exc.reason, received=received)) from None
            except zlib.error as exc:
                raise FetchError(_("{where}: the gzip-compressed answer is damaged ({reason})")
                    .format(where=where, reason=exc)) from None
            if length is not None and received != length:
                raise FetchError(_("{where}: connection cut after {received} of {length} bytes")
                    .format(where=where, received=received, length=length))
            return Answer(200, bytes(body), response.headers.get("ETag"), response.headers.get("Last-Modified"),
                          received)

    def download(self, path: str, sha256: str, size: int, store: cache.Cache,
                 stop: threading.Event | None = None, progress: Callable[[int], None] | None = None) -> Download:
        """Fetch one media file into the cache, resuming a partial one; verified or FetchError.

        The partial file (media/<sha>.part) survives a crash or kill -9: the
        next call hashes what is there and asks only for the rest (Range +
        If-Range). The file becomes media/<sha> only when size and SHA-256 match.
        """
        hashers: list[_Hasher] = []
        allowed = self.limits.file_allowance + size / self.limits.min_rate
        try:
            with Deadline(self.session, allowed + self.limits.read_timeout, stop) as cut:  # headers drip too
                try:
                    return self._download(path, sha256, size, store, stop, progress, hashers)
                except FetchError:
                    if cut.expired and not (stop is not None and stop.is_set()):
                        raise FetchError(_("{url}: too slow: not complete within {allowed} s")
                            .format(url=self.url(path), allowed=format(allowed, 'g'))) from None
                    raise
        finally:
            for hasher in hashers:  # stop helper threads whatever happened
                hasher.close()

    def _download(self, path: str, sha256: str, size: int, store: cache.Cache, stop: threading.Event | None,
                  progress: Callable[[int], None] | None, hashers: list[_Hasher]) -> Download:
        where = self.url(path)
        store.media_dir.mkdir(parents=True, exist_ok=True)
        part, final = store.part(sha256), store.media(sha256)
        validator_path = part.with_name(part.name + ".validator")
        digest = _Hasher(size)
        hashers.append(digest)
        have = 0
        if part.exists() and size < RESUME_FROM:
            durable.remove(part)  # small files are simply fetched again
        if part.exists():
            with open(part, "rb") as f:
                while have < size and (chunk := f.read(CHUNK)):
                    digest.update(chunk[: size - have])
                    have += min(len(chunk), size - have)
            if part.stat().st_size != have:  # longer than declared: keep only the declared size
                os.truncate(part, have)
        result = Download(resumed_from=have)
        if have < size:
            headers = {}
            validator = _read_text(validator_path) if have else None
            if have:
                headers["Range"] = f"bytes={have}-"
                if validator:
                    headers["If-Range"] = validator
            deadline = time.monotonic() + self.limits.file_allowance + (size - have) / self.limits.min_rate
            response = self._get(path, headers, (self.limits.connect_timeout, self.limits.read_timeout))
            with response:
                encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
                if response.status_code in (200, 206) and encoding not in ("identity", ""):
                    raise FetchError(_("{where}: sent with Content-Encoding {encoding}, which was not asked for (media "
                                       "must be served as they are)").format(where=where, encoding=repr(encoding[:40])))
                if response.status_code == 206 and have:
                    total = _content_range_total(response.headers.get("Content-Range"), have)
                    if total != size:
                        raise FetchError(_("{where}: Content-Range {range} does not continue a {size}-byte file at "
                                           "byte {have}")
                                               .format(where=where, range=repr(response.headers.get("Content-Range")),
                                                       size=size, have=have))
                elif response.status_code == 200:
                    if have:  # the server ignored the range, or the file changed: start over
                        log.info(_("sync: {path}: server sent the whole file again; restarting at byte 0")
                            .format(path=path))
                        digest.close()
                        digest, have = _Hasher(size), 0
                        hashers.append(digest)
                        result.resumed_from = 0
                    length = _int(response.headers.get("Content-Length"))
                    if length is not None and length != size:
                        raise FetchError(_("{where}: the server sends {length} bytes, the manifest says {size}")
                            .format(where=where, length=length, size=size))
                    validator = response.headers.get("ETag") or response.headers.get("Last-Modified")
                    if size < RESUME_FROM:
                        pass  # not worth two extra writes to the SD card
                    elif validator and validator.isprintable():
                        durable.write_atomic(validator_path, validator.encode("utf-8", "replace"))
                    else:
                        durable.remove(validator_path)
                elif response.status_code == 416 and have:
                    durable.remove(part)
                    raise FetchError(_("{where}: the server refused to resume (HTTP 416); starting over next time")
                        .format(where=where))
                else:
                    raise FetchError(_("{where}: the server answered HTTP {status} {phrase}")
                        .format(where=where, status=response.status_code, phrase=response.reason or "").rstrip())
                mode = "ab" if have else "wb"
                with open(part, mode) as out:
                    card = _WriteBack(out, have)
                    try:
                        for chunk in _chunks(response, where, deadline, round(deadline - time.monotonic()), stop):
                            if have + len(chunk) > size:
                                raise FetchError(_("{where}: more bytes than the {size} the manifest declares")
                                    .format(where=where, size=size))
                            out.write(chunk)
                            digest.update(chunk)
                            have += len(chunk)
                            if progress is not None:
                                progress(len(chunk))
                            card.written(have)
                    except _Cut as exc:
                        later = " (will resume)" if size >= RESUME_FROM else ""
                        raise FetchError(_("{where}: {reason} after {have} of {size} bytes{later}")
                            .format(where=where, reason=exc.reason, have=have, size=size, later=later)) \
                            from None
                    finally:
                        out.flush()
                        os.fdatasync(out.fileno())
            if have < size:
                raise FetchError(_("{where}: connection cut after {have} of {size} bytes")
                    .format(where=where, have=have, size=size))
        got = digest.hexdigest()
        if got != sha256:
            durable.remove(part)
            durable.remove(validator_path)
            raise FetchError(_("{where}: wrong SHA-256 (got {got}…, manifest says {expected}…); file discarded")
                .format(where=where, got=got[:12], expected=sha256[:12]))
        os.replace(part, final)
        durable.remove(validator_path)
        durable.fsync_dir(final.parent)
        return result


class _WriteBack:
    """Keeps a growing file on the card as it grows, without making the download wait for the card.

    An fsync every 32 MB stalls the receiving loop while the kernel writes all that is dirty, and
    leaves the whole tail to the final one: on loopback that halved the throughput. Instead, every
    WRITE_BACK_EVERY bytes the new range is handed to the disk at once (sync_file_range WRITE: starts
    the writeback and returns), and the range LAG steps back is waited for, which by then is normally
    written. So at most LAG + 1 ranges (40 MB) are not yet on the card when the power goes (what the
    next start resumes from; the old fsync bounded it at 32 MB), little is left for the final
    fdatasync, and dirty pages never pile up in a Pi's small memory. Where sync_file_range is missing,
    an fdatasync every LAG ranges does the same job, slower.
    """

    WRITE, WAIT = 2, 1 | 2 | 4  # SYNC_FILE_RANGE_WRITE; WAIT_BEFORE | WRITE | WAIT_AFTER
    LAG = 4

    def __init__(self, out, start: int):
        self.out, self.done = out, start
        self.pending: list[tuple[int, int]] = []  # ranges handed to the disk, not yet waited for

    def written(self, end: int) -> None:
        if end - self.done < WRITE_BACK_EVERY:
            return
        self.out.flush()
        fd = self.out.fileno()
        self.pending.append((self.done, end - self.done))
        self.done = end
        if _sync_file_range is None:
            if len(self.pending) > self.LAG:
                os.fdatasync(fd)
                self.pending.clear()
            return
        _sync_file_range(fd, *self.pending[-1], self.WRITE)
        if len(self.pending) > self.LAG:
            _sync_file_range(fd, *self.pending.pop(0), self.WAIT)


def _libc_sync_file_range():
    """Linux's sync_file_range(2), which Python's os module lacks; None elsewhere."""
    try:
        function = ctypes.CDLL(None, use_errno=True).sync_file_range
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    function.restype = ctypes.c_int
    return function


_sync_file_range = _libc_sync_file_range()


class _Hasher:
    """SHA-256 computed beside the download: a big file is hashed in a helper thread.

    hashlib releases the GIL, so on a multi-core Pi hashing overlaps with
    receiving and writing instead of adding to them.
    """

    THREADED_FROM = 8 * 1024 * 1024

    def __init__(self, size: int):
        self._digest = hashlib.sha256()
        self._queue: queue.Queue[bytes | None] | None = None
        self._thread: threading.Thread | None = None
        if size >= self.THREADED_FROM:
            self._queue = queue.Queue(maxsize=8)
            self._thread = threading.Thread(target=self._work, name="kiosk-sha256", daemon=True)
            self._thread.start()

    def _work(self) -> None:
        while (chunk := self._queue.get()) is not None:
            self._digest.update(chunk)

    def update(self, chunk: bytes) -> None:
        if self._queue is None:
            self._digest.update(chunk)
        else:
            self._queue.put(chunk)

    def close(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = self._queue = None

    def hexdigest(self) -> str:
        self.close()
        return self._digest.hexdigest()


def _chunks(response: requests.Response, where: str, deadline: float, allowed: float,
            stop: threading.Event | None = None):
    """The body as it arrives (read1: a slow drip still returns, so the deadline is checked)."""
    raw = response.raw
    while True:
        if time.monotonic() > deadline:
            raise FetchError(_("{where}: too slow: not complete within {allowed} s")
                .format(where=where, allowed=format(allowed, 'g')))
        if stop is not None and stop.is_set():
            raise FetchError(f"{where}: stopped")
        try:
            chunk = raw.read1(CHUNK)
        except Exception as exc:  # noqa: BLE001 - urllib3/http.client raise many kinds on a cut connection
            raise _Cut(_reading_error(exc)) from None
        if not chunk:
            return
        yield chunk


def _reading_error(exc: BaseException) -> str:
    text = repr(exc)
    if "IncompleteRead" in text:
        return _("connection cut by the server")
    if "timed out" in text or "Timeout" in text:
        return _("no data within the read timeout")
    if "reset" in text.lower():
        return _("connection reset")
    return _("connection failed ({reason})").format(reason=reason(exc))


def _content_range_total(header: str | None, start: int) -> int | None:
    # "bytes START-END/TOTAL"
    try:
        unit, rest = (header or "").split(" ", 1)
        span, total = rest.split("/")
        first, _last = span.split("-")
        if unit != "bytes" or int(first) != start:
            return None
        return int(total)
    except ValueError:
        return None


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return parts.scheme.lower(), f"{(parts.hostname or '').lower()}:{port}"


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8").strip() or None
    except (OSError, UnicodeDecodeError):
        return None


def reason(exc: BaseException) -> str:
    """The root reason of a requests/urllib3 error, without pool and URL noise."""
    cause: BaseException = exc
    for _try in range(10):
        inner = getattr(cause, "reason", None)
        if not isinstance(inner, BaseException):
            inner = cause.args[0] if cause.args and isinstance(cause.args[0], BaseException) else None
        if inner is None or inner is cause:
            break
        cause = inner
    text = str(cause)
    errno = re.search(r"\[Errno -?\d+\] [^)'\"]+", text)
    if errno:
        return errno.group(0).strip()
    if "): " in text:
        text = text.split("): ", 1)[1]
    return text.strip(" ()'\"")[:200] or cause.__class__.__name__
