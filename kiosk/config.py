"""config.yaml: the one file a technician edits.

Every key is declared once in SCHEMA (type check, conversion, default), so
validation, defaults and "did you mean" all come from the same table. Every
problem is reported at once as FILE:LINE: key.path: message.
"""

from __future__ import annotations

import difflib
import os
import re
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from kiosk import i18n, yamlfile
from kiosk.i18n import _
from kiosk.problems import InvalidInput, Problem, Problems, shown

LANGUAGES = i18n.LANGUAGES
DEVICE_ID = re.compile(r"^[a-z0-9-]+\Z")  # \Z, not $: "$" also matches before a final newline
CHANNEL_NAME = re.compile(r"^[a-z0-9-]{1,32}\Z")  # it prefixes slide ids ("tinh:thong-bao") and names a folder
MAX_CHANNELS = 8
CHANNEL_KEYS = ("name", "url", "public_key", "token_file")


@dataclass(frozen=True)
class ChannelConfig:
    """One further content tree the board follows (`source.channels`): its own key, state and health."""

    name: str
    url: str
    public_key: str
    token_file: Path | None = None  # the board's source.token_file is never sent to another tree


@dataclass(frozen=True)
class DeviceConfig:
    id: str
    name: str


@dataclass(frozen=True)
class SourceConfig:
    path: Path | None
    url: str | None
    report_url: str | None
    token_file: Path | None
    ca_file: Path | None
    poll_seconds: float
    public_key: str | None
    channels: tuple[ChannelConfig, ...] = ()
    reports: bool = True  # false: no heartbeats or plays are sent (a server that takes none)
    public_key_field: str = "source.public_key"  # where public_key was written, for messages (a channel's
    # Syncer is given its own: source.channels[N].public_key)


@dataclass(frozen=True)
class DisplayConfig:
    size: tuple[int, int] | None  # None: the screen's native size
    rotation: int
    font: str
    fit: str
    crossfade_ms: int
    power: object | None  # filled by kiosk.screen.power when configured
    header: bool = True  # the band at the top: board name, logo, weekday, date and time
    ticker: bool = True  # the band at the bottom scrolling the programme's ticker (when it has one)
    ticker_speed: float = 120.0  # pixels per second on a 1080-line screen (scaled with the screen)
    logo: Path | None = None  # a picture shown in the header beside the board's name
    languages: tuple[str, ...] = ("vi",)  # the slide's own text first, then its translations, in this order
    language_layout: str = "split"  # split: side by side; alternate: one language after the other


@dataclass(frozen=True)
class CacheConfig:
    path: Path
    max_mb: int


@dataclass(frozen=True)
class HealthConfig:
    host: str
    port: int
    token_file: Path | None
    heartbeat_seconds: float


@dataclass(frozen=True)
class ScheduleConfig:
    timezone: str


@dataclass(frozen=True)
class SpeechConfig:
    voice: str
    rate: int
    emergency_repeat_minutes: float = 10.0  # an emergency standing on screen is spoken again this often


@dataclass(frozen=True)
class SoundConfig:
    volume: int = 100  # percent
    quiet_hours: tuple | None = None  # (start, end) dt.time: silent but for emergencies; end <= start wraps


@dataclass(frozen=True)
class FeedbackConfig:
    url: str | None  # shown as a QR code on every slide
    label: str


@dataclass(frozen=True)
class UiConfig:
    language: str  # the language of every message a person reads: vi or en (default: from the locale)


@dataclass(frozen=True)
class Config:
    file: Path
    device: DeviceConfig
    source: SourceConfig
    display: DisplayConfig
    cache: CacheConfig
    health: HealthConfig
    schedule: ScheduleConfig
    speech: SpeechConfig
    feedback: FeedbackConfig = FeedbackConfig(None, "")
    sound: SoundConfig = SoundConfig()
    ui: UiConfig = UiConfig("en")
    # Not part of what the config means (equality): what check-config and the journal say about it.
    warnings: tuple[Problem, ...] = field(default=(), compare=False)
    degraded: tuple[Problem, ...] = field(default=(), compare=False)  # files named but unusable (degrade=True)

    @property
    def report_url(self) -> str | None:
        return (self.source.report_url or self.source.url) if self.source.reports else None


