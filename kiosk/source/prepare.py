"""Image preparation: decode, orient and scale each picture once, ahead of its slot.

Pillow only (no pygame), run off the render loop. The result is a full-screen
frame stored in the cache under a name keyed by (content hash, screen size,
fit), so the render loop only loads a small file and a restart shows the first
picture at once.

Stored format: JPEG, quality 92, no chroma subsampling. Measured with
bench/bench_prepare.py (figures in docs/perf/render.md), a 1920x1080 frame:
JPEG 0.3 MB, loads in ~7 ms; PNG(compress_level=1) 1.0 MB, ~38 ms; raw
pixels (BMP) 6.2 MB, ~4 ms from the page cache but ~12 ms once evicted even
on this machine's fast disk. On a Pi the SD card reads 20-40 MB/s: 6.2 MB
raw costs 150-300 ms to read on the first frame after a restart (the case
this cache exists for), the JPEG under 15 ms, and 100 raw frames would take
620 MB of the cache against 30 MB. Quality 92 with 4:4:4 keeps text inside
posters crisp; frames are composited on black, so no alpha is needed.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import warnings
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from PIL import Image, ImageFile, ImageOps

from kiosk.content import area, media, video
from kiosk.content.programme import Programme
from kiosk.durable import write_atomic
from kiosk.i18n import _
from kiosk.problems import Problem
from kiosk.source import document

log = logging.getLogger("kiosk.prepare")

PREPARED_DIR = "prepared"
SUFFIX = "jpg"
JPEG_QUALITY = 92
FITS = ("fit", "fill")
_ROTATING_ORIENTATIONS = {5, 6, 7, 8}  # EXIF orientations that swap width and height

ImageFile.LOAD_TRUNCATED_IMAGES = False  # a truncated file is refused, never shown half grey


def prepared_path(ref, size: tuple[int, int], fit: str, cache_dir: Path) -> Path:
    """Where the prepared frame of `ref` (a MediaRef) for this screen size and fit lives."""
    w, h = size
    return Path(cache_dir) / PREPARED_DIR / f"{ref.sha256}-{w}x{h}-{fit}.{SUFFIX}"


MEDIA_TYPES = ("image", "video")  # slides with a file, prepared as a full-screen frame (a video's: its first)


def prepare_image(ref, size: tuple[int, int], fit: str, cache_dir: Path, kind: str = "image") -> Path:
    """The prepared frame for `ref`, made now unless already in the cache; of a video (`kind`), its first
    picture (what shows while the video starts, what `kiosk render` writes).

    Raises ValueError with a user-facing reason for unreadable, truncated,
    unsupported or oversized images and videos.
    """
    if fit not in FITS:
        raise ValueError(f"fit must be fit or fill, got {fit!r}")
    target = prepared_path(ref, size, fit, cache_dir)
    if target.is_file():
        return target
    frame = (first_picture if kind == "video" else render_frame)(Path(ref.path), size, fit)
    data = _encoded(frame)
    frame.close()  # before the card is written to: a whole picture fewer in memory meanwhile
    target.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(target, data)  # a power cut leaves no half file
    return target


def render_frame(path: Path, size: tuple[int, int], fit: str) -> Image.Image:
    """Decode `path` into an RGB image of exactly `size`: letterboxed (fit) or cropped (fill)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                return _frame(image, size, fit, path.stat().st_size)
    except FileNotFoundError:
        raise ValueError("file not found") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ValueError("image too large (decompression bomb)") from None
    except ValueError:
        raise
    except OSError as exc:
        reason = "file is truncated" if "truncated" in str(exc) else f"cannot decode ({exc})"
        raise ValueError(f"not a usable image: {reason}") from None
    except Exception as exc:  # noqa: BLE001 - Pillow raises many types on hostile files
        raise ValueError(f"not a usable image ({exc.__class__.__name__}: {exc})") from None


def first_picture(path: Path, size: tuple[int, int], fit: str) -> Image.Image:
    """A video's first picture as an RGB frame of exactly `size`, the file checked whole first (video.probe)."""
    import av

    video.probe(path)
    try:
        with av.open(str(path)) as container:
            for frame in container.decode(video=0):
                return _scaled(frame.to_image(), size, fit)
    except av.FFmpegError as exc:
        raise ValueError(f"cannot be decoded ({exc})") from None
    raise ValueError("has no picture")


