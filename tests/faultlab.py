"""The fault suite's trials, shared by tests/test_faults.py (a few of each, in CI) and bench/faults.py (hundreds).

Each trial does one thing to a real board part (a process killed with SIGKILL at a random instant, a
write that fails, a hostile server, ...) and then checks the invariants a commune would notice: the
board plays the old content or the new, never a mix, and no proof of play is lost. A trial returns a
`Trial`: did the invariants hold, how many records were lost, and what happened.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
for _path in (HERE, ROOT):  # this checkout's kiosk and test helpers, however this module was reached
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from servers import StaticServer  # noqa: E402

from kiosk import config as configmod  # noqa: E402
from kiosk.content import manifest  # noqa: E402
from kiosk.source import cache, publish, signing, sync  # noqa: E402

MB = 1024 * 1024


@dataclass
class Trial:
    survived: bool
    lost: int = 0  # records (plays) that a kill or a fault cost
    note: str = ""
    outcome: str = ""  # a short word for the table: what the board had after it (old, new, refused, …)


def env() -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT), "SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy",
            "PYGAME_HIDE_SUPPORT_PROMPT": "1"}


def kill_at(args: list[str], at: float, cwd: Path | None = None, stdout=subprocess.DEVNULL) -> subprocess.Popen:
    """Start `args`, SIGKILL it `at` seconds later (unless it ended first); the process, ended."""
    proc = subprocess.Popen(args, env=env(), cwd=cwd, stdout=stdout, stderr=subprocess.DEVNULL, text=True)
    try:
        proc.wait(timeout=at)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    return proc


def quiet(server: StaticServer) -> StaticServer:
    """No traceback on the test server's side when a board hangs up on it: that is what boards should do."""
    server.httpd.handle_error = lambda *args: None
    return server


def sha_ok(folder: Path) -> bool:
    """Every whole file in a media folder hashes to its name (partial and temporary files aside)."""
    for path in folder.iterdir() if folder.is_dir() else ():
        if manifest.SHA256.match(path.name) and hashlib.sha256(path.read_bytes()).hexdigest() != path.name:
            return False
    return True


