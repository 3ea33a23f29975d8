"""The programme: the validated list of slides a board plays.

Two borders build it: an authoring folder's programme.yaml (here) and a
synced manifest.json (kiosk.manifest). Everything downstream works on these
frozen objects only.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from kiosk import yamlfile
from kiosk.content import media, windows
from kiosk.problems import InvalidInput, Problem, Problems, shown

SLIDE_ID = re.compile(r"^[a-z0-9-]{1,64}\Z")  # \Z, not $: "$" also matches before a final newline
TYPES = ("text", "image", "document")
PRIORITIES = ("normal", "priority", "emergency")
FITS = ("fit", "fill")
MAX_DURATION = 3600
# A decree pasted whole is welcome (100,000 characters are some 150 pages at 1080p, drawn one at a time);
# beyond these the layout alone would keep the frame builder busy for seconds.
MAX_BODY = 200_000
MAX_TITLE = 1_000
PROGRAMME_FILE = "programme.yaml"

SLIDE_KEYS = ("id", "type", "title", "body", "file", "pages", "translations", "duration", "priority", "speak",
              "fit") + windows.KEYS
LANGUAGE = re.compile(r"^[a-z]{2,3}\Z")  # ISO 639 codes, as in display.languages (kiosk.config)
MAX_TRANSLATIONS = 8
PAGES = re.compile(r"^\s*(\d{1,5})\s*(?:-\s*(\d{1,5})\s*)?\Z")  # one part of pages: "3" or "1-3"


@dataclass(frozen=True)
class MediaRef:
    sha256: str
    size: int
    path: Path  # where the verified bytes are on this device
    name: str  # as the editor wrote it, for messages


@dataclass(frozen=True)
class Slide:
    id: str
    type: str
    title: str = ""
    body: str = ""
    image: MediaRef | None = None  # the slide's file: a picture, or a document's PDF
    duration: float = 10.0
    priority: str = "normal"
    window: windows.Window = windows.ALWAYS
    speak: bool = False
    fit: str | None = None  # None: display.fit
    pages: tuple[tuple[int, int], ...] = ()  # a document's pages to show, as ranges from 1; (): all of them
    auto_duration: bool = False  # a document without duration: each section held as long as its text takes
    translations: tuple[tuple[str, str, str], ...] = ()  # (language, title, body), as display.languages shows them

    def translation(self, language: str) -> tuple[str, str] | None:
        """(title, body) in `language`, or None when the slide has none in it."""
        return next(((t, b) for code, t, b in self.translations if code == language), None)


@dataclass(frozen=True)
class Programme:
    slides: tuple[Slide, ...]
    version: str  # a digest of everything that affects what is shown
    warnings: tuple[Problem, ...] = field(default=(), compare=False)
    format: int | None = field(default=None, compare=False)  # the manifest format it was read from; None: a folder


EMPTY = Programme(slides=(), version="empty")


def nfc(text: str) -> str:
    """Vietnamese typed on different keyboards arrives composed or decomposed; render one form."""
    return unicodedata.normalize("NFC", text)


def version_of(slides: tuple[Slide, ...]) -> str:
    def plain(slide: Slide) -> dict:
        w = slide.window
        return {
            "id": slide.id, "type": slide.type, "title": slide.title, "body": slide.body,
            "image": slide.image.sha256 if slide.image else None, "duration": slide.duration,
            "priority": slide.priority, "speak": slide.speak, "fit": slide.fit,
            "window": repr(w), **document_fields(slide),
            **({"translations": [list(t) for t in slide.translations]} if slide.translations else {}),
        }

    blob = json.dumps([plain(s) for s in slides], ensure_ascii=False, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def document_fields(slide: Slide) -> dict:
    """What a document slide adds to the version (nothing for other slides: their versions stay as they were)."""
    if slide.type != "document":
        return {}
    return {"pages": [list(p) for p in slide.pages], "auto_duration": slide.auto_duration}


def parse_translations(value: object) -> tuple[tuple[str, str, str], ...]:
    """`translations:` of a slide: {km: {title: …, body: …}, …}; ValueError saying what is wrong."""
    if not isinstance(value, dict) or not value:
        raise ValueError(f"must be a mapping of language code to title and body, like km: {{title: …}}; "
                         f"got {shown(value)}")
    if len(value) > MAX_TRANSLATIONS:
        raise ValueError(f"has {len(value)} languages, at most {MAX_TRANSLATIONS}")
    out = []
    for code, texts in value.items():
        if not isinstance(code, str) or not LANGUAGE.match(code):
            raise ValueError(f"{shown(code)} is not a language code (two or three lowercase letters: km, en)")
        if not isinstance(texts, dict) or not texts:
            raise ValueError(f"{code}: must be a mapping with title: and/or body:, got {shown(texts)}")
        unknown = [str(k) for k in texts if k not in ("title", "body")]
        if unknown:
            raise ValueError(f"{code}.{unknown[0]}: unknown key; a translation has title and body")
        try:
            title, body = _text(texts.get("title", "")), _text(texts.get("body", ""))
        except ValueError as exc:
            raise ValueError(f"{code}: {exc}") from None
        if len(title) > MAX_TITLE or len(body) > MAX_BODY:
            raise ValueError(f"{code}: at most {MAX_TITLE:,} characters of title and {MAX_BODY:,} of body")
        if not title and not body:
            raise ValueError(f"{code}: a translation needs a title or a body")
        out.append((code, title, body))
    return tuple(out)


def parse_pages(value: object) -> tuple[tuple[int, int], ...]:
    """`pages:` of a document slide: 3, "1-3" or "1-3, 5, 8-10" (pages from 1); ValueError saying what is wrong."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(f'must be page numbers like "1-3" or "1, 4-6", got {shown(value)}')
    ranges = []
    for part in str(value).split(","):
        match = PAGES.match(part)
        if not match:
            raise ValueError(f'must be page numbers like "1-3" or "1, 4-6", got {shown(value)}')
        first = int(match.group(1))
        last = int(match.group(2) or first)
        if first < 1 or last < first:
            raise ValueError(f"{part.strip()!r}: pages count from 1, and a range goes upwards (like 2-5)")
        if last - first >= media.MAX_PDF_SHOWN_PAGES:
            raise ValueError(f"{part.strip()!r}: at most {media.MAX_PDF_SHOWN_PAGES} pages on one slide")
        ranges.append((first, last))
    return tuple(ranges)


