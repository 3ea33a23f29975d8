"""Sound: a slide's audio: file (real WAV files, pygame's mixer on SDL's dummy audio driver), what is said
(Vietnamese normalised for speech), and the player's decisions (quiet hours, emergencies, the slot held
until the sound ends)."""

import datetime as dt
import io
import math
import struct
import wave

import pytest
from test_player import LOCAL, board, programme, slide

from kiosk.content import manifest
from kiosk.content import programme as programmemod
from kiosk.player.frames import speech_voice
from kiosk.source import publish, speech
from kiosk.source.spoken import number_words, spoken
from kiosk.status import Status


def wav(path, seconds=0.5, rate=8000):
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(i / 5))) for i in range(int(rate * seconds))))
    return path


# --- what is said ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("n, words", [(0, "không"), (15, "mười lăm"), (21, "hai mươi mốt"), (24, "hai mươi tư"),
                                      (105, "một trăm linh năm"), (2026, "hai nghìn không trăm hai mươi sáu"),
                                      (1_500_000, "một triệu năm trăm nghìn")])
def test_numbers_in_vietnamese_words(n, words):
    assert number_words(n) == words


@pytest.mark.parametrize("text, said", [
    ("UBND xã họp lúc 7h30", "Ủy ban nhân dân xã họp lúc bảy giờ ba mươi"),
    ("HĐND huyện, 14:00", "Hội đồng nhân dân huyện, mười bốn giờ"),
    ("ngày 01/12/2026", "ngày một tháng mười hai năm hai nghìn không trăm hai mươi sáu"),
    ("Gọi 0235 3 888 999", "Gọi không hai ba năm, ba, tám tám tám, chín chín chín"),
    ("30 % số hộ, cách 15 km", "ba mươi phần trăm số hộ, cách mười lăm ki lô mét"),
    ("TP. Huế, 1.500.000 đồng", "thành phố Huế, một triệu năm trăm nghìn đồng"),
])
def test_notices_are_written_out_for_speech(text, said):
    assert spoken(text) == said


def test_the_chime_is_a_real_wav():
    with wave.open(io.BytesIO(speech.chime_wav())) as chime:
        assert chime.getnchannels() == 1 and 1.0 < chime.getnframes() / chime.getframerate() < 2.0


# --- audio: files -----------------------------------------------------------------------------------------

def folder(tmp_path, audio_line: str):
    (tmp_path / "programme.yaml").write_text(
        f"slides:\n  - {{id: a, title: Thông báo, {audio_line}}}\n  - {{id: b, title: Khác}}\n", encoding="utf-8")
    return tmp_path


def test_an_announcement_travels_in_the_media_table_like_a_picture(tmp_path):
    (tmp_path / "src").mkdir()
    src = folder(tmp_path / "src", "audio: loa.wav")
    wav(src / "loa.wav")
    prog = programmemod.load_folder(src)
    assert prog.slides[0].audio.name == "loa.wav" and not prog.warnings
    publish.publish(src, tmp_path / "out", None)
    decoded = manifest.decode((tmp_path / "out" / "manifest.v2.json").read_bytes(), tmp_path / "out" / "media")
    ref = decoded.slides[0].audio
    assert ref.sha256 == prog.slides[0].audio.sha256 and manifest.media_of(decoded) == {ref.sha256: ref.size}
    assert (tmp_path / "out" / "media" / ref.sha256).read_bytes() == (src / "loa.wav").read_bytes()
    assert decoded.version == prog.version


@pytest.mark.parametrize("make, message", [
    (None, "not found"),
    (lambda p: p.write_text("xin chào"), "not a sound file (WAV, OGG or MP3)"),
    (lambda p: p.write_bytes(b""), "the file is empty"),
])
def test_a_missing_or_wrong_audio_file_names_the_slide_and_the_key(tmp_path, make, message):
    src = folder(tmp_path, "audio: loa.wav")
    if make:
        make(src / "loa.wav")
    prog = programmemod.load_folder(src)
    assert [s.id for s in prog.slides] == ["b"]
    assert "slides[0] (a).audio" in str(prog.warnings[0]) and message in str(prog.warnings[0])


