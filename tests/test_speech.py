"""Text-to-speech: real espeak-ng, real WAV files on disk."""

from __future__ import annotations

import shutil
import unicodedata
import wave
from pathlib import Path

import pytest

from kiosk.source import speech

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
TEXT = "Cảnh báo bão số 9: người dân không ra khơi."


@needs_espeak
def test_vietnamese_speech_is_a_cached_wav(tmp_path: Path):
    path = speech.synthesize(TEXT, "vi", 150, tmp_path)
    with wave.open(str(path)) as audio:
        assert audio.getnchannels() == 1 and audio.getnframes() > audio.getframerate()  # over a second
    before = path.stat().st_mtime_ns
    # the same words typed decomposed (another keyboard) hit the same file, which is not rewritten
    again = speech.synthesize(unicodedata.normalize("NFD", TEXT), "vi", 150, tmp_path)
    assert again == path and path.stat().st_mtime_ns == before
    faster = speech.synthesize(TEXT, "vi", 300, tmp_path)
    south = speech.synthesize(TEXT, "vi-vn-x-south", 150, tmp_path)
    assert len({path, faster, south}) == 3
    with wave.open(str(faster)) as fast, wave.open(str(path)) as normal:
        assert fast.getnframes() < normal.getnframes()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in (path, faster, south))  # no temp
    assert speech.prune(tmp_path, keep=[path]) == 2 and list(tmp_path.iterdir()) == [path]


@needs_espeak
def test_text_that_looks_like_an_option_is_spoken(tmp_path: Path):
    path = speech.synthesize("-v en --help", "vi", 150, tmp_path / "new")
    assert path.read_bytes()[:4] == b"RIFF"


@needs_espeak
def test_unknown_voice_is_named(tmp_path: Path):
    with pytest.raises(speech.SpeechError, match="no voice 'zz-nosuch' \\(speech.voice\\)"):
        speech.synthesize(TEXT, "zz-nosuch", 150, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_missing_espeak_says_how_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(speech.SpeechError, match="espeak-ng is not installed: apt install espeak-ng"):
        speech.synthesize(TEXT, "vi", 150, tmp_path)
    with pytest.raises(speech.SpeechError, match="empty"):
        speech.synthesize("  ", "vi", 150, tmp_path)


def test_prune_leaves_a_synthesis_under_way_and_removes_a_crash_leftover(tmp_path):
    import os
    import time

    from kiosk.source import speech as speechmod

    fresh, old, unused = tmp_path / ".speech-a.wav.tmp", tmp_path / ".speech-b.wav.tmp", tmp_path / "c.wav"
    for path in (fresh, old, unused):
        path.write_bytes(b"x")
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    assert speechmod.prune(tmp_path, []) == 2
    assert fresh.exists() and not old.exists() and not unused.exists()