def authoring(folder: Path, images: dict[str, int], seed: int, texts: int = 2) -> Path:
    """Text slides and one picture slide per name, each picture padded to about `size` bytes of noise."""
    (folder / "images").mkdir(parents=True, exist_ok=True)
    for old in (folder / "images").iterdir():
        old.unlink()
    rng = random.Random(seed)
    lines = ["slides:"]
    for i in range(texts):
        lines += [f"  - id: tin-{i}", f"    title: Thông báo số {i} ({seed})", "    body: Ủy ban nhân dân xã"]
    for name, size in images.items():
        path = folder / "images" / name
        Image.new("RGB", (32, 24), (rng.randrange(256), rng.randrange(256), 90)).save(path)
        with open(path, "ab") as f:
            f.write(rng.randbytes(max(0, size - path.stat().st_size)))
        lines += [f"  - id: anh-{Path(name).stem}", f"    file: images/{name}"]
    (folder / "programme.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def board_config(folder: Path, url: str, max_mb: int = 64, public_key: Path | None = None) -> configmod.Config:
    folder.mkdir(parents=True, exist_ok=True)
    key = f"  public_key: '{public_key}'\n" if public_key else ""
    (folder / "config.yaml").write_text(
        f"device: {{id: fault-board, name: Bảng tin}}\nsource:\n  url: '{url}'\n  poll_seconds: 60\n{key}"
        f"cache: {{path: cache, max_mb: {max_mb}}}\nhealth: {{listen: '127.0.0.1:0'}}\n", encoding="utf-8")
    return configmod.load(folder / "config.yaml")


def version_of(tree: Path) -> str:
    return manifest.decode((tree / "manifest.json").read_bytes(), tree / "media").version


def syncer(cfg: configmod.Config) -> sync.Syncer:
    from kiosk.status import Status

    return sync.Syncer(cfg, Status(), on_ready=lambda _p: None, prepare=sync.probe_only)


# --- kill -9 during a sync, and during eviction -----------------------------------------------------------


class SyncWorld:
    """A tree moving from v1 to v2 (three pictures, throttled so the sync takes a while) and a board whose
    cache holds v1 (and, for eviction, an older v0 that must make room)."""

    def __init__(self, work: Path, evict: bool = False):
        self.work = work
        self.evict = evict
        size = 5 * MB if evict else 300 * 1024
        src, self.tree = work / "src", work / "tree"
        self.server = quiet(StaticServer(self.tree, throttle=(20 if evict else 2) * MB))
        self.template = work / "template"
        self.cfg = board_config(self.template, self.server.url, max_mb=16 if evict else 64)
        self.versions = []
        rounds = (0, 1) if evict else (1,)
        for seed in rounds:  # v0 (eviction only), then v1: what the board has
            publish.publish(authoring(src, {f"a{seed}.png": size}, seed), self.tree, None)
            self.versions.append(version_of(self.tree))
            assert syncer(self.cfg).cycle().ok
        self.old = self.versions[-1]
        names = {"b.png": size} if evict else {"b.png": size, "c.png": size, "d.png": size}
        publish.publish(authoring(src, names, 7), self.tree, None)  # v2: what it is syncing when killed
        self.new = version_of(self.tree)
        self.duration = self._measure()

    def _fresh_board(self, name: str) -> Path:
        board = self.work / name
        shutil.rmtree(board, ignore_errors=True)
        shutil.copytree(self.template, board)
        return board

    def _measure(self) -> float:
        board = self._fresh_board("measure")
        started = time.monotonic()
        subprocess.run([sys.executable, "-m", "kiosk", "sync", "--once", "-c", str(board / "config.yaml")],
                       env=env(), check=True, capture_output=True)
        return time.monotonic() - started

    def trial(self, rng: random.Random, n: int) -> Trial:
        board = self._fresh_board(f"board-{n}")
        at = rng.uniform(0.05, self.duration * 1.05)
        kill_at([sys.executable, "-m", "kiosk", "sync", "--once", "-c", str(board / "config.yaml")], at)
        cfg = configmod.load(board / "config.yaml")
        cache._verified.clear()  # the next start hashes everything again
        playing = sync.load_cached(cfg)
        whole = playing is not None and playing.version in (self.old, self.new)
        media_ok = sha_ok(board / "cache" / "media")
        recovered = syncer(cfg).cycle()
        after = sync.load_cached(cfg)
        usage_ok = cache.Cache(cfg.cache.path).usage() <= cfg.cache.max_mb * MB
        survived = whole and media_ok and recovered.ok and after is not None and after.version == self.new \
            and usage_ok
        what = "old" if playing is not None and playing.version == self.old else "new" if whole else "NOTHING"
        return Trial(survived, 0, f"killed at {at:.2f} s: plays {what}", f"plays {what}")

    def close(self) -> None:
        self.server.close()


# --- kill -9 during kiosk publish --------------------------------------------------------------------------


class PublishWorld:
    """A signed tree at v1; `kiosk publish` of v2 (8 MB of pictures to copy) killed at a random instant."""

    def __init__(self, work: Path):
        self.work = work
        signing.keygen(work / "k")
        self.key = signing.load_public_key(str(work / "k.pub"))
        self.v1 = authoring(work / "v1", {"a.png": 200 * 1024}, 1)
        self.v2 = authoring(work / "v2", {"b.png": 3 * MB, "c.png": 3 * MB, "d.png": 2 * MB}, 2)
        self.template = work / "template"
        publish.publish(self.v1, self.template, work / "k")
        self.old = version_of(self.template)
        started = time.monotonic()
        self._publish(self._fresh("measure"))
        self.duration = time.monotonic() - started
        self.new = version_of(work / "measure")

    def _fresh(self, name: str) -> Path:
        tree = self.work / name
        shutil.rmtree(tree, ignore_errors=True)
        shutil.copytree(self.template, tree)
        return tree

    def _args(self, tree: Path) -> list[str]:
        return [sys.executable, "-m", "kiosk", "publish", str(self.v2), str(tree), "--key", str(self.work / "k")]

    def _publish(self, tree: Path) -> None:
        subprocess.run(self._args(tree), env=env(), check=True, capture_output=True)

    def _board_view(self, tree: Path, name: str) -> str:
        """What a board syncing this tree's `name` (manifest.v2.json: boards from 0.2; manifest.json: older)
        gets: 'old', 'new', 'refused' (it keeps its content) or 'MIX'."""
        data = (tree / name).read_bytes()
        try:
            signing.verify(self.key, data, (tree / f"{name}.sig").read_bytes())
        except (signing.BadSignature, OSError):
            return "refused"
        prog = manifest.decode(data, tree / "media")
        for sha in manifest.media_of(prog):
            path = tree / "media" / sha
            if not path.is_file() or hashlib.sha256(path.read_bytes()).hexdigest() != sha:
                return "MIX"  # a manifest whose pictures are missing or torn
        return "old" if prog.version == self.old else "new" if prog.version == self.new else "MIX"

    def trial(self, rng: random.Random, n: int) -> Trial:
        tree = self._fresh(f"tree-{n}")
        at = rng.uniform(0.05, self.duration * 1.05)
        kill_at(self._args(tree), at)
        views = [self._board_view(tree, name) for name in (manifest.FILENAME_V2, manifest.FILENAME)]
        self._publish(tree)  # publishing again mends whatever the kill left
        mended = all(self._board_view(tree, name) == "new" for name in (manifest.FILENAME_V2, manifest.FILENAME))
        seen = "/".join(views)
        return Trial(all(v in ("old", "new", "refused") for v in views) and mended, 0,
                     f"killed at {at:.2f} s: a board (0.2/0.1) sees {seen}", f"a board (0.2/0.1) sees {seen}")


# --- kill -9 during plays-queue writes -----------------------------------------------------------------------


WRITER = """
import sys
from pathlib import Path
from kiosk.report.plays import Play, PlayQueue

queue = PlayQueue(Path(sys.argv[1]), max_rows=1_000_000)
n = 0
while True:
    for _ in range(50):
        queue.record(Play(id=f"{n:032x}", slide_id="s", started_at="2026-11-26T08:30:00+07:00",
                          ended_at="2026-11-26T08:30:10+07:00", duration_s=10.0))
        n += 1
    queue.flush()
    print(n, flush=True)
    if n % 500 == 0:
        ids = [p.id for p in queue.pending(100)]
        print("acked", " ".join(ids), flush=True)  # said before: a kill between the two is no lost play
        queue.ack(ids)
"""


def plays_trial(work: Path, rng: random.Random, n: int) -> Trial:
    """A queue writing batches of plays (and acknowledging some) is killed; every committed play is there."""
    path = work / f"plays-{n}.sqlite"
    at = rng.uniform(0.3, 1.5)
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], env=env(), stdout=subprocess.PIPE, text=True)
    flushed, acked = 0, set()
    timer = threading.Timer(at, lambda: proc.send_signal(signal.SIGKILL))
    timer.start()
    for line in proc.stdout:
        if line.startswith("acked"):
            acked.update(int(i, 16) for i in line.split()[1:])
        else:
            flushed = int(line)
    proc.wait()
    timer.cancel()
    if not path.exists():
        return Trial(True, 0, f"killed at {at:.2f} s, before the file was made")
    with contextlib.closing(sqlite3.connect(path)) as db:  # (a bare `with connect()` does not close it)
        sound = db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    from kiosk.report.plays import PlayQueue

    with PlayQueue(path, max_rows=1_000_000) as queue:
        on_disk = [int(p.id, 16) for p in queue.pending(1_000_000)]
    expected = set(range(flushed)) - acked
    lost = len(expected - set(on_disk))
    back = len(set(on_disk) & acked)  # acknowledged, yet back (would be uploaded twice: harmless, counted)
    unique = len(on_disk) == len(set(on_disk))
    came_back = f", {back} acknowledged came back" if back else ""
    return Trial(sound and lost == 0 and unique, lost,
                 f"killed at {at:.2f} s after {flushed} committed plays{came_back}")


