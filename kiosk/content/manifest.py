"""manifest.json: the programme as JSON, as a content tree serves it (docs/protocol.md).

Decoding is the network border: bytes from a server become a Programme only
through the same slide validation as programme.yaml (kiosk.programme), plus
checks of the document's shape, the media table and every name. Encoding is
canonical (sorted keys, UTF-8, fixed indentation) so that publishing
unchanged input gives identical bytes. Both are pure functions.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path, PurePosixPath

from kiosk.content import programme
from kiosk.problems import InvalidInput, Problem, Problems, shown

FORMAT = 1
FILENAME = "manifest.json"
MAX_BYTES = 4 * 1024 * 1024  # a thousand slides are well under 1 MB; more is a broken or hostile server
MAX_MEDIA_BYTES = 2 * 1024**3  # one file larger than this is not a bulletin-board image
MAX_NAME = 255
TOP_KEYS = ("format", "version", "generated_at", "media", "slides")
VERSION = re.compile(r"^[A-Za-z0-9._:-]{1,64}\Z")  # \Z: "$" would let a final newline in
SHA256 = re.compile(r"^[0-9a-f]{64}\Z")  # how media are named: the hex SHA-256 of their bytes


def check_name(name: object) -> str | None:
    """Why a media name is unacceptable (None when it is fine): relative POSIX paths only, no '..'."""
    if not isinstance(name, str) or not name:
        return "must be a non-empty text"
    if len(name) > MAX_NAME:
        return f"is longer than {MAX_NAME} characters"
    if any(ord(c) < 32 or c == "\\" for c in name):
        return "must not contain control characters or backslashes"
    path = PurePosixPath(name)
    if path.is_absolute() or any(part in ("..", ".", "") for part in name.split("/")):
        return "must be a relative path without '..', '.' or empty parts"
    return None


def encode(version: str, media: dict[str, tuple[str, int]], slides: list[dict], generated_at: str) -> bytes:
    """Canonical manifest bytes. `slides` are the authoring fields, already validated."""
    document = {
        "format": FORMAT,
        "version": version,
        "generated_at": generated_at,
        "media": {name: {"sha256": sha, "size": size} for name, (sha, size) in media.items()},
        "slides": [{key: jsonable(value) for key, value in slide.items()} for slide in slides],
    }
    return (json.dumps(document, sort_keys=True, ensure_ascii=False, indent=1, allow_nan=False) + "\n").encode()


def jsonable(value: object) -> object:
    """A validated YAML value as JSON: dates and times become ISO 8601 text."""
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise ValueError(f"cannot be put in a manifest: {shown(value)}")


def published_at(data: bytes) -> dt.datetime | None:
    """A manifest's `generated_at` as an aware UTC time (None when absent or not a time with an offset or Z).

    For signed trees it is also the manifest's freshness: a board refuses one published before the
    manifest it accepted last (docs/protocol.md §4)."""
    try:
        value = json.loads(data).get("generated_at")
        when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (ValueError, UnicodeDecodeError, AttributeError, TypeError, RecursionError):
        return None
    return when.astimezone(dt.UTC) if when.tzinfo is not None else None


def content_of(data: bytes) -> dict | None:
    """A manifest's document without generated_at, to tell whether content changed; None if unreadable."""
    try:
        document = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(document, dict):
        return None
    document.pop("generated_at", None)
    return document


