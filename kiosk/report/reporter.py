"""Reports to the source system: the heartbeat, the proof-of-play upload, and the commands in the answers.

Two threads, so that neither can hold up the other (`Reporter.run` starts the second): `plays-flush`
writes the plays queue to disk about once a minute (or after FLUSH_BATCH plays), whatever the network
does; `reports` sends a heartbeat every `health.heartbeat_seconds` and, after a heartbeat that got a 2xx,
uploads the waiting plays in batches (those on disk, then those the queue holds in memory when the card
refuses writes); a play leaves the queue only when its batch got a 2xx. Every request has an overall
deadline (REQUEST_DEADLINE_S: a server that drips its answer cannot hold the thread), an answer is read
up to MAX_ANSWER_BYTES and never decompressed beyond that, and a 2xx whose body is cut short still
acknowledges. A long backlog is uploaded between heartbeats, never instead of them. While the server
fails it backs off (exponential, jittered, capped at the heartbeat period so the queue drains within
one period after an outage; a `Retry-After` from the server is honoured). The wire format is in
docs/reports.md; the body of a heartbeat is made by kiosk.report.heartbeat, the HTTP session, token,
deadline and backoff come from kiosk.source.client (the one client of the source system). Decisions
are pure functions (`parse_commands`, `parse_retry_after`); `Reporter.tick(now)` is the whole schedule
(flush and reports), driven by an injectable clock.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import logging
import math
import random
import re
import threading
import time
import zlib
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kiosk.config import Config
from kiosk.i18n import _
from kiosk.report import device, heartbeat
from kiosk.report.plays import FLUSH_BATCH, PlayQueue
from kiosk.source.client import Deadline, TokenError, make_session, next_delay, read_token, reason

if TYPE_CHECKING:  # requests is imported on first use: a board that reports nowhere never loads it
    import requests

log = logging.getLogger("kiosk.reports")

RETRY_FIRST = 5.0  # seconds before the first retry after a failure; doubles on each further failure
NOT_TAKEN = frozenset({404, 405, 501})  # the server has no such resource or method: a plain web server, a wrong URL
NOT_TAKEN_BACKOFF = 3600.0  # asked again hourly: a URL does not start taking reports by itself
RETRY_AFTER_MAX = 3600.0  # the most a server's Retry-After may hold us back
FLUSH_SECONDS = 60.0  # plays are written to disk at least this often (or after FLUSH_BATCH plays)
PLAYS_BATCH = 500  # plays per upload request
BATCHES_PER_CYCLE = 20  # then the thread takes a breath (1 s) before the next 10,000
TIMEOUT = (5.0, 20.0)  # connect, read (seconds): each read
REQUEST_DEADLINE_S = 30.0  # a whole request, however slowly the server answers
MAX_ANSWER_BYTES = 64 * 1024  # a heartbeat answer is a few commands, never more
MAX_COMMANDS = 10
MAX_RESULTS = 20
SLACK = 0.001  # seconds
COMMAND_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}\Z")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
REFUSED_IN_A_ROW_MAX = 20  # a server refusing every play alone is broken: stop dropping, keep them
REFUSAL_CHARS = 300  # of a refusing server's reason, in the journal


# --- pure decisions ------------------------------------------------------------------------------------


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
        return [], [_("answer is not JSON ({reason}); no commands taken").format(reason=exc)]
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
            problems.append(_("{where}: more than {max_commands} commands; the rest ignored")
                .format(where=where, max_commands=MAX_COMMANDS))
            break
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            problems.append(_("{where}: expected an object with a text 'name'").format(where=where))
            continue
        name = item["name"]
        if not COMMAND_NAME.match(name):
            problems.append(_("{where}.name: {name} is not a command name").format(where=where, name=repr(name[:40])))
            continue
        cid = item.get("id")
        if isinstance(cid, bool) or (cid is not None and not isinstance(cid, (str, int))):
            problems.append(_("{where}.id: expected text or a number").format(where=where))
            continue
        args = item.get("args", {})
        if not isinstance(args, dict):
            problems.append(_("{where}.args: expected an object").format(where=where))
            continue
        if name in seen:
            continue
        seen.add(name)
        commands.append(Command(name=name, id=None if cid is None else str(cid)[:100], args=args))
    return commands, problems


# --- the shell -------------------------------------------------------------------------------------------


class ReportError(Exception):
    """A request to the source system failed; the message is for the journal and the heartbeat."""

    def __init__(self, message: str, status: int | None = None, retry_after: float | None = None,
                 url: str | None = None):
        super().__init__(message)
        self.status = status
        self.url = url
        self.retry_after = retry_after


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
        device.attach(status, cfg.cache.path)  # the heartbeat carries the board's facts
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
        self._isolating: int | None = None  # after a 422: the batch size that is narrowing down the refused play
        self._refused_in_a_row = 0  # plays dropped on a 422 since the server last accepted one
        self._dropped_seen = queue.dropped_total
        self._disabled_logged = False
        self._last_heartbeat: float | None = None  # monotonic time of the last heartbeat that got a 2xx
        self._flush_lock = threading.Lock()  # tick() (tests) and the flusher thread may both flush
        self._facts_lock = threading.Lock()
        self._stop: threading.Event | None = None
        if queue.disk_error is not None:
            status.set_error("plays", queue.disk_error)

    # --- configuration --------------------------------------------------------------------------------

    @property
    def cfg(self) -> Config:
        return self._cfg

    @property
    def enabled(self) -> bool:
        return self._cfg.report_url is not None

    # --- the thread --------------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Report until `stop` is set (or the queue is closed), with the flushing on its own thread; then
        write the plays in memory to disk."""
        self._stop = stop
        if self.enabled:  # when disabled, tick() says so once, with what happens to the plays
            log.info(_("reports: to {url}").format(url=self._cfg.report_url))
        flusher = threading.Thread(target=self._flush_loop, args=(stop,), name="plays-flush", daemon=True)
        flusher.start()
        try:
            while not stop.is_set() and not self.queue.closed:
                try:
                    delay = self._report_tick(self._clock())
                except Exception:  # a bug here must not end proof of play; the journal gets the trace
                    log.exception("reports: unexpected error")
                    delay = self.flush_seconds
                stop.wait(delay)
        finally:
            flusher.join(5.0)
            if not self.queue.closed:
                self._flush(self._clock())

    def _flush_loop(self, stop: threading.Event) -> None:
        while not stop.is_set() and not self.queue.closed:
            try:
                delay = self._flush_tick(self._clock())
            except Exception:  # as above: the trace goes to the journal, the thread lives on
                log.exception("plays: unexpected error while flushing")
                delay = self.flush_seconds
            deadline = time.monotonic() + delay
            while not stop.is_set() and not self.queue.closed:  # two events cannot be waited on together
                left = deadline - time.monotonic()
                if left <= 0 or self.queue.wakeup.wait(min(left, 1.0)):
                    break

    def tick(self, now: float) -> float:
        """Do whatever is due at monotonic time `now`; the seconds until the next call. (A report cycle writes
        the plays to disk first; the flush's own deadline is then counted from there.)"""
        report = self._report_tick(now)
        return min(self._flush_tick(now), report)

    def _flush_tick(self, now: float) -> float:
        with self._flush_lock:
            self.queue.wakeup.clear()  # whatever woke us is handled below (or deliberately postponed)
            due = now + SLACK  # a wake-up a hair early (timer or float rounding) counts as on time
            flush_due = due - self._last_flush >= self.flush_seconds or (
                not self._flush_failing and self.queue.buffered() >= FLUSH_BATCH
            )
            if flush_due:
                self._flush(now)
            self._publish_queue_facts()
            return max(SLACK * 10, self._last_flush + self.flush_seconds - now)

    def _report_tick(self, now: float) -> float:
        due = now + SLACK
        if self.enabled and due >= self.next_report:
            with self._flush_lock:  # on disk before they travel (a disk write; the network is not waited for)
                self._flush(now)
            self._cycle(now)
        elif not self.enabled and not self._disabled_logged:
            self._disabled_logged = True
            log.info(_("reports: no source.report_url; plays are kept on disk (at most {count})")
                .format(count=self.queue.max_rows))
        self._publish_queue_facts()
        if not self.enabled:
            return self.flush_seconds
        return max(SLACK * 10, self.next_report - now)  # never 0: a bug here must not become a busy loop

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
            log.info(_("plays: writing to disk again"))
            self.status.set_error("plays", None)
        self._flush_failing = False
        if written:
            self.status.count("plays_recorded", written)

    def _publish_queue_facts(self) -> None:
        with self._facts_lock:
            dropped = self.queue.dropped_total
            if dropped > self._dropped_seen:
                self.status.count("plays_dropped", dropped - self._dropped_seen)
                self._dropped_seen = dropped
            self.status.update(plays_queued=self.queue.count())

    # --- one report cycle --------------------------------------------------------------------------------

    def _cycle(self, now: float) -> None:
        cfg = self._cfg
        retry_after = None
        drained = True
        try:
            session = self._session_for(cfg)
            token = self._token(cfg)
            heartbeat_due = self._last_heartbeat is None or now - self._last_heartbeat >= cfg.health.heartbeat_seconds
            if not self._plays_only or heartbeat_due:  # a backlog's next batches need no new heartbeat, for a while
                answer = self._heartbeat(session, cfg, token)
                self._last_heartbeat = now
                commands, problems = parse_commands(answer)
                for problem in problems:
                    log.warning(_("reports: heartbeat answer: {problem}").format(problem=problem))
                self._run_commands(commands, session, cfg, token)
            drained = self._upload_plays(session, cfg, token)
        except ReportError as exc:
            retry_after = exc.retry_after
            if exc.status in NOT_TAKEN:
                self._not_taken(exc)
                retry_after = max(retry_after or 0.0, NOT_TAKEN_BACKOFF)
            else:
                self._failed(str(exc))
        else:
            if self.failures:
                log.info(_("reports: the server answers again (after {failures} failed cycles)")
                    .format(failures=self.failures))
            if self.status.reports_not_taken is not None:
                log.info(_("reports: {url} takes reports now").format(url=cfg.report_url))
                self.status.update(reports_not_taken=None)
            self.failures = 0
            self.status.set_error("reports", None)
        period = cfg.health.heartbeat_seconds
        # Backoff capped at the normal period: a fleet never calls a failing server more often than a healthy
        # one, and a board notices the server's return within one period, so its queue drains soon after.
        delay = next_delay(period, self.failures, self._rng.random(), first=RETRY_FIRST,
                           cap=period if self.max_backoff is None else self.max_backoff)
        if retry_after is not None:
            delay = max(delay, retry_after * self._rng.uniform(1.0, 1.1))
        self._plays_only = not drained
        if not drained:
            delay = 1.0  # more plays waiting: carry on after a breath
        self.next_report = now + delay

    def _failed(self, message: str) -> None:
        self.failures += 1
        if self.failures == 1 or math.log2(self.failures).is_integer():  # 1, 2, 4, 8, … : a quiet journal
            log.warning(_("reports: {message} (failure {failures}; plays stay queued: {count})")
                .format(message=message, failures=self.failures, count=self.queue.count()))
        self.status.set_error("reports", message)

    def _not_taken(self, exc: ReportError) -> None:
        """A server that does not take reports is a configuration matter, not an outage: said once, in full,
        with the remedy, then asked again hourly (the board stays healthy; plays wait on disk)."""
        self.failures = 0
        self.status.set_error("reports", None)
        message = (_("{url} answers HTTP {status}: this server does not take reports (a plain web server?); set "
                     "source.report_url to the source system's report address, or source.reports: false to send none")
                         .format(url=exc.url, status=exc.status))
        if self.status.reports_not_taken != message:
            log.warning(_("reports: {message}; plays stay on disk ({count}), asked again in an hour")
                .format(message=message, count=self.queue.count()))
        self.status.update(reports_not_taken=message)

    def _session_for(self, cfg: Config) -> requests.Session:
        key = (cfg.source.ca_file,)
        if self._session is None or key != self._session_key:
            if self._session is not None:
                self._session.close()
            import ssl

            try:
                self._session = make_session(cfg.source.ca_file)
            except (OSError, ssl.SSLError) as exc:
                raise ReportError(_("source.ca_file {file}: {reason}")
                    .format(file=cfg.source.ca_file, reason=exc)) from None
            self._session_key = key
        return self._session

    @staticmethod
    def _token(cfg: Config) -> str | None:
        """Read at every cycle, so a rotated token is used without a restart."""
        if cfg.source.token_file is None:
            return None
        try:
            return read_token(cfg.source.token_file, "source.token_file")
        except TokenError as exc:
            raise ReportError(str(exc)) from None

    def _url(self, cfg: Config, what: str) -> str:
        return f"{cfg.report_url}devices/{cfg.device.id}/{what}"

    def _post(
        self, session: requests.Session, url: str, token: str | None, data: bytes, content_type: str
    ) -> bytes:
        """POST and return the answer's body (at most MAX_ANSWER_BYTES; empty when it was cut short or
        unreadable: a 2xx acknowledges whatever its body); ReportError unless a 2xx within the deadline."""
        import requests

        headers = {"Content-Type": content_type, "Accept-Encoding": "identity"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        with Deadline(session, REQUEST_DEADLINE_S, self._stop) as cut:
            try:
                with session.post(
                    url, data=data, headers=headers, timeout=TIMEOUT, allow_redirects=False, stream=True
                ) as resp:
                    if not 200 <= resp.status_code < 300:
                        where = resp.headers.get("Location")
                        hint = (_(" (redirected to {where}: set source.report_url to the final URL)")
                                .format(where=where) if where else "")
                        if resp.status_code == 401:
                            hint = (": token refused by the report server: check source.token_file (or add the "
                                    f"board on the hub: kiosk hub add-board {self._cfg.device.id})")
                        elif resp.status_code in (400, 413, 422) and (said := _refusal(resp)):
                            hint = f": {said}"
                        raise ReportError(
                            f"{url}: HTTP {resp.status_code} {resp.reason or ''}".rstrip() + hint,
                            status=resp.status_code, url=url,
                            retry_after=parse_retry_after(resp.headers.get("Retry-After"), self._wall()),
                        )
                    body = _answer_body(resp, url)
                    if cut.expired:
                        log.warning(_("reports: {url}: the answer was cut at the deadline ({seconds} s); taken as an "
                                      "acknowledgement, no commands")
                                          .format(url=url, seconds=format(REQUEST_DEADLINE_S, "g")))
                        return b""
                    return body
            except requests.RequestException as exc:
                if cut.expired:
                    raise ReportError(f"{url}: no answer within {REQUEST_DEADLINE_S:g} s") from None
                raise ReportError(_("{url}: {reason}").format(url=url, reason=describe(exc))) from None

    def _post_json(self, session: requests.Session, url: str, token: str | None, body: dict) -> bytes:
        data = json.dumps(body, ensure_ascii=False, default=str).encode("utf-8")
        return self._post(session, url, token, data, "application/json; charset=utf-8")

    def snapshot(self) -> dict:
        """The status snapshot, completed with the queue's facts and the results of commands."""
        snap = self.status.snapshot()
        snap["plays_queued"] = self.queue.count()
        snap["plays_dropped_total"] = self.queue.dropped_total
        snap["command_results"] = list(self._results)
        return snap

    def _heartbeat(self, session: requests.Session, cfg: Config, token: str | None) -> bytes:
        body = heartbeat.build(self.snapshot(), cfg, self._wall().timestamp())
        try:
            answer = self._post_json(session, self._url(cfg, "heartbeat"), token, body)
        except ReportError as exc:
            self.status.report_finished("heartbeat", False, str(exc))
            raise
        self.status.report_finished("heartbeat", True, None)
        self._results = [r for r in self._results if r not in body.get("command_results", [])]
        return answer

    def _upload_plays(self, session: requests.Session, cfg: Config, token: str | None) -> bool:
        """Upload waiting plays in batches; True when the queue is empty. Stops when the next heartbeat is
        due (a backlog of a month of plays never silences the board)."""
        for _batch in range(BATCHES_PER_CYCLE):
            if self._last_heartbeat is not None and \
                    self._clock() - self._last_heartbeat >= cfg.health.heartbeat_seconds:
                return False
            plays = self.queue.pending(self.batch_size)
            if not plays:
                return True
            if self._isolating is not None:
                plays = plays[: self._isolating]
            body = {"device_id": cfg.device.id, "plays": [p.to_json() for p in plays]}
            try:
                self._post_json(session, self._url(cfg, "plays"), token, body)
            except ReportError as exc:
                if exc.status == 422:  # the server refuses something in this batch: find it by halving
                    if len(plays) > 1:
                        self._isolating = max(1, len(plays) // 2)
                        continue
                    if self._refused_in_a_row < REFUSED_IN_A_ROW_MAX:
                        self._drop_refused(plays[0], str(exc))
                        continue
                    held = ReportError(f"{exc} (the server refused the last {self._refused_in_a_row} plays, each "
                                       "alone: the rest are kept until it accepts one)", exc.status)
                    self.status.report_finished("plays", False, str(held))
                    raise held from None
                if exc.status == 413 and self.batch_size > 1:  # the server wants smaller batches
                    self.batch_size = max(1, self.batch_size // 2)
                self.status.report_finished("plays", False, str(exc))
                raise
            try:
                self.queue.ack([p.id for p in plays])
            except OSError as exc:  # the card refuses the delete: they go again later, the server drops them by id
                log.warning("plays: %s", exc)
                self.status.set_error("plays", str(exc))
                return False
            self._refused_in_a_row = 0
            self.status.count("plays_uploaded", len(plays))
            self.status.report_finished("plays", True, None)
        return not self.queue.pending(1)

    def _drop_refused(self, refused, message: str) -> None:
        """One play the server refuses on its own (422) is dropped, named in the journal: sent again it
        would be refused again, for ever, and hold back every play behind it."""
        try:
            self.queue.ack([refused.id])
        except OSError as exc:
            log.warning("plays: %s", exc)
            self.status.set_error("plays", str(exc))
            raise ReportError(f"plays: the refused play {refused.id} cannot be removed ({exc})") from None
        self._isolating = None  # the rest goes in whole batches again
        self._refused_in_a_row += 1
        log.error("plays: the report server refused play %s (slide %s, started %s), dropped: %s",
                  refused.id, refused.slide_id, refused.started_at, message)
        self.status.count("plays_refused", 1)

    # --- commands -----------------------------------------------------------------------------------------

    def _run_commands(self, commands: list[Command], session: requests.Session, cfg: Config, token: str | None) -> None:
        for command in commands:
            error = None
            if command.name == "upload_screenshot":
                error = self._upload_screenshot(session, cfg, token)
            elif command.name in self.commands:
                log.info(_("reports: command {command} from the server").format(command=command.name))
                try:
                    self.on_command(command.name, dict(command.args))
                except Exception as exc:  # the handler is someone else's code: report, carry on
                    log.exception("reports: command %s failed", command.name)
                    error = f"{type(exc).__name__}: {exc}"
            else:
                log.warning(_("reports: unknown command {command} from the server, ignored")
                    .format(command=repr(command.name)))
                error = "unknown command"
            self._results.append({"id": command.id, "name": command.name, "ok": error is None, "error": error})
        del self._results[:-MAX_RESULTS]

    def _upload_screenshot(self, session: requests.Session, cfg: Config, token: str | None) -> str | None:
        if self.screenshot is None:
            return _("screenshots are not available on this board")
        try:
            png = self.screenshot() or self.screenshot()  # None: the player was busy a moment; once more
        except Exception as exc:
            log.exception("reports: taking a screenshot failed")
            return f"{type(exc).__name__}: {exc}"
        if not png:
            return _("no frame to read back (none on screen yet, or the player was busy)")
        if not png.startswith(PNG_SIGNATURE):
            return _("the screenshot is not a PNG")
        try:
            self._post(session, self._url(cfg, "screenshot"), token, png, "image/png")
        except ReportError as exc:
            return str(exc)
        log.info(_("reports: screenshot uploaded ({size} bytes)").format(size=len(png)))
        return None


def _refusal(resp: requests.Response) -> str | None:
    """What a refusing server says (`{"error": "plays[3].started_at: …"}` from kiosk hub, or plain text),
    one line of at most REFUSAL_CHARS, for the journal; None when it says nothing readable."""
    import urllib3

    try:
        raw = resp.raw.read(4096, decode_content=False)
    except (urllib3.exceptions.HTTPError, OSError, ValueError):
        return None
    if (resp.headers.get("Content-Encoding") or "identity").strip().lower() not in ("identity", ""):
        return None
    text = raw.decode("utf-8", "replace").strip()
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("error"), str):
        text = data["error"]
    elif text.startswith(("<", "{", "[")):  # an HTML error page or JSON of another shape says nothing useful
        return None
    text = " ".join(text.split())
    return text[:REFUSAL_CHARS] or None


def _answer_body(resp: requests.Response, url: str) -> bytes:
    """The body of a 2xx, at most MAX_ANSWER_BYTES, decompressed at most that far; b"" (and a warning)
    when it is cut short, too long or undecodable: its status already acknowledged the request."""
    import urllib3

    body = bytearray()
    try:
        while len(body) <= MAX_ANSWER_BYTES and (chunk := resp.raw.read(16 * 1024, decode_content=False)):
            body += chunk
    except (urllib3.exceptions.HTTPError, OSError, ValueError) as exc:
        log.warning(_("reports: {url}: the answer was cut short ({reason}); taken as an acknowledgement, no commands")
            .format(url=url, reason=type(exc).__name__))
        return b""
    if len(body) > MAX_ANSWER_BYTES:
        log.warning(_("reports: {url}: the answer is longer than {size} bytes; taken as an acknowledgement, no "
                      "commands").format(url=url, size=MAX_ANSWER_BYTES))
        return b""
    encoding = (resp.headers.get("Content-Encoding") or "identity").strip().lower()
    if encoding in ("identity", ""):
        return bytes(body)
    if encoding not in ("gzip", "x-gzip", "deflate"):
        log.warning(_("reports: {url}: answer in an unknown encoding {encoding}; no commands taken")
            .format(url=url, encoding=repr(encoding[:20])))
        return b""
    try:  # we asked for identity; a server that compresses anyway gets a bounded inflate (no gzip bomb)
        inflater = zlib.decompressobj(zlib.MAX_WBITS | 32)  # gzip or zlib header, found out
        plain = inflater.decompress(bytes(body), MAX_ANSWER_BYTES + 1)
    except zlib.error:
        log.warning(_("reports: {url}: the compressed answer is damaged; no commands taken").format(url=url))
        return b""
    if len(plain) > MAX_ANSWER_BYTES or inflater.unconsumed_tail:
        log.warning(_("reports: {url}: the answer inflates beyond {size} bytes; no commands taken")
            .format(url=url, size=MAX_ANSWER_BYTES))
        return b""
    return plain


def describe(exc: requests.RequestException) -> str:
    """One line for the journal: the kind of failure and its root reason (kiosk.source.client.reason)."""
    import requests

    kinds = (
        (requests.exceptions.SSLError, _("TLS error (check source.ca_file)")),
        (requests.exceptions.ConnectTimeout, _("timed out connecting")),
        (requests.exceptions.ReadTimeout, _("timed out waiting for the answer")),
        (requests.exceptions.ConnectionError, _("cannot connect")),
    )
    for kind, text in kinds:
        if isinstance(exc, kind):
            return f"{text} ({reason(exc)})"
    return f"{type(exc).__name__}: {reason(exc)}"
