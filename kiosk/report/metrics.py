"""/metrics: the Status snapshot as Prometheus metrics, prefixed kiosk_ (SPEC).

A custom collector reads one snapshot at scrape time, so nothing on the render loop or the sync thread
ever touches a Prometheus object; counters are plain integers in Status (Status.count and friends).
Names and meanings are listed in docs/monitoring/README.md, which the alert rules there depend on.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, ProcessCollector
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily, Metric
from prometheus_client.registry import Collector

from kiosk.config import Config
from kiosk.report.health import findings
from kiosk.status import Status


def _gauge(name: str, doc: str, value: object) -> GaugeMetricFamily | None:
    """A one-sample gauge; None (left out of the scrape, not NaN) while the value is unknown."""
    if value is None:
        return None
    return GaugeMetricFamily(f"kiosk_{name}", doc, value=float(value))  # bools become 0/1


def _counter(name: str, doc: str, value: int) -> CounterMetricFamily:
    return CounterMetricFamily(f"kiosk_{name}", doc, value=value)


class KioskCollector(Collector):
    """Turns Status.snapshot() into metric families; one snapshot per scrape."""

    def __init__(self, status: Status, cfg: Config):
        self.status, self.cfg = status, cfg

    def collect(self) -> Iterator[Metric]:
        return (family for family in self._families() if family is not None)

    def _families(self) -> Iterator[Metric | None]:
        snap = self.status.snapshot()
        now = time.monotonic()
        counters = snap.get("counters") or {}
        dev = snap.get("device") or {}

        yield InfoMetricFamily(
            "kiosk_build",
            "Version of the player and identity of the board.",
            value={
                "version": str(snap.get("version")),
                "device_id": self.cfg.device.id,
                "device_name": self.cfg.device.name,
                "model": str(dev.get("model") or ""),
            },
        )
        found = findings(snap, now)
        yield _gauge("healthy", "1 when /healthz answers 200, 0 when 503.", not any(f.fault for f in found))
        problems = GaugeMetricFamily(
            "kiosk_health_problem", "Current health findings (1 per finding).", labels=["code", "severity"]
        )
        for f in found:
            problems.add_metric([f.code, "fault" if f.fault else "warning"], 1)
        yield problems
        yield _gauge("start_time_seconds", "When the player started (Unix time).", snap.get("started_at"))

        # Render loop and screen.
        beat, deadline = snap.get("loop_beat"), snap.get("loop_deadline")
        yield _gauge(
            "render_loop_age_seconds",
            "Seconds since the render loop last turned (NaN before its first turn).",
            None if beat is None else now - beat,
        )
        yield _gauge(
            "render_loop_promise_seconds",
            "How long the render loop said it may take until its next turn (deadline - last turn).",
            None if beat is None or deadline is None else deadline - beat,
        )
        yield _counter("frames_slipped", "Frames the render loop showed late.", counters.get("frames_slipped", 0))
        yield _gauge("display_ok", "1 when the display is up.", snap.get("display_ok"))
        yield _gauge("headless", "1 when running without a screen on purpose (development mode).", snap.get("headless"))
        yield _gauge(
            "screen_on",
            "1 when the screen is meant to be on (0: switched off by schedule).",
            snap.get("power") not in ("off", "off-black"),
        )
        yield _gauge("emergency_active", "1 while an emergency slide holds the screen.", snap.get("emergency"))
        yield _counter("slide_changes", "Slides put on screen.", counters.get("slide_changes", 0))

        # Content and sync.
        yield _gauge("slides", "Slides in the current programme.", snap.get("slide_count"))
        yield _gauge("content_warnings", "Warnings about the current content.", len(snap.get("content_warnings") or []))
        content = InfoMetricFamily("kiosk_content", "Version of the content on the board.")
        content.add_metric([], {"version": str(snap.get("content_version") or "")})
        yield content
        syncs = CounterMetricFamily("kiosk_sync", "Sync cycles by result.", labels=["result"])
        syncs.add_metric(["ok"], counters.get("sync_ok", 0))
        syncs.add_metric(["failed"], counters.get("sync_failed", 0))
        yield syncs
        last_sync = snap.get("last_sync") or {}
        yield _gauge("last_sync_timestamp_seconds", "When the last sync cycle ended (Unix time).", last_sync.get("at"))
        yield _gauge("last_sync_ok", "1 when the last sync cycle succeeded.", last_sync.get("ok"))
        yield _gauge(
            "last_sync_success_timestamp_seconds",
            "When a sync cycle last succeeded (Unix time); the sync-stale alert watches it.",
            snap.get("last_sync_ok_at"),
        )
        channels = snap.get("channels") or []
        if channels:  # source.channels: each tree's last sync, labelled by its name
            ok = GaugeMetricFamily("kiosk_channel_last_sync_ok", "1 when the channel's last sync cycle succeeded.",
                                   labels=["channel"])
            at = GaugeMetricFamily("kiosk_channel_last_sync_timestamp_seconds",
                                   "When the channel's last sync cycle ended (Unix time).", labels=["channel"])
            for c in channels:
                last = c.get("last_sync") or {}
                if last.get("ok") is not None:
                    ok.add_metric([c["name"]], 1.0 if last["ok"] else 0.0)
                if last.get("at") is not None:
                    at.add_metric([c["name"]], float(last["at"]))
            yield ok
            yield at
        yield _counter("downloaded_bytes", "Bytes of content downloaded.", counters.get("bytes_downloaded", 0))
        yield _gauge("cache_bytes", "Bytes used by the media cache.", snap.get("cache_bytes"))
        yield _gauge("cache_max_bytes", "Size bound of the media cache (cache.max_mb).", self.cfg.cache.max_mb * 2**20)
        yield _gauge("clock_synced", "1 when the system clock is synchronised.", snap.get("clock_synced"))
        reloads = CounterMetricFamily("kiosk_config_reloads", "Config reloads by result.", labels=["result"])
        reloads.add_metric(["ok"], counters.get("reloads_ok", 0))
        reloads.add_metric(["failed"], counters.get("reloads_failed", 0))
        yield reloads
        errors = GaugeMetricFamily("kiosk_part_error", "1 for each part that reports a problem.", labels=["part"])
        for part in sorted(snap.get("errors") or {}):
            errors.add_metric([part], 1)
        yield errors

        # Proof of play and reports.
        yield _gauge("plays_queued", "Play records waiting on the board for upload.", snap.get("plays_queued"))
        yield _counter("plays_recorded", "Play records written.", counters.get("plays_recorded", 0))
        yield _counter(
            "plays_uploaded", "Play records acknowledged by the source system.", counters.get("plays_uploaded", 0)
        )
        yield _counter(
            "plays_dropped", "Play records dropped because the queue was full.", counters.get("plays_dropped", 0)
        )
        yield _counter(
            "plays_refused", "Play records the report server refused alone (HTTP 422), dropped.",
            counters.get("plays_refused", 0),
        )
        heartbeats = CounterMetricFamily("kiosk_heartbeats", "Heartbeats sent, by result.", labels=["result"])
        heartbeats.add_metric(["ok"], counters.get("heartbeats_ok", 0))
        heartbeats.add_metric(["failed"], counters.get("heartbeats_failed", 0))
        yield heartbeats

        # The board.
        yield _gauge("cpu_temperature_celsius", "CPU temperature.", dev.get("cpu_temp_c"))
        throttled = dev.get("throttled")
        flags = GaugeMetricFamily(
            "kiosk_throttled",
            "Raspberry Pi firmware flags (get_throttled): when=now or since_boot.",
            labels=["flag", "when"],
        )
        if throttled:
            for when in ("now", "since_boot"):
                for flag, on in throttled[when].items():
                    flags.add_metric([flag, when], float(on))
        yield flags
        yield _gauge("disk_free_bytes", "Free bytes on the disk holding the cache.", dev.get("disk_free_bytes"))
        yield _gauge("disk_total_bytes", "Size of the disk holding the cache.", dev.get("disk_total_bytes"))
        yield _gauge("memory_available_bytes", "MemAvailable.", dev.get("memory_available_bytes"))
        yield _gauge("memory_total_bytes", "MemTotal.", dev.get("memory_total_bytes"))
        load = GaugeMetricFamily("kiosk_load_average", "System load average.", labels=["period"])
        for period, value in zip(("1m", "5m", "15m"), dev.get("load") or (), strict=False):
            load.add_metric([period], value)
        yield load
        yield _gauge("device_uptime_seconds", "Seconds since the board booted.", dev.get("boot_uptime_s"))


def register(registry: CollectorRegistry, status: Status, cfg: Config) -> None:
    """Put the kiosk collector and the process collector (kiosk_process_*: RSS, CPU, fds) on `registry`."""
    registry.register(KioskCollector(status, cfg))
    ProcessCollector(namespace="kiosk", registry=registry)