class _Invalid(Exception):
    """A single value is wrong; the message says what is expected."""


# --- value converters: (value, config_dir) -> converted, or raise _Invalid ---

Converter = Callable[[object, Path], object]


def _string(value: object, _base: Path) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise _Invalid(_("expected text, got {kind}").format(kind=_kind(value)))
    text = str(value).strip()
    if not text:
        raise _Invalid(_("must not be empty"))
    return text


def _device_id(value: object, base: Path) -> str:
    text = _string(value, base)
    if not DEVICE_ID.match(text):
        raise _Invalid(_("{text} must use only a-z, 0-9 and '-' (e.g. ubnd-xa-an-khuong)").format(text=repr(text)))
    return text


def _path(value: object, base: Path) -> Path:
    text = _string(value, base)
    if "\x00" in text:  # the OS refuses it; say so here rather than raise from deep in os.path
        raise _Invalid(_("must not contain a NUL character"))
    path = Path(os.path.expanduser(text))
    return path if path.is_absolute() else (base / path).resolve()


def _writable_dir(value: object, base: Path) -> Path:
    """A folder the player will create and write: the nearest existing parent must allow that."""
    path = _path(value, base)
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        raise _Invalid(_("{probe} is not a folder").format(probe=repr(str(probe))))
    if not os.access(probe, os.W_OK | os.X_OK) or str(probe).startswith(("/proc", "/sys")):
        raise _Invalid(_("{path} cannot be created or written ({probe} is not writable)")
            .format(path=repr(str(path)), probe=repr(str(probe))))
    return path


def _existing_file(value: object, base: Path) -> Path:
    path = _path(value, base)
    if path.is_dir():
        raise _Invalid(_("{path} is a folder; give a file").format(path=repr(str(path))))
    if not path.is_file():
        raise _Invalid(_("file {path} does not exist").format(path=repr(str(path))))
    return path


def _existing_dir(value: object, base: Path) -> Path:
    path = _path(value, base)
    if path.exists() and not path.is_dir():
        raise _Invalid(_("{path} is a file; give the folder that holds programme.yaml").format(path=repr(str(path))))
    if not path.is_dir():
        raise _Invalid(_("folder {path} does not exist").format(path=repr(str(path))))
    return path


def _flag(value: object, _base: Path) -> bool:
    if not isinstance(value, bool):
        raise _Invalid(_("must be true or false, got {value}").format(value=shown(value)))
    return value


def _image_file(value: object, base: Path) -> Path:
    """A picture the board shows itself (display.logo): checked here, so a wrong file shows in check-config."""
    from kiosk.content import media

    path = _existing_file(value, base)
    try:
        media.probe(path)
    except ValueError as exc:
        raise _Invalid(f"{str(path)!r}: {exc}") from None
    return path


def _link(value: object, base: Path) -> str:
    """A URL people scan from the board (feedback.url): http(s) only, short enough for a QR code."""
    from kiosk.content import programme

    try:
        return programme.check_link(_string(value, base))
    except ValueError as exc:
        raise _Invalid(str(exc)) from None


def _label(value: object, base: Path) -> str:
    text = _string(value, base)
    if len(text) > 80:
        raise _Invalid(_("has {count} characters, at most {most}: it is printed under the QR code").format(
            count=len(text), most=80))
    return text


def _hours(value: object, base: Path) -> tuple:
    """"HH:MM-HH:MM" (may wrap past midnight: "21:00-06:00"), read like a slide's hours:."""
    from kiosk.content import windows

    text = _string(value, base)
    try:
        span = windows.parse_span(text)
    except ValueError:
        raise _Invalid(_("expected HH:MM-HH:MM (e.g. \"21:00-06:00\"), got {value}").format(value=shown(text))) \
            from None
    if span is None:
        raise _Invalid(_("a whole day of quiet would silence the board: give the hours people sleep"))
    return span


def _font(value: object, base: Path) -> str:
    """A family name stays a name; a file path is resolved beside the config file."""
    text = _string(value, base)
    if "/" in text or text.lower().endswith((".ttf", ".otf", ".ttc")):
        path = _path(text, base)
        if not path.is_file():
            raise _Invalid(_("font file {path} does not exist").format(path=repr(str(path))))
        return str(path)
    return text