def decode(data: bytes, media_dir: Path, filename: str = FILENAME) -> programme.Programme:
    """Validate manifest bytes into a Programme whose MediaRefs point into `media_dir`.

    Any problem refuses the whole manifest (InvalidInput): the board then keeps
    the last good programme rather than guess what the publisher meant.
    """
    def refuse(path: str, message: str, line: int | None = None) -> InvalidInput:
        return InvalidInput([Problem(filename, line, path, message)])

    if len(data) > MAX_BYTES:
        raise refuse("", f"is {len(data)} bytes, more than the limit of {MAX_BYTES}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise refuse("", "is not UTF-8 text" + _looks_like(data)) from None
    try:
        document = json.loads(text, parse_constant=_no_constant)
    except RecursionError:
        raise refuse("", "is nested too deeply to be a manifest") from None
    except ValueError as exc:
        line = getattr(exc, "lineno", None)
        raise refuse("", f"is not valid JSON ({getattr(exc, 'msg', exc)}){_looks_like(data)}", line) from None
    if not isinstance(document, dict):
        raise refuse("", f"must be a JSON object with {', '.join(TOP_KEYS)}{_looks_like(data)}")
    problems = Problems(filename)
    for key in document:
        if key not in TOP_KEYS:
            problems.add(None, str(key), f"unknown key; a manifest has {', '.join(TOP_KEYS)}")
    fmt = document.get("format")
    if fmt != FORMAT or isinstance(fmt, bool):
        raise refuse("format", f"must be {FORMAT}, got {shown(fmt)} (this board understands format {FORMAT} only)")
    version = document.get("version")
    if not isinstance(version, str) or not VERSION.match(version):
        problems.add(None, "version", f"must be 1-64 characters of A-Z a-z 0-9 . _ : -, got {shown(version)}")
    generated = document.get("generated_at")
    if generated is not None and not isinstance(generated, str):
        problems.add(None, "generated_at", f"must be an ISO 8601 text, got {shown(generated)}")
    table = _media_table(document.get("media"), problems)
    raw_slides = document.get("slides")
    if not isinstance(raw_slides, list):
        problems.add(None, "slides", f"must be a list of slides, got {type(raw_slides).__name__}")
        raise InvalidInput(problems.items)

    def resolve(name: str, line: int | None, where: str, kind: str = "image") -> programme.MediaRef | None:
        entry = table.get(name)
        if entry is None:
            reason = check_name(name)
            problems.add(line, where, f"{name!r} {reason}" if reason else f"{name!r} is not in the media table")
            return None
        sha, size = entry
        return programme.MediaRef(sha256=sha, size=size, path=media_dir / sha, name=name)

    slides = programme.parse_document({"slides": raw_slides}, filename, problems, resolve)
    if problems:
        raise InvalidInput(problems.items)
    return programme.Programme(slides=slides, version=programme.version_of(slides))


def media_of(prog: programme.Programme) -> dict[str, int]:
    """The media files a programme needs: sha256 -> size."""
    return {s.image.sha256: s.image.size for s in prog.slides if s.image is not None}


def _media_table(raw: object, problems: Problems) -> dict[str, tuple[str, int]]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        problems.add(None, "media", f"must be an object of name -> {{sha256, size}}, got {type(raw).__name__}")
        return {}
    table: dict[str, tuple[str, int]] = {}
    for name, entry in raw.items():
        where = f"media[{name!r}]"
        reason = check_name(name)
        if reason:
            problems.add(None, where, f"name {reason}")
            continue
        if not isinstance(entry, dict) or set(entry) != {"sha256", "size"}:
            problems.add(None, where, "must be an object with exactly sha256 and size")
            continue
        sha, size = entry["sha256"], entry["size"]
        if not isinstance(sha, str) or not SHA256.match(sha):
            problems.add(None, f"{where}.sha256", f"must be 64 lowercase hex digits, got {shown(sha)}")
            continue
        if isinstance(size, bool) or not isinstance(size, int) or not 0 < size <= MAX_MEDIA_BYTES:
            problems.add(None, f"{where}.size", f"must be a whole number of bytes from 1 to {MAX_MEDIA_BYTES}")
            continue
        table[name] = (sha, size)
    return table


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not allowed")


def _looks_like(data: bytes) -> str:
    head = data[:200].lstrip().lower()
    if head.startswith((b"<!doctype", b"<html", b"<?xml", b"<")):
        return " (the server sent an HTML/XML page, perhaps an error page)"
    if not data.strip():
        return " (the answer was empty)"
    return ""