# --- kill -9 during report uploads ----------------------------------------------------------------------------


class ReportServer:
    """The source system as far as plays go: records every id it acknowledged (slowly, so uploads take a while)."""

    def __init__(self, delay: float = 0.05):
        self.ids: list[str] = []
        self.heartbeats: list[dict] = []
        self.bodies: list[bytes] = []
        self.down = False  # answer 503 to everything (a flapping server)
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if server.down:
                    self.send_response(503)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                with server.lock:
                    server.bodies.append(body)
                if self.path.endswith("/plays"):
                    time.sleep(delay)
                    with server.lock:
                        server.ids.extend(p["id"] for p in json.loads(body)["plays"])
                elif self.path.endswith("/heartbeat"):
                    with server.lock:
                        server.heartbeats.append(json.loads(body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


UPLOADER = """
import sys, threading
from pathlib import Path
from kiosk import config
from kiosk.report.plays import PlayQueue
from kiosk.report.reporter import Reporter
from kiosk.status import Status

cfg = config.load(Path(sys.argv[1]))
queue = PlayQueue(Path(sys.argv[2]))
stop = threading.Event()
reporter = Reporter(cfg, Status(), queue, lambda name, args: None, batch_size=200)
thread = threading.Thread(target=reporter.run, args=(stop,), daemon=True)
thread.start()
while queue.count():
    stop.wait(0.05)
stop.set()
thread.join(10)
queue.close()
"""


def reports_trial(work: Path, server: ReportServer, rng: random.Random, n: int, plays: int = 2000) -> Trial:
    """A reporter uploading a backlog is killed; once it runs again every play reaches the server."""
    from kiosk.report.plays import Play, PlayQueue

    folder = work / f"reports-{n}"
    folder.mkdir()
    (folder / "config.yaml").write_text(
        f"device: {{id: fault-board, name: Bảng tin}}\nsource: {{path: '{folder}', report_url: '{server.url}'}}\n"
        f"cache: {{path: cache}}\nhealth: {{heartbeat_seconds: 60}}\n", encoding="utf-8")
    path = folder / "plays.sqlite"
    ids = [f"{n:04d}-{i:032x}" for i in range(plays)]
    with PlayQueue(path) as queue:
        for play_id in ids:
            queue.record(Play(id=play_id, slide_id="s", started_at="2026-11-26T08:30:00+07:00",
                              ended_at="2026-11-26T08:30:10+07:00", duration_s=10.0))
    at = rng.uniform(0.3, 1.2)
    args = [sys.executable, "-c", UPLOADER, str(folder / "config.yaml"), str(path)]
    kill_at(args, at)
    with server.lock:
        before = len(set(ids) & set(server.ids))
    subprocess.run(args, env=env(), check=True, capture_output=True, timeout=120)  # the next start
    with server.lock:
        got = [i for i in server.ids if i.startswith(f"{n:04d}-")]
    lost = len(set(ids) - set(got))
    twice = len(got) - len(set(got))
    return Trial(lost == 0, lost, f"killed at {at:.2f} s after {before} acknowledged; {twice} sent twice "
                                  "(the server drops them by id)")


def run_trials(name: str, trial: Callable[[random.Random, int], Trial], count: int, seed: int) -> list[Trial]:
    rng = random.Random(seed)
    return [trial(rng, n) for n in range(count)]


# --- every write, rename and fsync made to fail in turn (ENOSPC, EIO, EROFS) -----------------------------

ERRNOS = {"ENOSPC": 28, "EIO": 5, "EROFS": 30}
SQLITE_MESSAGES = {28: "database or disk is full", 5: "disk I/O error", 30: "attempt to write a readonly database"}


class Injector:
    """Counts the board's file operations under `root` (create, write, fsync, rename, remove; SQLite's
    writes through a proxy connection) and makes the `fail_at`-th one fail with `error`, as the kernel
    (or SQLite) would report it. Used as a context manager; `log` lists what was counted."""

    def __init__(self, root: Path, fail_at: int | None = None, error: int = 28):
        self.root = os.path.realpath(root)
        self.fail_at, self.error = fail_at, error
        self.log: list[tuple[str, str]] = []
        self.failed: tuple[str, str] | None = None

    def mine(self, path) -> bool:
        try:
            return os.path.realpath(os.fspath(path)).startswith(self.root)
        except (TypeError, ValueError):
            return False

    def hit(self, op: str, path, sqlite: bool = False) -> None:
        where = str(path)
        index = len(self.log)
        self.log.append((op, where))
        if index == self.fail_at:
            self.failed = (op, where)
            if sqlite:
                raise sqlite3.OperationalError(SQLITE_MESSAGES[self.error])
            raise OSError(self.error, os.strerror(self.error), where)

    def fd_path(self, fd: int) -> str:
        try:
            return os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            return ""

    def __enter__(self) -> Injector:
        import builtins
        import tempfile
        from unittest import mock

        real_open, real_fdopen, real_mkstemp = builtins.open, os.fdopen, tempfile.mkstemp
        real = {name: getattr(os, name) for name in ("fsync", "replace", "rename", "truncate", "unlink", "mkdir")}
        real_connect = sqlite3.connect
        injector = self

        def writing(mode) -> bool:
            return isinstance(mode, str) and any(c in mode for c in "wax+")

        def opened(file, mode="r", *args, **kwargs):
            if writing(mode) and not isinstance(file, int) and injector.mine(file):
                injector.hit("create", file)
                return _File(real_open(file, mode, *args, **kwargs), injector, str(file))
            return real_open(file, mode, *args, **kwargs)

        def fdopened(fd, mode="r", *args, **kwargs):
            handle = real_fdopen(fd, mode, *args, **kwargs)
            path = injector.fd_path(fd)
            return _File(handle, injector, path) if writing(mode) and injector.mine(path) else handle

        def mkstemp(*args, **kwargs):
            folder = kwargs.get("dir")
            if folder is not None and injector.mine(folder):
                injector.hit("create", folder)
            return real_mkstemp(*args, **kwargs)

        def on_fd(op, name):
            def call(fd, *args, **kwargs):
                path = injector.fd_path(fd)
                if injector.mine(path):
                    injector.hit(op, path)
                return real[name](fd, *args, **kwargs)
            return call

        def on_path(op, name, which=0):
            def call(*args, **kwargs):
                if injector.mine(args[which]):
                    injector.hit(op, args[which])
                return real[name](*args, **kwargs)
            return call

        def connect(database, *args, **kwargs):
            db = real_connect(database, *args, **kwargs)
            return _DB(db, injector) if injector.mine(database) else db

        self._patches = [
            mock.patch("builtins.open", opened), mock.patch("os.fdopen", fdopened),
            mock.patch("tempfile.mkstemp", mkstemp), mock.patch("os.fsync", on_fd("fsync", "fsync")),
            mock.patch("os.replace", on_path("rename", "replace", 1)),
            mock.patch("os.rename", on_path("rename", "rename", 1)),
            mock.patch("os.truncate", on_path("write", "truncate")),
            mock.patch("os.unlink", on_path("remove", "unlink")), mock.patch("os.mkdir", on_path("create", "mkdir")),
            mock.patch("sqlite3.connect", connect),
        ]
        for patch in self._patches:
            patch.start()
        return self

    def __exit__(self, *exc) -> None:
        for patch in reversed(self._patches):
            patch.stop()


class _File:
    """A file opened for writing: each write() is an operation the injector may fail."""

    def __init__(self, handle, injector: Injector, path: str):
        self._handle, self._injector, self._path = handle, injector, path

    def write(self, data):
        self._injector.hit("write", self._path)
        return self._handle.write(data)

    def __getattr__(self, name):
        return getattr(self._handle, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._handle.close()

    def __iter__(self):
        return iter(self._handle)


_WRITES = ("insert", "delete", "update", "commit", "begin", "create", "pragma journal_mode", "pragma wal_checkpoint")


class _DB:
    """A SQLite connection whose writing statements are operations the injector may fail."""

    def __init__(self, db, injector: Injector):
        self._db, self._injector = db, injector

    def _check(self, sql: str) -> None:
        if sql.strip().lower().startswith(_WRITES):
            self._injector.hit("sqlite", sql.split()[0], sqlite=True)

    def execute(self, sql, *args):
        self._check(sql)
        return self._db.execute(sql, *args)

    def executemany(self, sql, *args):
        self._check(sql)
        return self._db.executemany(sql, *args)

    def executescript(self, sql):
        self._check("create")
        return self._db.executescript(sql)

    def __getattr__(self, name):
        return getattr(self._db, name)


class InjectSyncWorld:
    """A board with v1 whole in its cache syncing v2 (three pictures, prepared for a 640x360 screen)."""

    def __init__(self, work: Path):
        self.work = work
        src, self.tree = work / "src", work / "tree"
        self.server = quiet(StaticServer(self.tree))
        self.template = work / "template"
        publish.publish(authoring(src, {"a.png": 2 * MB}, 1), self.tree, None)  # 2 MB: written in chunks
        self.old = version_of(self.tree)
        board_config(self.template, self.server.url)
        self._sync(self.template)
        publish.publish(authoring(src, {"b.png": 2 * MB, "c.png": 3000, "d.png": 3000}, 2, texts=3), self.tree, None)
        self.new = version_of(self.tree)
        counter = Injector(self._fresh("count"))
        with counter:
            assert self._sync(self.work / "count").ok
        self.operations = counter.log

    def _fresh(self, name: str) -> Path:
        board = self.work / name
        shutil.rmtree(board, ignore_errors=True)
        shutil.copytree(self.template, board)
        return board

    def _sync(self, board: Path) -> sync.SyncResult:
        from kiosk.source.prepare import Preparer
        from kiosk.status import Status

        cfg = configmod.load(board / "config.yaml")
        cache._verified.clear()
        preparer = Preparer((640, 360), "fit", cfg.cache.path, cfg.speech, prune=False)
        return sync.Syncer(cfg, Status(), lambda _p: None, preparer.prepare).cycle()

    def trial(self, index: int, error: int) -> Trial:
        board = self._fresh(f"inject-{index}-{error}")
        injector = Injector(board, fail_at=index, error=error)
        try:
            with injector:
                result = self._sync(board)
        except Exception as exc:  # noqa: BLE001 - nothing may escape a sync cycle: that would be the failure
            return Trial(False, 0, f"{type(exc).__name__} escaped: {exc}")
        cfg = configmod.load(board / "config.yaml")
        cache._verified.clear()
        playing = sync.load_cached(cfg)
        whole = playing is not None and playing.version in (self.old, self.new)
        clean = result.ok or ("internal error" not in (result.error or "") and "\n" not in (result.error or ""))
        after = self._sync(board)
        mended = after.ok and sync.load_cached(cfg).version == self.new and sha_ok(board / "cache" / "media")
        op, path = injector.failed or ("-", "-")
        return Trial(whole and clean and mended, 0,
                     f"{os.strerror(error)} on {op} {Path(path).name}: "
                     + ("accepted anyway" if result.ok else f"refused ({(result.error or '')[:60]})"))

    def close(self) -> None:
        self.server.close()


def queue_operations(queue, n: int) -> None:
    """What a board does with its queue: plays recorded, flushed, uploaded (pending + ack), closed."""
    from kiosk.report.plays import Play

    for batch in range(3):
        for i in range(40):
            k = batch * 40 + i
            queue.record(Play(id=f"{n:04d}-{k:028x}", slide_id="s", started_at="2026-11-26T08:30:00+07:00",
                              ended_at="2026-11-26T08:30:10+07:00", duration_s=10.0))
        try:
            queue.flush()
        except OSError:
            pass  # reported by the reporter; the plays stay in memory
        if batch == 1:
            try:
                queue.ack([p.id for p in queue.pending(10)])
            except OSError:
                pass  # reported; those plays go to the server again (it drops them by id)


def acked_ids(n: int) -> set[str]:
    """The plays queue_operations acknowledges (the ten oldest, after its second batch)."""
    return {f"{n:04d}-{k:028x}" for k in range(10)}


def count_queue_operations(work: Path) -> int:
    from kiosk.report.plays import PlayQueue

    folder = work / "queue-count"
    folder.mkdir(parents=True, exist_ok=True)
    counter = Injector(folder)
    with counter:
        queue = PlayQueue(folder / "plays.sqlite")
        queue_operations(queue, 0)
        queue.close()
    return len(counter.log)


def queue_trial(work: Path, index: int, error: int) -> Trial:
    """The queue with one of its writes failing: only OSError escapes flush, and no play is lost."""
    from kiosk.report.plays import PlayQueue

    folder = work / f"queue-{index}-{error}"
    folder.mkdir(parents=True)
    injector = Injector(folder, fail_at=index, error=error)
    try:
        with injector:
            queue = PlayQueue(folder / "plays.sqlite")
            queue_operations(queue, index)
    except Exception as exc:  # noqa: BLE001 - the trial's failure
        return Trial(False, 0, f"{type(exc).__name__} escaped: {exc}")
    waiting = queue.count()
    queue.close()  # writes what memory held, now that the disk works
    with PlayQueue(folder / "plays.sqlite") as again:
        kept = [p.id for p in again.pending(1000)]
    expected = {f"{index:04d}-{k:028x}" for k in range(120)} - acked_ids(index)
    lost = len(expected - set(kept))
    unique = len(kept) == len(set(kept))
    op, path = injector.failed or ("-", "-")
    return Trial(lost == 0 and unique and waiting >= len(expected), lost,
                 f"{os.strerror(error)} on {op} {Path(path).name}: {len(kept)} plays kept")


# --- hostile servers against the three clients of the board (sync, reports, kiosk status) ----------------------


def _gzip_bomb() -> bytes:
    import zlib

    packer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    parts = [packer.compress(b"{" + b" " * 1_000_000) for _ in range(200)]  # 200 MB inflated, ~200 kB sent
    return b"".join(parts) + packer.compress(b"}") + packer.flush()


_BOMB: list[bytes] = []


def _slowloris(h) -> None:
    for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Slow: " + b"a" * 300:
        h.wfile.write(bytes([byte]))
        h.wfile.flush()
        time.sleep(0.1)


def _endless_chunked(h) -> None:
    h.send_response(200)
    h.send_header("Content-Type", "application/json")
    h.send_header("Transfer-Encoding", "chunked")
    h.end_headers()
    chunk = b"[" * 65536
    for _ in range(10_000):  # 650 MB, unless the client hangs up first
        h.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))


def _gzip(h) -> None:
    if not _BOMB:
        _BOMB.append(_gzip_bomb())
    h.send_response(200)
    h.send_header("Content-Type", "application/json")
    h.send_header("Content-Encoding", "gzip")
    h.send_header("Content-Length", str(len(_BOMB[0])))
    h.end_headers()
    h.wfile.write(_BOMB[0])


def _redirect_loop(h) -> None:
    h.send_response(302)
    h.send_header("Location", h.path)
    h.send_header("Content-Length", "0")
    h.end_headers()


def _short(h) -> None:
    h.send_response(200)
    h.send_header("Content-Length", "100000")
    h.end_headers()
    h.wfile.write(b'{"status": "healthy", "slides": [')
    h.wfile.flush()
    h.close_connection = True


def _long(h) -> None:
    h.send_response(200)
    h.send_header("Content-Length", "10")
    h.end_headers()
    h.wfile.write(b'{"status": "healthy"}' + b" " * 10_000)
    h.close_connection = True


def _fine(h) -> None:
    body = b'{"status": "healthy", "device_id": "x"}'
    h.send_response(200)
    h.send_header("Content-Length", str(len(body)))
    h.end_headers()
    h.wfile.write(body)


HOSTILE = {
    "slowloris (headers a byte at a time)": _slowloris,
    "endless chunked body": _endless_chunked,
    "gzip bomb (200 MB inflated)": _gzip,
    "redirect loop": _redirect_loop,
    "Content-Length longer than the body": _short,
    "body longer than Content-Length": _long,
    "TLS: certificate for another host name": _fine,
    "TLS: self-signed certificate": _fine,
}


def tls_context(folder: Path, kind: str) -> tuple[object, Path | None]:
    """A server TLS context and the CA file a board would be given (None: none it could trust)."""
    import datetime as dt
    import ipaddress
    import ssl

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    key = ec.generate_private_key(ec.SECP256R1())
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(name("So TTTT CA")).issuer_name(name("So TTTT CA"))
          .public_key(ca_key.public_key()).serial_number(1).not_valid_before(start)
          .not_valid_after(start + dt.timedelta(days=30))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    if kind == "self-signed":  # for the right address, but signed by nobody the board trusts
        builder = x509.CertificateBuilder().subject_name(name("127.0.0.1")).issuer_name(name("127.0.0.1"))
        alt = x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
        signer, ca_file = key, None
    else:  # signed by the province's CA, which the board trusts, but for another host
        builder = x509.CertificateBuilder().subject_name(name("wrong.example")).issuer_name(ca.subject)
        alt = x509.SubjectAlternativeName([x509.DNSName("wrong.example")])
        signer, ca_file = ca_key, folder / "ca.pem"
        ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert = (builder.public_key(key.public_key()).serial_number(2).not_valid_before(start)
            .not_valid_after(start + dt.timedelta(days=30)).add_extension(alt, critical=False)
            .sign(signer, hashes.SHA256()))
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    return context, ca_file


class HostileServer:
    """Answers every GET and POST with one misbehaviour (on TLS when given a context)."""

    def __init__(self, behaviour, tls=None):
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):  # noqa: N802
                try:
                    behaviour(self)
                except OSError:
                    pass  # the client hung up: what a board should do to us

            def do_POST(self):  # noqa: N802
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                self.do_GET()

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.handle_error = lambda *args: None
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}/"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def hostile_trial(work: Path, name: str, target: str) -> Trial:
    """One misbehaving server against one client: refused in a sentence, bounded, the board's state kept."""
    import tracemalloc

    work.mkdir(parents=True, exist_ok=True)
    tls, ca_file = (None, None)
    if HOSTILE[name] is _gzip and not _BOMB:
        _BOMB.append(_gzip_bomb())  # made before the clock starts
    if name.startswith("TLS"):
        tls, ca_file = tls_context(work, "self-signed" if "self-signed" in name else "wrong-host")
    server = HostileServer(HOSTILE[name], tls)
    tracemalloc.start()
    started = time.monotonic()
    try:
        if target == "sync":
            survived, what = _hostile_sync(work, server.url, ca_file)
        elif target == "reports":
            survived, what = _hostile_reports(work, server.url, ca_file)
        else:
            survived, what = _hostile_status(work, server.port)
    except Exception as exc:  # noqa: BLE001 - anything escaping is the failure this suite looks for
        survived, what = False, f"{type(exc).__name__} escaped: {exc}"
    finally:
        took = time.monotonic() - started
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        server.close()
    bounded = peak < 64 * MB
    return Trial(survived and bounded, 0, f"{what[:110]} ({took:.1f} s, {peak / MB:.1f} MB)")


