"""Reports to the source system: the heartbeat, the proof-of-play upload, and the commands in the answers.

One thread (`Reporter.run`) does everything on its own clock: it flushes the plays queue to disk about
once a minute, sends a heartbeat every `health.heartbeat_seconds`, and after a heartbeat that got a 2xx
uploads the waiting plays in batches; a play leaves the queue only when its batch got a 2xx. While the
server fails it backs off (exponential, jittered, capped at the heartbeat period so the queue drains
within one period after an outage; a `Retry-After` from the server is honoured). The wire format is in
docs/reports.md. Decisions are pure functions (`build_heartbeat`, `next_delay`, `parse_commands`,
`parse_retry_after`); `Reporter.tick(now)` is the whole schedule, driven by an injectable clock.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import logging
import math
import random
import re
import shutil
import ssl
import threading
import time
import zoneinfo
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path

import requests
from requests.adapters import HTTPAdapter

from kiosk.config import Config
from kiosk.report.plays import FLUSH_BATCH, PlayQueue
from kiosk.status import heartbeat_fields
from kiosk.version import __version__

log = logging.getLogger(__name__)

RETRY_FIRST = 5.0  # seconds before the first retry after a failure; doubles on each further failure
RETRY_AFTER_MAX = 3600.0  # the most a server's Retry-After may hold us back
FLUSH_SECONDS = 60.0  # plays are written to disk at least this often (or after FLUSH_BATCH plays)
PLAYS_BATCH = 500  # plays per upload request
BATCHES_PER_CYCLE = 20  # then the thread takes a breath (1 s) before the next 10,000
TIMEOUT = (5.0, 20.0)  # connect, read (seconds)
MAX_ANSWER_BYTES = 64 * 1024  # a heartbeat answer is a few commands, never more
MAX_COMMANDS = 10
MAX_RESULTS = 20
SLACK = 0.001  # seconds
THERMAL = Path("/sys/class/thermal/thermal_zone0/temp")
COMMAND_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


# --- pure decisions ------------------------------------------------------------------------------------


def next_delay(failures: int, base: float, rng: random.Random, cap: float | None = None) -> float:
    """Seconds until the next report cycle.

    No failure: the heartbeat period `base`, ±10 % so boards powered on together drift apart.
    After n failures in a row: "equal jitter" exponential backoff, RETRY_FIRST·2^(n-1) capped at `cap`
    (default: `base`), drawn uniformly from [half, whole]. Capping at the normal period means a fleet
    never calls a failing server more often than it calls a healthy one once backed off, and a board
    notices the server's return within one period, so its queue drains within a minute after an outage.
    """
    if failures <= 0:
        return base * rng.uniform(0.9, 1.1)
    ceiling = min(base if cap is None else cap, RETRY_FIRST * 2 ** min(failures - 1, 30))
    return rng.uniform(ceiling / 2, ceiling)


def parse_retry_after(value: str | None, now: dt.datetime) -> float | None:
    """A Retry-After header (seconds, or an HTTP date) as seconds from `now`, bounded; None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        seconds = float(value)
    else:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        seconds = (when - now).total_seconds()
    return min(max(0.0, seconds), RETRY_AFTER_MAX)


def _iso(moment: dt.datetime, tz: zoneinfo.ZoneInfo) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment.astimezone(tz).isoformat(timespec="seconds")


def _iso_epoch(epoch: float | None, tz: zoneinfo.ZoneInfo) -> str | None:
    if epoch is None:
        return None
    return dt.datetime.fromtimestamp(epoch, tz).isoformat(timespec="seconds")


def build_heartbeat(snapshot: dict, cfg: Config, now: dt.datetime) -> dict:
    """The heartbeat body (docs/reports.md) from a status snapshot. Times carry the board's offset.

    Device facts are read from `snapshot["device"]` (kiosk.device) or the top level; the reporter adds
    `plays_queued`, `plays_dropped_total` and `command_results` to the snapshot it passes in.
    """
    tz = zoneinfo.ZoneInfo(cfg.schedule.timezone)
    device = snapshot.get("device") or {}
    sync = snapshot.get("last_sync") or {}

    def fact(name: str) -> object:
        return device.get(name, snapshot.get(name))

    body = heartbeat_fields(snapshot, cfg.device.id)  # the SPEC fields, shared with /healthz
    body.update({
        "device_name": cfg.device.name,
        "sent_at": _iso(now, tz),  # with the board's offset, as plays are
        "version": snapshot.get("version") or __version__,
        "last_sync": {"at": _iso_epoch(sync.get("at"), tz), "ok": sync.get("ok"), "error": sync.get("error")},
        "disk_free_bytes": fact("disk_free_bytes"),
        "cpu_temp_c": fact("cpu_temp_c"),
        "display_ok": snapshot.get("display_ok"),
        "power": snapshot.get("power"),
        "emergency": bool(snapshot.get("emergency")),
        "clock_synced": snapshot.get("clock_synced"),
        "errors": dict(snapshot.get("errors") or {}),
        "plays_queued": snapshot.get("plays_queued"),
        "plays_dropped_total": snapshot.get("plays_dropped_total"),
    })
    extra = {k: v for k, v in device.items() if k not in ("disk_free_bytes", "cpu_temp_c")}
    if extra:
        body["device"] = extra
    if snapshot.get("command_results"):
        body["command_results"] = list(snapshot["command_results"])
    return body


