"""`kiosk render`: what would play at a moment, drawn by the same code as the screen, to PNG files."""

from __future__ import annotations

import datetime as dt
import logging
import sys
import tempfile
import time
from pathlib import Path

from kiosk.config import Config
from kiosk.content import programme as programmemod
from kiosk.content import schedule
from kiosk.i18n import _
from kiosk.problems import InvalidInput, Problem
from kiosk.status import Status

log = logging.getLogger("kiosk.render")

DEFAULT_SIZE = (1920, 1080)
LEFTOVER_SECONDS = 600  # a temp file in --out this old is a killed render's, not one being written


def logical_size(cfg: Config, size: tuple[int, int] | None) -> tuple[int, int]:
    """The size as the audience sees it: --size as given, else display.size turned by display.rotation."""
    if size is not None:
        return size
    width, height = cfg.display.size or DEFAULT_SIZE
    return (height, width) if cfg.display.rotation in (90, 270) else (width, height)


def load_programme(cfg: Config) -> programmemod.Programme:
    if cfg.source.path is not None:
        from kiosk.cli import check
        from kiosk.source import document

        checked = programmemod.check_folder(cfg.source.path, open_document=document.probe)
        for problem in checked.problems:
            print(problem if problem in checked.errors else check.as_warning(problem), file=sys.stderr)
        line = check.will_not_play(checked, str(cfg.source.path / programmemod.PROGRAMME_FILE))
        if line:
            print(line, file=sys.stderr)
        return checked.programme
    from kiosk.source import channels, sync

    if cfg.source.channels:  # every tree's last good programme, merged as the board plays them
        cached = channels.Channels(cfg, Status(), lambda _p: None, lambda p: p).load_cached()
    else:
        cached = sync.load_cached(cfg)
    if cached is None:
        raise InvalidInput([])  # handled by the caller: nothing synced yet
    return cached


def render_to_dir(cfg: Config, out: Path, at: dt.datetime, size: tuple[int, int] | None) -> list[Path]:
    """Write NN-<slide id>.png per slide in play order; extra pages of long notices go to OUT/pages/.

    Each page goes through the screen's own presentation (a texture drawn by SDL's renderer, offscreen)
    and is read back from it, like /screenshot.png: the files hold the pixels a board puts on its panel."""
    from kiosk.screen.display import Screen
    from kiosk.screen.slide import Renderer, save_png
    from kiosk.source import prepare

    try:
        programme = load_programme(cfg)
    except InvalidInput as exc:
        if exc.problems:
            raise
        print(_("nothing synced yet: run `kiosk sync --once` first"), file=sys.stderr)
        return []
    size = logical_size(cfg, size)
    cache_dir = Path(cfg.cache.path)
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        probe = cache_dir / ".write-test"
        probe.touch()
        probe.unlink()
    except OSError:
        cache_dir = Path(tempfile.mkdtemp(prefix="kiosk-render-"))
    problems = prepare.prepare_programme(programme, size, cfg.display.fit, cache_dir,
                                         bands=prepare.bands_of(cfg.display, programme))
    for slide_id, message in problems.items():
        print(_("slide {slide} will not play: {reason}").format(slide=slide_id, reason=message), file=sys.stderr)
    programme = prepare.without_unpreparable(programme, problems)
    plan = schedule.plan(programme, at, dates_trusted=True)
    slides = plan.emergency or plan.loop
    if not slides:
        print(_("nothing would play at {time}").format(time=at.isoformat(timespec="minutes")), file=sys.stderr)
        return []
    try:
        out.mkdir(parents=True, exist_ok=True)
        for old in [*out.glob("[0-9][0-9]-*.png"), *out.glob("pages/[0-9][0-9]-*.png")]:
            old.unlink()  # a preview shows one moment: files of an earlier one would mislead
        for leftover in [*out.glob(".tmp-*"), *out.glob("pages/.tmp-*")]:  # of a render killed mid-write
            try:
                if time.time() - leftover.stat().st_mtime > LEFTOVER_SECONDS:  # (young: another render's)
                    leftover.unlink()
            except FileNotFoundError:  # another render took it away meanwhile
                pass
    except OSError as exc:
        raise InvalidInput([Problem(str(out), None, "--out", _("cannot write there: {reason}").format(
            reason=exc.strerror or exc))]) from None
    renderer = Renderer(size, cfg.display, cache_dir, cfg.device.name, feedback=cfg.feedback)
    screen = Screen.offscreen(size)
    screen.still = True
    try:

        mono = time.monotonic()

        def presented(page, shown=()):
            for zone in shown:
                preview = getattr(zone, "preview", None)
                if preview is not None:
                    preview(mono)  # a ticker mid-way, as a passer-by sees it, not empty before its text enters
            screen.set_zones(list(shown), mono, at)
            screen.show(page)
            return screen.snapshot()

        paths = []
        said: set[str] = set()
        for number, slide in enumerate(slides, start=1):
            try:
                pages = renderer.pages(slide, ticker=programme.ticker)
                shown = renderer.zones(slide, programme.ticker)
            except ValueError as exc:  # a picture that cannot be loaded: the board skips it too
                print(_("slide {slide} will not play: {reason}").format(slide=slide.id, reason=exc), file=sys.stderr)
                continue
            path = out / f"{number:02d}-{slide.id}.png"
            cut = renderer.caption_warning(slide, programme.ticker)
            if cut:
                print(f"warning: {cut}", file=sys.stderr)
            hidden = renderer.qr_hidden(slide)
            if hidden and hidden not in said:
                said.add(hidden)
                print(f"note: {hidden}", file=sys.stderr)
            try:  # one page drawn and written at a time: a 100,000-character notice is 148 full-screen pages
                save_png(presented(pages[0], shown), path)
                for index in range(1, len(pages)):
                    (out / "pages").mkdir(exist_ok=True)
                    save_png(presented(pages[index], shown),
                             out / "pages" / f"{number:02d}-{slide.id}-{index + 1:02d}.png")
            except OSError as exc:
                problem = Problem(str(path), None, "--out", _("cannot write: {reason}").format(reason=exc))
                raise InvalidInput([problem]) from None
            paths.append(path)
            durations = getattr(pages, "durations", None)
            if len(pages) > 1 and durations:  # a document: each section its own time
                print(f"note: {slide.id} has {len(pages)} sections, {min(durations):.0f}-{max(durations):.0f} s each, "
                      f"{sum(durations):.0f} s in all; sections 2+ are in {out / 'pages'}", file=sys.stderr)
            elif len(pages) > 1:
                each = slide.duration / len(pages)
                message = (_("note: {slide} has {pages} pages of {seconds} s each (too fast to read: give it a longer "
                             "duration); pages 2+ are in {folder}") if each < 4 else
                           _("note: {slide} has {pages} pages of {seconds} s each; pages 2+ are in {folder}"))
                print(message.format(slide=slide.id, pages=len(pages), seconds=f"{each:.1f}", folder=out / "pages"),
                      file=sys.stderr)
    finally:
        screen.close()  # on every way out: a window left open would be freed twice (screen.display)
    return paths
