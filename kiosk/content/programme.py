"""The programme: the validated list of slides a board plays.

Two borders build it: an authoring folder's programme.yaml (here) and a
synced manifest.json (kiosk.manifest). Everything downstream works on these
frozen objects only.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import re
import stat
import unicodedata
from dataclasses import dataclass, field, replace
from pathlib import Path

from kiosk import yamlfile
from kiosk.content import media, reading, video, windows
from kiosk.i18n import _
from kiosk.problems import InvalidInput, Problem, Problems, shown

SLIDE_ID = re.compile(r"^[a-z0-9-]{1,64}\Z")  # \Z, not $: "$" also matches before a final newline
TYPES = ("text", "image", "video", "document")
PRIORITIES = ("normal", "priority", "emergency")
FITS = ("fit", "fill")
MAX_DURATION = 3600
# A decree pasted whole is welcome (100,000 characters are some 150 pages at 1080p, drawn one at a time);
# beyond these the layout alone would keep the frame builder busy for seconds.
MAX_BODY = 200_000
MAX_TITLE = 1_000
PROGRAMME_FILE = "programme.yaml"
DOCUMENT_KEYS = ("slides", "ticker")
# The ticker scrolls at display.ticker_speed (120 px/s at 1080 lines): 2,000 characters already take some
# seven minutes to pass once. More is a document pasted in the wrong place, and would cost memory to draw.
MAX_TICKER = 2_000
MAX_TICKER_ITEMS = 50

SLIDE_KEYS = ("id", "type", "title", "body", "file", "pages", "translations", "duration", "priority", "speak",
              "fit", "link", "image", "audio") + windows.KEYS
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
    # an image slide's file:, a text slide's image: (beside or above the text), a video slide's video,
    # or a document slide's PDF
    image: MediaRef | None = None
    duration: float | None = 10.0  # None: a video slide lasts as long as its video
    priority: str = "normal"
    window: windows.Window = windows.ALWAYS
    speak: bool = False
    fit: str | None = None  # None: display.fit
    link: str | None = None  # a web address shown as a QR code with the slide (instead of feedback.url)
    audio: MediaRef | None = None  # a sound played while the slide shows (it stays until the sound ends)
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
    ticker: tuple[str, ...] = ()  # the top-level `ticker:` lines, scrolled in the band at the bottom


EMPTY = Programme(slides=(), version="empty")


def nfc(text: str) -> str:
    """Vietnamese typed on different keyboards arrives composed or decomposed; render one form."""
    return unicodedata.normalize("NFC", text)


def version_of(slides: tuple[Slide, ...], ticker: tuple[str, ...] = ()) -> str:
    def plain(slide: Slide) -> dict:
        w = slide.window
        return {
            "id": slide.id, "type": slide.type, "title": slide.title, "body": slide.body,
            "image": slide.image.sha256 if slide.image else None, "duration": slide.duration,
            "priority": slide.priority, "speak": slide.speak, "fit": slide.fit,
            "window": repr(w), **document_fields(slide),
            **({"translations": [list(t) for t in slide.translations]} if slide.translations else {}),
        } | ({"link": slide.link} if slide.link else {}) | ({"audio": slide.audio.sha256} if slide.audio else {})

    plains: list = [plain(s) for s in slides]
    if ticker:  # a programme without a ticker keeps the version it always had
        plains.append({"ticker": list(ticker)})
    blob = json.dumps(plains, ensure_ascii=False, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


# A QR code of version 10 (57 modules, error correction M) holds 213 bytes, still scannable from 1.5 m at
# the size the board draws it; a longer URL makes modules too small to read. Use a short link instead.
MAX_LINK = 200


def check_link(text: str) -> str:
    """A URL to show as a QR code (a slide's `link:`, feedback.url); ValueError saying what is wrong."""
    text = text.strip()
    if not re.match(r"^https?://[^/\s]+\S*\Z", text):
        raise ValueError(_("{value} is not an http:// or https:// URL (without spaces)").format(value=shown(text)))
    if len(text.encode()) > MAX_LINK:
        raise ValueError(_("has {size} bytes, at most {most}: too long for a QR code that can be scanned from the "
                           "board; use a shorter link").format(size=len(text.encode()), most=MAX_LINK))
    return text
def document_fields(slide: Slide) -> dict:
    """What a document slide adds to the version (nothing for other slides: their versions stay as they were)."""
    if slide.type != "document":
        return {}
    return {"pages": [list(p) for p in slide.pages], "auto_duration": slide.auto_duration}


def parse_translations(value: object) -> tuple[tuple[str, str, str], ...]:
    """`translations:` of a slide: {km: {title: …, body: …}, …}; ValueError saying what is wrong."""
    if not isinstance(value, dict) or not value:
        raise ValueError(_("must be a mapping of language code to title and body, like km: {{title: …}}; "
                           "got {value}").format(value=shown(value)))
    if len(value) > MAX_TRANSLATIONS:
        raise ValueError(_("has {count} languages, at most {most}").format(count=len(value), most=MAX_TRANSLATIONS))
    out = []
    for code, texts in value.items():
        if not isinstance(code, str) or not LANGUAGE.match(code):
            raise ValueError(_("{code} is not a language code (two or three lowercase letters: km, en)")
                             .format(code=shown(code)))
        if not isinstance(texts, dict) or not texts:
            raise ValueError(_("{code}: must be a mapping with title: and/or body:, got {value}")
                             .format(code=code, value=shown(texts)))
        unknown = [str(k) for k in texts if k not in ("title", "body")]
        if unknown:
            raise ValueError(_("{code}.{key}: unknown key; a translation has title and body")
                             .format(code=code, key=unknown[0]))
        try:
            title, body = _text(texts.get("title", "")), _text(texts.get("body", ""))
        except ValueError as exc:
            raise ValueError(f"{code}: {exc}") from None
        if len(title) > MAX_TITLE or len(body) > MAX_BODY:
            raise ValueError(_("{code}: at most {title} characters of title and {body} of body")
                             .format(code=code, title=f"{MAX_TITLE:,}", body=f"{MAX_BODY:,}"))
        if not title and not body:
            raise ValueError(_("{code}: a translation needs a title or a body").format(code=code))
        out.append((code, title, body))
    return tuple(out)


def parse_pages(value: object) -> tuple[tuple[int, int], ...]:
    """`pages:` of a document slide: 3, "1-3" or "1-3, 5, 8-10" (pages from 1); ValueError saying what is wrong."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(_('must be page numbers like "1-3" or "1, 4-6", got {value}').format(value=shown(value)))
    ranges = []
    for part in str(value).split(","):
        match = PAGES.match(part)
        if not match:
            raise ValueError(_('must be page numbers like "1-3" or "1, 4-6", got {value}').format(value=shown(value)))
        first = int(match.group(1))
        last = int(match.group(2) or first)
        if first < 1 or last < first:
            raise ValueError(_("{part}: pages count from 1, and a range goes upwards (like 2-5)")
                             .format(part=repr(part.strip())))
        if last - first >= media.MAX_PDF_SHOWN_PAGES:
            raise ValueError(_("{part}: at most {most} pages on one slide")
                             .format(part=repr(part.strip()), most=media.MAX_PDF_SHOWN_PAGES))
        ranges.append((first, last))
    return tuple(ranges)


def page_list(numbers) -> str:
    """Page numbers as an editor writes them in pages: (1-3, 7)."""
    parts: list[list[int]] = []
    for n in numbers:
        if parts and parts[-1][-1] == n - 1:
            parts[-1][1:] = [n]
        else:
            parts.append([n])
    return ", ".join("-".join(map(str, part)) for part in parts)


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
        raise ValueError(_("expected text"))
    return clean_text(str(value))


def default_type(raw: dict) -> str:
    """The type of a slide that has no type: a document for a PDF file:, a video for a video file:, a picture for
    another file:, else text."""
    if "file" not in raw:
        return "text"
    name = raw.get("file")
    if isinstance(name, str) and name.strip().lower().endswith(".pdf"):
        return "document"
    return "video" if isinstance(name, str) and name.strip().lower().endswith(video.SUFFIXES) else "image"


def parse_slide(raw: object, line: int, folder: Path | None, problems: Problems, index: int,
                resolve_media=None) -> Slide | None:
    """One slide from its YAML mapping; None (with problems) when it cannot play.

    `resolve_media(name, line, where)` returns a MediaRef or None; it is the
    only part that differs between an authoring folder and other sources.
    """
    where = f"slides[{index}]"
    if not isinstance(raw, dict):
        problems.add(line, where, _("expected a mapping (id:, type:, …)"))
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
            bad(key, _("unknown key; did you mean {key}?").format(key=repr(close[0])) if close
                else _("unknown key; known: {keys}").format(keys=", ".join(SLIDE_KEYS)))
    if sid is None:
        bad("id", _("is required (a-z, 0-9 and '-')"))
    elif not isinstance(sid, str) or not SLIDE_ID.match(sid):
        hint = _(" (YAML read it as a number: put it in quotes)") if isinstance(sid, (int, float)) else ""
        length = _(" and have at most 64 characters") if isinstance(sid, str) and len(sid) > 64 else ""
        bad("id", _("{value} must use only a-z, 0-9 and '-'").format(value=shown(sid)) + length + hint)
    kind = raw.get("type", default_type(raw))
    if kind not in TYPES:
        bad("type", _("must be text, image, video or document, got {value}").format(value=shown(kind)))
    title = body = ""
    try:
        title = _text(raw.get("title", ""))
        if len(title) > MAX_TITLE:
            raise ValueError(_("has {count} characters, at most {most}: put the rest in the body").format(
                count=f"{len(title):,}", most=f"{MAX_TITLE:,}"))
    except ValueError as exc:
        bad("title", str(exc))
    try:
        body = _text(raw.get("body", ""))
        if len(body) > MAX_BODY:
            raise ValueError(_("has {count} characters, at most {most} (some 300 pages): split it into several "
                               "slides").format(count=f"{len(body):,}", most=f"{MAX_BODY:,}"))
    except ValueError as exc:
        bad("body", str(exc))
    if kind == "text" and not title and not body and ok:
        bad("", _("a text slide needs a title or a body"))
    translations: tuple[tuple[str, str, str], ...] = ()
    if raw.get("translations") is not None:
        try:
            translations = parse_translations(raw["translations"])
        except ValueError as exc:
            bad("translations", str(exc))
    # A video lasts its own length unless duration says otherwise (then it loops, or is cut); a document
    # without duration holds each section as long as its text takes to read
    auto_duration = kind == "document" and raw.get("duration") is None
    duration = raw.get("duration", None if kind == "video" else 10)
    if duration is not None and (isinstance(duration, bool) or not isinstance(duration, (int, float))
                                 or not 1 <= duration <= MAX_DURATION):
        bad("duration", _("must be a number of seconds from 1 to {most}, got {value}").format(
            most=MAX_DURATION, value=shown(duration)))
        duration = 10
    priority = raw.get("priority", "normal")
    if priority not in PRIORITIES:
        bad("priority", _("must be one of {choices}, got {value}").format(choices=", ".join(PRIORITIES),
                                                                          value=shown(priority)))
    speak = raw.get("speak", False)
    if not isinstance(speak, bool):
        bad("speak", _("must be true or false, got {value}").format(value=shown(speak)))
    fit = raw.get("fit")
    if fit is not None and fit not in FITS:
        bad("fit", _("must be fit or fill, got {value}").format(value=shown(fit)))
    link = raw.get("link")
    if link is not None:
        try:
            link = check_link(link) if isinstance(link, str) else _not_text(link)
        except ValueError as exc:
            bad("link", str(exc))
            link = None
    when = windows.parse(raw, line_of, problems, where)
    if when is None:
        ok = False
    image = None
    if kind == "text" and raw.get("file") is not None:
        bad("file", _("is for image and video slides (and documents): remove it, or write type: image, type: video "
                      "or type: document"))
    if kind == "text" and raw.get("image") is not None:
        image = _picture(raw.get("image"), ok, resolve_media, line_of, where, bad)
        if image is None and resolve_media is not None:
            ok = False
    audio = None
    if raw.get("audio") is not None:
        name = raw.get("audio")
        if not isinstance(name, str) or not name.strip():
            bad("audio", _("must be a path inside the folder (a {formats} file)").format(formats=media.AUDIO_FORMATS))
        elif ok and resolve_media is not None:
            audio = resolve_media(name.strip(), line_of("audio"), f"{where}.audio", "audio")
            if audio is None:
                ok = False
    if kind in ("image", "video", "document") and raw.get("image") is not None:
        bad("image", {"image": _("is for a picture beside a text; an image slide's own file is file:"),
                      "video": _("is for a picture beside a text; a video slide's own file is file:"),
                      "document": _("is for a picture beside a text; a document slide's own file is file:")}[kind])
    pages: tuple[tuple[int, int], ...] = ()
    if raw.get("pages") is not None:
        if kind != "document":
            bad("pages", _("is for document slides (type: document, file: a PDF)"))
        else:
            try:
                pages = parse_pages(raw["pages"])
            except ValueError as exc:
                bad("pages", str(exc))
    if kind in ("image", "video", "document"):
        name = raw.get("file")
        if not isinstance(name, str) or not name.strip():
            bad("file", _("an image slide needs file: (a path inside the folder)") if kind == "image" else
                _("a video slide needs file: (an MP4, MKV or WebM file inside the folder)") if kind == "video" else
                _("a document slide needs file: (a PDF inside the folder)"))
        elif ok and resolve_media is not None:
            image = resolve_media(name.strip(), line_of("file"), f"{where}.file", kind)
            if image is None:
                ok = False
    if not ok:
        return None
    return Slide(
        id=sid, type=kind, title=title, body=body, image=image,
        duration=float(duration) if duration is not None else None,
        priority=priority, window=when, speak=speak, fit=fit, link=link, audio=audio,
        pages=pages, auto_duration=auto_duration, translations=translations,
    )


def _picture(name: object, ok: bool, resolve_media, line_of, where: str, bad) -> MediaRef | None:
    """A text slide's `image:`, resolved like an image slide's file:."""
    if not isinstance(name, str) or not name.strip():
        bad("image", _("must be a path inside the folder (a picture to show beside the text)"))
        return None
    if not ok or resolve_media is None:
        return None
    return resolve_media(name.strip(), line_of("image"), f"{where}.image")


def _not_text(value: object) -> str:
    raise ValueError(_("must be a web address (http:// or https://), got {value}").format(value=shown(value)))


def folder_media(folder: Path, problems: Problems, memo: media.Memo | None = None):
    """A media resolver for an authoring folder: files must stay inside it. `memo` remembers the hash and
    header of files already read (a republish or a reload reads only what changed)."""
    root = folder.resolve()
    memo = memo or media.Memo(root=root)
    hashes: dict[Path, MediaRef] = {}
    folders: dict[str, Path] = {"": root}  # each folder named in the programme, resolved once

    def real(name: str) -> Path:
        """(root / name).resolve(), with each folder resolved once: resolving walks and stats every
        component of the path, which for 1,000 pictures was most of a republish."""
        head, _, tail = name.rpartition("/")
        if tail in ("", ".", ".."):
            return (root / name).resolve()
        parent = folders.get(head)
        if parent is None:
            parent = folders[head] = (root / head).resolve()
        candidate = parent / tail
        try:
            if stat.S_ISLNK(os.lstat(candidate).st_mode):
                return candidate.resolve()
        except OSError:
            pass  # missing: said below
        return candidate

    def resolve(name: str, line: int, where: str, kind: str = "image") -> MediaRef | None:
        candidate = real(name)
        if Path(name).is_absolute() or not candidate.is_relative_to(root):
            problems.add(line, where, _("{name} must be a path inside the folder {folder}").format(
                name=shown(name), folder=repr(str(root))))
            return None
        if not candidate.is_file():
            problems.add(line, where, _("file {name} not found in {folder}").format(name=shown(name),
                                                                                   folder=repr(str(root))))
            return None
        try:
            if kind == "audio":
                media.probe_audio(candidate)
            elif kind == "video":
                video.remembered(memo, candidate)
            elif kind == "document":
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
        raise InvalidInput([Problem(filename, 1, "slides", _("programme.yaml must have slides: (a list of slides)"))])
    line_of = data.line_of if isinstance(data, yamlfile.LineDict) else (lambda _k: 1)
    for key in data:
        if key not in DOCUMENT_KEYS:
            problems.add(line_of(key), str(key), _("unknown key; programme.yaml has {keys}").format(
                keys=", ".join(DOCUMENT_KEYS)))
    raw_slides = data["slides"]
    if raw_slides is None:
        raw_slides = []
    if not isinstance(raw_slides, list):
        raise InvalidInput([Problem(filename, line_of("slides"), "slides", _("must be a list of slides"))])
    slides: list[Slide] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(raw_slides):
        line = raw_slides.line_of(index) if isinstance(raw_slides, yamlfile.LineList) else None
        slide = parse_slide(raw, line, None, problems, index, resolve_media)
        if slide is None:
            continue
        if slide.id in seen:
            problems.add(line, f"slides[{index}].id", _("{id} is already used by slides[{index}]").format(
                id=repr(slide.id), index=seen[slide.id]))
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
    ticker = parse_ticker(data, problems)
    return Programme(slides=slides, version=version_of(slides, ticker), warnings=tuple(problems),
                     ticker=ticker), data


def parse_ticker(data: object, problems: Problems) -> tuple[str, ...]:
    """The top-level `ticker:` (a text or a list of texts) as its lines; () with a problem when it is wrong:
    the slides play without a ticker rather than not at all."""
    raw = data.get("ticker") if isinstance(data, dict) else None
    if raw is None:
        return ()
    line = data.line_of("ticker") if isinstance(data, yamlfile.LineDict) else None
    items = raw if isinstance(raw, list) else [raw]
    if len(items) > MAX_TICKER_ITEMS:
        problems.add(line, "ticker", _("has {count} items, at most {most}; the ticker is left out").format(
            count=len(items), most=MAX_TICKER_ITEMS))
        return ()
    lines: list[str] = []
    for index, item in enumerate(items):
        where = f"ticker[{index}]" if isinstance(raw, list) else "ticker"
        try:
            text = " ".join(_text(item).split())  # one line: it scrolls
        except ValueError as exc:
            problems.add(line, where, _("{problem}; the ticker is left out").format(problem=exc))
            return ()
        if text:
            lines.append(text)
    total = sum(len(t) for t in lines)
    if total > MAX_TICKER:
        problems.add(line, "ticker", _("has {count} characters, at most {most} (it would take {minutes} minutes to "
                                       "pass once): shorten it, or make it a slide; the ticker is left out").format(
            count=f"{total:,}", most=f"{MAX_TICKER:,}", minutes=f"{total * 26 / 120 / 60:.0f}"))
        return ()
    return tuple(lines)


@dataclass(frozen=True)
class FolderCheck:
    """What an authoring folder holds, and everything wrong with it, the way a board would meet it."""

    programme: Programme
    raw: object  # the parsed programme.yaml
    # Each error is something lost: a slide (or the whole folder) off the screen, the ticker left out, a key
    # the board ignores. `kiosk publish` refuses on any of them and `kiosk check-config` exits 2: the two agree.
    errors: tuple[Problem, ...]
    # The folder plays and publishes as it is, but the editor should know: pages flipping too fast to read,
    # blank PDF pages skipped. `kiosk publish` says them and goes on; `kiosk check-config` exits 0.
    warnings: tuple[Problem, ...]
    not_playing: tuple[str, ...]  # the slides that will not play: their ids, or slides[N] where the id is bad

    @property
    def problems(self) -> list[Problem]:
        """Errors in the order the file was read (the files' opening comes last), then the warnings."""
        return [*self.programme.warnings, *(p for p in self.errors if p not in self.programme.warnings),
                *self.warnings]


def check_folder(folder: Path, memo: media.Memo | None = None, open_document=None) -> FolderCheck:
    """The one check of an authoring folder: programme.yaml and every file it names, pictures decoded whole.

    `kiosk publish` refuses on any error, `kiosk check-config` and `kiosk render` list them; so the three
    never disagree about a folder. `open_document(path, pages)` (source.document.probe, passed by the three:
    content does not import source) opens a document's PDF whole and returns what it found (its `blank`
    pages, skipped); ValueError when it cannot be shown, media.PagesError when `pages:` is what is wrong.
    Raises InvalidInput when programme.yaml itself cannot be read."""
    memo = memo or media.Memo(root=folder.resolve())
    prog, raw = read_folder(folder, memo)
    filename = str(folder / PROGRAMME_FILE)
    errors = list(prog.warnings)  # the slides, the ticker, the keys reading left out
    warnings: list[Problem] = []
    raw_slides = raw.get("slides") if isinstance(raw, dict) else None
    raw_slides = raw_slides if isinstance(raw_slides, list) else []
    kept = []
    for slide in prog.slides:
        fields = next((f for f in raw_slides if isinstance(f, dict) and f.get("id") == slide.id), None)
        line_of = fields.line_of if isinstance(fields, yamlfile.LineDict) else (lambda _key: None)
        warnings += reading_warnings(slide, filename, line_of)
        # a video was probed whole when it was read; a document's PDF is opened whole by source.document
        if slide.image is None or slide.type == "video" or (slide.type == "document" and open_document is None):
            kept.append(slide)
            continue
        key = "image" if slide.type == "text" else "file"  # a text slide's picture is its image:
        try:
            if slide.type == "document":
                blank = getattr(open_document(slide.image.path, slide.pages), "blank", ())
                if blank:
                    warnings.append(Problem(filename, line_of("pages" if slide.pages else "file"),
                                            f"slides ({slide.id}).{'pages' if slide.pages else 'file'}",
                                            f"{slide.image.name}: " + _("blank pages are not shown: {pages}")
                                            .format(pages=page_list(blank))))
            else:
                memo.check_decodes(slide.image.path)
        except ValueError as exc:
            if isinstance(exc, media.PagesError):  # the PDF is fine; pages: asks for what it does not hold
                key = "pages"
            errors.append(Problem(filename, line_of(key), f"slides ({slide.id}).{key}", f"{slide.image.name}: {exc}"))
            continue
        kept.append(slide)
    playing = {s.id for s in kept}
    not_playing = []
    for index, fields in enumerate(raw_slides):
        sid = fields.get("id") if isinstance(fields, dict) else None
        if isinstance(sid, str) and SLIDE_ID.match(sid):
            if sid not in playing:
                not_playing.append(sid)
            else:
                playing.discard(sid)  # a second slide with this id does not play
        else:
            not_playing.append(f"slides[{index}]")
    if len(kept) != len(prog.slides):
        prog = replace(prog, slides=tuple(kept), version=version_of(tuple(kept), prog.ticker))
    return FolderCheck(prog, raw, tuple(errors), tuple(warnings), tuple(not_playing))


def reading_warnings(slide: Slide, filename: str, line_of) -> list[Problem]:
    """A text slide whose body (or a translation's) needs more pages than its duration gives time to read
    (kiosk.content.reading: the duration is kept, the editor is told). A spoken slide is exempt: its slot
    lasts as long as the text is read aloud."""
    if slide.type != "text" or slide.speak or slide.duration is None:
        return []
    texts = [("body", "body", slide.body)] + [(f"translations.{code}", "translations", body)
                                              for code, _title, body in slide.translations]
    out = []
    for path, key, body in texts:
        fast = reading.too_fast(len(body), slide.duration)
        if fast is not None:
            out.append(Problem(filename, line_of(key), f"slides ({slide.id}).{path}", _(
                "about {pages} pages of text share its {duration} s ({seconds} s a page): too fast to read; give "
                "it duration: {needed} or more, or split the text into several slides").format(
                    pages=fast.pages, duration=f"{slide.duration:g}", seconds=f"{fast.seconds:.1f}",
                    needed=fast.needed)))
    return out
