"""Screen power (display.power): when the panel should be on, and the command that switches it.

A panel switched off at night saves power and panel life. The schedule is
pure (`wanted`, `next_change`); `Panel` is the thin shell that runs the
configured command (HDMI-CEC, vcgencmd, ...) off the render loop. Where no
command works the player shows black instead: the screen is then dark on
purpose, which is the only time a black screen is right.

The player ORs `wanted()` with "an emergency is on": an emergency wakes the screen.

    display:
      power:
        on: "06:00"          # every day, unless a day says otherwise
        off: "22:00"         # may be past midnight ("01:00") or "24:00"
        sat: {off: "12:00"}  # a day may override on, off or both
        sun: off             # off all day (or: on, on all day)
        preset: cec          # cec | vcgencmd | black (default black: no command)
        command_on: "..."    # or your own commands (they win over the preset)
        command_off: "..."
        timeout_seconds: 10

Without display.power the screen is always on.
"""

from __future__ import annotations

import datetime as dt
import logging
import shlex
import subprocess
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from kiosk.content.windows import DAYS
from kiosk.i18n import _
from kiosk.problems import shown

log = logging.getLogger("kiosk.power")

ON, OFF, OFF_BLACK = "on", "off", "off-black"  # panel on; panel off by command; no command worked: show black
DayRule = bool | tuple[dt.time, dt.time]  # True: on all day, False: off all day, (on, off): off <= on wraps
PRESETS: dict[str, tuple[tuple[str, ...], tuple[str, ...]] | None] = {
    # HDMI-CEC through the kernel's CEC device (v4l-utils); most TVs and many signage panels obey it.
    "cec": (
        ("cec-ctl", "-d", "/dev/cec0", "--playback", "--to", "0", "--image-view-on"),
        ("cec-ctl", "-d", "/dev/cec0", "--playback", "--to", "0", "--standby"),
    ),
    # The firmware's HDMI power switch (legacy/fkms graphics stack only; not under full KMS).
    "vcgencmd": (("vcgencmd", "display_power", "1"), ("vcgencmd", "display_power", "0")),
    "black": None,  # no command: the player shows black while the screen is off
}
_KEYS = ("on", "off", *DAYS, "preset", "command_on", "command_off", "timeout_seconds")
_DAY = dt.timedelta(days=1)
_MIDNIGHT = dt.time(0, 0)


@dataclass(frozen=True)
class PowerConfig:
    days: tuple[DayRule, ...] = (True,) * 7  # Monday first
    command_on: tuple[str, ...] | None = None
    command_off: tuple[str, ...] | None = None
    timeout_s: float = 10.0


ALWAYS_ON = PowerConfig()


# --- the pure schedule ------------------------------------------------------------------------------


def _spans(cfg: PowerConfig, first: dt.date, count: int) -> list[tuple[dt.datetime, dt.datetime]]:
    """The on-intervals [start, end) of `count` days from `first`, merged where they touch."""
    spans: list[tuple[dt.datetime, dt.datetime]] = []
    day = first
    for _i in range(count):
        rule = cfg.days[day.weekday()]
        if rule is True:
            start, end = dt.datetime.combine(day, _MIDNIGHT), dt.datetime.combine(day + _DAY, _MIDNIGHT)
        elif rule is False:
            day += _DAY
            continue
        else:
            start, end = dt.datetime.combine(day, rule[0]), dt.datetime.combine(day, rule[1])
            if end <= start:
                end += _DAY
        if spans and start <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(spans[-1][1], end))
        else:
            spans.append((start, end))
        day += _DAY
    return spans


def wanted(cfg: PowerConfig | None, at: dt.datetime, clock_trusted: bool = True) -> bool:
    """Whether the schedule wants the panel on at `at` (naive local time).

    Without a trusted clock the panel stays on: a wrong clock must not darken the board.
    """
    if cfg is None or not clock_trusted:
        return True
    return any(start <= at < end for start, end in _spans(cfg, at.date() - _DAY, 2))


def next_change(cfg: PowerConfig | None, at: dt.datetime, clock_trusted: bool = True) -> dt.datetime | None:
    """The first instant after `at` at which wanted() flips; None if it never does."""
    if cfg is None or not clock_trusted:
        return None
    try:
        spans = _spans(cfg, at.date() - _DAY, 10)  # the rules repeat weekly: ten days see every change
    except OverflowError:
        return None
    horizon = dt.datetime.combine(at.date() + 8 * _DAY, _MIDNIGHT)
    for start, end in spans:
        for edge in (start, end):
            if at < edge < horizon:
                return edge
    return None


# --- the border: display.power as a technician writes it -------------------------------------------