# ZERO WIDTH SPACE marks where a line may break in scripts written without spaces (Khmer, Thai, Lao,
# Myanmar), and the joiners choose letter forms: they stay in such text (and only there).
_KEPT_FORMAT = ("\u200b", "\u200c", "\u200d")
_NO_SPACE_BLOCKS = ((0x0E00, 0x0EFF), (0x1000, 0x109F), (0x1780, 0x17FF), (0x19E0, 0x19FF))


def _needs_joiners(text: str) -> bool:
    return any(lo <= ord(ch) <= hi for ch in text if ord(ch) >= 0x0E00 for lo, hi in _NO_SPACE_BLOCKS)


def clean_text(text: str) -> str:
    """NFC, without the invisible characters that pasting from Word or the web brings (zero-width spaces,
    BOMs, control codes): they draw nothing, or boxes. Line breaks stay; tabs become spaces."""
    kept = []
    text = nfc(text)
    joiners = _KEPT_FORMAT if _needs_joiners(text) else ()
    for ch in text:
        if ch in joiners:
            kept.append(ch)
        elif ch == "\n":
            kept.append(ch)
        elif ch == "\t":
            kept.append(" ")
        elif unicodedata.category(ch)[0] != "C" and ch != "\u00ad":
            kept.append(ch)
    return "\n".join(line.rstrip() for line in "".join(kept).split("\n")).strip()