def _frame(image: Image.Image, size: tuple[int, int], fit: str, file_size: int) -> Image.Image:
    fmt = image.format or "?"
    if fmt not in media.FORMATS:
        raise ValueError(f"unsupported image format {fmt}; use JPEG, PNG, WebP or GIF")
    width, height = image.size
    media.check_complete(fmt, width, height, file_size)
    limit = media.MAX_PIXELS if fmt == "JPEG" else media.MAX_PIXELS_OTHER
    if width * height > limit:
        raise ValueError(f"image too large ({width}x{height} pixels, at most {limit // 1_000_000} megapixels)")
    if width < 1 or height < 1:
        raise ValueError("image has no pixels")
    if getattr(image, "n_frames", 1) > 1:
        image.seek(0)  # animations (GIF, WebP): the first frame
    orientation = image.getexif().get(0x0112, 1)
    if fmt == "JPEG":
        # Draft mode decodes at 1/2, 1/4 or 1/8 scale straight from the DCT: a 24 MP photo for a
        # 1080p screen decodes 8x faster and in 1/16 of the memory.
        w, h = size if orientation not in _ROTATING_ORIENTATIONS else (size[1], size[0])
        scale = max(w / width, h / height) if fit == "fill" else min(w / width, h / height)
        image.draft("RGB", (max(1, int(width * scale)), max(1, int(height * scale))))
    image.load()
    if orientation != 1:  # without a turn to make, exif_transpose would return a whole copy
        image = _next(image, ImageOps.exif_transpose(image))
    image = _next(image, _to_rgb(image))
    return _next(image, _scaled(image, size, fit, own=True))


def _next(image: Image.Image, result: Image.Image) -> Image.Image:
    """The next stage of a picture being prepared, the one before let go at once: each stage is a whole
    picture in memory (a 1600x1200 photo is 7.7 MB), and a board prepares pictures while it plays."""
    if result is not image:
        image.close()
    return result


def open_prepared(ref, size: tuple[int, int], fit: str, cache_dir: Path, kind: str = "image") -> Image.Image:
    """The prepared frame of `ref`, decoded whole (RGB, exactly `size`): what the screen shows.

    A prepared file that is missing, truncated or otherwise damaged (a power cut, a failing card) is
    made again from the media file once, instead of being shown half grey. ValueError when it cannot be.
    """
    path = prepare_image(ref, size, fit, cache_dir, kind)
    try:
        return _decoded(path, size)
    except ValueError as exc:
        log.warning(_("prepared image {path} is damaged ({reason}); preparing it again")
            .format(path=path.name, reason=exc))
        path.unlink(missing_ok=True)
    return _decoded(prepare_image(ref, size, fit, cache_dir, kind), size)


def _decoded(path: Path, size: tuple[int, int]) -> Image.Image:
    try:
        return media.decoded_whole(path, size)
    except FileNotFoundError:
        raise ValueError("file not found") from None
    except ValueError:
        raise
    except Exception as exc:  # noqa: BLE001 - Pillow raises many types on damaged files
        raise ValueError(f"{exc.__class__.__name__}: {exc}") from None


def _to_rgb(image: Image.Image) -> Image.Image:
    """Any mode to RGB: 16-bit scaled down (not clipped), transparency composited on black."""
    mode = image.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        image = image.convert("I").point(lambda v: v * (1 / 256), "L")  # 0..65535 -> 0..255
    elif mode == "F":
        image = image.convert("L")
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    elif image.mode in ("LA", "PA", "La", "RGBa"):
        image = image.convert("RGBA")
    if image.mode == "RGBA":
        black = Image.new("RGB", image.size, (0, 0, 0))
        black.paste(image, mask=image.getchannel("A"))
        return black
    return image.convert("RGB") if image.mode != "RGB" else image  # CMYK, L, P, YCbCr, 1 ...


