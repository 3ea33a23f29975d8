"""Screen power: config as a technician writes it, the on/off schedule, and the panel commands."""

from __future__ import annotations

import datetime as dt
import stat
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk import config
from kiosk.problems import InvalidInput
from kiosk.screen import power
from kiosk.screen.power import PowerConfig, next_change, wanted

D = dt.datetime
T = dt.time
BASE = "device:\n  id: test\n  name: Test\nsource:\n  path: .\ndisplay:\n  power:\n"


def load(tmp_path: Path, power_yaml: str) -> PowerConfig:
    path = tmp_path / "config.yaml"
    path.write_text(BASE + power_yaml, encoding="utf-8")
    return config.load(path).display.power


def problems(tmp_path: Path, power_yaml: str) -> list[str]:
    path = tmp_path / "config.yaml"
    path.write_text(BASE + power_yaml, encoding="utf-8")
    with pytest.raises(InvalidInput) as caught:
        config.load(path)
    return [str(p).replace(str(path), "config.yaml") for p in caught.value.problems]


def test_config_with_unquoted_yaml_on_off_keys_and_day_overrides(tmp_path: Path):
    cfg = load(tmp_path, '    on: "06:00"\n    off: "22:00"\n    sat: {off: "12:00"}\n    sun: off\n    preset: cec\n')
    assert cfg.days[:5] == ((T(6), T(22)),) * 5
    assert cfg.days[5:] == ((T(6), T(12)), False)
    assert cfg.command_off[:3] == ("cec-ctl", "-d", "/dev/cec0") and cfg.command_off[-1] == "--standby"
    assert wanted(cfg, D(2026, 11, 26, 6)) and not wanted(cfg, D(2026, 11, 26, 22))  # Thursday
    assert not wanted(cfg, D(2026, 11, 28, 13)) and not wanted(cfg, D(2026, 11, 29, 12))  # Sat afternoon, Sunday
    assert next_change(cfg, D(2026, 11, 28, 12)) == D(2026, 11, 30, 6)  # off until Monday morning


def test_no_power_key_means_always_on(tmp_path: Path):
    path = tmp_path / "config.yaml"
    path.write_text(BASE.replace("  power:\n", "  rotation: 0\n"), encoding="utf-8")
    cfg = config.load(path).display.power
    assert cfg is None and wanted(cfg, D(2026, 1, 1, 3)) and next_change(cfg, D(2026, 1, 1)) is None
    assert next_change(power.ALWAYS_ON, D(2026, 1, 1)) is None


def test_off_past_midnight_and_at_24_00(tmp_path: Path):
    cfg = load(tmp_path, '    on: "17:00"\n    off: "01:00"\n    mon: on\n    tue: {on: "08:00", off: "24:00"}\n')
    assert wanted(cfg, D(2026, 11, 27, 0, 30))  # Friday 00:30: Thursday's evening
    assert not wanted(cfg, D(2026, 11, 27, 1))
    # Sunday 17:00 runs into Monday (on all day): no change at midnight, the next is Tuesday 00:00
    assert next_change(cfg, D(2026, 11, 29, 20)) == D(2026, 12, 1, 0, 0)
    assert not wanted(cfg, D(2026, 12, 1, 7)) and next_change(cfg, D(2026, 12, 1, 7)) == D(2026, 12, 1, 8)
    assert next_change(cfg, D(2026, 12, 1, 9)) == D(2026, 12, 2, 0, 0)


def test_untrusted_clock_keeps_the_screen_on(tmp_path: Path):
    cfg = load(tmp_path, '    on: "06:00"\n    off: "22:00"\n')
    assert wanted(cfg, D(1970, 1, 1, 3), clock_trusted=False)
    assert next_change(cfg, D(1970, 1, 1, 3), clock_trusted=False) is None


def test_unquoted_times_and_on_off_keys_mean_what_they_say(tmp_path: Path):
    """YAML 1.1 would read on: as true and 6:00 as the number 360; the loader keeps both as written."""
    unquoted = load(tmp_path, "    on: 6:00\n    off: 22:00\n    sun: off\n")
    assert unquoted == load(tmp_path, '    on: "06:00"\n    off: "22:00"\n    sun: off\n')
    assert not wanted(unquoted, D(2026, 12, 1, 5, 59)) and wanted(unquoted, D(2026, 12, 1, 6))
    assert not wanted(unquoted, D(2026, 12, 6, 12))  # a Sunday


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('    on: "06:00"\n    off: "22:00"\n    sat:\n      off: "25:00"\n',
         'config.yaml:7: display.power: sat.off (line 11): expected a time "HH:MM" like "06:00", got \'25:00\''),
        ('    on: "06:00"\n', "config.yaml:7: display.power: off: missing; set both on and off"),
        ('    sun: {off: "12:00"}\n', "config.yaml:7: display.power: sun (line 8): sun.on is missing"),
        ('    satday: off\n', "config.yaml:7: display.power: satday (line 8): unknown key; did you mean 'sat'?"),
        ('    preset: hdmi\n', "config.yaml:7: display.power: preset (line 8): must be one of cec, vcgencmd, black"),
        ('    command_off: "sh -c \'unterminated"\n', "config.yaml:7: display.power: command_off: cannot split"),
        ('    timeout_seconds: 0\n', "config.yaml:7: display.power: timeout_seconds: must be a number"),
        ('    mon: sometimes\n', "config.yaml:7: display.power: mon (line 8): expected off, on, or a mapping"),
    ],
)
def test_bad_power_config_names_the_sub_key(tmp_path: Path, text: str, expected: str):
    found = problems(tmp_path, text)
    assert len(found) == 1 and found[0].startswith(expected), found


