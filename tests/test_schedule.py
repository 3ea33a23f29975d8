"""The pure schedule: what plays at an instant, in what order, and until when."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk.content import programme
from kiosk.content import windows as window
from kiosk.content.programme import Programme, Slide
from kiosk.content.schedule import UNTRUSTED_RECHECK, Plan, must_interrupt, next_slide, plan
from tests.test_window import HI, LO, instants, windows

D = dt.datetime


def ids(slides) -> list[str]:
    return [s.id for s in slides]


def folder(tmp_path: Path, text: str) -> Programme:
    (tmp_path / "programme.yaml").write_text(text, encoding="utf-8")
    loaded = programme.load_folder(tmp_path)
    assert list(loaded.warnings) == []
    return loaded


PROGRAMME = """\
slides:
  - id: tin-1
    title: Tin thường 1
  - id: bao-so-9
    title: Cảnh báo bão số 9
    priority: emergency
    valid_from: 2026-11-26T08:00
    valid_until: 2026-11-26T23:59
  - id: tiep-dan
    title: Lịch tiếp công dân
    priority: priority
    days: [thu]
    hours: "07:00-11:30"
  - id: tin-2
    title: Tin thường 2
    hours: "22:00-05:00"
  - id: lu-quet
    title: Cảnh báo lũ quét
    priority: emergency
    once: "2026-11-26 09:00-10:00"
  - id: thu-phi
    title: Thu phí
    priority: priority
    monthdays: [last]
