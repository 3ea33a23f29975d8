"""Time windows: what an editor writes in programme.yaml, and exactly when a slide is on."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk import yamlfile
from kiosk.content import programme
from kiosk.content import windows as window
from kiosk.content.windows import LAST, Window, is_open, state
from kiosk.problems import Problems


def next_change(w: Window, after: dt.datetime, ignore_dates: bool = False) -> dt.datetime | None:
    return state(w, after, ignore_dates)[1]


D = dt.datetime


def parse_yaml(text: str) -> tuple[Window | None, list[str]]:
    """A slide's window from real YAML, with the problems as a user sees them."""
    data = yamlfile.loads(text, "programme.yaml")
    problems = Problems("programme.yaml")
    result = window.parse(data, data.line_of, problems, "slides[0]")
    return result, [str(p) for p in problems]


def parsed(text: str) -> Window:
    result, problems = parse_yaml(text)
    assert problems == [] and result is not None
    return result


# --- the border -------------------------------------------------------------------------------------


def test_spec_example_fields():
    w = parsed(
        "valid_from: 2026-12-01T00:00\nvalid_until: 2026-12-31T23:59\n"
        "days: [mon, tue, wed, thu, fri]\nhours: \"07:00-11:30\"\n"
    )
    assert is_open(w, D(2026, 12, 1, 7, 0))  # a Tuesday, at opening
    assert not is_open(w, D(2026, 12, 1, 11, 30))  # the end is exclusive
    assert not is_open(w, D(2026, 12, 5, 8))  # Saturday
    assert not is_open(w, D(2026, 11, 30, 8))  # before valid_from


def test_valid_until_covers_the_minute_or_day_written():
    w = parsed("valid_until: 2026-12-31T23:59\n")
    assert is_open(w, D(2026, 12, 31, 23, 59, 59, 999999))
    assert not is_open(w, D(2027, 1, 1))
    w = parsed("valid_until: 2026-12-31\n")
    assert is_open(w, D(2026, 12, 31, 23, 59, 59))
    assert not is_open(w, D(2027, 1, 1))
    w = parsed("valid_until: 2026-12-31 12:00:30\n")  # YAML timestamp with seconds
    assert is_open(w, D(2026, 12, 31, 12, 0, 30, 999999)) and not is_open(w, D(2026, 12, 31, 12, 0, 31))


def test_day_names_ranges_and_vietnamese_abbreviations():
    assert parsed("days: mon-fri\n").days == frozenset(range(5))
    assert parsed("days: [t2, t4, t6]\n").days == frozenset({0, 2, 4})
    assert parsed("days: [sat-mon]\n").days == frozenset({5, 6, 0})
    assert parsed("days: [Monday, CN]\n").days == frozenset({0, 6})


def test_hours_wrap_past_midnight_belong_to_the_starting_day():
    w = parsed('days: [fri]\nhours: "22:00-05:00"\n')
    assert is_open(w, D(2026, 11, 27, 22))  # Friday night
    assert is_open(w, D(2026, 11, 28, 4, 59))  # Saturday early morning: Friday's window
    assert not is_open(w, D(2026, 11, 27, 4))  # Friday early morning: Thursday's window, closed
    assert next_change(w, D(2026, 11, 26, 12)) == D(2026, 11, 27, 22)
    assert next_change(w, D(2026, 11, 27, 22)) == D(2026, 11, 28, 5)


def test_hours_to_24_00_and_whole_day():
    w = parsed('hours: "18:00-24:00"\n')
    assert is_open(w, D(2026, 1, 1, 23, 59, 59)) and not is_open(w, D(2026, 1, 2, 0, 0))
    assert next_change(w, D(2026, 1, 1, 19)) == D(2026, 1, 2)
    assert parsed('hours: "00:00-24:00"\n') == window.ALWAYS


