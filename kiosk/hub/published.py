"""The content version the province published last: what "up to date" on the fleet page is measured against.

Read from `content.manifest` in hub.yaml, the `manifest.json` that `kiosk publish` wrote (a local file,
as the hub usually sits beside the content tree, or its URL), at most once a minute. Unset or
unreadable: unknown, and the page says so rather than calling every board out of date.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger("kiosk.hub")

REFRESH_SECONDS = 60.0
MAX_BYTES = 16 * 1024 * 1024


def version_of(data: bytes) -> str | None:
    try:
        value = json.loads(data.decode("utf-8")).get("version")
    except (UnicodeDecodeError, ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None


class Published:
    def __init__(self, source: str | None, clock: Callable[[], float] = time.monotonic):
        self.source = source
        self._clock = clock
        self._lock = threading.Lock()
        self._version: str | None = None
        self._read_at: float | None = None
        self._failing = False

    def latest(self) -> str | None:
        if self.source is None:
            return None
        with self._lock:
            now = self._clock()
            if self._read_at is None or now - self._read_at >= REFRESH_SECONDS:
                self._read_at = now
                self._version = self._read()
            return self._version

    def _read(self) -> str | None:
        try:
            data = self._fetch()
        except (OSError, ValueError) as exc:
            if not self._failing:
                log.warning("content.manifest %s: %s (content versions shown as unknown)", self.source, exc)
            self._failing = True
            return None
        version = version_of(data)
        if version is None and not self._failing:
            log.warning("content.manifest %s: no version in it", self.source)
        self._failing = version is None
        return version

    def _fetch(self) -> bytes:
        if self.source.startswith(("http://", "https://")):
            import requests

            try:
                with requests.get(self.source, timeout=(5, 10), stream=True) as answer:
                    answer.raise_for_status()
                    return answer.raw.read(MAX_BYTES, decode_content=True)
            except requests.RequestException as exc:
                raise OSError(str(exc)) from None
        return Path(self.source).read_bytes()