def _hostile_sync(work: Path, url: str, ca_file: Path | None) -> tuple[bool, str]:
    import dataclasses

    from syncboard import FAST

    from kiosk.status import Status

    good = work / "good-tree"
    if not good.exists():
        publish.publish(authoring(work / "src", {"a.png": 2000}, 3), good, None)
    served = StaticServer(good)
    try:
        cfg = board_config(work / "sync-board", served.url)
        assert syncer(cfg).cycle().ok  # the board has good content
    finally:
        served.close()
    text = (work / "sync-board" / "config.yaml").read_text(encoding="utf-8").replace(served.url, url)
    if ca_file is not None:
        text = text.replace("  poll_seconds: 60\n", f"  poll_seconds: 60\n  ca_file: '{ca_file}'\n")
    (work / "sync-board" / "config.yaml").write_text(text, encoding="utf-8")
    cfg = configmod.load(work / "sync-board" / "config.yaml")
    before = sync.load_cached(cfg).version
    limits = dataclasses.replace(FAST, small_deadline=1.0, read_timeout=1.0)
    result = sync.Syncer(cfg, Status(), lambda _p: None, sync.probe_only, limits).cycle()
    kept = sync.load_cached(cfg) is not None and sync.load_cached(cfg).version == before
    clean = not result.ok and "internal error" not in result.error and "\n" not in result.error
    return kept and clean, f"refused: {result.error}" if not result.ok else "ACCEPTED"


