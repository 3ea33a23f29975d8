"""The hub's /metrics: one gauge per board and fact, labelled board="<device.id>", so one Prometheus scrape
of the hub covers every board, including those behind carrier NAT that nobody can reach.

Built at scrape time from the same fleet views as the pages (kiosk.hub.fleet). A value a board never
sent (no thermal sensor) is left out, not faked. Names are listed in docs/monitoring/README.md, which
the alert rules depend on.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from kiosk.hub.fleet import STATES, View


class Counters:
    """The hub's own counters (heartbeats, plays, refusals): plain integers behind a lock."""

    def __init__(self):
        self._lock = threading.Lock()
        self._values: dict[tuple[str, tuple], int] = {}

    def add(self, name: str, amount: int = 1, **labels: str) -> None:
        key = (name, tuple(sorted(labels.items())))
        with self._lock:
            self._values[key] = self._values.get(key, 0) + amount

    def items(self) -> list[tuple[str, dict, int]]:
        with self._lock:
            return [(name, dict(labels), value) for (name, labels), value in sorted(self._values.items())]

    def get(self, name: str, **labels: str) -> int:
        with self._lock:
            return self._values.get((name, tuple(sorted(labels.items()))), 0)


COUNTER_DOCS = {
    "heartbeats": "Heartbeats stored.",
    "plays": "Plays received, by result: new (stored) or duplicate (dropped: already stored, or replayed).",
    "screenshots": "Screenshots stored.",
    "refused": "Requests from boards refused, by HTTP status.",
}

BOARD_GAUGES = (
    ("last_seen_timestamp_seconds", "When the board's last heartbeat arrived (Unix time, the hub's clock).",
     lambda v: v.board.last_seen),
    ("up", "1 while the board sends heartbeats (none missed for three periods), 0 when silent or never seen.",
     lambda v: v.state in ("healthy", "degraded")),
    ("healthy", "1 when the board speaks and reports no problem.", lambda v: v.state == "healthy"),
    ("content_up_to_date", "1 when the board plays the latest published content version.",
     lambda v: v.up_to_date),
    ("cpu_temperature_celsius", "The board's SoC temperature.", lambda v: v.hb.get("cpu_temp_c")),
    ("disk_free_bytes", "Free space on the board's cache disk.", lambda v: v.hb.get("disk_free_bytes")),
    ("throttled", "1 while the Pi firmware reports under-voltage, capping or throttling now.",
     lambda v: v.throttled),
    ("uptime_seconds", "Seconds since the board's player started.", lambda v: v.hb.get("uptime_s")),
    ("plays_queued", "Plays waiting on the board for upload.", lambda v: v.hb.get("plays_queued")),
    ("plays_dropped", "Plays the board ever dropped because its queue was full.",
     lambda v: v.hb.get("plays_dropped_total")),
    ("heartbeat_period_seconds", "The board's heartbeat period (silent after three).", lambda v: v.interval),
)


class HubCollector(Collector):
    def __init__(self, fleet: Callable[[], tuple[list[View], str | None]], counters: Counters):
        self.fleet = fleet
        self.counters = counters

    def collect(self) -> Iterator[Metric]:
        views, latest = self.fleet()
        info = GaugeMetricFamily("kiosk_hub_board_info", "Always 1: the board's name, commune and player version.",
                                 labels=["board", "name", "commune", "version"])
        for v in views:
            info.add_metric([v.board.id, v.board.name, v.board.commune or "", str(v.hb.get("version") or "")], 1)
        yield info
        for name, doc, get in BOARD_GAUGES:
            family = GaugeMetricFamily(f"kiosk_hub_board_{name}", doc, labels=["board"])
            for v in views:
                value = get(v)
                if value is not None:
                    family.add_metric([v.board.id], float(value))
            yield family
        problems = GaugeMetricFamily("kiosk_hub_board_problem", "1 per problem the board reports (see codes).",
                                     labels=["board", "code"])
        for v in views:
            if v.state in ("healthy", "degraded"):
                for code in v.problems:
                    problems.add_metric([v.board.id, code], 1)
        yield problems
        boards = GaugeMetricFamily("kiosk_hub_boards", "Boards registered, by state.", labels=["state"])
        for state in STATES:
            boards.add_metric([state], sum(1 for v in views if v.state == state))
        yield boards
        published = GaugeMetricFamily("kiosk_hub_published_content_info", "The latest published content version.",
                                      labels=["version"])
        if latest is not None:
            published.add_metric([latest], 1)
        yield published
        families: dict[str, CounterMetricFamily] = {}
        for name, labels, value in self.counters.items():
            family = families.get(name)
            if family is None:
                family = families[name] = CounterMetricFamily(f"kiosk_hub_{name}", COUNTER_DOCS.get(name, name),
                                                              labels=sorted(labels))
            family.add_metric([labels[k] for k in sorted(labels)], value)
        yield from families.values()


def exposition(collector: HubCollector) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    return generate_latest(registry)
