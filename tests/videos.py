"""Real video files for the tests, made with PyAV: a moving picture and a tone, small and short."""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

import av

# (container, video codec, audio codec) of the encodings a board is fed
H264 = ("mp4", "libx264", "aac")
VP9 = ("webm", "libvpx-vp9", "libopus")


def make(path: Path, seconds: float = 2.0, size: tuple[int, int] = (160, 90), fps: int = 15,
         codecs: tuple[str, str, str | None] = H264, audio: bool = True, tone: float = 440.0) -> Path:
    """A video whose frame i is a grey level ramp with a white bar at x = i (so frames differ), with a
    sine tone on a stereo track when `audio`."""
    container, vcodec, acodec = codecs
    width, height = size
    with av.open(str(path), "w", format=container) as out:
        video = out.add_stream(vcodec, rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        if vcodec == "libx264":
            video.options = {"preset": "ultrafast", "tune": "zerolatency"}
        elif vcodec == "libvpx-vp9":
            video.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
        sound = None
        if audio and acodec:
            rate = 48000
            sound = out.add_stream(acodec, rate=rate)
            sound.layout = "stereo"
        frames = max(1, round(seconds * fps))
        for i in range(frames):
            row = bytes(min(255, 40 + (x * 180) // width) for x in range(width))
            bar = max(0, (i * 4) % width)
            row = row[:bar] + b"\xff" * min(4, width - bar) + row[bar + 4:]
            picture = av.VideoFrame(width, height, "gray")
            plane = picture.planes[0]
            plane.update(b"".join(row + bytes(plane.line_size - width) for _ in range(height)))
            frame = picture.reformat(format="yuv420p")
            frame.pts = i
            frame.time_base = Fraction(1, fps)
            for packet in video.encode(frame):
                out.mux(packet)
        for packet in video.encode():
            out.mux(packet)
        if sound is not None:
            chunk = 960
            total = round(seconds * 48000)
            for start in range(0, total, chunk):
                n = min(chunk, total - start)
                samples = bytearray()
                for k in range(n):
                    v = int(12000 * math.sin(2 * math.pi * tone * (start + k) / 48000))
                    samples += v.to_bytes(2, "little", signed=True) * 2
                frame = av.AudioFrame(format="s16", layout="stereo", samples=n)
                frame.planes[0].update(bytes(samples) + bytes(frame.planes[0].buffer_size - len(samples)))
                frame.sample_rate = 48000
                frame.pts = start
                frame.time_base = Fraction(1, 48000)
                for packet in sound.encode(frame):
                    out.mux(packet)
            for packet in sound.encode():
                out.mux(packet)
    return path


def sound_only(path: Path, seconds: float = 1.0) -> Path:
    """An MP4 with an AAC track and no picture."""
    with av.open(str(path), "w", format="mp4") as out:
        sound = out.add_stream("aac", rate=48000)
        sound.layout = "stereo"
        for start in range(0, round(seconds * 48000), 1024):
            frame = av.AudioFrame(format="fltp", layout="stereo", samples=1024)
            for plane in frame.planes:
                plane.update(bytes(plane.buffer_size))
            frame.sample_rate, frame.pts, frame.time_base = 48000, start, Fraction(1, 48000)
            for packet in sound.encode(frame):
                out.mux(packet)
        for packet in sound.encode():
            out.mux(packet)
    return path


def sparse(path: Path, size: tuple[int, int], last_second: float, codec: str = "libx264",
           container: str = "mp4") -> Path:
    """Two pictures: one at 0 and one at `last_second` (a 10-hour video in a few kilobytes), of `size`."""
    width, height = size
    with av.open(str(path), "w", format=container) as out:
        video = out.add_stream(codec, rate=25)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.time_base = Fraction(1, 25)
        if codec == "libx264":
            video.options = {"preset": "ultrafast"}
        for pts in (0, round(last_second * 25)):
            frame = av.VideoFrame(width, height, "yuv420p")
            for plane in frame.planes:
                plane.update(bytes(plane.buffer_size))
            frame.pts, frame.time_base = pts, Fraction(1, 25)
            for packet in video.encode(frame):
                out.mux(packet)
        for packet in video.encode():
            out.mux(packet)
    return path


def cut(path: Path, out: Path, fraction: float) -> Path:
    """The first `fraction` of a file's bytes: a copy interrupted."""
    data = path.read_bytes()
    out.write_bytes(data[: int(len(data) * fraction)])
    return out