def _key(raw: object) -> str:
    return str(raw).strip().lower()


def _where(name: str, data: object, raw_key: object) -> str:
    line_of = getattr(data, "line_of", None)
    return f"{name} (line {line_of(raw_key)})" if line_of else name


def _time(value: object, where: str) -> dt.time:
    text = value.strip() if isinstance(value, str) else ""
    parts = text.split(":")
    if len(parts) == 2 and all(p.isdigit() for p in parts) and len(parts[1]) == 2:
        hour, minute = int(parts[0]), int(parts[1])
        if hour == 24 and minute == 0:
            return _MIDNIGHT
        if hour < 24 and minute < 60:
            return dt.time(hour, minute)
    raise ValueError(f'{where}: expected a time "HH:MM" like "06:00", got {shown(value)}')


def _command(value: object, where: str) -> tuple[str, ...]:
    if isinstance(value, list) and value and all(isinstance(v, (str, int)) for v in value):
        return tuple(str(v) for v in value)
    if isinstance(value, str):
        try:
            argv = tuple(shlex.split(value))
        except ValueError as exc:
            raise ValueError(_("{where}: cannot split the command ({reason}): {value}")
                .format(where=where, reason=exc, value=shown(value))) from None
        if argv:
            return argv
    raise ValueError(f'{where}: expected a command like "vcgencmd display_power 0", got {shown(value)}')