def test_once_forms():
    w = parsed("once: 2026-12-05\n")
    assert w.once == (D(2026, 12, 5), D(2026, 12, 6))
    w = parsed('once: "2026-12-05 19:00-21:30"\n')
    assert w.once == (D(2026, 12, 5, 19), D(2026, 12, 5, 21, 30))
    w = parsed('once: "2026-12-31 22:00-02:00"\n')  # New Year's Eve, past midnight
    assert w.once == (D(2026, 12, 31, 22), D(2027, 1, 1, 2))
    w = parsed('once: "2026-12-05T19:00/2026-12-07T08:00"\n')
    assert w.once == (D(2026, 12, 5, 19), D(2026, 12, 7, 8))
    assert next_change(w, D(2026, 1, 1)) == D(2026, 12, 5, 19)
    assert next_change(w, D(2026, 12, 6)) == D(2026, 12, 7, 8)
    assert next_change(w, D(2026, 12, 7, 8)) is None


def test_monthdays_and_last_day_of_month():
    w = parsed("monthdays: [1, 15, last]\n")
    assert w.monthdays == frozenset({1, 15, LAST})
    assert is_open(w, D(2028, 2, 29, 12))  # leap day is the last of February 2028
    assert is_open(w, D(2027, 2, 28, 12))  # 28 Feb 2027 is the last day
    assert not is_open(w, D(2028, 2, 28, 12))
    w31 = parsed("monthdays: [31]\n")  # a day a month lacks does not occur in it
    assert next_change(w31, D(2027, 1, 31, 10)) == D(2027, 2, 1)
    assert next_change(w31, D(2027, 2, 1)) == D(2027, 3, 31)
    assert next_change(parsed("monthdays: [29]\n"), D(2027, 1, 30)) == D(2027, 3, 29)


def test_monthdays_with_weekdays_may_be_far_away():
    w = parsed("monthdays: [31]\ndays: [mon]\n")
    assert next_change(w, D(2026, 11, 26, 12)) == D(2027, 5, 31)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hours: 22:00\n", 'programme.yaml:1: slides[0].hours: expected "HH:MM-HH:MM" (e.g. "07:00-11:30"), '
         "got '22:00'"),
        ('hours: "7-11"\n', "programme.yaml:1: slides[0].hours: expected \"HH:MM-HH:MM\""),
        ('hours: "07:00-07:00"\n', "programme.yaml:1: slides[0].hours: expected"),
        ('x: 1\nvalid_from: "2026-02-30"\n', "programme.yaml:2: slides[0].valid_from: '2026-02-30' is not a real"),
        ("valid_from: 2026-12-01T07:30+07:00\n", "programme.yaml:1: slides[0].valid_from: expected a date"),
        ("valid_from: 2026-12-02\nvalid_until: 2026-12-01\n", "programme.yaml:2: slides[0].valid_until: is before"),
        ("valid_until: 9999-12-31\n", "programme.yaml:1: slides[0].valid_until: '9999-12-31' is beyond"),
        ("once: 9999-12-31\n", "programme.yaml:1: slides[0].once: '9999-12-31' is beyond"),
        ("days: [mon, funday]\n", "programme.yaml:1: slides[0].days: unknown day 'funday'"),
        ("days: [monkey]\n", "programme.yaml:1: slides[0].days: unknown day 'monkey'"),
        ("days: []\n", "programme.yaml:1: slides[0].days: is empty"),
        ("monthdays: [0, 15]\n", "programme.yaml:1: slides[0].monthdays: expected days of the month 1..31"),
        ("monthdays: [32]\n", "programme.yaml:1: slides[0].monthdays: expected days of the month 1..31"),
        ("once: 2026-12-05 25:00-26:00\n", "programme.yaml:1: slides[0].once: expected a date like"),
        ("once: 2026-12-05T10:00/2026-12-05T09:00\n", "programme.yaml:1: slides[0].once: '2026-12-05T10:00/2026"),
        ("valid_until: 2026-01-01\nonce: 2026-12-05\n", "programme.yaml:2: slides[0].once: does not overlap"),
    ],
)
def test_bad_fields_name_file_line_and_key(text, expected):
    result, problems = parse_yaml(text)
    assert result is None
    assert len(problems) == 1 and problems[0].startswith(expected), problems