def _hostile_reports(work: Path, url: str, ca_file: Path | None) -> tuple[bool, str]:
    from kiosk.report import reporter as reportermod
    from kiosk.report.plays import Play, PlayQueue
    from kiosk.status import Status

    folder = work / "reports-board"
    folder.mkdir(exist_ok=True)
    ca = f", ca_file: '{ca_file}'" if ca_file else ""
    (folder / "config.yaml").write_text(
        f"device: {{id: fault-board, name: Bảng tin}}\nsource: {{path: '{folder}', report_url: '{url}'{ca}}}\n"
        "cache: {path: cache}\n", encoding="utf-8")
    cfg = configmod.load(folder / "config.yaml")
    saved = reportermod.REQUEST_DEADLINE_S
    reportermod.REQUEST_DEADLINE_S = 1.0  # as the sync's (the size caps act within 0.1 s)
    try:
        with PlayQueue(folder / "plays.sqlite") as queue:
            for i in range(5):
                queue.record(Play(id=f"{i:032x}", slide_id="s", started_at="2026-11-26T08:30:00+07:00",
                                  ended_at="2026-11-26T08:30:10+07:00", duration_s=10.0))
            status = Status()
            reporter = reportermod.Reporter(cfg, status, queue, lambda name, args: None)
            reporter.tick(time.monotonic())
            errors = status.snapshot()["errors"]
            kept = queue.count() in (0, 5)  # all acknowledged (a 2xx) or all still queued: none half-lost
            acknowledged = queue.count() == 0
    finally:
        reportermod.REQUEST_DEADLINE_S = saved
    said = errors.get("reports", "acknowledged (a 2xx)" if acknowledged else "-")
    return kept and "\n" not in said, f"{said}"


