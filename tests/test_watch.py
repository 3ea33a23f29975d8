"""Hot reload with real files and real edits: config.yaml and the authoring folder."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from kiosk.source.watch import ConfigWatcher, Debouncer, FolderWatcher

DEBOUNCE = 0.05  # short in tests; the default (0.5 s) is for editors
QUIET = 0.4  # how long "nothing happened" is given to happen, several debounce periods


def wait_for(predicate, timeout: float = 10.0) -> bool:
    """Poll until `predicate()` holds or the deadline passes (no fixed sleeps)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


CONFIG = """\
device:
  id: ubnd-an-khuong
  name: UBND xã An Khương
source:
  path: slides
display:
  crossfade_ms: {crossfade}
"""


class Calls:
    def __init__(self):
        self.valid, self.invalid, self.changes = [], [], 0
        self.lock = threading.Lock()

    def on_valid(self, cfg):
        with self.lock:
            self.valid.append(cfg)

    def on_invalid(self, problems):
        with self.lock:
            self.invalid.append(problems)

    def on_change(self):
        with self.lock:
            self.changes += 1


@pytest.fixture
def config_file(tmp_path):
    (tmp_path / "slides").mkdir()
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG.format(crossfade=600), encoding="utf-8")
    return path


@pytest.fixture
def watched_config(config_file):
    calls = Calls()
    watcher = ConfigWatcher(config_file, calls.on_valid, calls.on_invalid, debounce=DEBOUNCE)
    watcher.start()
    yield config_file, calls
    watcher.stop()


def test_an_edit_in_place_is_applied(watched_config):
    path, calls = watched_config
    path.write_text(CONFIG.format(crossfade=0), encoding="utf-8")
    assert wait_for(lambda: calls.valid)
    assert calls.valid[-1].display.crossfade_ms == 0 and calls.invalid == []


def test_an_editor_replacing_the_file_by_rename_is_seen(watched_config):
    path, calls = watched_config
    temp = path.with_name(".config.yaml.swp")
    temp.write_text(CONFIG.format(crossfade=250), encoding="utf-8")
    os.replace(temp, path)
    assert wait_for(lambda: calls.valid)
    assert calls.valid[-1].display.crossfade_ms == 250


def test_an_invalid_edit_is_refused_with_file_and_line_then_a_fix_applies(watched_config):
    path, calls = watched_config
    path.write_text(CONFIG.format(crossfade="lots"), encoding="utf-8")
    assert wait_for(lambda: calls.invalid)
    (problem,) = calls.invalid[-1]
    assert problem.file.endswith("config.yaml") and problem.line == 7 and problem.path == "display.crossfade_ms"
    assert "expected a number" in problem.message
    assert calls.valid == []  # the running config stays
    path.write_text(CONFIG.format(crossfade=100), encoding="utf-8")
    assert wait_for(lambda: calls.valid)
    assert calls.valid[-1].display.crossfade_ms == 100


def test_broken_yaml_is_refused(watched_config):
    path, calls = watched_config
    path.write_text("device:\n  id: [unclosed\n", encoding="utf-8")
    assert wait_for(lambda: calls.invalid)
    assert calls.invalid[-1][0].line is not None and calls.valid == []


def test_a_comment_only_edit_applies_nothing(watched_config):
    path, calls = watched_config
    path.write_text("# checked by the district technician\n" + CONFIG.format(crossfade=600), encoding="utf-8")
    time.sleep(QUIET)
    path.write_text(CONFIG.format(crossfade=5), encoding="utf-8")
    assert wait_for(lambda: calls.valid)
    time.sleep(QUIET)
    assert [c.display.crossfade_ms for c in calls.valid] == [5]


def test_other_files_in_the_directory_are_ignored(watched_config):
    path, calls = watched_config
    (path.parent / "notes.txt").write_text("not the config")
    time.sleep(QUIET)
    assert calls.valid == [] and calls.invalid == []


def test_a_deleted_config_is_reported_and_the_running_one_kept(watched_config):
    path, calls = watched_config
    path.unlink()
    assert wait_for(lambda: calls.invalid)
    assert "gone" in calls.invalid[-1][0].message and calls.valid == []


# --- the authoring folder --------------------------------------------------------------------------------


@pytest.fixture
def watched_folder(tmp_path):
    folder = tmp_path / "slides"
    (folder / "images").mkdir(parents=True)
    (folder / "programme.yaml").write_text("slides: []\n", encoding="utf-8")
    calls = Calls()
    watcher = FolderWatcher(folder, calls.on_change, debounce=DEBOUNCE)
    watcher.start()
    yield folder, calls
    watcher.stop()


def test_an_edit_to_the_programme_is_seen(watched_folder):
    folder, calls = watched_folder
    (folder / "programme.yaml").write_text("slides:\n  - id: tin-moi\n", encoding="utf-8")
    assert wait_for(lambda: calls.changes >= 1)


def test_a_new_image_in_a_subfolder_is_seen(watched_folder):
    folder, calls = watched_folder
    (folder / "images" / "lễ-hội.jpg").write_bytes(b"\xff\xd8\xff" + b"0" * 1000)
    assert wait_for(lambda: calls.changes >= 1)


def test_a_burst_of_edits_is_coalesced(watched_folder):
    folder, calls = watched_folder
    for n in range(30):
        (folder / "images" / f"{n}.png").write_bytes(b"x" * 100)
    assert wait_for(lambda: calls.changes >= 1)
    time.sleep(QUIET)
    assert calls.changes < 30


def test_reading_the_folder_and_hidden_files_do_not_reload(watched_folder):
    folder, calls = watched_folder
    for path in folder.rglob("*"):
        if path.is_file():
            path.read_bytes()  # what the loader does after every reload: must not trigger another
    (folder / ".programme.yaml.swp").write_text("vim")
    (folder / "programme.yaml~").write_text("backup")
    time.sleep(QUIET)
    assert calls.changes == 0


def test_debouncer_coalesces_pokes_into_one_call():
    done = []
    debouncer = Debouncer(DEBOUNCE, lambda: done.append(time.monotonic()))
    for _ in range(50):
        debouncer.poke()
    assert wait_for(lambda: done)
    debouncer.poke()
    assert wait_for(lambda: len(done) == 2)
    debouncer.close()
    debouncer.poke()  # after close: nothing, no error
    assert len(done) == 2


def test_stop_is_clean_when_never_triggered(tmp_path):
    watcher = FolderWatcher(Path(tmp_path), lambda: None)
    watcher.start()
    watcher.stop()