def _text(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError("expected text")
    return clean_text(str(value))


def default_type(raw: dict) -> str:
    """The type of a slide that has no type: a document for a PDF file:, a picture for another file:, else text."""
    if "file" not in raw:
        return "text"
    name = raw.get("file")
    return "document" if isinstance(name, str) and name.strip().lower().endswith(".pdf") else "image"


def parse_slide(raw: object, line: int, folder: Path | None, problems: Problems, index: int,
                resolve_media=None) -> Slide | None:
    """One slide from its YAML mapping; None (with problems) when it cannot play.

    `resolve_media(name, line, where)` returns a MediaRef or None; it is the
    only part that differs between an authoring folder and other sources.
    """
    where = f"slides[{index}]"
    if not isinstance(raw, dict):
        problems.add(line, where, "expected a mapping (id:, type:, …)")
        return None
    line_of = raw.line_of if isinstance(raw, yamlfile.LineDict) else (lambda _k: line)
    sid = raw.get("id")
    if isinstance(sid, str) and SLIDE_ID.match(sid):
        where = f"slides[{index}] ({sid})"
    ok = True

    def bad(key: str, message: str) -> None:
        nonlocal ok
        ok = False
        problems.add(line_of(key), f"{where}.{key}" if key else where, message)

    for key in raw:
        if key not in SLIDE_KEYS:
            close = difflib.get_close_matches(str(key), SLIDE_KEYS, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; known: {', '.join(SLIDE_KEYS)}"
            bad(key, "unknown key" + hint)
    if sid is None:
        bad("id", "is required (a-z, 0-9 and '-')")
    elif not isinstance(sid, str) or not SLIDE_ID.match(sid):
        hint = " (YAML read it as a number: put it in quotes)" if isinstance(sid, (int, float)) else ""
        length = " and have at most 64 characters" if isinstance(sid, str) and len(sid) > 64 else ""
        bad("id", f"{shown(sid)} must use only a-z, 0-9 and '-'{length}{hint}")
    kind = raw.get("type", default_type(raw))
    if kind not in TYPES:
        bad("type", f"must be text, image or document, got {shown(kind)}")
    title = body = ""
    try:
        title = _text(raw.get("title", ""))
        if len(title) > MAX_TITLE:
            raise ValueError(f"has {len(title):,} characters, at most {MAX_TITLE:,}: put the rest in the body")
    except ValueError as exc:
        bad("title", str(exc))
    try:
        body = _text(raw.get("body", ""))
        if len(body) > MAX_BODY:
            raise ValueError(f"has {len(body):,} characters, at most {MAX_BODY:,} (some 300 pages): "
                             "split it into several slides")
    except ValueError as exc:
        bad("body", str(exc))
    if kind == "text" and not title and not body and ok:
        bad("", "a text slide needs a title or a body")
    translations: tuple[tuple[str, str, str], ...] = ()
    if raw.get("translations") is not None:
        try:
            translations = parse_translations(raw["translations"])
        except ValueError as exc:
            bad("translations", str(exc))
    auto_duration = kind == "document" and raw.get("duration") is None
    duration = raw.get("duration", 10)
    if isinstance(duration, bool) or not isinstance(duration, (int, float)) or not 1 <= duration <= MAX_DURATION:
        bad("duration", f"must be a number of seconds from 1 to {MAX_DURATION}, got {shown(duration)}")
        duration = 10
    priority = raw.get("priority", "normal")
    if priority not in PRIORITIES:
        bad("priority", f"must be one of {', '.join(PRIORITIES)}, got {shown(priority)}")
    speak = raw.get("speak", False)
    if not isinstance(speak, bool):
        bad("speak", f"must be true or false, got {shown(speak)}")
    fit = raw.get("fit")
    if fit is not None and fit not in FITS:
        bad("fit", f"must be fit or fill, got {shown(fit)}")
    when = windows.parse(raw, line_of, problems, where)
    if when is None:
        ok = False
    image = None
    if kind == "text" and raw.get("file") is not None:
        bad("file", "is for image slides: remove it, or write type: image")
    pages: tuple[tuple[int, int], ...] = ()
    if raw.get("pages") is not None:
        if kind != "document":
            bad("pages", "is for document slides (type: document, file: a PDF)")
        else:
            try:
                pages = parse_pages(raw["pages"])
            except ValueError as exc:
                bad("pages", str(exc))
    if kind in ("image", "document"):
        name = raw.get("file")
        if not isinstance(name, str) or not name.strip():
            bad("file", f"an {kind} slide needs file: (a path inside the folder)" if kind == "image" else
                "a document slide needs file: (a PDF inside the folder)")
        elif ok and resolve_media is not None:
            image = resolve_media(name.strip(), line_of("file"), f"{where}.file", kind=kind)
            if image is None:
                ok = False
    if not ok:
        return None
    return Slide(
        id=sid, type=kind, title=title, body=body, image=image, duration=float(duration),
        priority=priority, window=when, speak=speak, fit=fit, pages=pages, auto_duration=auto_duration,
        translations=translations,
    )


def folder_media(folder: Path, problems: Problems, memo: media.Memo | None = None):
    """A media resolver for an authoring folder: files must stay inside it. `memo` remembers the hash and
    header of files already read (a republish or a reload reads only what changed)."""
    root = folder.resolve()
    memo = memo or media.Memo(root=root)
    hashes: dict[Path, MediaRef] = {}

    def resolve(name: str, line: int, where: str, kind: str = "image") -> MediaRef | None:
        candidate = (root / name).resolve()
        if Path(name).is_absolute() or not candidate.is_relative_to(root):
            problems.add(line, where, f"{shown(name)} must be a path inside the folder {str(root)!r}")
            return None
        if not candidate.is_file():
            problems.add(line, where, f"file {shown(name)} not found in {str(root)!r}")
            return None
        try:
            if kind == "document":
                media.check_pdf(candidate)
            else:
                memo.probe(candidate)
        except ValueError as exc:
            problems.add(line, where, f"{name}: {exc}")
            return None
        if candidate not in hashes:
            hashes[candidate] = MediaRef(memo.sha256(candidate), candidate.stat().st_size, candidate, name)
        return hashes[candidate]

    return resolve


def parse_document(data: object, filename: str, problems: Problems, resolve_media) -> tuple[Slide, ...]:
    """The slides of a programme document; whole-document errors raise InvalidInput."""
    if not isinstance(data, dict) or "slides" not in data:
        raise InvalidInput([Problem(filename, 1, "slides", "programme.yaml must have slides: (a list of slides)")])
    line_of = data.line_of if isinstance(data, yamlfile.LineDict) else (lambda _k: 1)
    for key in data:
        if key != "slides":
            problems.add(line_of(key), str(key), "unknown key; programme.yaml has only slides:")
    raw_slides = data["slides"]
    if raw_slides is None:
        raw_slides = []
    if not isinstance(raw_slides, list):
        raise InvalidInput([Problem(filename, line_of("slides"), "slides", "must be a list of slides")])
    slides: list[Slide] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(raw_slides):
        line = raw_slides.line_of(index) if isinstance(raw_slides, yamlfile.LineList) else None
        slide = parse_slide(raw, line, None, problems, index, resolve_media)
        if slide is None:
            continue
        if slide.id in seen:
            problems.add(line, f"slides[{index}].id", f"{slide.id!r} is already used by slides[{seen[slide.id]}]")
            continue
        seen[slide.id] = index
        slides.append(slide)
    return tuple(slides)


def load_folder(folder: Path, memo: media.Memo | None = None) -> Programme:
    """An authoring folder as a Programme; bad slides are left out and listed in warnings.

    Raises InvalidInput when the folder as a whole cannot be read.
    """
    return read_folder(folder, memo)[0]


def read_folder(folder: Path, memo: media.Memo | None = None) -> tuple[Programme, object]:
    """load_folder, and the parsed programme.yaml it came from (kiosk publish copies its fields)."""
    path = folder / PROGRAMME_FILE
    try:
        data = yamlfile.load(path)
    except yamlfile.YamlError as exc:
        raise InvalidInput([exc.problem]) from None
    problems = Problems(str(path))
    slides = parse_document(data, str(path), problems, folder_media(folder, problems, memo))
    return Programme(slides=slides, version=version_of(slides), warnings=tuple(problems)), data