def test_unquoted_impossible_date_is_a_problem_not_a_traceback():
    result, problems = parse_yaml("valid_from: 2026-02-30\n")
    assert result is None and problems[0].startswith("programme.yaml:1: slides[0].valid_from:")


def test_every_window_key_is_accepted_by_programme_yaml(tmp_path: Path):
    (tmp_path / "programme.yaml").write_text(
        "slides:\n"
        "  - id: hop-dan\n"
        "    title: Họp dân\n"
        "    once: \"2026-12-05 19:00-21:30\"\n"
        "  - id: thu-phi\n"
        "    title: Thu phí vệ sinh\n"
        "    monthdays: [1, 15, last]\n"
        "    days: mon,tue\n"
        "    hours: \"07:00-11:30\"\n"
        "    valid_from: 2026-01-01\n"
        "    valid_until: 2026-12-31\n"
        "  - id: sai\n"
        "    title: Sai\n"
        "    monthdays: [40]\n",
        encoding="utf-8",
    )
    loaded = programme.load_folder(tmp_path)
    assert [s.id for s in loaded.slides] == ["hop-dan", "thu-phi"]
    assert [str(p) for p in loaded.warnings] == [
        f"{tmp_path / 'programme.yaml'}:14: slides[2] (sai).monthdays: expected days of the month 1..31 or last, got 40"
    ]


# --- properties ---------------------------------------------------------------------------------------

LO, HI = D(2023, 1, 1), D(2030, 12, 31)
minutes = st.integers(0, 24 * 60 - 1).map(lambda m: dt.time(m // 60, m % 60))
instants_min = st.datetimes(LO, HI).map(lambda t: t.replace(second=0, microsecond=0))


@st.composite
def windows(draw) -> Window:
    fields: dict = {}
    if draw(st.booleans()):
        start = draw(instants_min)
        fields["valid_from"] = start if draw(st.booleans()) else None
        length = draw(st.integers(1, 400 * 24 * 60))
        fields["valid_until"] = start + dt.timedelta(minutes=length) if draw(st.booleans()) else None
    if draw(st.integers(0, 3)) == 0:
        start = draw(instants_min)
        fields["once"] = (start, start + dt.timedelta(minutes=draw(st.integers(1, 3 * 24 * 60))))
    if draw(st.booleans()):
        fields["days"] = frozenset(draw(st.sets(st.integers(0, 6), min_size=1)))
    if draw(st.integers(0, 2)) == 0:
        fields["monthdays"] = frozenset(draw(st.sets(st.sampled_from([1, 2, 15, 28, 29, 30, 31, LAST]), min_size=1)))
    if draw(st.booleans()):
        start, end = draw(minutes), draw(minutes)
        if start != end:
            fields["hours"] = (start, end)
    return Window(**fields)


@st.composite
def instants(draw, w: Window | None = None) -> dt.datetime:
    """Arbitrary instants, often right at or next to a boundary (midnights, month ends, leap days, hours)."""
    kind = draw(st.integers(0, 3))
    if kind == 0:
        return draw(st.datetimes(LO, HI))
    day = draw(st.dates(LO.date(), HI.date()))
    if kind == 1:
        day = day.replace(day=1) - dt.timedelta(days=draw(st.integers(0, 1)))  # month ends
    times = [dt.time(0)]
    if w is not None and w.hours:
        times += list(w.hours)
    base = dt.datetime.combine(day, draw(st.sampled_from(times)))
    if w is not None and w.lo is not None and draw(st.booleans()):
        base = draw(st.sampled_from([t for t in (w.lo, w.hi) if t is not None]))
    return base + dt.timedelta(microseconds=draw(st.sampled_from([0, -1, 1, 0])))


def candidates(w: Window, start: dt.datetime, end: dt.datetime) -> list[dt.datetime]:
    """Every instant in (start, end) at which a window could possibly flip, by brute force over days."""
    points = [t for t in (w.lo, w.hi) if t is not None and start < t < end]
    day = start.date()
    times = [dt.time(0)] + (list(w.hours) if w.hours else [])
    while day <= end.date():
        points += [p for p in (dt.datetime.combine(day, t) for t in times) if start < p < end]
        day += dt.timedelta(days=1)
    return points


SLOW_OK = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow]}