# --- the schedule is exact ----------------------------------------------------------------------------

times = st.integers(0, 24 * 60 - 1).map(lambda m: T(m // 60, m % 60))
rules = st.one_of(st.booleans(), st.tuples(times, times).filter(lambda p: p[0] != p[1]))
configs = st.lists(rules, min_size=7, max_size=7).map(lambda days: PowerConfig(days=tuple(days)))
SLOW_OK = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow]}


def edges(cfg: PowerConfig, start: dt.datetime, end: dt.datetime) -> list[dt.datetime]:
    points, day = [], start.date()
    while day <= end.date():
        for t in [T(0)] + [x for rule in cfg.days if isinstance(rule, tuple) for x in rule]:
            point = dt.datetime.combine(day, t)
            if start < point < end:
                points.append(point)
        day += dt.timedelta(days=1)
    return points


@settings(max_examples=300, **SLOW_OK)
@given(configs, st.datetimes(D(2024, 1, 1), D(2030, 1, 1)), st.sampled_from([0, 0, 1, -1]))
def test_next_change_is_exact(cfg, at, nudge):
    at = at.replace(second=0, microsecond=0) + dt.timedelta(microseconds=nudge) if nudge else at
    now = wanted(cfg, at)
    change = next_change(cfg, at)
    horizon = change if change is not None else at + dt.timedelta(days=15)
    assert all(wanted(cfg, t) == now for t in edges(cfg, at, horizon))
    if change is not None:
        assert change > at and wanted(cfg, change) != now
        assert wanted(cfg, change - dt.timedelta(microseconds=1)) == now


# --- the panel: real commands, files on disk ------------------------------------------------------------


def script(tmp_path: Path, name: str, body: str) -> str:
    path = tmp_path / name
    path.write_text("#!/bin/sh\n" + body, encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def test_panel_runs_commands_and_reports_states(tmp_path: Path):
    log = tmp_path / "panel.log"
    on = script(tmp_path, "on.sh", f'echo on >> "{log}"\n')
    off = script(tmp_path, "off.sh", f'echo off >> "{log}"\n')
    reports: list[tuple[str, str | None]] = []
    panel = power.Panel(PowerConfig(command_on=(on,), command_off=(off,)), report=lambda s, e: reports.append((s, e)))
    assert panel.set(True) == "on"
    assert panel.wait_idle(10)
    assert panel.set(False) == "off-black"  # black until the panel confirms it is off
    assert panel.wait_idle(10) and panel.state == "off" and panel.error is None
    assert panel.set(False) == "off"  # asking again runs nothing
    assert panel.set(True) == "on" and panel.wait_idle(10)
    assert log.read_text().split() == ["on", "off", "on"]
    assert reports == [("off-black", None), ("off", None), ("on", None)]


def test_panel_falls_back_to_black_and_never_raises(tmp_path: Path):
    failing = script(tmp_path, "fail.sh", 'echo "CEC adapter not found" >&2\nexit 3\n')
    panel = power.Panel(PowerConfig(command_on=(failing,), command_off=(failing,)))
    panel.set(False)
    assert panel.wait_idle(10)
    assert panel.state == "off-black" and panel.error == f"{failing} exited with status 3: CEC adapter not found"
    missing = power.Panel(PowerConfig(command_off=("no-such-panel-tool", "off")))
    missing.set(False)
    assert missing.wait_idle(10) and missing.state == "off-black"
    assert missing.error == "no-such-panel-tool: command not found"
    slow = power.Panel(PowerConfig(command_off=("sleep", "30"), timeout_s=0.2))
    slow.set(False)
    assert slow.wait_idle(10) and slow.state == "off-black" and "no answer within 0.2 s" in slow.error
    assert power.Panel(None).set(False) == "off-black"  # no command configured: the player shows black
    assert power.Panel(power.parse_config({"preset": "black"})).set(True) == "on"


def test_panel_with_only_an_on_command_shows_black_when_off(tmp_path: Path):
    log = tmp_path / "panel.log"
    on = script(tmp_path, "on.sh", f'sleep 0.2\necho on >> "{log}"\n')
    panel = power.Panel(PowerConfig(command_on=(on,)))
    assert panel.set(True) == "on"
    assert panel.set(False) == "off-black"  # the on command may still run, or be skipped as outdated
    assert panel.wait_idle(10) and panel.state == "off-black"
    assert not log.exists() or log.read_text().split() == ["on"]


scalars = st.one_of(st.none(), st.booleans(), st.integers(-5000, 5000), st.floats(), st.text(max_size=12),
                    st.sampled_from(["06:00", "24:00", "on", "off", "cec", "vcgencmd", "black"]))
power_values = st.one_of(scalars, st.dictionaries(
    st.one_of(st.booleans(), st.sampled_from(["on", "off", "mon", "sun", "preset", "command_on", "command_off",
                                              "timeout_seconds", "x"])),
    st.one_of(scalars, st.dictionaries(st.one_of(st.booleans(), st.text(max_size=3)), scalars, max_size=2),
              st.lists(scalars, max_size=2)), max_size=5))


@settings(max_examples=300, **SLOW_OK)
@given(power_values)
def test_any_power_value_parses_or_says_why(value):
    try:
        cfg = power.parse_config(value)
    except ValueError as exc:
        assert str(exc)
        return
    assert isinstance(cfg, PowerConfig) and len(cfg.days) == 7
