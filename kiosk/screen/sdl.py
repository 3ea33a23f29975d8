"""The few SDL calls pygame-ce does not expose, from the very SDL library pygame loaded (ctypes).

pygame-ce 2.5's `_sdl2.video.Texture` is made and updated from RGB Surfaces only: no YUV pixel format,
no SDL_UpdateYUVTexture. A decoded video picture is YUV 4:2:0; converting it to RGB on the CPU would cost
~12 MB of memory traffic a 1080p frame on a Pi. SDL itself takes the three planes as they are (the GPU's
renderer converts in its shader; SDL's software renderer converts in C), so a video's texture is made and
updated here, and drawn on pygame's renderer in the same command queue as pygame's own textures. The
audio device is SDL's queue (SDL_QueueAudio): the decoder pushes samples, and what is still queued says
exactly how much has been heard, which is the clock a video follows. Binding these dozen functions costs
less than a C extension or a second media library.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading

import pygame  # loads SDL: the library bound below must be that one

PIXELFORMAT_IYUV = 0x56555949  # SDL_DEFINE_PIXELFOURCC('I','Y','U','V'): planar Y, U, V (4:2:0)
TEXTUREACCESS_STREAMING = 1
INIT_AUDIO = 0x10
AUDIO_S16LSB = 0x8010
MIX_MAXVOLUME = 128


class Rect(ctypes.Structure):
    _fields_ = [("x", ctypes.c_int), ("y", ctypes.c_int), ("w", ctypes.c_int), ("h", ctypes.c_int)]


class AudioSpec(ctypes.Structure):
    _fields_ = [("freq", ctypes.c_int), ("format", ctypes.c_uint16), ("channels", ctypes.c_uint8),
                ("silence", ctypes.c_uint8), ("samples", ctypes.c_uint16), ("padding", ctypes.c_uint16),
                ("size", ctypes.c_uint32), ("callback", ctypes.c_void_p), ("userdata", ctypes.c_void_p)]


_lib = None
_lock = threading.Lock()


def _loaded_path() -> str | None:
    """The libSDL2 mapped into this process (pygame's wheel bundles its own; a Debian pygame uses the
    system's)."""
    try:
        with open("/proc/self/maps") as maps:
            for line in maps:
                name = line.rsplit(None, 1)[-1]
                if "/libSDL2-2" in name or "/libSDL2.so" in name or "/libSDL2-2.0.so" in name:
                    return name
    except OSError:
        pass
    return ctypes.util.find_library("SDL2")


def lib() -> ctypes.CDLL:
    """SDL, bound once; OSError when it cannot be found (the caller falls back to RGB textures)."""
    global _lib
    with _lock:
        if _lib is None:
            assert pygame.get_sdl_version()[0] == 2
            path = _loaded_path()
            if path is None:
                raise OSError("libSDL2 not found in this process")
            sdl = ctypes.CDLL(path)
            sig = {
                "SDL_GetWindowFromID": (ctypes.c_void_p, [ctypes.c_uint32]),
                "SDL_GetRenderer": (ctypes.c_void_p, [ctypes.c_void_p]),
                "SDL_CreateTexture": (ctypes.c_void_p, [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int,
                                                        ctypes.c_int, ctypes.c_int]),
                "SDL_DestroyTexture": (None, [ctypes.c_void_p]),
                "SDL_UpdateYUVTexture": (ctypes.c_int, [ctypes.c_void_p, ctypes.c_void_p,
                                                        ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p,
                                                        ctypes.c_int, ctypes.c_void_p, ctypes.c_int]),
                "SDL_RenderCopyEx": (ctypes.c_int, [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
                                                    ctypes.POINTER(Rect), ctypes.c_double, ctypes.c_void_p,
                                                    ctypes.c_int]),
                "SDL_GetError": (ctypes.c_char_p, []),
                "SDL_InitSubSystem": (ctypes.c_int, [ctypes.c_uint32]),
                "SDL_OpenAudioDevice": (ctypes.c_uint32, [ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(AudioSpec),
                                                          ctypes.POINTER(AudioSpec), ctypes.c_int]),
                "SDL_CloseAudioDevice": (None, [ctypes.c_uint32]),
                "SDL_PauseAudioDevice": (None, [ctypes.c_uint32, ctypes.c_int]),
                "SDL_QueueAudio": (ctypes.c_int, [ctypes.c_uint32, ctypes.c_void_p, ctypes.c_uint32]),
                "SDL_GetQueuedAudioSize": (ctypes.c_uint32, [ctypes.c_uint32]),
                "SDL_ClearQueuedAudio": (None, [ctypes.c_uint32]),
                "SDL_MixAudioFormat": (None, [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_uint16, ctypes.c_uint32,
                                              ctypes.c_int]),
            }
            for name, (restype, argtypes) in sig.items():
                function = getattr(sdl, name)
                function.restype, function.argtypes = restype, argtypes
            _lib = sdl
        return _lib


def error() -> str:
    return (lib().SDL_GetError() or b"").decode(errors="replace")


def renderer_of(window) -> int:
    """The SDL_Renderer* of a pygame `_sdl2.video.Window` (its Renderer made it)."""
    sdl = lib()
    pointer = sdl.SDL_GetRenderer(sdl.SDL_GetWindowFromID(window.id))
    if not pointer:
        raise OSError(f"the window has no SDL renderer ({error()})")
    return pointer


class YUVTexture:
    """A streaming IYUV texture: the three planes of a decoded picture go in as they are."""

    def __init__(self, renderer: int, width: int, height: int):
        self._sdl = lib()
        self.renderer, self.width, self.height = renderer, width, height
        self.pointer = self._sdl.SDL_CreateTexture(renderer, PIXELFORMAT_IYUV, TEXTUREACCESS_STREAMING,
                                                   width, height)
        if not self.pointer:
            raise OSError(f"SDL cannot make a {width}x{height} YUV texture ({error()})")

    def update(self, y: int, y_pitch: int, u: int, u_pitch: int, v: int, v_pitch: int) -> None:
        """Planes given as addresses (PyAV's plane.buffer_ptr) and line sizes; the caller keeps them alive."""
        if self._sdl.SDL_UpdateYUVTexture(self.pointer, None, y, y_pitch, u, u_pitch, v, v_pitch) != 0:
            raise OSError(f"SDL could not update the video texture ({error()})")

    def draw(self, rect: tuple[int, int, int, int], angle: float = 0.0) -> None:
        dst = Rect(*rect)
        self._sdl.SDL_RenderCopyEx(self.renderer, self.pointer, None, ctypes.byref(dst), angle, None, 0)

    def destroy(self) -> None:
        if self.pointer:
            self._sdl.SDL_DestroyTexture(self.pointer)
            self.pointer = None


class AudioQueue:
    """An SDL audio device fed by pushing samples (16-bit stereo); `played()` is the audio clock."""

    def __init__(self, rate: int = 48000, channels: int = 2):
        self._sdl = lib()
        if self._sdl.SDL_InitSubSystem(INIT_AUDIO) != 0:
            raise OSError(f"no audio ({error()})")
        want = AudioSpec(freq=rate, format=AUDIO_S16LSB, channels=channels, samples=1024)
        have = AudioSpec()
        self.device = self._sdl.SDL_OpenAudioDevice(None, 0, ctypes.byref(want), ctypes.byref(have), 0)
        if not self.device:
            raise OSError(f"no audio device ({error()})")
        self.rate, self.channels = rate, channels
        self.bytes_per_second = rate * channels * 2
        self.latency = have.samples / rate  # the device's own buffer, beyond SDL's queue
        self.pushed = 0
        self.started = False
        self.volume = MIX_MAXVOLUME
        self._lock = threading.Lock()

    def push(self, pcm: bytes | memoryview) -> None:
        """Queue interleaved S16LE samples, at the current volume (SDL mixes them in at it, in C)."""
        data = bytes(pcm)
        if self.volume < MIX_MAXVOLUME:
            quiet = ctypes.create_string_buffer(len(data))
            if self.volume > 0:
                self._sdl.SDL_MixAudioFormat(quiet, data, AUDIO_S16LSB, len(data), self.volume)
            data = quiet.raw
        with self._lock:
            if self.device and self._sdl.SDL_QueueAudio(self.device, data, len(data)) == 0:
                self.pushed += len(data)

    def queued_seconds(self) -> float:
        with self._lock:
            return self._sdl.SDL_GetQueuedAudioSize(self.device) / self.bytes_per_second if self.device else 0.0

    def played(self) -> float:
        """Seconds of sound that have reached the loudspeaker since the start."""
        with self._lock:
            if not self.device:
                return 0.0
            heard = self.pushed - self._sdl.SDL_GetQueuedAudioSize(self.device)
        return max(0.0, heard / self.bytes_per_second - (self.latency if self.started else 0.0))

    def start(self) -> None:
        self.started = True
        self._sdl.SDL_PauseAudioDevice(self.device, 0)

    def close(self) -> None:
        with self._lock:
            if self.device:
                self._sdl.SDL_CloseAudioDevice(self.device)
                self.device = 0
