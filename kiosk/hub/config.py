"""hub.yaml: the one file of the province's hub, validated at the border like config.yaml.

Every key is declared once in SCHEMA (converter, default); every problem is reported at once as
FILE:LINE: key.path: message. The value converters are config.yaml's own (kiosk.config), so both
files accept and refuse values in the same words.
"""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass
from pathlib import Path

from kiosk import yamlfile
from kiosk.config import (  # config.yaml's converters: one spelling of "a number between …" for both files
    Key,
    _did_you_mean,
    _existing_file,
    _Invalid,
    _kind,
    _listen,
    _number,
    _string,
    _timezone,
)
from kiosk.problems import InvalidInput, Problem, Problems

DEFAULT_PORT = 9120
SQLITE_NAME = "hub.sqlite"


@dataclass(frozen=True)
class Database:
    url: str  # sqlite:///ABSOLUTE/PATH or postgresql://…
    retention_days: int


@dataclass(frozen=True)
class Boards:
    heartbeat_seconds: float  # a board's period unless its heartbeat says otherwise; silent after 3 of them
    hot_celsius: float
    disk_low_bytes: int


@dataclass(frozen=True)
class Limits:
    heartbeat_bytes: int
    plays_bytes: int
    plays_per_request: int
    screenshot_bytes: int
    requests_per_minute: int  # per board: a flood from one board is answered 429, the others unaffected


@dataclass(frozen=True)
class Web:
    session_hours: float
    secure_cookies: bool


@dataclass(frozen=True)
class HubConfig:
    file: Path
    host: str
    port: int
    timezone: str
    database: Database
    boards: Boards
    limits: Limits
    web: Web
    content_manifest: str | None  # the published manifest.json (a path or an http(s) URL): "latest"
    metrics_token_file: Path | None

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)


def _database_url(value: object, base: Path) -> str:
    text = _string(value, base)
    if text.startswith(("postgresql://", "postgres://")):
        return text
    if text.startswith("sqlite:"):
        rest = text.removeprefix("sqlite:").removeprefix("//")
        path = Path(rest)
        path = path if path.is_absolute() else (base / path).resolve()
        if not path.parent.is_dir():
            raise _Invalid(f"folder {str(path.parent)!r} of the SQLite file does not exist")
        return f"sqlite://{path}"
    raise _Invalid(f"expected sqlite:PATH or postgresql://USER@HOST/DATABASE; got {text[:60]!r}")


def _manifest(value: object, base: Path) -> str:
    text = _string(value, base)
    if re.match(r"^https?://[^/\s]+", text):
        return text
    path = Path(text) if Path(text).is_absolute() else (base / text).resolve()
    if path.is_dir():
        path = path / "manifest.json"  # the content tree's folder is as good as its manifest
    return str(path)


def _boolean(value: object, _base: Path) -> bool:
    if not isinstance(value, bool):
        raise _Invalid(f"expected true or false, got {_kind(value)}")
    return value


SCHEMA: dict[str, Key | dict[str, Key]] = {
    "listen": Key(_listen, f"127.0.0.1:{DEFAULT_PORT}"),
    "timezone": Key(_timezone, "Asia/Ho_Chi_Minh"),
    "database": {
        "url": Key(_database_url),
        "retention_days": Key(_number(1, 36500, integer=True), 400),
    },
    "boards": {
        "heartbeat_seconds": Key(_number(5, 86400), 60.0),
        "hot_celsius": Key(_number(40, 120), 80.0),
        "disk_low_mb": Key(_number(1, 10_000_000, integer=True), 500),
    },
    "content": {
        "manifest": Key(_manifest),
    },
    "limits": {
        "heartbeat_kb": Key(_number(4, 1024, integer=True), 64),
        "plays_kb": Key(_number(64, 65536, integer=True), 2048),
        "plays_per_request": Key(_number(1, 10000, integer=True), 500),
        "screenshot_mb": Key(_number(1, 256, integer=True), 16),
        "requests_per_minute": Key(_number(10, 100_000, integer=True), 240),
    },
    "web": {
        "session_hours": Key(_number(0.1, 24 * 90), 12.0),
        "secure_cookies": Key(_boolean, False),
    },
    "metrics": {
        "token_file": Key(_existing_file),
    },
}