def _public_key(value: object, base: Path) -> str:
    """Checked here so that a wrong key shows in check-config, not at the first sync."""
    from kiosk.source import signing

    text = _string(value, base)
    try:
        signing.load_public_key(text, base)
    except ValueError as exc:
        raise _Invalid(str(exc)) from None
    return text


def _url(value: object, base: Path) -> str:
    text = _string(value, base)
    if not re.match(r"^https?://[^/\s]+", text):
        raise _Invalid(_("{text} is not an http:// or https:// URL").format(text=repr(text)))
    return text if text.endswith("/") else text + "/"


def _number(low: float, high: float, integer: bool = False) -> Converter:
    def convert(value: object, _base: Path) -> float | int:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _Invalid(_("expected a number, got {kind}").format(kind=_kind(value)))
        if integer and not float(value).is_integer():
            raise _Invalid(_("expected a whole number"))
        if not low <= value <= high:
            raise _Invalid(_("must be between {low} and {high}, got {value}")
                .format(low=format(low, 'g'), high=format(high, 'g'), value=format(value, 'g')))
        return int(value) if integer else float(value)

    return convert


def _choice(*choices: object) -> Converter:
    def convert(value: object, _base: Path) -> object:
        if value not in choices or isinstance(value, bool):
            raise _Invalid(_("must be one of {choices}; got {value}")
                .format(choices=', '.join(str(c) for c in choices), value=shown(value)))
        return value

    return convert


def _bool(value: object, _base: Path) -> bool:
    if not isinstance(value, bool):
        raise _Invalid(_("must be true or false; got {value}").format(value=shown(value)))
    return value


def _language(value: object, _base: Path) -> str:
    text = str(value).strip().lower() if isinstance(value, str) else value
    if text not in LANGUAGES:
        raise _Invalid(_("must be one of {languages}; got {value}")
            .format(languages=', '.join(LANGUAGES), value=shown(value)))
    return text


def _size(value: object, _base: Path) -> tuple[int, int] | None:
    text = str(value).strip().lower()
    if text == "auto":
        return None
    match = re.fullmatch(r"(\d{2,5})\s*x\s*(\d{2,5})", text)
    if not match:
        raise _Invalid(_("expected WIDTHxHEIGHT (e.g. 1920x1080) or auto; got {value}").format(value=shown(value)))
    w, h = int(match[1]), int(match[2])
    if not (64 <= w <= 16384 and 64 <= h <= 16384):
        raise _Invalid(_("{w}x{h} is outside 64..16384 pixels").format(w=w, h=h))
    return w, h


def _listen(value: object, _base: Path) -> tuple[str, int]:
    text = str(value).strip()
    match = re.fullmatch(r"\[?([^\[\]\s]*?)\]?:(\d{1,5})", text)
    if not match or not 0 <= int(match[2]) <= 65535:
        raise _Invalid(_("expected HOST:PORT (e.g. 127.0.0.1:9110); got {value}").format(value=shown(value)))
    return match[1] or "0.0.0.0", int(match[2])


def _timezone(value: object, base: Path) -> str:
    text = _string(value, base)
    try:
        zoneinfo.ZoneInfo(text)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise _Invalid(_("unknown time zone {text} (e.g. Asia/Ho_Chi_Minh)").format(text=repr(text))) from None
    return text


def _power(value: object, base: Path) -> object:
    # Parsed by kiosk.screen.power, which owns the meaning of the screen schedule.
    from kiosk.screen import power

    try:
        return power.parse_config(value)
    except ValueError as exc:
        raise _Invalid(str(exc)) from None


LANGUAGE = re.compile(r"^[a-z]{2,3}\Z")  # ISO 639 codes, as in a slide's translations (kiosk.content.programme)
MAX_LANGUAGES = 4


