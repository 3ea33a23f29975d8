"""manifest.json and manifest.v2.json: the programme as JSON, as a content tree serves it (docs/protocol.md).

Decoding is the network border: bytes from a server become a Programme only
through the same slide validation as programme.yaml (kiosk.programme), plus
checks of the document's shape, the media table and every name. Encoding is
canonical (sorted keys, UTF-8, fixed indentation) so that publishing
unchanged input gives identical bytes. Both are pure functions.

Two formats, because boards in the field do not all run the same version:

- Format 1 (manifest.json) is the 0.1.0 contract, frozen here as data (FORMAT1): its top-level keys, slide
  keys and the values of its enumerated keys. Whatever is not in FORMAT1 is format 2, with nothing to
  register: a new slide key or type added to kiosk.programme is format-2-only by being absent from it.
  Decoding format 1 is all or nothing, as it was in 0.1.0.
- Format 2 (manifest.v2.json) is forward compatible: what must be all or nothing still is (JSON structure,
  top-level types, the media table, slide ids), but a slide this board does not understand (an unknown
  type or key, a value that fails validation) is skipped and reported, and the rest plays; an unknown
  top-level key is ignored with a warning. A province that publishes one slide of a new kind must not
  blank the boards that have not been upgraded yet.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from kiosk.content import programme
from kiosk.i18n import _
from kiosk.problems import InvalidInput, Problem, Problems, shown
from kiosk.version import __version__

FORMAT = 2  # the format this board writes everything in (manifest.v2.json)
FORMATS = (1, 2)  # the formats this board reads
FILENAME = "manifest.json"  # format 1: every board since 0.1.0 reads it
FILENAME_V2 = "manifest.v2.json"  # format 2: boards from 0.2.0 ask for it first
MAX_BYTES = 4 * 1024 * 1024  # a thousand slides are well under 1 MB; more is a broken or hostile server
MAX_MEDIA_BYTES = 2 * 1024**3  # one file larger than this is not a bulletin-board image
MAX_NAME = 255
TOP_KEYS = ("format", "version", "generated_at", "media", "slides", "ticker")  # known at the top (format 2)
VERSION = re.compile(r"^[A-Za-z0-9._:-]{1,64}\Z")  # \Z: "$" would let a final newline in
SHA256 = re.compile(r"^[0-9a-f]{64}\Z")  # how media are named: the hex SHA-256 of their bytes


@dataclass(frozen=True)
class Frozen:
    """What a format may hold, as data: nothing outside it may appear in a manifest of that format."""

    top_keys: frozenset[str]
    slide_keys: frozenset[str]
    slide_types: frozenset[str]
    values: tuple[tuple[str, frozenset[str]], ...]  # slide keys whose every value is listed


# Format 1 exactly as kiosk 0.1.0 reads it. Never edit this: a 0.1.0 board refuses a whole manifest with a key
# it does not know, so manifest.json may hold only these. New keys, types and values go into kiosk.programme
# alone and are format 2 by not being here (tests/test_sync_formats.py checks this against 0.1.0's own code).
# A key listed here must never change meaning or grammar; a new meaning needs a new key.
FORMAT1 = Frozen(
    top_keys=frozenset({"format", "version", "generated_at", "media", "slides"}),
    slide_keys=frozenset({"id", "type", "title", "body", "file", "duration", "priority", "speak", "fit",
                          "valid_from", "valid_until", "once", "days", "monthdays", "hours"}),
    slide_types=frozenset({"text", "image"}),
    values=(("priority", frozenset({"normal", "priority", "emergency"})), ("fit", frozenset({"fit", "fill"}))),
)


def beyond_format1(slide: dict) -> list[str]:
    """What in a slide's fields a board before 0.2 does not know (empty: the slide is format 1).

    Such a slide is left out of manifest.json whole, never stripped of the key: without it, the slide could
    mean something else (a `link` slide shown as a plain text slide, a video as nothing)."""
    found = [f"`{key}`" for key in slide if key not in FORMAT1.slide_keys]
    kind = slide.get("type", programme.default_type(slide))
    if not isinstance(kind, str) or kind not in FORMAT1.slide_types:
        found.append(f"type `{shown(kind)}`" if not isinstance(kind, str) else f"type `{kind}`")
    for key, allowed in FORMAT1.values:
        value = slide.get(key)
        if value is not None and (not isinstance(value, str) or value not in allowed):
            found.append(f"{key} `{shown(value)}`")
    return found


def check_name(name: object) -> str | None:
    """Why a media name is unacceptable (None when it is fine): relative POSIX paths only, no '..'."""
    if not isinstance(name, str) or not name:
        return _("must be a non-empty text")
    if len(name) > MAX_NAME:
        return _("is longer than {most} characters").format(most=MAX_NAME)
    if any(ord(c) < 32 or c == "\\" for c in name):
        return _("must not contain control characters or backslashes")
    path = PurePosixPath(name)
    if path.is_absolute() or any(part in ("..", ".", "") for part in name.split("/")):
        return _("must be a relative path without '..', '.' or empty parts")
    return None


def encode(version: str, media: dict[str, tuple[str, int]], slides: list[dict], generated_at: str,
           fmt: int = FORMAT, extra: dict | None = None) -> bytes:
    """Canonical manifest bytes. `slides` are the authoring fields, already validated; `extra`: further
    top-level keys (format 2 only). Format 1 is refused anything a 0.1.0 board would refuse."""
    if fmt not in FORMATS:
        raise ValueError(f"format {fmt!r}: this code writes formats {', '.join(map(str, FORMATS))}")
    document = {
        "format": fmt,
        "version": version,
        "generated_at": generated_at,
        "media": {name: {"sha256": sha, "size": size} for name, (sha, size) in media.items()},
        "slides": [{key: jsonable(value) for key, value in slide.items()} for slide in slides],
    }
    for key, value in (extra or {}).items():
        if key in document:
            raise ValueError(f"{key!r} is a key of every manifest, not an extra one")
        document[key] = jsonable(value)
    if fmt == 1:
        beyond = [key for key in document if key not in FORMAT1.top_keys]
        beyond += [f"slides ({s.get('id')}): {', '.join(found)}" for s in slides if (found := beyond_format1(s))]
        if beyond:
            raise ValueError(f"not in format 1 (boards before 0.2 refuse it): {'; '.join(beyond)}")
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


def format_of(data: bytes) -> int | None:
    """The `format` a manifest says it is in (None when unreadable): for messages and status only."""
    try:
        fmt = json.loads(data).get("format")
    except (ValueError, UnicodeDecodeError, AttributeError, RecursionError):
        return None
    return fmt if isinstance(fmt, int) and not isinstance(fmt, bool) else None


def decode(data: bytes, media_dir: Path, filename: str = FILENAME) -> programme.Programme:
    """Validate manifest bytes into a Programme whose MediaRefs point into `media_dir`.

    Format 1: any problem refuses the whole manifest (InvalidInput), as in 0.1.0: the board then keeps the
    last good programme rather than guess what the publisher meant. Format 2: the same for the document,
    its media table and its slide ids; a slide this board cannot play is skipped and named in the
    Programme's warnings. The format is told by the `format` key, whichever file the bytes came from.
    """
    def refuse(path: str, message: str, line: int | None = None) -> InvalidInput:
        return InvalidInput([Problem(filename, line, path, message)])

    if len(data) > MAX_BYTES:
        raise refuse("", _("is {size} bytes, more than the limit of {most}").format(size=len(data), most=MAX_BYTES))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise refuse("", _("is not UTF-8 text{hint}").format(hint=_looks_like(data))) from None
    try:
        document = json.loads(text, parse_constant=_no_constant)
    except RecursionError:
        raise refuse("", _("is nested too deeply to be a manifest")) from None
    except ValueError as exc:
        line = getattr(exc, "lineno", None)
        raise refuse("", _("is not valid JSON ({reason}){hint}").format(reason=getattr(exc, "msg", exc),
                                                                        hint=_looks_like(data)), line) from None
    if not isinstance(document, dict):
        raise refuse("", _("must be a JSON object with {keys}{hint}").format(keys=", ".join(TOP_KEYS),
                                                                             hint=_looks_like(data)))
    fmt = document.get("format")
    if fmt not in FORMATS or isinstance(fmt, bool):
        known = _(" and ").join(map(str, FORMATS))
        raise refuse("format", _("must be {known}, got {value} (this board understands formats {known})").format(
            known=known, value=shown(fmt)))
    problems = Problems(filename)
    warnings: list[Problem] = []
    known_top = sorted(FORMAT1.top_keys) if fmt == 1 else TOP_KEYS
    for key in document:
        if key in known_top:
            continue
        if fmt == 1:
            problems.add(None, str(key), _("unknown key; a format 1 manifest has {keys}").format(
                keys=", ".join(TOP_KEYS)))
        else:  # a future `ticker`-like key must not blank a board: what it adds is simply not shown
            name = key if re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", key) else shown(key)[:80]
            warnings.append(Problem(filename, None, name, _("unknown key, ignored (published for newer boards: "
                                                            "upgrade kiosk to show it)")))
    version = document.get("version")
    if not isinstance(version, str) or not VERSION.match(version):
        problems.add(None, "version", _("must be 1-64 characters of A-Z a-z 0-9 . _ : -, got {value}").format(
            value=shown(version)))
    generated = document.get("generated_at")
    if generated is not None and not isinstance(generated, str):
        problems.add(None, "generated_at", _("must be an ISO 8601 text, got {value}").format(value=shown(generated)))
    table = _media_table(document.get("media"), problems)
    raw_slides = document.get("slides")
    if not isinstance(raw_slides, list):
        problems.add(None, "slides", _("must be a list of slides, got {kind}").format(kind=type(raw_slides).__name__))
        raise InvalidInput(problems.items)

    def resolver(found: Problems):
        def resolve(name: str, line: int | None, where: str, _kind: str = "image"
                    ) -> programme.MediaRef | None:
            entry = table.get(name)
            if entry is None:
                reason = check_name(name)
                found.add(line, where, f"{name!r} {reason}" if reason
                          else _("{name} is not in the media table").format(name=repr(name)))
                return None
            sha, size = entry
            return programme.MediaRef(sha256=sha, size=size, path=media_dir / sha, name=name)
        return resolve

    if fmt == 1:
        for index, raw in enumerate(raw_slides):
            if isinstance(raw, dict) and (beyond := beyond_format1(raw)):
                problems.add(None, f"slides[{index}]", _("{found} is not in format 1 (a format 1 manifest has only "
                                                         "what boards since 0.1.0 know; newer content goes in "
                                                         "format 2)").format(found=", ".join(beyond)))
        slides = programme.parse_document({"slides": raw_slides}, filename, problems, resolver(problems))
    else:
        slides = _tolerant_slides(raw_slides, filename, problems, warnings, resolver)
    if problems:
        raise InvalidInput(problems.items)
    ticker_problems = Problems(filename)  # a wrong ticker is left out, said; the slides play
    ticker = programme.parse_ticker(document, ticker_problems) if fmt != 1 else ()
    return programme.Programme(slides=slides, version=programme.version_of(slides, ticker), ticker=ticker,
                               warnings=tuple(warnings) + tuple(ticker_problems), format=fmt)


def _tolerant_slides(raw_slides: list, filename: str, problems: Problems, warnings: list[Problem],
                     resolver) -> tuple[programme.Slide, ...]:
    """Format 2's slides: ids are all or nothing (reports and schedules name slides by id, so a doubtful id
    is a broken manifest, not a slide to skip); every other problem skips its slide only."""
    seen: dict[str, int] = {}
    for index, raw in enumerate(raw_slides):
        if not isinstance(raw, dict):
            problems.add(None, f"slides[{index}]", _("must be an object (id, type, …), got {kind}").format(
                kind=type(raw).__name__))
            continue
        sid = raw.get("id")
        if not isinstance(sid, str) or not programme.SLIDE_ID.match(sid):
            problems.add(None, f"slides[{index}].id", _("{value} must be 1-64 characters of a-z, 0-9 and '-'").format(
                value=shown(sid)))
        elif sid in seen:
            problems.add(None, f"slides[{index}].id", _("{id} is already used by slides[{index}]").format(
                id=repr(sid), index=seen[sid]))
        else:
            seen[sid] = index
    if problems:
        return ()
    slides: list[programme.Slide] = []
    for index, raw in enumerate(raw_slides):
        where = f"slides[{index}] ({raw['id']})"
        unknown = [f"`{key}`" for key in raw if key not in programme.SLIDE_KEYS]
        kind = raw.get("type", programme.default_type(raw))
        if kind not in programme.TYPES:
            unknown.insert(0, f"type {shown(kind)}")
        if unknown:
            warnings.append(Problem(filename, None, where, _("uses {found}, which this board (kiosk {version}) does "
                                                             "not know: slide skipped").format(
                found=", ".join(unknown), version=__version__)))
            continue
        found = Problems(filename)
        slide = programme.parse_slide(raw, None, None, found, index, resolver(found))
        if slide is None or found:
            first = found.items[0] if found.items else Problem(filename, None, where, _("cannot be played"))
            more = _(" (and {more} more problems)").format(more=len(found.items) - 1) if len(found.items) > 1 else ""
            warnings.append(Problem(filename, None, first.path or where, _("{problem}{more}: slide skipped").format(
                problem=first.message, more=more)))
            continue
        slides.append(slide)
    if raw_slides and not slides:
        # Nothing left to play is not "the rest plays": keep the last good programme and say why, rather than
        # blank a board that is merely too old for everything published (the journal and the hub show it).
        first = warnings[-len(raw_slides)]
        more = _(" (and {more} more)").format(more=len(raw_slides) - 1) if len(raw_slides) > 1 else ""
        problems.add(None, first.path, _("{problem}{more}; no slide of this manifest can be played by this board, so "
                                         "none of it is taken").format(problem=first.message, more=more))
    return tuple(slides)


def media_of(prog: programme.Programme) -> dict[str, int]:
    """The media files a programme needs: sha256 -> size."""
    return {ref.sha256: ref.size for s in prog.slides for ref in (s.image, s.audio) if ref is not None}


def _media_table(raw: object, problems: Problems) -> dict[str, tuple[str, int]]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        problems.add(None, "media", _("must be an object of name -> {{sha256, size}}, got {kind}").format(
            kind=type(raw).__name__))
        return {}
    table: dict[str, tuple[str, int]] = {}
    for name, entry in raw.items():
        where = f"media[{name!r}]"
        reason = check_name(name)
        if reason:
            problems.add(None, where, _("name {reason}").format(reason=reason))
            continue
        if not isinstance(entry, dict) or set(entry) != {"sha256", "size"}:
            problems.add(None, where, _("must be an object with exactly sha256 and size"))
            continue
        sha, size = entry["sha256"], entry["size"]
        if not isinstance(sha, str) or not SHA256.match(sha):
            problems.add(None, f"{where}.sha256", _("must be 64 lowercase hex digits, got {value}").format(
                value=shown(sha)))
            continue
        if isinstance(size, bool) or not isinstance(size, int) or not 0 < size <= MAX_MEDIA_BYTES:
            problems.add(None, f"{where}.size", _("must be a whole number of bytes from 1 to {most}").format(
                most=MAX_MEDIA_BYTES))
            continue
        table[name] = (sha, size)
    return table


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not allowed")


def _looks_like(data: bytes) -> str:
    head = data[:200].lstrip().lower()
    if head.startswith((b"<!doctype", b"<html", b"<?xml", b"<")):
        return _(" (the server sent an HTML/XML page, perhaps an error page)")
    if not data.strip():
        return _(" (the answer was empty)")
    return ""