def _scaled(image: Image.Image, size: tuple[int, int], fit: str, own: bool = False) -> Image.Image:
    """`own`: the caller lets go of `image` here, so that it is closed before the letterbox is made."""
    sw, sh = size
    width, height = image.size
    if fit == "fill":
        scale = max(sw / width, sh / height)
        crop_w, crop_h = min(width, round(sw / scale)), min(height, round(sh / scale))
        left, top = (width - crop_w) // 2, (height - crop_h) // 2
        box = (left, top, left + crop_w, top + crop_h)
        return image.resize((sw, sh), Image.Resampling.LANCZOS, box=box, reducing_gap=3.0)
    scale = min(sw / width, sh / height)
    new = (max(1, round(width * scale)), max(1, round(height * scale)))
    resized = image.resize(new, Image.Resampling.LANCZOS, reducing_gap=3.0) if new != image.size else image
    if new == (sw, sh):
        return resized
    if own and resized is not image:
        image.close()  # a whole picture fewer in memory while the letterbox is made
    frame = Image.new("RGB", (sw, sh), (0, 0, 0))
    frame.paste(resized, ((sw - new[0]) // 2, (sh - new[1]) // 2))
    if resized is not image:
        resized.close()  # before the frame is encoded
    return frame


def _encoded(image: Image.Image) -> bytes:
    """The prepared file's bytes, encoded in memory (written atomically by the caller)."""
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=JPEG_QUALITY, subsampling=0, optimize=False)
    return buffer.getvalue()


def slide_fit(slide, fit_default: str) -> str:
    return slide.fit or fit_default


def picture_box(size: tuple[int, int]) -> tuple[int, int]:
    """The size a text slide's picture is prepared at: beside the text on a landscape screen (about 40 % of
    its width), above it on a portrait one (about a third of its height). The renderer fits it into the
    room the bands leave."""
    w, h = size
    return (round(w * 0.4), round(h * 0.7)) if w >= h else (round(w * 0.88), round(h * 0.34))


def oriented_size(ref) -> tuple[int, int]:
    """The picture's width and height as it is seen (EXIF orientation applied), from its header alone.
    ValueError when it cannot be read."""
    try:
        with Image.open(ref.path) as image:
            width, height = image.size
            if image.getexif().get(0x0112, 1) in _ROTATING_ORIENTATIONS:
                width, height = height, width
    except Exception as exc:  # noqa: BLE001 - Pillow raises many types on hostile files
        raise ValueError(f"not a readable image ({exc})") from None
    return max(1, width), max(1, height)


Bands = tuple[bool, bool]  # (header, ticker): the bands standing with a picture slide (bands_of)
NO_BANDS: Bands = (False, False)


def bands_of(display_cfg, programme) -> Bands:
    """The bands a picture slide of `programme` stands between, as screen.slide draws them: the header when
    the display has one, the ticker when the display scrolls one and the programme has lines for it."""
    return (bool(getattr(display_cfg, "header", False)),
            bool(getattr(display_cfg, "ticker", False)) and bool(getattr(programme, "ticker", ())))


def prepared_as(slide, size: tuple[int, int], fit_default: str,
                bands: Bands = NO_BANDS) -> tuple[tuple[int, int], str] | None:
    """(size, fit) the slide's picture is prepared at on a screen of `size`; None: it has none.

    A picture slide's is the area its bands leave (content.area), so that it is drawn as it is, never scaled
    again each time the slide is drawn; an emergency's and a video's first picture take the whole screen."""
    if slide.image is None or slide.type == "document":  # a document's pages are source.document's
        return None
    if slide.type == "image" and slide.priority != "emergency":
        return area.picture_area(size, *bands), slide_fit(slide, fit_default)
    if slide.type in MEDIA_TYPES:
        return size, slide_fit(slide, fit_default)
    return picture_box(size), "fit"  # a text slide's picture, beside or above its text


PLAY_RANK = {"emergency": 0, "priority": 1, "normal": 2}


def play_order(programme) -> list:
    """The slides in the order they first play: emergencies, then priority slides, then the others, each
    in programme order (the schedule's order, before time windows). Preparation follows it, so the
    first slide to show is the first to be ready."""
    return sorted(programme.slides, key=lambda slide: PLAY_RANK.get(slide.priority, 2))


def prepare_programme(programme, size: tuple[int, int], fit_default: str, cache_dir: Path,
                      should_stop=lambda: False, on_prepared: Callable[[object], None] = lambda _slide: None,
                      bands: Bands = NO_BANDS) -> dict[str, str]:
    """Prepare every image of a programme, in play order; {slide id: problem} for the slides that cannot play.

    The caller skips those slides and reports the problems. `should_stop`: the caller no longer
    wants the result (its configuration was replaced): stop early instead of writing files for nobody.
    `on_prepared(slide)` is called as each image or document slide becomes ready to show.
    """
    problems: dict[str, str] = {}
    for slide in play_order(programme):
        if should_stop():
            break
        if slide.image is None or (slide.type != "document" and prepared_as(slide, size, fit_default) is None):
            continue
        try:
            _prepare_slide(slide, size, fit_default, cache_dir, bands)
        except ValueError as exc:
            reason = f"pages: {exc}" if isinstance(exc, media.PagesError) else str(exc)  # the slide's line to mend
            problems[slide.id] = f"{slide.image.name}: {reason}"
            log.warning(_("slide {slide} will not play: {file}: {reason}")
                .format(slide=slide.id, file=slide.image.name, reason=reason))
            continue
        except OSError as exc:  # the cache folder itself: disk full, read-only
            problems[slide.id] = f"{slide.image.name}: cannot store the prepared {slide.type} ({exc})"
            log.error(_("slide {slide}: cannot store the prepared image: {reason}").format(slide=slide.id, reason=exc))
            continue
        on_prepared(slide)
    return problems


def _prepare_slide(slide, size: tuple[int, int], fit_default: str, cache_dir: Path, bands: Bands) -> Path:
    if slide.type == "document":
        return document.prepare(slide.image, size, slide.pages, cache_dir)
    return prepare_image(slide.image, *prepared_as(slide, size, fit_default, bands), cache_dir, slide.type)


def ready_path(slide, size: tuple[int, int], fit_default: str, cache_dir: Path, bands: Bands = NO_BANDS) -> Path:
    """The file whose presence says a slide's media is prepared (a picture's frame, a document's index)."""
    if slide.type == "document":
        return document.index_path(slide.image, size, slide.pages, cache_dir)
    return prepared_path(slide.image, *prepared_as(slide, size, fit_default, bands), cache_dir)


def needed_files(programme, size: tuple[int, int], fit_default: str, cache_dir: Path,
                 bands: Bands = NO_BANDS) -> set[Path]:
    """The prepared files this programme uses at this size: everything else under prepared/ may be evicted."""
    needed = set()
    for slide in programme.slides:
        if slide.type == "document" and slide.image is not None:
            needed |= document.files_of(slide.image, size, slide.pages, cache_dir)
        elif (wanted := prepared_as(slide, size, fit_default, bands)) is not None:
            needed.add(prepared_path(slide.image, *wanted, cache_dir))
    return needed


def prepared_dir(cache_dir: Path) -> Path:
    return Path(cache_dir) / PREPARED_DIR


def without_unpreparable(programme: Programme, problems: dict[str, str]) -> Programme:
    """Drop slides whose media could not be prepared, and say why in the programme's warnings."""
    if not problems:
        return programme
    warnings = programme.warnings + tuple(Problem(sid, None, "", msg) for sid, msg in problems.items())
    kept = tuple(s for s in programme.slides if s.id not in problems)
    # A version of its own: once the cause is mended, the whole programme differs and replaces this one.
    dropped = hashlib.sha256(" ".join(sorted(problems)).encode()).hexdigest()[:8]
    return replace(programme, slides=kept, warnings=warnings, version=f"{programme.version}-{dropped}")


class Preparer:
    """Gets programmes ready for one screen: pictures scaled (once, kept in the cache), unpreparable
    slides dropped with a warning, and what no programme uses any more pruned (the SD card is small).

    Pictures are prepared in play order, and `slide_ready` says which slides can already go on screen
    (the player skips the others for this loop instead of waiting); `on_ready` is called as each one
    becomes so (it wakes the player). One per configuration; `ended` is set when that configuration is
    replaced, so a late preparation stops early and never prunes the files of the next one.
    """

    def __init__(self, size: tuple[int, int], fit: str, cache_dir: Path, speech_cfg, prune: bool,
                 status=None, ended: Callable[[], bool] = lambda: False, on_ready: Callable[[], None] = lambda: None,
                 display_cfg=None, showing: Callable[[], Programme | None] = lambda: None):
        self.size, self.fit, self.cache_dir, self.speech_cfg = size, fit, Path(cache_dir), speech_cfg
        self.display_cfg = display_cfg  # which bands stand with picture slides (bands_of)
        self.bands: Bands = NO_BANDS  # those of the programme prepared last
        self.prune, self.status, self.ended, self.on_ready = prune, status, ended, on_ready
        self._prepared: set[tuple[str, str]] = set()  # (sha256, fit) known prepared at this size; GIL-atomic adds
        self.showing = showing  # the programme on screen (Current's), whose prepared files stay

    def _key(self, slide) -> tuple[str, str]:
        if slide.type == "document":
            return slide.image.sha256, f"document {slide.pages}"
        size, fit = prepared_as(slide, self.size, self.fit, self.bands)
        return slide.image.sha256, f"{fit}-{size[0]}x{size[1]}"

    def _prepared_one(self, slide) -> None:
        self._prepared.add(self._key(slide))
        self.on_ready()

    def prepare(self, programme: Programme) -> Programme:
        self.bands = bands_of(self.display_cfg, programme)
        problems = prepare_programme(programme, self.size, self.fit, self.cache_dir, should_stop=self.ended,
                                     on_prepared=self._prepared_one, bands=self.bands)
        kept = without_unpreparable(programme, problems)
        if self.ended():
            return kept  # nobody will show it; above all, do not prune the next session's files
        if self.prune:
            self._prune(kept)
            self._prepared &= {self._key(s) for s in kept.slides if s.image is not None}
        else:
            self._prune_variants(kept)
        if self.status is not None:
            self.status.update(**usage(self.cache_dir))
        return kept

    def ready(self, programme: Programme) -> bool:
        """Every prepared file the programme needs is already there: it can go on screen at once."""
        self.bands = bands_of(self.display_cfg, programme)  # it is the one about to be shown
        whole = True
        for slide in programme.slides:
            if slide.image is None or self._key(slide) in self._prepared:
                continue
            if ready_path(slide, self.size, self.fit, self.cache_dir, self.bands).is_file():
                self._prepared.add(self._key(slide))
            else:
                whole = False
        return whole

    def slide_ready(self, slide) -> bool:
        """The slide can be drawn now without decoding a picture (the player asks; no disk access)."""
        return slide.image is None or self._key(slide) in self._prepared

    def _prune_variants(self, programme: Programme) -> None:
        """Synced media are the sync cache's to evict (it keeps what a fallback needs); but a picture the
        programme shows, prepared for a layout it no longer has (the ticker switched on, the screen's
        size changed), is ours: that variant goes, about 0.3 MB a picture and layout. What the programme on
        screen needs stays (this one may never replace it: a sync can still refuse it)."""
        keep = needed_files(programme, self.size, self.fit, self.cache_dir, self.bands)
        on_screen = self.showing()
        if on_screen is not None:
            keep |= needed_files(on_screen, self.size, self.fit, self.cache_dir, bands_of(self.display_cfg, on_screen))
        shown = {s.image.sha256 for s in programme.slides if s.image is not None}
        folder = prepared_dir(self.cache_dir)
        for path in folder.glob("*") if folder.is_dir() else ():
            if path not in keep and path.name.split("-", 1)[0] in shown:
                try:
                    path.unlink(missing_ok=True)
                except OSError:  # a read-only card: left, as the sync cache leaves what it cannot remove
                    return
        ours = [s for s in (*programme.slides, *(on_screen.slides if on_screen else ())) if s.image is not None]
        self._prepared &= {self._key(s) for s in ours} | {k for k in self._prepared if k[0] not in shown}

    def _prune(self, programme: Programme) -> None:
        from kiosk.source import speech

        keep = needed_files(programme, self.size, self.fit, self.cache_dir, self.bands)
        folder = prepared_dir(self.cache_dir)
        for path in folder.glob("*") if folder.is_dir() else ():
            if path not in keep and path.is_file():
                path.unlink(missing_ok=True)
        voices = {
            f"{speech.cache_key(speech.text_of(s), self.speech_cfg.voice, self.speech_cfg.rate)}.wav"
            for s in programme.slides if s.speak
        }
        speech.prune(self.cache_dir / "speech", [Path(v) for v in voices])


def usage(folder: Path) -> dict:
    """Bytes and files under the cache; files that vanish while counted (temp files renamed) are skipped."""
    total = count = 0
    for root, _dirs, files in os.walk(folder):
        for name in files:
            try:
                total += os.stat(os.path.join(root, name)).st_size
            except OSError:
                continue
            count += 1
    return {"cache_bytes": total, "cache_files": count}