def _languages(value: object, _base: Path) -> tuple[str, ...]:
    items = [v.strip() for v in value.replace(",", " ").split()] if isinstance(value, str) else value
    if not isinstance(items, list) or not items:
        raise _Invalid(_("expected a list of language codes like [vi, km]; got {value}").format(value=shown(value)))
    codes: list[str] = []
    for item in items:
        if not isinstance(item, str) or not LANGUAGE.match(item):
            raise _Invalid(_("{value} is not a language code (two or three lowercase letters: vi, km, en)").format(
                value=shown(item)))
        if item in codes:
            raise _Invalid(_("{value} is given twice").format(value=repr(item)))
        codes.append(item)
    if len(codes) > MAX_LANGUAGES:
        raise _Invalid(_("at most {most} languages on one screen; got {count}").format(most=MAX_LANGUAGES,
                                                                                     count=len(codes)))
    return tuple(codes)


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return _("true/false")
    if value is None:
        return _("nothing")
    if isinstance(value, dict):
        return _("a mapping")
    if isinstance(value, list):
        return _("a list")
    if isinstance(value, (int, float)):
        return _("a number")
    return _("text") if isinstance(value, str) else type(value).__name__


@dataclass(frozen=True)
class Key:
    convert: Converter
    default: object = None
    required: bool = False


_MISSING = object()

SCHEMA: dict[str, dict[str, Key]] = {
    "device": {
        "id": Key(_device_id, required=True),
        "name": Key(_string, required=True),
    },
    "source": {
        "path": Key(_existing_dir),
        "url": Key(_url),
        "report_url": Key(_url),
        "token_file": Key(_existing_file),
        "ca_file": Key(_existing_file),
        "poll_seconds": Key(_number(5, 86400), 60.0),
        "public_key": Key(_public_key),
        "channels": Key(lambda value, _base: value),  # checked item by item in _channels, with their lines
        "reports": Key(_bool, True),
    },
    "display": {
        "size": Key(_size, "auto"),
        "rotation": Key(_choice(0, 90, 180, 270), 0),
        "font": Key(_font, "auto"),
        "fit": Key(_choice("fit", "fill"), "fit"),
        "crossfade_ms": Key(_number(0, 5000, integer=True), 600),
        "power": Key(_power),
        "header": Key(_flag, True),
        "ticker": Key(_flag, True),
        "ticker_speed": Key(_number(20, 600), 120.0),
        "logo": Key(_image_file),
        "languages": Key(_languages, ["vi"]),
        "language_layout": Key(_choice("split", "alternate"), "split"),
    },
    "cache": {
        "path": Key(_writable_dir, "media_cache"),
        "max_mb": Key(_number(16, 1_000_000, integer=True), 2048),
    },
    "health": {
        "listen": Key(_listen, "127.0.0.1:9110"),
        "token_file": Key(_existing_file),
        "heartbeat_seconds": Key(_number(5, 86400), 60.0),
    },
    "schedule": {
        "timezone": Key(_timezone, "Asia/Ho_Chi_Minh"),
    },
    "speech": {
        "voice": Key(_string, "vi"),
        "rate": Key(_number(80, 450, integer=True), 150),
        "emergency_repeat_minutes": Key(_number(0, 1440), 10.0),
    },
    "sound": {
        "volume": Key(_number(0, 100, integer=True), 100),
        "quiet_hours": Key(_hours),
    },
    "feedback": {
        "url": Key(_link),
        "label": Key(_label, "Quét mã để góp ý"),
    },
    "ui": {
        "language": Key(_language),  # None: default_language(), from the locale
    },
}


def _did_you_mean(word: object, choices: list[str]) -> str:
    close = difflib.get_close_matches(str(word), choices, n=1, cutoff=0.6)
    if close:
        return _("; did you mean {close}?").format(close=repr(close[0]))
    return _("; known keys: {choices}").format(choices=", ".join(choices))


# Files a board can play without, for a while: each part that reads one says what is wrong with it when
# it is used (sync and reports refuse, the health endpoint locks itself), and it heals once the file is
# back. A board must not stay dark at boot because a token was deleted or a key file damaged.
# The cache: only a folder that exists (a card gone read-only plays on); the logo: the header goes without it.
DEGRADABLE = frozenset({"source.token_file", "source.ca_file", "source.public_key", "health.token_file",
                        "display.logo", "cache.path"})