@dataclass(frozen=True)
class Command:
    """One command from a heartbeat answer: `{"name": "sync_now", "id": "c-42", "args": {}}`."""

    name: str
    id: str | None = None
    args: dict = field(default_factory=dict)


def parse_commands(body: bytes) -> tuple[list[Command], list[str]]:
    """The commands in a heartbeat answer, and a problem per thing refused. An empty or non-JSON body
    carries no commands (a 2xx is an acknowledgement whatever it says). Duplicates run once."""
    if not body.strip():
        return [], []
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        return [], [f"answer is not JSON ({exc}); no commands taken"]
    if not isinstance(data, dict) or data.get("commands") is None:
        return [], []
    raw = data["commands"]
    if not isinstance(raw, list):
        return [], ["answer.commands: expected a list"]
    commands: list[Command] = []
    problems: list[str] = []
    seen: set[str] = set()
    for i, item in enumerate(raw):
        where = f"answer.commands[{i}]"
        if len(commands) >= MAX_COMMANDS:
            problems.append(f"{where}: more than {MAX_COMMANDS} commands; the rest ignored")
            break
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            problems.append(f"{where}: expected an object with a text 'name'")
            continue
        name = item["name"]
        if not COMMAND_NAME.match(name):
            problems.append(f"{where}.name: {name[:40]!r} is not a command name")
            continue
        cid = item.get("id")
        if isinstance(cid, bool) or (cid is not None and not isinstance(cid, (str, int))):
            problems.append(f"{where}.id: expected text or a number")
            continue
        args = item.get("args", {})
        if not isinstance(args, dict):
            problems.append(f"{where}.args: expected an object")
            continue
        if name in seen:
            continue
        seen.add(name)
        commands.append(Command(name=name, id=None if cid is None else str(cid)[:100], args=args))
    return commands, problems


# --- device facts when kiosk.status does not carry them -----------------------------------------------


def disk_free_bytes(path: Path) -> int | None:
    """Free bytes on the file system holding `path` (or its nearest existing parent)."""
    path = Path(path)
    for candidate in (path, *path.parents):
        if candidate.exists():
            try:
                return shutil.disk_usage(candidate).free
            except OSError:
                return None
    return None


def cpu_temp_c(thermal: Path = THERMAL) -> float | None:
    """The SoC temperature in °C (Raspberry Pi: thermal_zone0), None where unknown."""
    try:
        return round(int(thermal.read_text().strip()) / 1000, 1)
    except (OSError, ValueError):
        return None


# --- the shell -------------------------------------------------------------------------------------------


class ReportError(Exception):
    """A request to the source system failed; the message is for the journal and the heartbeat."""

    def __init__(self, message: str, status: int | None = None, retry_after: float | None = None):
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class _ExtraCAAdapter(HTTPAdapter):
    """HTTPS trusting the system CAs plus source.ca_file (a provincial CA), not instead of them."""

    def __init__(self, ca_file: Path, **kwargs):
        self._context = ssl.create_default_context()
        self._context.load_verify_locations(cafile=str(ca_file))
        super().__init__(**kwargs)

    def init_poolmanager(self, *args, **kwargs):
        kwargs["ssl_context"] = self._context
        return super().init_poolmanager(*args, **kwargs)


def make_session(cfg: Config) -> requests.Session:
    """One session per configuration: no proxies from the environment, the extra CA when configured."""
    session = requests.Session()
    session.trust_env = False
    session.headers["User-Agent"] = f"kiosk/{__version__}"
    if cfg.source.ca_file is not None:
        session.mount("https://", _ExtraCAAdapter(cfg.source.ca_file))
    return session