def parse_config(value: object) -> PowerConfig:
    """display.power → PowerConfig; ValueError naming the sub-key (e.g. "sat.off: expected ...")."""
    if value is True or (isinstance(value, str) and value.strip().lower() in ("on", "always")):
        return ALWAYS_ON
    if not isinstance(value, dict):
        raise ValueError(f'expected a mapping (on: "06:00", off: "22:00", sun: off, preset: cec), got {shown(value)}')
    fields: dict[str, tuple[object, object]] = {}  # normalised key -> (raw key, value)
    for raw_key, item in value.items():
        key = _key(raw_key)
        if key not in _KEYS:
            import difflib

            close = difflib.get_close_matches(key, _KEYS, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; known keys: {', '.join(_KEYS)}"
            raise ValueError(_("{where}: unknown key{hint}").format(where=_where(str(key), value, raw_key), hint=hint))
        fields[key] = (raw_key, item)

    def get_time(key: str, data: object = value, prefix: str = "", source: dict = fields) -> dt.time | None:
        if key not in source or source[key][1] is None:
            return None
        return _time(source[key][1], _where(prefix + key, data, source[key][0]))

    default_on, default_off = get_time("on"), get_time("off")
    if (default_on is None) != (default_off is None):
        missing = "off" if default_off is None else "on"
        raise ValueError(_("{missing}: missing; set both on and off (or neither: always on)").format(missing=missing))
    if default_on is not None and default_on == default_off:
        raise ValueError(_("{where}: same time as on; leave both out for always on")
            .format(where=_where('off', value, fields['off'][0])))

    days: list[DayRule] = []
    for name in DAYS:
        default: DayRule = True if default_on is None else (default_on, default_off)
        if name not in fields or fields[name][1] is None:
            days.append(default)
            continue
        raw_key, rule = fields[name]
        where = _where(name, value, raw_key)
        if isinstance(rule, bool) or (isinstance(rule, str) and rule.strip().lower() in ("on", "off")):
            days.append(rule if isinstance(rule, bool) else rule.strip().lower() == "on")
            continue
        if not isinstance(rule, dict):
            example = '{on: "07:00", off: "12:00"}'
            raise ValueError(_("{where}: expected off, on, or a mapping like {example}, got {value}")
                .format(where=where, example=example, value=shown(rule)))
        sub = {}
        for sub_raw, item in rule.items():
            sub_key = _key(sub_raw)
            if sub_key not in ("on", "off"):
                raise ValueError(_("{where}: unknown key; a day has on and off")
                    .format(where=_where(f'{name}.{sub_key}', rule, sub_raw)))
            sub[sub_key] = (sub_raw, item)
        day_on, day_off = (get_time(k, rule, f"{name}.", sub) for k in ("on", "off"))
        day_on = default_on if day_on is None else day_on
        day_off = default_off if day_off is None else day_off
        if day_on is None or day_off is None:
            missing = "off" if day_off is None else "on"
            raise ValueError(_("{where}: {name}.{missing} is missing and there is no default {missing}: time")
                .format(where=where, name=name, missing=missing))
        if day_on == day_off:
            raise ValueError(_("{where}: on and off are the same time; write `{name}: on` for all day")
                .format(where=where, name=name))
        days.append((day_on, day_off))

    preset = fields.get("preset", (None, "black"))[1]
    if not isinstance(preset, str) or preset not in PRESETS:
        where = _where("preset", value, fields["preset"][0])
        raise ValueError(_("{where}: must be one of {presets}, got {value}")
            .format(where=where, presets=', '.join(PRESETS), value=shown(preset)))
    commands = PRESETS[preset] or (None, None)
    command_on = _command(fields["command_on"][1], "command_on") if "command_on" in fields else commands[0]
    command_off = _command(fields["command_off"][1], "command_off") if "command_off" in fields else commands[1]
    timeout = fields.get("timeout_seconds", (None, 10))[1]
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 1 <= timeout <= 120:
        raise ValueError(_("timeout_seconds: must be a number of seconds from 1 to 120, got {value}")
            .format(value=shown(timeout)))
    return PowerConfig(days=tuple(days), command_on=command_on, command_off=command_off, timeout_s=float(timeout))


# --- the shell: switching the panel -----------------------------------------------------------------

Runner = Callable[..., subprocess.CompletedProcess]
Report = Callable[[str, "str | None"], None]


def _run(argv: Sequence[str], timeout_s: float, runner: Runner) -> str | None:
    """Run one command; None when it worked, else why not (never raises)."""
    try:
        done = runner(list(argv), capture_output=True, timeout=timeout_s, check=False)
    except FileNotFoundError:
        return f"{argv[0]}: command not found"
    except subprocess.TimeoutExpired:
        return f"{argv[0]}: no answer within {timeout_s:g} s"
    except Exception as exc:  # noqa: BLE001 - a panel command must never take the player down
        return f"{argv[0]}: {exc}"
    if done.returncode != 0:
        detail = (done.stderr or done.stdout or b"").decode("utf-8", "replace").strip().splitlines()
        return f"{argv[0]} exited with status {done.returncode}" + (f": {detail[-1]}" if detail else "")
    return None


class Panel:
    """Switches the panel with the configured commands in a background thread; never blocks, never raises.

    `set(on)` answers at once with the state to act on: "on" (draw), "off" (the
    panel is off) or "off-black" (no command worked: draw black). A command
    that later fails turns "off" into "off-black"; `report(state, error)` is
    called on every change (for health).
    """

    def __init__(self, cfg: PowerConfig | None, report: Report | None = None, runner: Runner = subprocess.run):
        self._cfg = cfg or ALWAYS_ON
        self._report = report
        self._runner = runner
        self._lock = threading.Condition()
        self._desired: bool | None = None
        self._applied: bool | None = None  # what the last command achieved (None: unknown, at start)
        self._busy = False
        self._thread: threading.Thread | None = None
        self.state = ON
        self.error: str | None = None

    def configure(self, cfg: PowerConfig | None) -> None:
        """A reloaded display.power: one Panel for the process, so no old command races a new one."""
        with self._lock:
            self._cfg = cfg or ALWAYS_ON
            self._desired = None  # the next set() runs the (new) command again

    def set(self, on: bool) -> str:
        with self._lock:
            if on == self._desired:
                return self.state
            self._desired = on
            command = self._cfg.command_on if on else self._cfg.command_off
            if command is None:
                self._applied = on
                self._publish(ON if on else OFF_BLACK, None)
                return self.state
            # Until the command confirms, act on what is certain: draw when asked on, black when asked off.
            self._publish(ON if on else OFF_BLACK, self.error)
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name="panel-power", daemon=True)
                self._thread.start()
            self._lock.notify_all()
            return self.state

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until the panel has done what was last asked (for tests and shutdown)."""
        with self._lock:
            return self._lock.wait_for(lambda: not self._busy and self._applied == self._desired, timeout)

    def _publish(self, state: str, error: str | None) -> None:
        changed = (state, error) != (self.state, self.error)
        self.state, self.error = state, error
        if changed and self._report is not None:
            try:
                self._report(state, error)
            except Exception:  # noqa: BLE001
                log.exception("power state report failed")

    def _work(self) -> None:
        while True:
            with self._lock:
                self._lock.wait_for(lambda: self._desired != self._applied)
                target = bool(self._desired)
                self._busy = True
            command = self._cfg.command_on if target else self._cfg.command_off
            error = _run(command, self._cfg.timeout_s, self._runner) if command else None
            if error:
                log.warning("panel %s: %s", "on" if target else "off", error)
            with self._lock:
                self._applied = target
                self._busy = False
                if self._desired == target:
                    self._publish(ON if target else (OFF if command and not error else OFF_BLACK), error)
                self._lock.notify_all()