def _hostile_status(work: Path, port: int) -> tuple[bool, str]:
    import io

    from kiosk.cli import status as statusmod

    folder = work / "status-board"
    folder.mkdir(exist_ok=True)
    (folder / "config.yaml").write_text(f"device: {{id: x, name: y}}\nsource: {{path: '{folder}'}}\n"
                                        f"health: {{listen: '127.0.0.1:{port}'}}\n", encoding="utf-8")
    saved = statusmod.DEADLINE_S
    statusmod.DEADLINE_S = 1.0
    try:
        out = io.StringIO()
        code = statusmod.main(configmod.load(folder / "config.yaml"), out)
    finally:
        statusmod.DEADLINE_S = saved
    first = out.getvalue().splitlines()[0] if out.getvalue() else ""
    known = first.startswith(("UNREACHABLE", "UNEXPECTED", "REFUSED", "HEALTHY", "DEGRADED"))
    return known and code in (0, 1), first


def hostile_cases() -> list[tuple[str, str]]:
    """(misbehaviour, client) pairs: TLS only where the board speaks TLS (sync and reports)."""
    return [(name, target) for name in HOSTILE for target in ("sync", "reports", "status")
            if not (name.startswith("TLS") and target == "status")]


# --- soak: a board's day at accelerated time -----------------------------------------------------------------


