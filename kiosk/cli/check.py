"""`kiosk check-config`: everything the board will read, checked at once (config.yaml, and with
`source.path` the authoring folder: programme.yaml and every file it names)."""

from __future__ import annotations

import sys
from pathlib import Path

from kiosk import config as configmod
from kiosk.content import programme as programmemod
from kiosk.i18n import _, ngettext
from kiosk.problems import InvalidInput, Problem


def as_warning(problem: Problem) -> str:
    """A warning line: the SPEC's `FILE:LINE: key.path: message`, the message marked as a warning."""
    prefix = _("warning:")
    if problem.message.startswith(("warning:", prefix)):
        return str(problem)
    return str(Problem(problem.file, problem.line, problem.path, f"{prefix} {problem.message}"))


def will_not_play(checked: programmemod.FolderCheck, filename: str) -> str | None:
    """The one line that says which slides stay off the screen, or None when all of them play."""
    if not checked.not_playing:
        return None
    total = len(checked.programme.slides) + len(checked.not_playing)
    return ngettext("{file}: {count} of {total} slides will not play: {slides}",
                    "{file}: {count} of {total} slides will not play: {slides}", len(checked.not_playing)).format(
        file=filename, count=len(checked.not_playing), total=total, slides=", ".join(checked.not_playing))


def main(config_arg: str | None) -> int:
    """Exit 0 when nothing is wrong (warnings allowed), 2 when anything is an error."""
    path = configmod.find(config_arg)
    if not path.is_file():
        print(configmod.problem_for_missing(path), file=sys.stderr)
        return 2
    cfg = configmod.load(path)  # InvalidInput: the caller prints every problem, exit 2
    errors, warnings = 0, len(cfg.warnings)
    for warning in cfg.warnings:
        print(as_warning(warning), file=sys.stderr)
    print(_("{file}: OK (device {id}, {name})").format(file=path, id=cfg.device.id, name=cfg.device.name))
    if cfg.source.path is not None:
        folder = Path(cfg.source.path)
        filename = str(folder / programmemod.PROGRAMME_FILE)
        try:
            from kiosk.source import document  # PDFs opened whole, as kiosk publish opens them

            checked = programmemod.check_folder(folder, open_document=document.probe)
        except InvalidInput as exc:
            for problem in exc.problems:
                print(problem, file=sys.stderr)
            print(_("{file}: nothing will play until this is fixed").format(file=filename), file=sys.stderr)
            errors += max(1, len(exc.problems))
        else:
            for problem in checked.problems:
                print(problem if problem in checked.errors else as_warning(problem), file=sys.stderr)
            errors, warnings = errors + len(checked.errors), warnings + len(checked.warnings)
            line = will_not_play(checked, filename)
            if line:
                print(line, file=sys.stderr)
            if not checked.errors:
                count = len(checked.programme.slides)
                print(ngettext("{file}: OK ({count} slide)", "{file}: OK ({count} slides)", count).format(
                    file=filename, count=count))
    if errors or warnings:
        print(ngettext("{count} error", "{count} errors", errors).format(count=errors) + ", "
              + ngettext("{count} warning", "{count} warnings", warnings).format(count=warnings), file=sys.stderr)
    return 2 if errors else 0