def test_a_real_sound_loads_ahead_and_one_that_does_not_decode_leaves_the_slide_silent(tmp_path):
    from kiosk.screen.sound import Speaker

    good = wav(tmp_path / "good.wav", seconds=0.5)
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF\x10\x00\x00\x00WAVEgarbage-not-audio")
    speaker, status = Speaker(0.5, chime=speech.chime_wav()), Status()
    voice = speech_voice(None, tmp_path, speaker, status)
    ref = programmemod.MediaRef("0" * 64, good.stat().st_size, good, "good.wav")
    sound = voice(programmemod.Slide(id="a", type="text", title="T", audio=ref))
    assert sound is not None and sound.get_length() == pytest.approx(0.5, abs=0.05)
    assert sound.get_volume() == pytest.approx(0.5, abs=0.01) and 1.0 < speaker.chime_seconds < 2.0
    broken = programmemod.MediaRef("1" * 64, bad.stat().st_size, bad, "bad.wav")
    assert voice(programmemod.Slide(id="x", type="text", title="T", audio=broken)) is None
    assert "bad.wav" in status.snapshot()["errors"]["audio:x"]


# --- the player's decisions ---------------------------------------------------------------------------------

class Sound:
    def __init__(self, seconds):
        self.seconds = seconds

    def get_length(self):
        return self.seconds


class FakeSpeaker:
    chime_seconds = 1.5

    def __init__(self, clock):
        self.clock, self.played, self.stops = clock, [], 0

    def play(self, sound, chime=False):
        self.played.append((self.clock.t, sound.seconds, chime))

    def stop(self):
        self.stops += 1


def heard_board(tmp_path, prog, extra="", seconds=4.0):
    b = board(tmp_path, prog, extra=extra)
    b.player.frames.voice = lambda _slide: Sound(seconds)  # made on the (immediate) speech executor
    b.player.speaker = FakeSpeaker(b.clock)
    return b


def speaking(sid, duration=10, priority="normal", **window):
    from dataclasses import replace
    return replace(slide(sid, duration, priority, **window), speak=True)


def test_a_slide_stays_until_its_announcement_ends(tmp_path):
    b = heard_board(tmp_path, programme(speaking("a", 5), slide("b", 5)), seconds=12.0)
    b.run(30)
    assert b.screen.shown[:2] == [(0.0, "show", "a"), (12.0, "fade", "b")]  # 12 s of sound, not 5
    assert b.player.speaker.played[0] == (0.0, 12.0, False)


def test_quiet_hours_silence_all_but_emergencies(tmp_path):
    until = LOCAL + dt.timedelta(seconds=25)
    prog = programme(speaking("a", 10), speaking("bao", 10, "emergency", valid_from=LOCAL + dt.timedelta(seconds=15),
                                                 valid_until=until))
    b = heard_board(tmp_path, prog, extra="sound:\n  quiet_hours: '07:30-09:00'\n", seconds=2.0)
    b.run(40)
    assert [(t, chime) for t, _s, chime in b.player.speaker.played] == [(15.0, True)]  # only the emergency


def test_an_emergency_is_announced_with_the_chime_and_again_every_few_minutes(tmp_path):
    prog = programme(speaking("bao", 30, "emergency"))
    b = heard_board(tmp_path, prog, extra="speech:\n  emergency_repeat_minutes: 2\n", seconds=3.0)
    b.run(300)
    assert [t for t, _s, _c in b.player.speaker.played] == [0.0, 120.0, 240.0]  # not at every 30 s slot
    assert all(chime for _t, _s, chime in b.player.speaker.played)


class Later:
    """A speech thread that finishes when the test says."""

    def __init__(self):
        self.pending = []

    def submit(self, fn, *args):
        import concurrent.futures

        future = concurrent.futures.Future()
        self.pending.append((future, fn, args))
        return future

    def finish(self):
        for future, fn, args in self.pending:
            future.set_result(fn(*args))
        self.pending = []

    def shutdown(self, **_kw):
        pass


def test_a_sound_made_just_after_its_slot_began_still_plays(tmp_path):
    b = heard_board(tmp_path, programme(speaking("a", 5), speaking("b", 5)), seconds=6.0)
    later = Later()
    b.player.frames._speech = later
    b.clock.at(1.5, later.finish)  # a's speech is made 1.5 s into its slot (b's, made ahead, with it)
    b.run(14)
    assert b.player.speaker.played[0][0] == pytest.approx(1.5, abs=0.11)  # started at once when made
    assert b.screen.shown[1][0] == pytest.approx(7.5, abs=0.11)  # a held until its sound ended (1.5 + 6)
    assert b.player.speaker.played[1][0] == pytest.approx(7.5, abs=0.11)  # b's was ready at its slot


def test_a_sound_made_too_late_never_holds_the_screen(tmp_path):
    b = heard_board(tmp_path, programme(speaking("a", 5), slide("b", 5)), seconds=6.0)
    later = Later()
    b.player.frames._speech = later
    b.clock.at(4.0, later.finish)  # past LATE_SOUND_SECONDS: a plays silent, its slot is not stretched
    b.run(8)
    assert b.player.speaker.played == [] and b.screen.shown[1][0] == 5.0