@settings(max_examples=400, **SLOW_OK)
@given(st.data())
def test_next_change_is_exact(data):
    w = data.draw(windows())
    at = data.draw(instants(w))
    now = is_open(w, at)
    change = next_change(w, at)
    if change is None:
        horizon = at + dt.timedelta(days=800)
        assert all(is_open(w, t) == now for t in candidates(w, at, horizon))
        return
    assert change > at
    assert is_open(w, change) != now
    assert is_open(w, change - dt.timedelta(microseconds=1)) == now
    # constant on [at, change): at every point where it could flip, and at sampled points
    horizon = min(change, at + dt.timedelta(days=800))
    assert all(is_open(w, t) == now for t in candidates(w, at, horizon))
    span = (change - at) / 7
    assert all(is_open(w, at + span * k) == now for k in range(7))


@settings(**SLOW_OK)
@given(windows(), st.datetimes(LO, HI))
def test_ignore_dates_keeps_weekdays_and_hours_only(w, at):
    plain = Window(days=w.days, hours=w.hours)
    assert is_open(w, at, ignore_dates=True) == is_open(plain, at)
    assert next_change(w, at, ignore_dates=True) == next_change(plain, at)


@settings(max_examples=200, **SLOW_OK)
@given(windows(), st.lists(st.datetimes(LO, HI), min_size=1, max_size=8))
def test_remembered_answers_equal_fresh_ones(w, ats):
    for at in ats + sorted(ats):
        assert window.state(w, at) == (is_open(Window(**_fields(w)), at), next_change(Window(**_fields(w)), at))


def _fields(w: Window) -> dict:
    return {k: getattr(w, k) for k in ("valid_from", "valid_until", "days", "hours", "once", "monthdays")}


scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True), st.text(max_size=30),
    st.dates(), st.datetimes(), st.sampled_from(["07:00-11:30", "2026-12-05 19:00-21:30", "last", "mon-fri",
                                                 "2026-02-29", "24:00-24:00", "x/y", "2026-12-05T19:00/"]),
)
values = st.one_of(scalars, st.lists(scalars, max_size=4), st.dictionaries(st.text(max_size=5), scalars, max_size=3))


@settings(max_examples=300, **SLOW_OK)
@given(st.dictionaries(st.sampled_from(window.KEYS), values))
def test_any_input_gives_a_window_or_problems_never_a_traceback(fields):
    problems = Problems("programme.yaml")
    result = window.parse(fields, lambda _k: 3, problems, "slides[0]")
    assert (result is None) == bool(problems)
    assert all(p.line == 3 and p.path.startswith("slides[0].") for p in problems)


@settings(max_examples=200, **SLOW_OK)
@given(st.dictionaries(st.sampled_from(["valid_from", "valid_until", "once"]),
                       st.one_of(st.dates(LO.date(), HI.date()), st.datetimes(LO, HI)), min_size=1))
def test_yaml_dates_and_their_iso_text_mean_the_same(fields):
    """A manifest carries the authoring fields as JSON (dates as ISO text): the windows must not move."""
    as_yaml, as_json = Problems("a"), Problems("b")
    first = window.parse(fields, lambda _k: 1, as_yaml, "w")
    second = window.parse({k: v.isoformat() for k, v in fields.items()}, lambda _k: 1, as_json, "w")
    assert first == second
