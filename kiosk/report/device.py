"""Facts about the board itself: temperature, power supply, load, memory, disk, addresses.

Pure parsers turn each raw text (a sysfs file, /proc, a command's output) into values, so they are
tested with sample strings. `Reader` is the thin shell: it reads lazily, when a health snapshot is
taken, and keeps the answer a few seconds so that a burst of /healthz requests or scrapes costs one
read. Every fact is None where the board cannot tell (not a Pi, no thermal zone, no `ip`).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

# Bits of the firmware's get_throttled word (Raspberry Pi documentation, "vcgencmd get_throttled").
THROTTLE_BITS = {
    "under_voltage": 0,
    "freq_capped": 1,
    "throttled": 2,
    "soft_temp_limit": 3,
}
OCCURRED_SHIFT = 16  # the same flags, "has occurred since boot", 16 bits higher


def parse_cpu_temp(text: str) -> float | None:
    """/sys/class/thermal/thermal_zone0/temp holds millidegrees Celsius, e.g. '48312'."""
    try:
        value = int(text.strip())
    except ValueError:
        return None
    celsius = value / 1000.0
    return round(celsius, 1) if -60.0 < celsius < 200.0 else None


def parse_throttled(text: str) -> dict | None:
    """`vcgencmd get_throttled` ('throttled=0x50005') or the sysfs file ('50005', hex) to flags.

    Returns {"raw": int, "now": {flag: bool}, "since_boot": {flag: bool}}, None when unreadable.
    """
    value = text.strip()
    if value.startswith("throttled="):
        value = value[len("throttled=") :]
    try:
        word = int(value, 16)
    except ValueError:
        return None
    return {
        "raw": word,
        "now": {name: bool(word >> bit & 1) for name, bit in THROTTLE_BITS.items()},
        "since_boot": {name: bool(word >> (bit + OCCURRED_SHIFT) & 1) for name, bit in THROTTLE_BITS.items()},
    }


def parse_meminfo(text: str) -> dict:
    """/proc/meminfo to {"memory_total_bytes", "memory_available_bytes"} (None when missing)."""
    values: dict[str, int] = {}
    for line in text.splitlines():
        name, _, rest = line.partition(":")
        parts = rest.split()
        if parts and parts[0].isdigit():
            values[name.strip()] = int(parts[0]) * (1024 if parts[1:2] == ["kB"] else 1)
    return {
        "memory_total_bytes": values.get("MemTotal"),
        "memory_available_bytes": values.get("MemAvailable"),
    }


def parse_uptime(text: str) -> float | None:
    """/proc/uptime: 'seconds-since-boot idle-seconds'."""
    try:
        return round(float(text.split()[0]), 1)
    except (ValueError, IndexError):
        return None


def parse_ip_json(text: str) -> list[str]:
    """`ip -j addr` to the board's reachable addresses (no loopback, no link-local), in interface order."""
    try:
        interfaces = json.loads(text)
    except ValueError:
        return []
    addresses: list[str] = []
    if not isinstance(interfaces, list):
        return []
    for interface in interfaces:
        if not isinstance(interface, dict) or interface.get("ifname") == "lo":
            continue
        for info in interface.get("addr_info") or []:
            if isinstance(info, dict) and info.get("scope") == "global" and isinstance(info.get("local"), str):
                addresses.append(info["local"])
    return addresses


def parse_model(raw: bytes) -> str | None:
    """/proc/device-tree/model is NUL-terminated, e.g. b'Raspberry Pi 4 Model B Rev 1.4\\x00'."""
    text = raw.rstrip(b"\x00\n").decode("utf-8", "replace").strip()
    return text or None


def parse_os_release(text: str) -> str | None:
    """/etc/os-release: the PRETTY_NAME, e.g. 'Debian GNU/Linux 12 (bookworm)'."""
    for line in text.splitlines():
        if line.startswith("PRETTY_NAME="):
            return line.partition("=")[2].strip().strip('"') or None
    return None


def _run(argv: list[str]) -> str | None:
    """Run a small read-only command; None when it is missing, fails or takes over a second."""
    if shutil.which(argv[0]) is None:
        return None
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=1.0, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def _primary_address() -> list[str]:
    """Fallback without `ip`: the address the kernel would use to reach the outside (sends nothing)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.connect(("192.0.2.1", 9))  # TEST-NET-1: routing decision only, no packet leaves
            address = sock.getsockname()[0]
    except OSError:
        return []
    return [] if address.startswith("127.") or address == "0.0.0.0" else [address]


class Reader:
    """Reads device facts lazily and keeps them `ttl` seconds (addresses `slow_ttl`). Call it for a dict."""

    def __init__(
        self,
        cache_dir: Path,
        ttl: float = 5.0,
        slow_ttl: float = 60.0,
        root: Path = Path("/"),
        run: Callable[[list[str]], str | None] = _run,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.cache_dir = Path(cache_dir)
        self.ttl, self.slow_ttl = ttl, slow_ttl
        self.root, self._run, self._clock = root, run, clock
        self._lock = threading.Lock()
        self._facts: dict | None = None
        self._read_at = self._slow_at = float("-inf")
        self._slow: dict = {}

    def __call__(self) -> dict:
        with self._lock:
            now = self._clock()
            if now - self._slow_at >= self.slow_ttl:
                self._slow, self._slow_at = self._read_slow(), now
            if self._facts is None or now - self._read_at >= self.ttl:
                self._facts, self._read_at = self._read_fast(), now
            return {**self._slow, **self._facts}

    def _text(self, relative: str) -> str | None:
        try:
            return (self.root / relative).read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None

    def _read_fast(self) -> dict:
        temp = self._text("sys/class/thermal/thermal_zone0/temp")
        uptime = self._text("proc/uptime")
        meminfo = self._text("proc/meminfo")
        facts: dict = {
            "cpu_temp_c": parse_cpu_temp(temp) if temp is not None else None,
            "boot_uptime_s": parse_uptime(uptime) if uptime is not None else None,
            "throttled": self._throttled(),
            **(parse_meminfo(meminfo) if meminfo is not None else parse_meminfo("")),
            **self._disk(),
        }
        try:
            facts["load"] = [round(x, 2) for x in os.getloadavg()]
        except OSError:
            facts["load"] = None
        return facts

    def _throttled(self) -> dict | None:
        text = self._text("sys/devices/platform/soc/soc:firmware/get_throttled")
        if text is None:
            text = self._run(["vcgencmd", "get_throttled"])
        return parse_throttled(text) if text is not None else None

    def _disk(self) -> dict:
        path = self.cache_dir
        while not path.exists() and path != path.parent:
            path = path.parent  # the cache may not exist yet: measure the disk it will live on
        try:
            usage = shutil.disk_usage(path)
        except OSError:
            return {"disk_free_bytes": None, "disk_total_bytes": None}
        return {"disk_free_bytes": usage.free, "disk_total_bytes": usage.total}

    def _read_slow(self) -> dict:
        ip_text = self._run(["ip", "-j", "addr"])
        addresses = parse_ip_json(ip_text) if ip_text else _primary_address()
        try:
            model = parse_model((self.root / "proc/device-tree/model").read_bytes())
        except OSError:
            model = None
        os_release = self._text("etc/os-release")
        return {
            "hostname": socket.gethostname(),
            "ip_addresses": addresses,
            "model": model,
            "os": parse_os_release(os_release) if os_release else None,
            "kernel": os.uname().release,
        }


def attach(status, cache_dir: Path) -> None:
    """Give `status` its device facts (one Reader per process) unless it has them already."""
    if status.device is None:
        status.device = Reader(cache_dir)