class _HeldScreen:
    """The screen as far as memory goes: it holds the frame it shows (and says what it showed)."""

    def __init__(self, size):
        self.size = size
        self.last = None
        self.black_shown = 0

    def show(self, frame) -> None:
        self.last = frame

    def crossfade(self, new, duration_ms: int, old=None) -> list[float]:
        self.last = new
        return [1.0]

    def black(self):
        self.black_shown += 1
        return "black"

    def pump(self) -> bool:
        return True

    def screenshot_png(self) -> bytes | None:
        return None


def _proc_facts(cache_root: Path) -> dict:
    rss = 0
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1]) / 1024
    files = len(os.listdir("/proc/self/fd"))
    size = sum(f.stat().st_size for f in cache_root.rglob("*") if f.is_file())
    return {"rss_mb": round(rss, 1), "open_files": files, "threads": threading.active_count(),
            "cache_mb": round(size / MB, 2)}


def soak(work: Path, hours: float, slide_seconds: float = 10.0, size=(1920, 1080), pictures: int = 3,
         picture_bytes: int = 400 * 1024, on_hour: Callable[[int, dict], None] | None = None) -> dict:
    """Play `hours` of a board's life at accelerated time; returns the facts of every hour and the totals.

    Real parts: the Player loop, FrameBuilder and Renderer (`size`), the Syncer over HTTP polling every
    60 s against a tree republished every hour (`pictures` new pictures each time), the Preparer, the
    PlayQueue on disk and the Reporter against a report server that is down 20 minutes of every 2 hours.
    """
    import datetime as dt
    import logging

    from fakeclock import FakeClock

    from kiosk.content.current import Current
    from kiosk.player.frames import FrameBuilder
    from kiosk.player.loop import Player
    from kiosk.report.notify import Notifier
    from kiosk.report.plays import PlayQueue
    from kiosk.report.reporter import Reporter
    from kiosk.screen.slide import Renderer
    from kiosk.source.prepare import Preparer
    from kiosk.status import Status

    logging.getLogger("kiosk").setLevel(logging.ERROR)
    src, tree = work / "src", work / "tree"
    server, report = StaticServer(tree), ReportServer(delay=0)
    board = work / "board"
    board.mkdir(parents=True)
    (board / "config.yaml").write_text(
        f"device: {{id: soak, name: UBND xã Thử}}\nsource: {{url: '{server.url}', report_url: '{report.url}'}}\n"
        f"display: {{crossfade_ms: 0}}\ncache: {{path: cache, max_mb: 16}}\nhealth: {{heartbeat_seconds: 60}}\n",
        encoding="utf-8")
    cfg = configmod.load(board / "config.yaml")

    def make_programme(hour: int) -> None:
        authoring(src, {f"h{hour}-{i}.png": picture_bytes for i in range(pictures)}, hour, texts=3)
        text = (src / "programme.yaml").read_text(encoding="utf-8").replace(
            "    body: Ủy ban nhân dân xã", f"    body: Ủy ban nhân dân xã\n    duration: {slide_seconds}")
        text = text.replace("    file: images/", f"    duration: {slide_seconds}\n    file: images/")
        (src / "programme.yaml").write_text(text, encoding="utf-8")
        publish.publish(src, tree, None, now=1_800_000_000 + hour * 3600)

    make_programme(0)
    start_wall = dt.datetime(2026, 12, 1, 7, 0).timestamp()
    clock = FakeClock(start_wall)
    status, current, stop = Status(), Current(), threading.Event()
    preparer = Preparer(size, "fit", cfg.cache.path, cfg.speech, prune=False, status=status)
    syncer = sync.Syncer(cfg, status, current.replace, preparer.prepare)
    queue = PlayQueue(cfg.cache.path / "plays.sqlite")
    reporter = Reporter(cfg, status, queue, lambda name, args: None, clock=clock.monotonic,
                        wall=lambda: dt.datetime.fromtimestamp(clock.wall(), dt.UTC))
    immediate = _Immediate()
    frames = FrameBuilder(Renderer(size, cfg.display, cfg.cache.path, cfg.device.name), status, cfg.device.name,
                          builder=immediate, speech=immediate)
    screen = _HeldScreen(size)
    player = Player(cfg, screen, frames, current, status, stop, clock=clock, plays=queue, notifier=Notifier(""))
    end = clock.mono + hours * 3600
    hourly: list[dict] = []
    recorded = [0]
    real_record = queue.record

    def record(play):
        recorded[0] += 1
        real_record(play)

    queue.record = record

    def poll():
        syncer.cycle()
        clock.at_monotonic(clock.mono + 60, poll)

    def report_tick():
        clock.at_monotonic(clock.mono + reporter.tick(clock.mono), report_tick)

    def hour_mark(n: int):
        facts = {"hour": n, **_proc_facts(cfg.cache.path), "fonts": len(frames.renderer.fonts._fonts),
                 "plays_recorded": recorded[0],
                 "plays_at_server": len(set(report.ids)), "plays_queued": queue.count()}
        hourly.append(facts)
        if on_hour is not None:
            on_hour(n, facts)
        if clock.mono + 3600 <= end:
            make_programme(n + 1)
            clock.at_monotonic(clock.mono + 3600, lambda: hour_mark(n + 1))

    def flap(down: bool):
        report.down = down
        clock.at_monotonic(clock.mono + (20 * 60 if down else 100 * 60), lambda: flap(not down))

    syncer.cycle()
    clock.at_monotonic(clock.mono + 1, poll)
    clock.at_monotonic(clock.mono + 1, report_tick)
    clock.at_monotonic(clock.mono + 3600, lambda: hour_mark(1))
    clock.at_monotonic(clock.mono + 100 * 60, lambda: flap(True))
    clock.at_monotonic(end, stop.set)
    try:
        player.run()
        report.down = False
        for _ in range(20):  # the server is back: the queue drains
            if not queue.count():
                break
            clock.mono += reporter.tick(clock.mono)
    finally:
        queue.close()
        server.close()
        report.close()
    at_server = set(report.ids)
    return {"hours": hourly, "plays_recorded": recorded[0], "plays_lost": max(0, recorded[0] - len(at_server)),
            "black_frames": screen.black_shown, "frames_slipped": status.counters["frames_slipped"]}


class _Immediate:
    """An executor that runs at once, on the caller's thread (the soak's one clock needs one thread)."""

    def submit(self, fn, /, *args, **kwargs):
        import concurrent.futures

        future = concurrent.futures.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as exc:  # noqa: BLE001
            future.set_exception(exc)
        return future

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        pass