def validate(data: object, file: Path) -> HubConfig:
    """Parsed YAML → HubConfig, or InvalidInput with every problem."""
    problems = Problems(str(file))
    base = file.parent.resolve()
    root = data if data is not None else yamlfile.LineDict()
    if not isinstance(root, dict):
        problems.add(1, "", "the file must be a mapping of keys (listen:, database:, …)")
        raise InvalidInput(problems.items)
    values = _section(root, SCHEMA, "", base, problems, 1)
    if problems:
        raise InvalidInput(problems.items)
    db, boards, limits, web = values["database"], values["boards"], values["limits"], values["web"]
    host, port = values["listen"]
    url = db["url"] or f"sqlite://{base / SQLITE_NAME}"
    return HubConfig(
        file=file.resolve(),
        host=host,
        port=port,
        timezone=values["timezone"],
        database=Database(url=url, retention_days=db["retention_days"]),
        boards=Boards(boards["heartbeat_seconds"], boards["hot_celsius"], boards["disk_low_mb"] * 1_000_000),
        limits=Limits(
            heartbeat_bytes=limits["heartbeat_kb"] * 1024,
            plays_bytes=limits["plays_kb"] * 1024,
            plays_per_request=limits["plays_per_request"],
            screenshot_bytes=limits["screenshot_mb"] * 1024 * 1024,
            requests_per_minute=limits["requests_per_minute"],
        ),
        web=Web(session_hours=web["session_hours"], secure_cookies=web["secure_cookies"]),
        content_manifest=values["content"]["manifest"],
        metrics_token_file=values["metrics"]["token_file"],
    )


def _section(body: dict, schema: dict, prefix: str, base: Path, problems: Problems, line: int) -> dict:
    line_of = body.line_of if isinstance(body, yamlfile.LineDict) else (lambda _k: line)
    for key in body:
        if key not in schema:
            problems.add(line_of(key), f"{prefix}{key}", "unknown key" + _did_you_mean(key, list(schema)))
    out: dict = {}
    for key, spec in schema.items():
        raw = body.get(key)
        if isinstance(spec, dict):
            if raw is None:
                raw = yamlfile.LineDict()
            elif not isinstance(raw, dict):
                problems.add(line_of(key), f"{prefix}{key}", f"expected a mapping of keys, got {_kind(raw)}")
                raw = yamlfile.LineDict()
            out[key] = _section(raw, spec, f"{prefix}{key}.", base, problems, line_of(key))
            continue
        if raw is None:
            raw = spec.default
            if raw is None:
                out[key] = None
                continue
        try:
            out[key] = spec.convert(raw, base)
        except _Invalid as exc:
            problems.add(line_of(key), f"{prefix}{key}", str(exc))
            out[key] = None
    return out


def load(path: Path) -> HubConfig:
    """Read and validate hub.yaml; InvalidInput (every problem) when it is missing or wrong."""
    if path.is_dir():
        raise InvalidInput([Problem(str(path), None, "", "is a folder; give hub.yaml itself with -c PATH")])
    if not path.is_file():
        raise InvalidInput([Problem(str(path), None, "", "hub.yaml not found (give one with -c PATH)")])
    try:
        data = yamlfile.load(path)
    except yamlfile.YamlError as exc:
        raise InvalidInput([exc.problem]) from None
    return validate(data, path)


def find(explicit: str | None) -> Path:
    """-c PATH, then ./hub.yaml, then /etc/kiosk/hub.yaml."""
    if explicit:
        return Path(explicit)
    for candidate in (Path("hub.yaml"), Path("/etc/kiosk/hub.yaml")):
        if candidate.is_file():
            return candidate
    return Path("hub.yaml")