def validate(data: object, file: Path, degrade: bool = False) -> Config:
    """Turn parsed YAML into a Config, or raise InvalidInput with every problem.

    `degrade`: a problem with one of the DEGRADABLE files is not fatal; the value is kept as written
    and the problem is in `Config.degraded` (how `kiosk run` boots; check-config and reloads are strict).
    """
    problems = Problems(str(file))
    degraded = Problems(str(file))
    base = file.parent.resolve()
    root = data if data is not None else yamlfile.LineDict()
    if not isinstance(root, dict):
        problems.add(1, "", _("the file must be a mapping of sections (device:, source:, …)"))
        raise InvalidInput(problems.items)
    line_of = root.line_of if isinstance(root, yamlfile.LineDict) else (lambda _k: None)

    values: dict[str, dict[str, object]] = {}
    for section in root:
        if section not in SCHEMA:
            problems.add(line_of(section), str(section), _("unknown section") + _did_you_mean(section, list(SCHEMA)))
    for section, keys in SCHEMA.items():
        body = root.get(section)
        section_line = line_of(section)
        if body is None:
            body = yamlfile.LineDict()
            body.line, body.key_lines = section_line or 1, {}
        if not isinstance(body, dict):
            problems.add(section_line, section, _("expected a mapping of keys, got {kind}").format(kind=_kind(body)))
            body = yamlfile.LineDict()
            body.line, body.key_lines = section_line or 1, {}
        key_line = body.line_of if isinstance(body, yamlfile.LineDict) else (lambda _k, _l=section_line: _l)
        for key in body:
            if key not in keys:
                problems.add(key_line(key), f"{section}.{key}", _("unknown key") + _did_you_mean(key, list(keys)))
        converted: dict[str, object] = {}
        for key, spec in keys.items():
            raw = body.get(key, _MISSING)
            if raw is _MISSING or raw is None:
                if spec.required:
                    problems.add(section_line or 1, f"{section}.{key}", _("is required"))
                    converted[key] = None
                    continue
                raw = spec.default
                if raw is None:
                    converted[key] = None
                    continue
            try:
                converted[key] = spec.convert(raw, base)
            except _Invalid as exc:
                name = f"{section}.{key}"
                if degrade and name in DEGRADABLE and isinstance(raw, str) and raw.strip() and \
                        (name != "cache.path" or _path(raw, base).is_dir()):
                    degraded.add(key_line(key), name, _("{reason}; playing without it until it is fixed")
                        .format(reason=exc)
                                 if name != "cache.path" else _("{reason}; playing what it holds, storing nothing new")
                                     .format(reason=exc))
                    converted[key] = _path(raw, base) if key.endswith(("_file", "path", "logo")) else raw.strip()
                    continue
                problems.add(key_line(key), name, str(exc))
                converted[key] = None
        values[section] = converted

    src = values["source"]
    source_body = root.get("source") if isinstance(root, dict) else None
    src["channels"] = _channels(src, source_body, base, problems, degraded if degrade else None)
    if src["path"] is not None and src["url"] is not None:
        problems.add(
            root["source"].line_of("url") if isinstance(root.get("source"), yamlfile.LineDict) else None,
            "source.url",
            _("source.path and source.url exclude each other: keep one"),
        )
    elif src["path"] is None and src["url"] is None and not any(
        p.path in ("source.path", "source.url") for p in problems
    ):
        problems.add(line_of("source") or 1, "source", _("set source.path (a local folder) or source.url (a server)"))
    if problems:
        raise InvalidInput(problems.items)

    return Config(
        warnings=tuple(_warnings(values, root, str(file))),
        degraded=tuple(degraded),
        file=file.resolve(),
        device=DeviceConfig(**values["device"]),
        source=SourceConfig(**values["source"]),
        display=DisplayConfig(**values["display"]),
        cache=CacheConfig(**values["cache"]),
        health=HealthConfig(
            host=values["health"]["listen"][0],
            port=values["health"]["listen"][1],
            token_file=values["health"]["token_file"],
            heartbeat_seconds=values["health"]["heartbeat_seconds"],
        ),
        schedule=ScheduleConfig(**values["schedule"]),
        speech=SpeechConfig(**values["speech"]),
        feedback=FeedbackConfig(**values["feedback"]),
        sound=SoundConfig(**values["sound"]),
        ui=UiConfig(language=values["ui"]["language"] or i18n.default_language()),
    )


