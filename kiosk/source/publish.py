"""`kiosk publish SRC OUT [--key FILE]`: an authoring folder becomes a static content tree.

Two manifests, one publication: manifest.v2.json (format 2) holds everything, manifest.json (format 1) what
a board before 0.2 reads, which is every slide that uses nothing outside format 1 (kiosk.content.manifest's
FORMAT1). A slide that does is left out of manifest.json whole, and publish says so, naming it: stripping the
key instead would change what the slide means. Both share the media files and one generated_at, so a
board's freshness check holds across the two names. One tree serves every generation of boards.

OUT is meant to be served live by a web server while we write it, so the
order matters: media first (each by rename), then each manifest followed by
its signature. Re-publishing unchanged input changes no byte on disk. Media the
new manifest no longer references stay for GRACE_SECONDS, so a board that is
half-way through a slow sync of the previous manifest does not meet 404s.

Pictures are hashed and decoded once: what was learnt about each file (its
SHA-256, header, that it decodes whole) is remembered against its size,
times and inode in the publishing user's cache (~/.cache/kiosk/publish/, not
in OUT: those facts belong to this machine's copy of SRC, and OUT is served
to everyone), so republishing a thousand unchanged pictures reads none of them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from kiosk import durable
from kiosk.content import manifest, programme
from kiosk.content import media as mediamod
from kiosk.i18n import _
from kiosk.problems import InvalidInput, Problem
from kiosk.source import document, signing

GRACE_SECONDS = 7 * 24 * 3600
STATE_FILE = ".kiosk-publish.json"  # when each unreferenced media file was first seen unreferenced
SIG_FILE = manifest.FILENAME + ".sig"
SIG_FILE_V2 = manifest.FILENAME_V2 + ".sig"
MEMO_VERSION = 1


def publish(src: Path, out: Path, key: Path | None, now: float | None = None) -> str:
    """Validate SRC like `source.path` would, write the content tree to OUT; return a summary line."""
    now = time.time() if now is None else now
    private = signing.load_private_key(key) if key is not None else None
    if out.resolve().is_relative_to(src.resolve()):
        raise InvalidInput([Problem(str(out), None, "OUT", _("must be outside the authoring folder {folder}: "
                                                             "everything in OUT is served to the boards").format(
                                                                 folder=repr(str(src))))])
    memo_path = _memo_path(src)
    memo = mediamod.Memo(_read_memo(memo_path), root=src)
    checked = programme.check_folder(src, memo, open_document=document.probe)
    if checked.errors:  # what check-config calls an error, and only that: the two never disagree
        raise InvalidInput([p for p in checked.problems if p in checked.errors])
    prog, raw = checked.programme, checked.raw
    _write_memo(memo_path, memo)
    for warning in checked.warnings:  # it publishes, and plays, as it is
        print(Problem(warning.file, warning.line, warning.path, f"{_('warning:')} {warning.message}"), file=sys.stderr)
    for note in caption_warnings(prog):
        print(f"warning: {note}", file=sys.stderr)
    media: dict[str, tuple[str, int]] = {}
    sources: dict[str, Path] = {}
    slides: list[dict] = []
    by_id = {s.id: s for s in prog.slides}
    root = src.resolve()
    for fields in raw["slides"] or []:
        slide = by_id[fields["id"]]
        out_fields = {k: v for k, v in fields.items() if v is not None}
        out_fields["type"] = slide.type
        out_fields.pop("file", None)
        out_fields.pop("image", None)
        if slide.image is not None:
            key = "image" if slide.type == "text" else "file"  # a text slide's picture is its image:
            name = slide.image.path.relative_to(root).as_posix()  # the resolver gave it resolved
            if manifest.check_name(name):
                raise InvalidInput([Problem(str(src / programme.PROGRAMME_FILE), fields.line_of(key),
                                            f"slides ({slide.id}).{key}", f"{name!r} {manifest.check_name(name)}")])
            out_fields[key] = name
            media[name] = (slide.image.sha256, slide.image.size)
            sources[slide.image.sha256] = slide.image.path
        out_fields.pop("audio", None)
        if slide.audio is not None:  # a sound goes into the media table like a picture
            name = slide.audio.path.resolve().relative_to(root).as_posix()
            if manifest.check_name(name):
                raise InvalidInput([Problem(str(src / programme.PROGRAMME_FILE), fields.line_of("audio"),
                                            f"slides ({slide.id}).audio", f"{name!r} {manifest.check_name(name)}")])
            out_fields["audio"] = name
            media[name] = (slide.audio.sha256, slide.audio.size)
            sources[slide.audio.sha256] = slide.audio.path
        try:
            slides.append({k: manifest.jsonable(v) for k, v in out_fields.items()})
        except ValueError as exc:
            raise InvalidInput([Problem(str(src / programme.PROGRAMME_FILE), fields.line, f"slides ({slide.id})",
                                        str(exc))]) from None

    # What boards before 0.2 are given: the slides that use nothing beyond format 1, whole, and their media.
    # Top-level keys of programme.yaml besides slides (a later `ticker:`) travel in format 2 only.
    extra = {k: v for k, v in raw.items() if k not in ("slides", "ticker") and v is not None} \
        if isinstance(raw, dict) else {}
    if prog.ticker:  # as validated: its lines, a wrong one already left out (and said)
        extra["ticker"] = list(prog.ticker)
    left_out = [(fields["id"], found) for fields in slides if (found := manifest.beyond_format1(fields))]
    slides1 = [fields for fields in slides if not manifest.beyond_format1(fields)]
    media1 = {name: media[name] for name in sorted({f["file"] for f in slides1 if "file" in f})}
    trees = [(manifest.FILENAME_V2, SIG_FILE_V2, 2, media, slides, extra),
             (manifest.FILENAME, SIG_FILE, 1, media1, slides1, {})]

    olds = {name: _read(out / name) for name, *_rest in trees}
    # generated_at is a signed tree's freshness (boards refuse an older one): always later than the manifests it
    # replaces, even if this machine's clock went back. So re-publishing older content is a new publication.
    # One time for both files: a board that moves from one name to the other compares like with like.
    when = dt.datetime.fromtimestamp(int(now), dt.UTC)
    before = max((t for old in olds.values() if old is not None and (t := manifest.published_at(old))), default=None)
    if before is not None and when <= before:
        when = before.replace(microsecond=0) + dt.timedelta(seconds=1)
    generated = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    try:
        datas = {name: manifest.encode(prog.version, m, s, generated, fmt=fmt, extra=x)
                 for name, _sig, fmt, m, s, x in trees}
    except ValueError as exc:
        raise InvalidInput([Problem(str(src / programme.PROGRAMME_FILE), None, "", str(exc))]) from None
    if all(olds[name] is not None and manifest.content_of(olds[name]) == manifest.content_of(data)
           and manifest.published_at(olds[name]) == before for name, data in datas.items()):
        datas = dict(olds)  # unchanged content keeps its bytes, generated_at included (the same in both)

    try:
        (out / "media").mkdir(parents=True, exist_ok=True)
        copied = copied_bytes = 0
        sizes = {sha: size for sha, size in media.values()}
        for sha, path in sources.items():
            target = out / "media" / sha
            if target.is_file() and target.stat().st_size == sizes[sha]:
                continue
            _copy_atomic(path, target)
            copied, copied_bytes = copied + 1, copied_bytes + target.stat().st_size
        changed = False
        for name, sig_name, *_rest in trees:  # media first, then each manifest and right after it its signature
            changed |= _write_pair(out, out / name, out / sig_name, datas[name], olds[name], private, now)
        removed = _collect(out, set(sources), now)
    except OSError as exc:
        raise InvalidInput([Problem(str(out), None, "", _("cannot write the content tree: {reason}").format(
            reason=exc.strerror or exc))]) from None

    signed = "signed" if private is not None else "unsigned"
    v1_at, v2_at = (manifest.published_at(olds[n]) if olds[n] else None
                    for n in (manifest.FILENAME, manifest.FILENAME_V2))
    mended = ""
    if v1_at is not None and v2_at is not None and v1_at > v2_at:  # publish before 0.2 wrote manifest.json alone
        mended = (f"\n  {manifest.FILENAME} had been published after {manifest.FILENAME_V2} (by kiosk publish before "
                  "0.2?): boards from 0.2 were reading older content; both are one publication again")
    notes = mended + "".join(f"\n  {key}: not in {manifest.FILENAME} for boards before 0.2" for key in extra)
    notes += "".join(f"\n  slide {sid}: not in {manifest.FILENAME} for boards before 0.2: uses {', '.join(found)}"
                     for sid, found in left_out)
    total = sum(size for _sha, size in media.values())
    if not changed and not copied:
        return f"{out}: unchanged (version {prog.version}, {len(slides)} slides, {signed}){notes}"
    return (f"{out}: published version {prog.version}: {len(slides)} slides ({len(slides1)} for boards before "
            f"0.2), {len(sources)} media files ({_mb(total)}), {copied} copied ({_mb(copied_bytes)}), "
            f"{removed} expired removed, {signed}{notes}")


def _write_pair(out: Path, path: Path, sig_path: Path, data: bytes, old: bytes | None, private, now: float) -> bool:
    """One manifest, then its signature (each by rename); True when a byte on disk changed. A stale signature
    never sits beside new bytes: without a key it is removed before the manifest is replaced."""
    signature = signing.sign(private, data) if private is not None else None
    changed = False
    if old != data:
        if signature is None and sig_path.exists():
            durable.remove(sig_path)
            durable.fsync_dir(out)
        _write_manifest(path, data, now)
        changed = True
    if signature is not None and _read(sig_path) != signature:
        durable.write_atomic(sig_path, signature)
        changed = True
    elif signature is None and sig_path.exists():
        durable.remove(sig_path)
        durable.fsync_dir(out)
        changed = True
    return changed


# Of the screens boards have, a 1366x768 panel fits the fewest characters in a caption's three lines at the
# smallest legible size (kiosk.screen.slide): about 150. A longer caption is cut there; `kiosk render
# --size` shows exactly what each screen does with it.
MAX_CAPTION = 150


def caption_warnings(prog) -> list[str]:
    """Image slides whose caption (title) is likely too long to show whole on some boards."""
    return [f"slide {slide.id}: its caption (title) has {len(slide.title)} characters; beyond about {MAX_CAPTION} it "
            "is cut on small screens (check with kiosk render --size 1366x768); shorten it or make it a text slide "
            "with image:" for slide in prog.slides if slide.type == "image" and len(slide.title) > MAX_CAPTION]


def _memo_path(src: Path) -> Path | None:
    """Where what was learnt about SRC's pictures is kept: the user's cache, one file per folder."""
    base = os.environ.get("XDG_CACHE_HOME") or (os.path.join(os.path.expanduser("~"), ".cache")
                                                  if os.path.expanduser("~") != "~" else "")
    if not base:
        return None
    key = hashlib.sha256(str(src.resolve()).encode()).hexdigest()[:16]
    return Path(base) / "kiosk" / "publish" / f"{key}.json"


def _read_memo(path: Path | None) -> dict:
    try:
        document = json.loads(path.read_text(encoding="utf-8")) if path is not None else {}
    except (OSError, ValueError):
        return {}  # none yet, or damaged: everything is read again, and the memo made anew
    if not isinstance(document, dict) or document.get("version") != MEMO_VERSION:
        return {}
    files = document.get("files")
    return files if isinstance(files, dict) else {}


def _write_memo(path: Path | None, memo: mediamod.Memo) -> None:
    """Kept only when something was learnt; a cache that cannot be written costs speed, nothing else."""
    if path is None or not memo.changed:
        return
    body = json.dumps({"version": MEMO_VERSION, "files": memo.entries()}, sort_keys=True) + "\n"
    try:
        durable.write_atomic(path, body.encode())
    except OSError:
        pass


def _collect(out: Path, referenced: set[str], now: float) -> int:
    """Remove media unreferenced for longer than the grace period; remember when others became unreferenced."""
    state_path = out / STATE_FILE
    try:
        state = json.loads(state_path.read_text(encoding="utf-8"))
        since = {k: float(v) for k, v in state.get("unreferenced_since", {}).items()}
    except (OSError, ValueError, AttributeError, TypeError):
        since = {}
    new_since: dict[str, float] = {}
    removed = 0
    for entry in os.scandir(out / "media"):
        name = entry.name
        if name.startswith(".tmp-"):
            if now - entry.stat().st_mtime > 3600:
                durable.remove(Path(entry.path))
            continue
        if name in referenced or not manifest.SHA256.match(name):
            continue
        first = since.get(name, now)
        if now - first >= GRACE_SECONDS:
            durable.remove(Path(entry.path))
            removed += 1
        else:
            new_since[name] = first
    if new_since != since:
        body = json.dumps({"unreferenced_since": new_since}, sort_keys=True, indent=1) + "\n"
        durable.write_atomic(state_path, body.encode())
    return removed


def _write_manifest(path: Path, data: bytes, now: float) -> None:
    """Write manifest.json so that its new Last-Modified differs from the old one by at least a second.

    Static servers derive ETag and Last-Modified from mtime (whole seconds)
    and size; two publications in one second with equal sizes would otherwise
    look unchanged to a board's conditional GET.
    """
    try:
        old_mtime = path.stat().st_mtime
    except OSError:
        old_mtime = None
    mtime = now if old_mtime is None else max(now, int(old_mtime) + 1)
    durable.write_atomic(path, data, 0o644, mtime)


def _copy_atomic(src: Path, target: Path) -> None:
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as dst, open(src, "rb") as f:
            shutil.copyfileobj(f, dst, 1 << 20)
            dst.flush()
            os.fsync(dst.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        durable.remove(Path(tmp))
        raise
    durable.fsync_dir(target.parent)


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 100_000 else _("{count} bytes").format(count=n)
