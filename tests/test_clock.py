"""Clock trust and clock jumps, from the facts a Pi's filesystem shows."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from kiosk import clock

BUILD = dt.datetime(2026, 11, 1)


def facts(tmp_path: Path, timesyncd: bool, synced: bool = False, rtc: str | None = None) -> dict:
    sync_dir = tmp_path / "run" / "systemd" / "timesync"
    if timesyncd:
        sync_dir.mkdir(parents=True)
        if synced:
            (sync_dir / "synchronized").touch()
    hctosys = tmp_path / "hctosys"
    if rtc is not None:
        hctosys.write_text(rtc + "\n")
    return {"sync_dir": sync_dir, "rtc_hctosys": hctosys}


def test_timesyncd_flag_decides_when_timesyncd_runs(tmp_path: Path):
    assert clock.clock_trusted(dt.datetime(1970, 1, 1), BUILD, **facts(tmp_path / "a", True, synced=True))
    # a plausible date is not enough: fake-hwclock restores a stale but plausible time at boot
    assert not clock.clock_trusted(dt.datetime(2026, 11, 20), BUILD, **facts(tmp_path / "b", True))


def test_without_timesyncd_a_plausible_date_is_trusted(tmp_path: Path):
    where = facts(tmp_path, False)
    assert clock.clock_trusted(dt.datetime(2026, 11, 26, 8), BUILD, **where)
    assert clock.clock_trusted(dt.datetime(2025, 11, 2), BUILD, **where)  # within a year before the build
    assert not clock.clock_trusted(dt.datetime(2025, 10, 1), BUILD, **where)
    assert not clock.clock_trusted(0.0, BUILD, **where)  # 1970 from the epoch
    assert clock.clock_trusted(BUILD.timestamp() + 86400, BUILD, **where)
    aware = dt.datetime(2026, 11, 26, 8, tzinfo=dt.timezone(dt.timedelta(hours=7)))
    assert clock.clock_trusted(aware, BUILD, **where)


def test_hardware_clock_or_server_date_vouch_for_the_clock(tmp_path: Path):
    assert clock.clock_trusted(dt.datetime(2026, 11, 26), BUILD, **facts(tmp_path / "a", True, rtc="1"))
    assert not clock.clock_trusted(dt.datetime(1970, 1, 1), BUILD, **facts(tmp_path / "b", True, rtc="1"))
    assert not clock.clock_trusted(dt.datetime(2026, 11, 26), BUILD, **facts(tmp_path / "c", True, rtc="0"))
    assert clock.clock_trusted(dt.datetime(2026, 11, 26), BUILD, server_agrees=True, **facts(tmp_path / "d", True))


def test_defaults_read_this_machine_and_never_raise():
    assert clock.clock_trusted() in (True, False)


def test_server_date_header():
    now = dt.datetime(2026, 11, 26, 1, 0, tzinfo=dt.UTC).timestamp()
    assert clock.server_agrees("Thu, 26 Nov 2026 01:02:00 GMT", now)
    assert not clock.server_agrees("Thu, 26 Nov 2026 02:00:00 GMT", now)
    assert not clock.server_agrees("yesterday", now)
    assert not clock.server_agrees(None, now)


def test_jumps_compare_wall_and_monotonic_time():
    assert clock.jump_seconds(1000.0, 5.0, 1010.0, 15.0) == 0.0
    assert clock.jump_seconds(0.0, 5.0, 1.8e9, 35.0) == 1.8e9 - 30
    assert clock.jumped(1000.0, 5.0, 900.0, 6.0)  # set back
    assert not clock.jumped(1000.0, 5.0, 1001.5, 6.0)