def _channels(src: dict, body: object, base: Path, problems: Problems,
              degraded: Problems | None) -> tuple[ChannelConfig, ...]:
    """`source.channels`, each item checked and named by its field and line (`source.channels[1].url`).
    A key file that cannot be read is degradable like source.public_key: that channel plays what it
    verified before, and refuses new content until it is mended."""
    raw = src.get("channels")
    if raw is None:
        return ()
    line = body.line_of("channels") if isinstance(body, yamlfile.LineDict) else None
    if not isinstance(raw, list):
        problems.add(line, "source.channels", _("expected a list of channels (- name: …, url: …, public_key: …), "
                                                "got {kind}").format(kind=_kind(raw)))
        return ()
    if src.get("path") is not None and raw:
        problems.add(line, "source.channels", _("a board playing source.path follows no channels: use source.url"))
    if len(raw) > MAX_CHANNELS:
        problems.add(line, "source.channels", _("{count} channels; at most {most}").format(count=len(raw),
                                                                                         most=MAX_CHANNELS))
    item_line = raw.line_of if isinstance(raw, yamlfile.LineList) else (lambda _i: line)
    names: dict[str, int] = {}
    urls: dict[str, str] = {} if src.get("url") is None else {src["url"]: "source.url"}
    out = []
    for i, item in enumerate(raw[:MAX_CHANNELS]):
        where = f"source.channels[{i}]"
        if not isinstance(item, dict):
            problems.add(item_line(i), where, _("expected a mapping (name:, url:, public_key:), got {kind}").format(
                kind=_kind(item)))
            continue
        here = item_line(i)
        at = item.line_of if isinstance(item, yamlfile.LineDict) else (lambda _k, _l=here: _l)
        for key in item:
            if key not in CHANNEL_KEYS:
                problems.add(at(key), f"{where}.{key}", _("unknown key") + _did_you_mean(key, list(CHANNEL_KEYS)))
        got: dict[str, object] = {}
        for key, convert in (("name", _string), ("url", _url), ("public_key", _public_key),
                             ("token_file", _existing_file)):
            value = item.get(key)
            got[key] = None
            if value is None:
                if key != "token_file":
                    problems.add(item_line(i), f"{where}.{key}", _("is required (each channel is verified with its "
                                                                   "own key)") if key == "public_key"
                                 else _("is required"))
                continue
            try:
                got[key] = convert(value, base)
            except _Invalid as exc:
                if degraded is not None and key in ("public_key", "token_file") and isinstance(value, str) \
                        and value.strip():
                    degraded.add(at(key), f"{where}.{key}", _("{problem}; this channel plays without it until it is "
                                                              "fixed").format(problem=exc))
                    got[key] = _path(value, base) if key == "token_file" else value.strip()
                    continue
                problems.add(at(key), f"{where}.{key}", str(exc))
                continue
            if key == "name" and not CHANNEL_NAME.match(got[key]):
                problems.add(at(key), f"{where}.name",
                             _("{value} must be 1-32 of a-z, 0-9 and '-' (e.g. tinh, xa-an-khuong)").format(
                                 value=repr(got[key][:40])))
                got[key] = None
            elif key == "name" and got[key] in names:
                first = names[got[key]]
                problems.add(at(key), f"{where}.name",
                             _("{value} is already the name of source.channels[{index}]: names must differ").format(
                                 value=repr(got[key]), index=first))
            elif key == "name":
                names[got[key]] = i
            elif key == "url" and got[key] in urls:
                problems.add(at(key), f"{where}.url", _("{url} is already followed by {where}").format(
                    url=got[key], where=urls[got[key]]))
            elif key == "url":
                urls[got[key]] = where
        if all(got[k] is not None for k in ("name", "url", "public_key")):
            out.append(ChannelConfig(name=got["name"], url=got["url"], public_key=got["public_key"],
                                     token_file=got["token_file"]))
    return tuple(out)


