"""`kiosk publish SRC OUT [--key FILE]`: an authoring folder becomes a static content tree.

OUT is meant to be served live by a web server while we write it, so the
order matters: media first (each by rename), then manifest.json, then its
signature. Re-publishing unchanged input changes no byte on disk. Media the
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
import tempfile
import time
from pathlib import Path

from kiosk import durable
from kiosk.content import manifest, programme
from kiosk.content import media as mediamod
from kiosk.problems import InvalidInput, Problem
from kiosk.source import document, signing

GRACE_SECONDS = 7 * 24 * 3600
STATE_FILE = ".kiosk-publish.json"  # when each unreferenced media file was first seen unreferenced
SIG_FILE = manifest.FILENAME + ".sig"
MEMO_VERSION = 1


def publish(src: Path, out: Path, key: Path | None, now: float | None = None) -> str:
    """Validate SRC like `source.path` would, write the content tree to OUT; return a summary line."""
    now = time.time() if now is None else now
    private = signing.load_private_key(key) if key is not None else None
    if out.resolve().is_relative_to(src.resolve()):
        raise InvalidInput([Problem(str(out), None, "OUT", f"must be outside the authoring folder {str(src)!r}: "
                                    "everything in OUT is served to the boards")])
    memo_path = _memo_path(src)
    memo = mediamod.Memo(_read_memo(memo_path), root=src)
    prog, raw = programme.read_folder(src, memo)
    if prog.warnings:
        raise InvalidInput(list(prog.warnings))
    damaged = []
    for slide in prog.slides:
        if slide.image is not None:
            try:
                if slide.type == "document":
                    document.probe(slide.image.path, slide.pages)
                else:
                    memo.check_decodes(slide.image.path)
            except ValueError as exc:
                damaged.append(Problem(str(src / programme.PROGRAMME_FILE), None, f"slides ({slide.id}).file",
                                       f"{slide.image.name}: {exc}"))
    if damaged:
        raise InvalidInput(damaged)
    _write_memo(memo_path, memo)
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
        if slide.image is not None:
            name = slide.image.path.resolve().relative_to(root).as_posix()
            if manifest.check_name(name):
                raise InvalidInput([Problem(str(src / programme.PROGRAMME_FILE), fields.line_of("file"),
                                            f"slides ({slide.id}).file", f"{name!r} {manifest.check_name(name)}")])
            out_fields["file"] = name
            media[name] = (slide.image.sha256, slide.image.size)
            sources[slide.image.sha256] = slide.image.path
        try:
            slides.append({k: manifest.jsonable(v) for k, v in out_fields.items()})
        except ValueError as exc:
            raise InvalidInput([Problem(str(src / programme.PROGRAMME_FILE), fields.line, f"slides ({slide.id})",
                                        str(exc))]) from None

    manifest_path, sig_path = out / manifest.FILENAME, out / SIG_FILE
    old = _read(manifest_path)
    # generated_at is a signed tree's freshness (boards refuse an older one): always later than the manifest it
    # replaces, even if this machine's clock went back. So re-publishing older content is a new publication.
    when = dt.datetime.fromtimestamp(int(now), dt.UTC)
    before = manifest.published_at(old) if old is not None else None
    if before is not None and when <= before:
        when = before.replace(microsecond=0) + dt.timedelta(seconds=1)
    generated = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    data = manifest.encode(prog.version, media, slides, generated)
    if old is not None and manifest.content_of(old) == manifest.content_of(data):
        data = old  # unchanged content keeps its bytes, generated_at included
    signature = signing.sign(private, data) if private is not None else None

    try:
        (out / "media").mkdir(parents=True, exist_ok=True)
        copied = copied_bytes = 0
        for sha, path in sources.items():
            target = out / "media" / sha
            if target.is_file() and target.stat().st_size == _media_size(media, sha):
                continue
            _copy_atomic(path, target)
            copied, copied_bytes = copied + 1, copied_bytes + target.stat().st_size
        manifest_changed = old != data
        if manifest_changed:
            if signature is None and sig_path.exists():
                durable.remove(sig_path)  # a stale signature must never sit beside new bytes
                durable.fsync_dir(out)
            _write_manifest(manifest_path, data, now)
        sig_changed = False
        if signature is not None and _read(sig_path) != signature:
            durable.write_atomic(sig_path, signature)
            sig_changed = True
        elif signature is None and sig_path.exists():
            durable.remove(sig_path)
            durable.fsync_dir(out)
            sig_changed = True
        removed = _collect(out, set(sources), now)
    except OSError as exc:
        raise InvalidInput([Problem(str(out), None, "", f"cannot write the content tree: {exc.strerror or exc}")]) \
            from None

    signed = "signed" if signature is not None else "unsigned"
    total = sum(size for _sha, size in media.values())
    if not manifest_changed and not copied and not sig_changed:
        return f"{out}: unchanged (version {prog.version}, {len(slides)} slides, {signed})"
    return (f"{out}: published version {prog.version}: {len(slides)} slides, {len(sources)} media files "
            f"({_mb(total)}), {copied} copied ({_mb(copied_bytes)}), {removed} expired removed, {signed}")


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


def _media_size(media: dict[str, tuple[str, int]], sha: str) -> int:
    return next(size for s, size in media.values() if s == sha)


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
    return f"{n / 1e6:.1f} MB" if n >= 100_000 else f"{n} bytes"
