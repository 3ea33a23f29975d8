"""Video files checked at the border: container, codec, size and length, and that the file decodes.

`kiosk publish`, an authoring folder and a synced board call `probe` before a video slide is accepted,
so a board is never handed a file it cannot play: no video stream, a codec this FFmpeg cannot decode or
a Pi should not be asked to, a size or length beyond the caps, a file cut short. PyAV (FFmpeg) reads it;
nothing here draws, so the player's stages may use it.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path

from kiosk.i18n import _

log = logging.getLogger("kiosk.video")

CONTAINERS = {"mov,mp4,m4a,3gp,3g2,mj2": "MP4", "matroska,webm": "MKV/WebM"}
SUFFIXES = (".mp4", ".m4v", ".mov", ".mkv", ".webm")
# What a Pi plays: H.264 is decoded well in software up to 1080p30 (and in hardware on a Pi 4), HEVC in
# hardware on a Pi 4/5 only; VP8, VP9 and AV1 are decoded in software (docs/authoring.md has the costs).
CODECS = {"h264": "H.264", "hevc": "HEVC (H.265)", "vp8": "VP8", "vp9": "VP9", "av1": "AV1"}
MAX_WIDTH, MAX_HEIGHT = 1920, 1088  # either orientation; 1088: H.264 codes 1080 lines as 68 macroblocks
MAX_SECONDS = 3600  # as long as a slot may be (programme.MAX_DURATION)
MAX_FPS = 60
MAX_BYTES = 2 * 1024**3  # the manifest's limit for one media file
END_SLACK_SECONDS = 2.5  # the last packet may end this much before the announced length (keyframe spacing)


@dataclass(frozen=True)
class VideoInfo:
    container: str  # "MP4", "MKV/WebM"
    codec: str  # FFmpeg's name: h264, vp9, …
    width: int
    height: int
    seconds: float
    fps: float
    audio: str | None  # the audio track's codec, None when silent

    def describe(self) -> str:
        sound = f", sound {self.audio}" if self.audio else ", no sound"
        return (f"{self.container} {CODECS.get(self.codec, self.codec)} {self.width}x{self.height} "
                f"{self.fps:g} fps, {clock(self.seconds)}{sound}")

    def jsonable(self) -> list:
        return list(dataclasses.astuple(self))


def clock(seconds: float) -> str:
    """1:02:03, 4:05, 0:07.5 for the messages."""
    whole = int(seconds)
    h, m, s = whole // 3600, whole // 60 % 60, whole % 60
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def probe(path: Path) -> VideoInfo:
    """What `path` holds, checked against the caps; ValueError with a reason a person can act on."""
    import av  # 0.1 s to import: only where a video is looked at

    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ValueError(_("cannot be read ({reason})").format(reason=exc.strerror or exc)) from None
    if size > MAX_BYTES:
        raise ValueError(_("is {size} GB, at most {most} GB: encode it at a lower bitrate (docs/authoring.md)")
                         .format(size=f"{size / 1024**3:.1f}", most=MAX_BYTES // 1024**3))
    try:
        container = av.open(str(path), metadata_errors="ignore")
    except av.FFmpegError as exc:
        raise ValueError(_("is not a video file this board can read ({reason}); a file cut short reads like this "
                           "too").format(reason=_reason(exc))) from None
    try:
        return _probe(container)
    except av.FFmpegError as exc:
        raise ValueError(_("cannot be decoded ({reason})").format(reason=_reason(exc))) from None
    finally:
        container.close()


def _probe(container) -> VideoInfo:
    kind = CONTAINERS.get(container.format.name)
    if kind is None:
        raise ValueError(_("is a {format} file; use MP4, MKV or WebM").format(
            format=container.format.long_name or container.format.name))
    if not container.streams.video:
        raise ValueError(_("has no video stream (only sound?)"))
    stream = container.streams.video[0]
    codec = stream.codec_context.name
    if codec not in CODECS:
        raise ValueError(_("uses the {codec} codec, which a board does not play; use H.264 (docs/authoring.md)")
                         .format(codec=codec))
    width, height = stream.codec_context.width, stream.codec_context.height
    if not width or not height:
        raise ValueError(_("has a video stream without a picture size"))
    if max(width, height) > MAX_WIDTH or min(width, height) > MAX_HEIGHT:
        raise ValueError(_("is {width}x{height}, at most 1920x1080 (a Pi cannot decode more at full speed): "
                           "scale it down (docs/authoring.md)").format(width=width, height=height))
    rate = stream.average_rate or stream.guessed_rate or 0
    fps = float(rate) if rate else 0.0
    if fps > MAX_FPS + 0.5:
        raise ValueError(_("has {fps} frames a second, at most {most}").format(fps=f"{fps:g}", most=MAX_FPS))
    seconds = _length(container, stream)
    if seconds > MAX_SECONDS:
        raise ValueError(_("is {length} long, at most {most}: cut it into shorter videos").format(
            length=clock(seconds), most=clock(MAX_SECONDS)))
    audio = None
    if container.streams.audio:
        track = container.streams.audio[0]
        audio = track.codec_context.name if track.codec_context.codec else None
        if audio is None:
            raise ValueError(_("has a sound track this board cannot decode; use AAC or Opus"))
    first = _first_frame(container, stream)
    if first is None:
        raise ValueError(_("has a video stream with no picture in it (cut short?)"))
    end = _last_end(container, stream, seconds)
    if seconds and end < seconds - END_SLACK_SECONDS:
        raise ValueError(_("is cut short: its pictures end at {end} of {length} (copy it again)").format(
            end=clock(end), length=clock(seconds)))
    seconds = seconds or end
    if seconds <= 0:
        raise ValueError(_("has no length"))
    return VideoInfo(kind, codec, width, height, round(seconds, 3), round(fps, 3), audio)


def _length(container, stream) -> float:
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration:
        return container.duration / 1_000_000
    return 0.0  # not announced (some WebM): the last packet says


def _first_frame(container, stream):
    for frame in container.decode(stream):
        return frame
    return None


def _last_end(container, stream, seconds: float) -> float:
    """When the last picture packet ends: a file cut short ends long before its announced length."""
    if seconds > END_SLACK_SECONDS:
        container.seek(int((seconds - END_SLACK_SECONDS - 1) / stream.time_base), stream=stream, backward=True)
    end = 0.0
    for packet in container.demux(stream):
        if packet.pts is not None and packet.time_base:
            end = max(end, float((packet.pts + (packet.duration or 0)) * packet.time_base))
    return end


def _reason(exc: Exception) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    return text.split(": '", 1)[0].strip()


def remembered(memo, path: Path) -> VideoInfo:
    """probe, through a media.Memo: a republish does not open an unchanged video again."""
    return VideoInfo(*memo.remember(path, "video", lambda: probe(path).jsonable()))
