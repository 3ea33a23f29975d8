"""Text-to-speech for slides with `speak: true`: espeak-ng to WAV files, cached.

Synthesis takes a noticeable fraction of a second on a Pi, so it happens
ahead of time, off the render loop; the player plays the file with
pygame.mixer. A WAV is named by the hash of (text, voice, rate), so a slide
that plays a thousand times is synthesised once, and written atomically
(temp file, fsync, rename) so a power cut never leaves half a file.

Vietnamese voices of espeak-ng: vi (northern), vi-vn-x-central, vi-vn-x-south.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
import unicodedata
from collections.abc import Iterable
from pathlib import Path

from kiosk.durable import fsync_dir
from kiosk.i18n import _

ENGINE = "espeak-ng"
TMP_STALE_SECONDS = 600.0
TIMEOUT_S = 120.0


class SpeechError(Exception):
    """Speech could not be made; the message says why and what to do."""


def text_of(slide) -> str:
    """What a `speak: true` slide says: its title, then its body, written out for speech (source.spoken:
    numbers, dates, times, phone numbers, abbreviations)."""
    from kiosk.source.spoken import spoken

    text = ". ".join(part for part in (slide.title, slide.body) if part)
    return spoken(unicodedata.normalize("NFC", text).strip())


def chime_wav(rate: int = 22050) -> bytes:
    """The attention chime before an emergency is spoken: two bell-like tones (a fifth apart), 1.2 s, as a
    16-bit mono WAV made here (no file to ship, nothing to go missing)."""
    import io
    import math
    import struct
    import wave

    frames = bytearray()
    for freq, start, length in ((880.0, 0.0, 0.6), (587.3, 0.6, 0.6)):
        del start
        for i in range(int(rate * length)):
            t = i / rate
            level = math.exp(-4.0 * t) * (math.sin(2 * math.pi * freq * t) + 0.3 * math.sin(4 * math.pi * freq * t))
            frames += struct.pack("<h", int(max(-1.0, min(1.0, 0.45 * level)) * 32767))
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(bytes(frames))
    return buffer.getvalue()


def cache_key(text: str, voice: str, rate: int) -> str:
    """The file name stem for one utterance: the same text, voice and rate give the same file."""
    blob = json.dumps([unicodedata.normalize("NFC", text), voice, int(rate)], ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def synthesize(text: str, voice: str, rate: int, cache_dir: Path) -> Path:
    """The WAV file that speaks `text`, made if not already cached. Raises SpeechError."""
    text = unicodedata.normalize("NFC", text).strip()
    if not text:
        raise SpeechError(_("nothing to say: the text is empty"))
    target = Path(cache_dir) / f"{cache_key(text, voice, rate)}.wav"
    if target.is_file() and target.stat().st_size > 44:  # more than a bare WAV header
        return target
    engine = shutil.which(ENGINE)
    if engine is None:
        raise SpeechError(_("{engine} is not installed: {hint}").format(
            engine=ENGINE, hint=_("apt install espeak-ng (Vietnamese voices: vi, vi-vn-x-central, vi-vn-x-south)")))
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temp_name = tempfile.mkstemp(prefix=".speech-", suffix=".wav.tmp", dir=target.parent)
        os.close(fd)
    except OSError as exc:
        raise SpeechError(_("cannot write to the speech cache {folder}: {reason}").format(
            folder=repr(str(cache_dir)), reason=exc.strerror or exc)) from None
    temp = Path(temp_name)
    try:
        # Text on stdin (never argv: a text starting with "-" is not an option), UTF-8 (-b 1).
        argv = [engine, "-b", "1", "-v", voice, "-s", str(int(rate)), "-w", str(temp), "--stdin"]
        try:
            done = subprocess.run(argv, input=text.encode("utf-8"), capture_output=True, timeout=TIMEOUT_S,
                                  check=False)
        except subprocess.TimeoutExpired:
            raise SpeechError(_("{engine} did not finish within {seconds} s").format(
                engine=ENGINE, seconds=f"{TIMEOUT_S:g}")) from None
        except OSError as exc:
            raise SpeechError(_("cannot run {engine}: {reason}").format(engine=ENGINE, reason=exc.strerror or exc)) \
                from None
        if done.returncode != 0:
            detail = (done.stderr or done.stdout).decode("utf-8", "replace").strip()
            if "voice does not exist" in detail:
                raise SpeechError(_("{engine} has no voice {voice} (speech.voice); Vietnamese: vi, vi-vn-x-central, "
                                    "vi-vn-x-south").format(engine=ENGINE, voice=repr(voice)))
            raise SpeechError(_("{engine} failed (status {code}): {detail}").format(
                engine=ENGINE, code=done.returncode, detail=detail or _("no message")))
        with open(temp, "rb+") as handle:
            head = handle.read(12)
            if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
                raise SpeechError(_("{engine} wrote no WAV audio").format(engine=ENGINE))
            os.fsync(handle.fileno())
        os.replace(temp, target)
        fsync_dir(target.parent)
        return target
    finally:
        temp.unlink(missing_ok=True)


def prune(cache_dir: Path, keep: Iterable[Path]) -> int:
    """Delete cached WAVs not in `keep` (those of the current programme); returns how many went."""
    wanted = {Path(p).name for p in keep}
    removed = 0
    try:
        entries = list(Path(cache_dir).iterdir())
    except OSError:
        return 0
    stale = time.time() - TMP_STALE_SECONDS
    for entry in entries:
        if entry.suffix == ".tmp":  # a synthesis under way: only a crash's leftovers go
            try:
                if entry.stat().st_mtime > stale:
                    continue
            except OSError:
                continue
        if entry.suffix in (".wav", ".tmp") and entry.name not in wanted:
            try:
                entry.unlink()
                removed += 1
            except OSError:
                pass
    return removed
