"""The status model: facts in, a JSON-friendly snapshot out, counters that count what a user would see."""

import json

import pytest

from kiosk.report.heartbeat import fields as heartbeat_fields
from kiosk.report.heartbeat import iso
from kiosk.status import COUNTERS, Status, SyncFacts


def test_snapshot_is_json_and_has_every_part():
    status = Status(device=lambda: {"cpu_temp_c": 52.5, "disk_free_bytes": 10**9})
    status.update(display_ok=True, display_driver="kmsdrm", slide_count=2, content_version="v7", cache_bytes=1234)
    status.slide_started("lich-tiep-cong-dan")
    snap = status.snapshot()
    json.dumps(snap)
    assert snap["current_slide"] == "lich-tiep-cong-dan"
    assert snap["content_version"] == "v7"
    assert snap["device"]["cpu_temp_c"] == 52.5
    assert snap["counters"]["slide_changes"] == 1
    assert set(snap["counters"]) == set(COUNTERS)


def test_snapshot_without_device_facts_does_not_read_them():
    def must_not_run():
        raise AssertionError("device facts read")

    assert Status(device=must_not_run).snapshot(with_device=False)["device"] == {}


def test_unknown_fact_or_counter_is_a_bug():
    status = Status()
    with pytest.raises(AttributeError):
        status.update(no_such_fact=1)
    with pytest.raises(AttributeError):
        status.update(_lock=None)
    with pytest.raises(KeyError):
        status.count("slide_chagnes")


def test_slide_changes_count_every_start_and_every_change():
    status = Status()
    status.slide_started("a")
    status.slide_started("a")  # the only slide, shown again: still a slide on screen
    status.update(current_slide="b")
    status.update(current_slide="b")  # the same fact again: no change
    status.slide_started(None)  # idle screen
    snap = status.snapshot()
    assert snap["counters"]["slide_changes"] == 3
    assert snap["current_slide"] is None


def test_sync_results_keep_counters_and_failing_since():
    status = Status()
    status.sync_finished(True, changed=True, bytes_downloaded=5000, at=1000.0)
    status.sync_finished(False, error="HTTP 502", at=1060.0)
    status.update(last_sync=SyncFacts(at=1120.0, ok=False, error="timeout"))
    snap = status.snapshot()
    assert snap["counters"]["sync_ok"] == 1 and snap["counters"]["sync_failed"] == 2
    assert snap["counters"]["bytes_downloaded"] == 5000
    assert snap["last_sync"]["error"] == "timeout"
    assert snap["last_sync_ok_at"] == 1000.0
    failing_since = snap["sync_failing_since"]
    assert failing_since is not None
    status.sync_finished(True, at=1180.0)
    snap = status.snapshot()
    assert snap["sync_failing_since"] is None and snap["last_sync"]["error"] is None


def test_a_broken_device_reader_does_not_break_the_snapshot():
    def broken():
        raise OSError("sysfs gone")

    snap = Status(device=broken).snapshot()
    assert "sysfs gone" in snap["device"]["error"]


def test_errors_set_and_cleared():
    status = Status()
    status.set_error("sync", "HTTP 404 for manifest.json")
    assert status.snapshot()["errors"] == {"sync": "HTTP 404 for manifest.json"}
    status.set_error("sync", None)
    assert status.snapshot()["errors"] == {}


def test_reports_outcomes():
    status = Status()
    status.report_finished("heartbeat", False, "HTTP 503", at=50.0)
    status.report_finished("plays", True, at=60.0)
    snap = status.snapshot()
    assert snap["last_heartbeat"] == {"at": 50.0, "ok": False, "error": "HTTP 503"}
    assert snap["counters"]["heartbeats_failed"] == 1
    assert snap["last_plays_upload"]["ok"] is True
    with pytest.raises(ValueError):
        status.report_finished("nonsense", True)


def test_heartbeat_fields_are_the_spec_names():
    status = Status(device=lambda: {"cpu_temp_c": None, "disk_free_bytes": 42})
    status.update(content_version="v1", current_slide="x")
    status.sync_finished(False, error="DNS", at=1_796_000_000.0)
    body = heartbeat_fields(status.snapshot(), "ubnd-an-khuong", "Asia/Ho_Chi_Minh", 1_796_000_060.0)
    assert set(body) >= {
        "device_id", "sent_at", "version", "uptime_s", "content_version", "current_slide",
        "last_sync", "disk_free_bytes", "cpu_temp_c",
    }  # fmt: skip
    assert body["last_sync"] == {"at": "2026-11-30T07:53:20+07:00", "ok": False, "error": "DNS"}
    assert body["sent_at"] == "2026-11-30T07:54:20+07:00"  # every time with the board's offset
    assert body["cpu_temp_c"] is None and body["disk_free_bytes"] == 42
    assert iso(None, "Asia/Ho_Chi_Minh") is None