def _warnings(values: dict[str, dict[str, object]], root: object, filename: str) -> list[Problem]:
    """What is valid but unwise: a health endpoint open to the network without a token, secrets others can read."""
    def line(section: str, key: str) -> int | None:
        body = root.get(section) if isinstance(root, dict) else None
        return body.line_of(key) if isinstance(body, yamlfile.LineDict) else None

    found = Problems(filename)
    host, port = values["health"]["listen"] or ("127.0.0.1", 0)
    if values["health"]["token_file"] is None and not _loopback(host):
        found.add(line("health", "listen"), "health.listen",
                  _("warning: {host}:{port} is reachable from the network without health.token_file: anyone there can "
                    "read /healthz and /metrics and see the screen")
                      .format(host=host or '0.0.0.0', port=port))
    for section, key in (("source", "token_file"), ("health", "token_file")):
        path = values[section][key]
        try:
            mode = path.stat().st_mode if isinstance(path, Path) else 0
        except OSError:
            continue
        if mode & 0o004:
            found.add(line(section, key), f"{section}.{key}",
                      _("warning: {path} is readable by every user of this computer (mode {mode}); protect it: sudo "
                        "chmod 640 {file}").format(path=repr(str(path)), mode=format(mode & 0o777, "o"), file=path))
    return list(found)


def _loopback(host: str) -> bool:
    return host in ("localhost", "::1") or host.startswith("127.")


def load(path: Path, degrade: bool = False) -> Config:
    """Read and validate a config file; raise InvalidInput with every problem (see `validate` for `degrade`)."""
    try:
        data = yamlfile.load(path)
    except yamlfile.YamlError as exc:
        raise InvalidInput([exc.problem]) from None
    return validate(data, path, degrade)


def find(explicit: str | None) -> Path:
    """SPEC order: -c PATH, then ./config.yaml, then /etc/kiosk/config.yaml."""
    if explicit:
        return Path(explicit)
    for candidate in (Path("config.yaml"), Path("/etc/kiosk/config.yaml")):
        if candidate.is_file():
            return candidate
    return Path("config.yaml")


def problem_for_missing(path: Path) -> Problem:
    if path.is_dir():
        return Problem(str(path), None, "", _("is a folder; give the config file itself with -c PATH"))
    return Problem(str(path), None, "", _("config file not found (give one with -c PATH)"))


# --- the last good config -------------------------------------------------------------------------
# A typo made while the board was off must not leave it black at the next boot: under systemd
# (StateDirectory= sets STATE_DIRECTORY) the player keeps a copy of the last config that was valid,
# and plays with it, loudly, when config.yaml no longer is.
LAST_GOOD = "last-good-config.yaml"


def _last_good_path() -> Path | None:
    state = os.environ.get("STATE_DIRECTORY", "").split(":")[0]
    return Path(state) / LAST_GOOD if state else None


def remember(cfg: Config) -> None:
    """Keep a copy of a config file that was valid (written only when it changed: the SD card wears)."""
    target = _last_good_path()
    if target is None:
        return
    try:
        data = cfg.file.read_bytes()
        if target.is_file() and target.read_bytes() == data:
            return
        if validate(yamlfile.loads(data.decode("utf-8-sig"), str(cfg.file)), cfg.file) != cfg:
            return  # the file changed since it was validated: keep the older copy
        from kiosk.durable import write_atomic

        write_atomic(target, data, 0o600)
    except (OSError, UnicodeDecodeError, InvalidInput, yamlfile.YamlError):
        pass  # a convenience, never a reason to stop


def last_good(path: Path) -> Config | None:
    """The remembered config, validated again as if it stood at `path` (relative paths stay right)."""
    copy = _last_good_path()
    if copy is None or not copy.is_file():
        return None
    try:
        return validate(yamlfile.load(copy), path, degrade=True)  # a file it names may be gone since
    except (InvalidInput, yamlfile.YamlError, OSError, UnicodeDecodeError):
        return None


def language_of(path: Path) -> str:
    """The ui.language a config file asks for, read before (and whether or not) the file is valid, so that
    even its problems are told in that language; the locale's where it says nothing usable."""
    try:
        data = yamlfile.load(path)
    except (yamlfile.YamlError, OSError):
        return i18n.default_language()
    ui = data.get("ui") if isinstance(data, dict) else None
    chosen = ui.get("language") if isinstance(ui, dict) else None
    chosen = chosen.strip().lower() if isinstance(chosen, str) else None
    return chosen if chosen in LANGUAGES else i18n.default_language()