class Reporter:
    """Heartbeats, plays uploads and commands, on one thread. The lead starts `run(stop)` in a thread."""

    def __init__(
        self,
        cfg: Config,
        status,
        queue: PlayQueue,
        on_command: Callable[[str, dict], None],
        screenshot: Callable[[], bytes | None] | None = None,
        *,
        commands: Collection[str] = ("sync_now",),
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        rng: random.Random | None = None,
        flush_seconds: float = FLUSH_SECONDS,
        batch_size: int = PLAYS_BATCH,
        max_backoff: float | None = None,
    ):
        """`commands`: the names passed to `on_command` (upload_screenshot is handled here; any other
        name is logged and ignored). `clock`, `wall` and `rng` are seams for tests and benchmarks."""
        self.status = status
        self.queue = queue
        self.on_command = on_command
        self.screenshot = screenshot
        self.commands = frozenset(commands)
        self._clock = clock
        self._wall = wall
        self._rng = rng or random.Random()
        self.flush_seconds = flush_seconds
        self.batch_size = batch_size
        self.max_backoff = max_backoff
        self._cfg = cfg
        self._session: requests.Session | None = None
        self._session_key: tuple | None = None
        self.failures = 0
        now = clock()
        self.next_report = now  # a first heartbeat right at start: the server learns the board is up
        self._last_flush = now
        self._flush_failing = False
        self._results: list[dict] = []
        self._plays_only = False
        self._dropped_seen = queue.dropped_total
        self._disabled_logged = False

    # --- configuration --------------------------------------------------------------------------------

    @property
    def cfg(self) -> Config:
        return self._cfg

    def update_config(self, cfg: Config) -> None:
        """Take a reloaded config (hot reload): new URL, token, CA or period apply at the next cycle."""
        was_enabled = self.enabled
        self._cfg = cfg
        if self.enabled and not was_enabled:
            self.next_report = self._clock()
            self.failures = 0

    @property
    def enabled(self) -> bool:
        return self._cfg.report_url is not None

    # --- the thread --------------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Report until `stop` is set (or the queue is closed); then write the plays in memory to disk."""
        if self.enabled:  # when disabled, tick() says so once, with what happens to the plays
            log.info("reports: to %s", self._cfg.report_url)
        try:
            while not stop.is_set() and not self.queue.closed:
                try:
                    delay = self.tick(self._clock())
                except Exception:  # a bug here must not end proof of play; the journal gets the trace
                    log.exception("reports: unexpected error")
                    delay = self.flush_seconds
                self._wait(stop, delay)
        finally:
            if not self.queue.closed:
                self._flush(self._clock())

    def _wait(self, stop: threading.Event, delay: float) -> None:
        """Sleep until `delay` passed, `stop` is set, or FLUSH_BATCH plays wait in memory (1 s granularity
        on stop: two events cannot be waited on together, and a wake-up a second costs nothing)."""
        deadline = time.monotonic() + delay
        while not stop.is_set() and not self.queue.closed:
            left = deadline - time.monotonic()
            if left <= 0 or self.queue.wakeup.wait(min(left, 1.0)):
                return

    def tick(self, now: float) -> float:
        """Do whatever is due at monotonic time `now`; return the seconds until the next call."""
        self.queue.wakeup.clear()  # whatever woke us is handled below (or deliberately postponed)
        due = now + SLACK  # a wake-up a hair early (timer or float rounding) counts as on time
        flush_due = due - self._last_flush >= self.flush_seconds or (
            not self._flush_failing and self.queue.buffered() >= FLUSH_BATCH
        )
        if flush_due:
            self._flush(now)
        if self.enabled and due >= self.next_report:
            self._flush(now)
            self._cycle(now)
        elif not self.enabled and not self._disabled_logged:
            self._disabled_logged = True
            log.info("reports: no source.report_url; plays are kept on disk (at most %d)", self.queue.max_rows)
        self._publish_queue_facts()
        wake = self._last_flush + self.flush_seconds
        if self.enabled:
            wake = min(wake, self.next_report)
        return max(SLACK * 10, wake - now)  # never 0: a bug here must not become a busy loop

    # --- flushing -------------------------------------------------------------------------------------

    def _flush(self, now: float) -> None:
        self._last_flush = now
        try:
            written = self.queue.flush()
        except OSError as exc:
            if not self._flush_failing:
                log.error("plays: %s", exc)
            self._flush_failing = True
            self.status.set_error("plays", str(exc))
            return
        if self._flush_failing:
            log.info("plays: writing to disk again")
            self.status.set_error("plays", None)
        self._flush_failing = False
        if written:
            _count(self.status, "plays_recorded", written)

    def _publish_queue_facts(self) -> None:
        dropped = self.queue.dropped_total
        if dropped > self._dropped_seen:
            _count(self.status, "plays_dropped", dropped - self._dropped_seen)
            self._dropped_seen = dropped
        if hasattr(self.status, "plays_queued"):
            self.status.update(plays_queued=self.queue.count())

    # --- one report cycle --------------------------------------------------------------------------------

    def _cycle(self, now: float) -> None:
        cfg = self._cfg
        retry_after = None
        drained = True
        try:
            session = self._session_for(cfg)
            token = self._token(cfg)
            if not self._plays_only:  # a backlog's next batches need no new heartbeat
                answer = self._heartbeat(session, cfg, token)
                commands, problems = parse_commands(answer)
                for problem in problems:
                    log.warning("reports: heartbeat answer: %s", problem)
                self._run_commands(commands, session, cfg, token)
            drained = self._upload_plays(session, cfg, token)
        except ReportError as exc:
            retry_after = exc.retry_after
            self._failed(str(exc))
        else:
            if self.failures:
                log.info("reports: the server answers again (after %d failed cycles)", self.failures)
            self.failures = 0
            self.status.set_error("reports", None)
        delay = next_delay(self.failures, cfg.health.heartbeat_seconds, self._rng, self.max_backoff)
        if retry_after is not None:
            delay = max(delay, retry_after * self._rng.uniform(1.0, 1.1))
        self._plays_only = not drained
        if not drained:
            delay = 1.0  # more plays waiting: carry on after a breath
        self.next_report = now + delay

    def _failed(self, message: str) -> None:
        self.failures += 1
        if self.failures == 1 or math.log2(self.failures).is_integer():  # 1, 2, 4, 8, … : a quiet journal
            log.warning("reports: %s (failure %d; plays stay queued: %d)", message, self.failures, self.queue.count())
        self.status.set_error("reports", message)

    def _session_for(self, cfg: Config) -> requests.Session:
        key = (cfg.source.ca_file,)
        if self._session is None or key != self._session_key:
            if self._session is not None:
                self._session.close()
            try:
                self._session = make_session(cfg)
            except (OSError, ssl.SSLError) as exc:
                raise ReportError(f"source.ca_file {cfg.source.ca_file}: {exc}") from None
            self._session_key = key
        return self._session

    @staticmethod
    def _token(cfg: Config) -> str | None:
        """Read at every cycle, so a rotated token is used without a restart."""
        if cfg.source.token_file is None:
            return None
        try:
            token = cfg.source.token_file.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise ReportError(f"source.token_file {cfg.source.token_file}: {exc}") from None
        if not token:
            raise ReportError(f"source.token_file {cfg.source.token_file} is empty")
        return token

    def _url(self, cfg: Config, what: str) -> str:
        return f"{cfg.report_url}devices/{cfg.device.id}/{what}"

    def _post(
        self, session: requests.Session, url: str, token: str | None, data: bytes, content_type: str
    ) -> bytes:
        """POST and return the answer's body (at most MAX_ANSWER_BYTES); ReportError unless a 2xx."""
        headers = {"Content-Type": content_type}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        try:
            with session.post(
                url, data=data, headers=headers, timeout=TIMEOUT, allow_redirects=False, stream=True
            ) as resp:
                if not 200 <= resp.status_code < 300:
                    where = resp.headers.get("Location")
                    hint = f" (redirected to {where}: set source.report_url to the final URL)" if where else ""
                    raise ReportError(
                        f"{url}: HTTP {resp.status_code} {resp.reason or ''}".rstrip() + hint,
                        status=resp.status_code,
                        retry_after=parse_retry_after(resp.headers.get("Retry-After"), self._wall()),
                    )
                return resp.raw.read(MAX_ANSWER_BYTES, decode_content=True) or b""
        except requests.RequestException as exc:
            raise ReportError(f"{url}: {_short(exc)}") from None

    def _post_json(self, session: requests.Session, url: str, token: str | None, body: dict) -> bytes:
        data = json.dumps(body, ensure_ascii=False, default=str).encode("utf-8")
        return self._post(session, url, token, data, "application/json; charset=utf-8")

    def snapshot(self) -> dict:
        """The status snapshot, completed with the queue's facts and device facts status lacks."""
        snap = self.status.snapshot()
        device = dict(snap.get("device") or {})
        if device.get("disk_free_bytes") is None and snap.get("disk_free_bytes") is None:
            device["disk_free_bytes"] = disk_free_bytes(self._cfg.cache.path)
        if device.get("cpu_temp_c") is None and snap.get("cpu_temp_c") is None:
            device["cpu_temp_c"] = cpu_temp_c()
        snap["device"] = device
        snap["plays_queued"] = self.queue.count()
        snap["plays_dropped_total"] = self.queue.dropped_total
        snap["command_results"] = list(self._results)
        return snap

    def _heartbeat(self, session: requests.Session, cfg: Config, token: str | None) -> bytes:
        body = build_heartbeat(self.snapshot(), cfg, self._wall())
        try:
            answer = self._post_json(session, self._url(cfg, "heartbeat"), token, body)
        except ReportError as exc:
            _report_finished(self.status, "heartbeat", False, str(exc))
            raise
        _report_finished(self.status, "heartbeat", True, None)
        self._results = [r for r in self._results if r not in body.get("command_results", [])]
        return answer

    def _upload_plays(self, session: requests.Session, cfg: Config, token: str | None) -> bool:
        """Upload waiting plays in batches; True when the queue is empty."""
        for _ in range(BATCHES_PER_CYCLE):
            plays = self.queue.pending(self.batch_size)
            if not plays:
                return True
            body = {"device_id": cfg.device.id, "plays": [p.to_json() for p in plays]}
            try:
                self._post_json(session, self._url(cfg, "plays"), token, body)
            except ReportError as exc:
                if exc.status == 413 and self.batch_size > 1:  # the server wants smaller batches
                    self.batch_size = max(1, self.batch_size // 2)
                _report_finished(self.status, "plays", False, str(exc))
                raise
            self.queue.ack([p.id for p in plays])
            _count(self.status, "plays_uploaded", len(plays))
            _report_finished(self.status, "plays", True, None)
        return not self.queue.pending(1)

    # --- commands -----------------------------------------------------------------------------------------

    def _run_commands(self, commands: list[Command], session: requests.Session, cfg: Config, token: str | None) -> None:
        for command in commands:
            error = None
            if command.name == "upload_screenshot":
                error = self._upload_screenshot(session, cfg, token)
            elif command.name in self.commands:
                log.info("reports: command %s from the server", command.name)
                try:
                    self.on_command(command.name, dict(command.args))
                except Exception as exc:  # the handler is someone else's code: report, carry on
                    log.exception("reports: command %s failed", command.name)
                    error = f"{type(exc).__name__}: {exc}"
            else:
                log.warning("reports: unknown command %r from the server, ignored", command.name)
                error = "unknown command"
            self._results.append({"id": command.id, "name": command.name, "ok": error is None, "error": error})
        del self._results[:-MAX_RESULTS]

    def _upload_screenshot(self, session: requests.Session, cfg: Config, token: str | None) -> str | None:
        if self.screenshot is None:
            return "screenshots are not available on this board"
        try:
            png = self.screenshot()
        except Exception as exc:
            log.exception("reports: taking a screenshot failed")
            return f"{type(exc).__name__}: {exc}"
        if not png:
            return "no frame on screen yet"
        if not png.startswith(PNG_SIGNATURE):
            return "the screenshot is not a PNG"
        try:
            self._post(session, self._url(cfg, "screenshot"), token, png, "image/png")
        except ReportError as exc:
            return str(exc)
        log.info("reports: screenshot uploaded (%d bytes)", len(png))
        return None


def _short(exc: requests.RequestException) -> str:
    """One line for the journal instead of urllib3's nested reprs."""
    kinds = (
        (requests.exceptions.SSLError, "TLS error (check source.ca_file)"),
        (requests.exceptions.ConnectTimeout, "timed out connecting"),
        (requests.exceptions.ReadTimeout, "timed out waiting for the answer"),
        (requests.exceptions.ConnectionError, "cannot connect"),
    )
    for kind, text in kinds:
        if isinstance(exc, kind):
            return text
    return f"{type(exc).__name__}: {str(exc)[:200]}"


def _count(status, name: str, n: int) -> None:
    """Status counters exist once kiosk.status has them; reporting works without."""
    counter = getattr(status, "count", None)
    if counter is not None:
        try:
            counter(name, n)
        except KeyError:
            pass


def _report_finished(status, kind: str, ok: bool, error: str | None) -> None:
    finished = getattr(status, "report_finished", None)
    if finished is not None:
        finished(kind, ok, error)
