"""YAML mistakes a technician makes, told in plain words at the line to fix (each from a real file)."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from kiosk import yamlfile

ROOT = Path(__file__).resolve().parent.parent
DEMO = (ROOT / "demo" / "programme.yaml").read_text(encoding="utf-8").split("\n")


def dedented(number: int, by: int) -> str:
    lines = list(DEMO)
    lines[number - 1] = lines[number - 1][by:]
    return "\n".join(lines)


CASES = [
    ("a key slipped to the left margin, PyYAML gives up 12 lines later",
     dedented(46, 4), 46,
     "this line is indented less than the lines before and after it: start it at column 5 (4 spaces), like line 43"),
    ("a key slipped left, the next item no longer fits",
     "slides:\n  - id: a\n    title: b\nduration: 5\n  - id: c\n    title: d\n", 4,
     "this line is indented less than the lines before and after it: start it at column 5 (4 spaces), like line 3"),
    ("a key one space short",
     "slides:\n  - id: a\n    title: b\n   duration: 5\n", 4,
     "indented 3 spaces, which fits no list or key above it: start it at column 5 (4 spaces), like line 3"),
    ("a key at the dash's column",
     dedented(39, 2), 39,
     "indented 2 spaces, which fits no list or key above it: start it at column 5 (4 spaces), like line 38"),
    ("a key indented too far",
     "slides:\n  - id: a\n      title: b\n", 3,
     "indented more than line 2 above it: start it at column 5 (4 spaces), like line 2"),
    ("a tab",
     "slides:\n  - id: a\n\ttitle: b\n", 3,
     "a tab at column 1: YAML indents with spaces only; replace the tab with spaces"),
    ("an unquoted colon",
     "slides:\n  - id: a\n    title: Lịch: tiếp dân\n", 3,
     "the value of title contains ': ', which YAML reads as another key: put the value in quotes: "
     'title: "Lịch: tiếp dân"'),
    ("a quote never closed",
     'slides:\n  - id: a\n    title: "Lịch tiếp\n    duration: 5\n', 3,
     'the quote " opened at column 12 is never closed: end the text with ", or remove the quote'),
    ("a quote closed by the next slide's",
     'slides:\n  - id: a\n    title: "Lịch tiếp\n  - id: b\n    title: "c"\n', 3,
     'the quote " opened on this line is not closed on it: end the text with ", or remove the quote'),
    ("quotes inside a quoted value",
     'device:\n  name: "UBND "An" Khương"\n', 2,
     "text after the closing quote: to have quotes inside a value, put the whole value in the other kind of quotes: "
     "name: 'UBND \"An\" Khương'"),
    ("a duplicate key",
     "slides:\n  - id: a\n    title: b\n    duration: 5\n    title: c\n", 5,
     "'title' is written twice here (also on line 3): keep one of them"),
    ("a list never closed",
     "slides:\n  - id: a\n    days: [mon, tue\n    title: b\n", 3,
     "the [ opened on this line is never closed: end it with ]"),
    ("a list left open at the end of the file",
     "device: {id: a, name: b}\nslides: [\n", 2,
     "the [ opened on this line is never closed: end it with ]"),
    ("a key without its colon",
     "slides:\n  - id: a\n    title b\n    body: c\n", 3,
     "a key without ':': write it as key: value (a colon, then a space)"),
    ("a dash without its space",
     "slides:\n  -id: a\n  - id: b\n", 2,
     "a dash needs a space after it: write - id: …, not -id: …"),
]


@pytest.mark.parametrize("text,line,message", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_mistake_is_named_at_its_line_with_the_fix(tmp_path, text, line, message):
    path = tmp_path / "programme.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(yamlfile.YamlError) as caught:
        yamlfile.load(path)
    assert (caught.value.problem.line, caught.value.problem.message) == (line, f"YAML syntax: {message}")


def test_pyyaml_itself_names_a_later_line_for_the_slipped_key():
    """Why the lines are found again: PyYAML's mark for the demo's dedented line 46 is line 58."""
    with pytest.raises(yaml.MarkedYAMLError) as caught:
        yaml.load(dedented(46, 4), Loader=yaml.SafeLoader)  # noqa: S506 - the safe loader
    assert caught.value.problem_mark.line + 1 == 58


def test_check_config_prints_it_as_file_and_line(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "programme.yaml").write_text(dedented(46, 4), encoding="utf-8")
    (tmp_path / "config.yaml").write_text("device: {id: t, name: X}\nsource: {path: src}\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "kiosk", "check-config"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 2
    assert done.stderr.splitlines()[0] == (
        f"{(tmp_path / 'src').resolve()}/programme.yaml:46: YAML syntax: this line is indented less than the lines "
        "before and after it: start it at column 5 (4 spaces), like line 43")