"""


def test_priorities_and_order_through_a_day(tmp_path: Path):
    prog = folder(tmp_path, PROGRAMME)  # 2026-11-26 is a Thursday
    early = plan(prog, D(2026, 11, 26, 7, 30))
    assert early == Plan(emergency=(), loop=early.loop, next_change=D(2026, 11, 26, 8), ignored_dates=False)
    assert ids(early.loop) == ["tiep-dan", "tin-1"]  # priority first, then normal, in programme order
    storm = plan(prog, D(2026, 11, 26, 8))
    assert ids(storm.emergency) == ["bao-so-9"] and ids(storm.slides) == ["bao-so-9"]
    assert ids(storm.loop) == ["tiep-dan", "tin-1"] and storm.next_change == D(2026, 11, 26, 9)
    both = plan(prog, D(2026, 11, 26, 9, 30))
    assert ids(both.emergency) == ["bao-so-9", "lu-quet"] and both.next_change == D(2026, 11, 26, 10)
    night = plan(prog, D(2026, 11, 26, 23))
    assert ids(night.slides) == ["bao-so-9"] and ids(night.loop) == ["tin-1", "tin-2"]
    assert night.next_change == D(2026, 11, 27)
    after = plan(prog, D(2026, 11, 30, 12))  # the last day of November
    assert ids(after.slides) == ["thu-phi", "tin-1"] and after.next_change == D(2026, 11, 30, 22)


def test_nothing_to_play(tmp_path: Path):
    prog = folder(tmp_path, "slides:\n  - id: a\n    title: A\n    valid_until: 2026-01-01\n")
    result = plan(prog, D(2026, 6, 1))
    assert result.empty and result.slides == () and result.next_change is None
    assert plan(programme.EMPTY, D(2026, 6, 1)) == Plan((), (), None, False)


def test_untrusted_clock_plays_everything_keeps_priorities_and_says_so(tmp_path: Path):
    prog = folder(tmp_path, PROGRAMME + "  - id: chay-rung\n    title: Cháy rừng\n    priority: emergency\n")
    result = plan(prog, D(1970, 1, 1), dates_trusted=False)
    assert result.ignored_dates and result.next_change == D(1970, 1, 1, 0, 0, 30)  # re-check the clock soon
    # only the emergency without a time limit holds the screen; limited ones may be over: front of the loop
    assert ids(result.emergency) == ["chay-rung"]
    assert ids(result.loop) == ["bao-so-9", "lu-quet", "tiep-dan", "thu-phi", "tin-1", "tin-2"]
    plain = folder(tmp_path, "slides:\n  - id: a\n    title: A\n")
    assert plan(plain, D(1970, 1, 1), dates_trusted=False) == Plan((), plain.slides, None, False)


# --- properties over random programmes and instants ---------------------------------------------------


@st.composite
def programmes(draw) -> Programme:
    count = draw(st.integers(0, 12))
    slides = tuple(
        Slide(id=f"s{i}", type="text", title="x", priority=draw(st.sampled_from(programme.PRIORITIES)),
              window=draw(st.one_of(st.just(window.ALWAYS), windows())))
        for i in range(count)
    )
    return Programme(slides=slides, version="test")


SLOW_OK = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow]}


def expected(prog: Programme, at: dt.datetime) -> tuple[list[str], list[str]]:
    open_ = [s for s in prog.slides if window.is_open(s.window, at)]
    emergency = [s.id for s in open_ if s.priority == "emergency"]
    loop = [s.id for s in open_ if s.priority == "priority"] + [s.id for s in open_ if s.priority == "normal"]
    return emergency, loop


@settings(max_examples=250, **SLOW_OK)
@given(st.data())
def test_plan_is_exactly_the_open_slides_and_constant_until_next_change(data):
    prog = data.draw(programmes())
    hint = prog.slides[0].window if prog.slides else None
    at = data.draw(instants(hint))
    result = plan(prog, at)
    assert (ids(result.emergency), ids(result.loop)) == expected(prog, at)
    assert result.slides == (result.emergency or result.loop) and not result.ignored_dates
    change = result.next_change
    if change is None:
        later = [at + dt.timedelta(days=d, minutes=m) for d, m in ((0, 1), (1, 0), (31, 7), (366, 0), (800, 5))]
        assert all(plan(prog, t) == result for t in later)
        return
    assert change > at
    assert plan(prog, change) != result
    before = plan(prog, change - dt.timedelta(microseconds=1))
    assert (before.emergency, before.loop) == (result.emergency, result.loop)
    fractions = data.draw(st.lists(st.floats(0, 1, exclude_max=True), min_size=1, max_size=5))
    for f in fractions:
        sample = plan(prog, min(at + (change - at) * f, change - dt.timedelta(microseconds=1)))
        assert (sample.emergency, sample.loop) == (result.emergency, result.loop)
        assert sample.next_change == change  # re-planning part-way sees the same change coming


@settings(**SLOW_OK)
@given(programmes(), st.datetimes(LO, HI))
def test_untrusted_plan_plays_every_slide_once(prog, at):
    result = plan(prog, at, dates_trusted=False)
    assert sorted(ids(result.emergency + result.loop)) == sorted(ids(prog.slides))
    assert result.ignored_dates == any(not s.window.always for s in prog.slides)
    assert result.next_change == (at + UNTRUSTED_RECHECK if result.ignored_dates else None)
    assert all(s.priority == "emergency" and s.window.always for s in result.emergency)


# --- which slide follows ---------------------------------------------------------------------------

A, B, C = (Slide(id=x, type="text", title=x) for x in "abc")
E = Slide(id="e", type="text", title="Bão", priority="emergency")


def _plan(emergency=(), loop=()) -> Plan:
    return Plan(emergency=tuple(emergency), loop=tuple(loop), next_change=None, ignored_dates=False)


def test_loop_advances_and_wraps():
    assert next_slide(_plan(loop=(A, B, C)), None) == A
    assert next_slide(_plan(loop=(A, B, C)), "a") == B
    assert next_slide(_plan(loop=(A, B, C)), "c") == A


def test_previous_gone_starts_over_and_nothing_is_none():
    assert next_slide(_plan(loop=(A, B)), "zz") == A
    assert next_slide(_plan(), "a") is None


def test_emergency_holds_the_screen_and_interrupts():
    assert next_slide(_plan((E,), (A, B)), "a") == E
    assert must_interrupt(_plan((E,)), A)
    assert must_interrupt(_plan((E,)), None)
    assert not must_interrupt(_plan((E,)), E)
    assert must_interrupt(_plan(), E)  # the emergency ended: back to the loop at once
    assert not must_interrupt(_plan(), A)
