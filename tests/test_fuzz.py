"""Fuzzing the borders with hypothesis: config.yaml, programme.yaml, manifest.json and `kiosk status`.

Only the documented error ever escapes (InvalidInput from the parsers; `kiosk status` returns 0 or 1 and
raises nothing), and every example stays within a memory bound. 1,000 examples per target here;
`bench/fuzz.py` runs 100,000 (KIOSK_FUZZ_EXAMPLES) and reports the slowest and largest example
(KIOSK_FUZZ_REPORT: a JSON file the figures are written to).
"""

from __future__ import annotations

import io
import json
import os
import time
import tracemalloc
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk import config, yamlfile
from kiosk.cli import status as statusmod
from kiosk.content import manifest, programme
from kiosk.problems import InvalidInput, Problems

EXAMPLES = int(os.environ.get("KIOSK_FUZZ_EXAMPLES", "1000"))
MEMORY_BOUND = 64 * 1024 * 1024
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])
FIGURES: dict[str, dict] = {}


@pytest.fixture(scope="module", autouse=True)
def report_figures():
    yield
    path = os.environ.get("KIOSK_FUZZ_REPORT")
    if path:
        old = json.loads(Path(path).read_text()) if Path(path).exists() else {}
        Path(path).write_text(json.dumps({**old, **FIGURES}, indent=1))


def bounded(target: str, fn, *args):
    """Run one example, measuring its peak memory (asserted) and time (reported by the bench only)."""
    tracemalloc.start()
    started = time.perf_counter()
    try:
        return fn(*args)
    finally:
        took = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        figures = FIGURES.setdefault(target, {"examples": 0, "max_s": 0.0, "max_mb": 0.0})
        figures["examples"] += 1
        figures["max_s"] = max(figures["max_s"], took)
        figures["max_mb"] = max(figures["max_mb"], peak / 1024 / 1024)
        assert peak < MEMORY_BOUND, f"{target}: {peak / 1024 / 1024:.0f} MB for one example"


SCALARS = (st.none() | st.booleans() | st.integers(min_value=-10**30, max_value=10**30)
           | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=40)
           | st.sampled_from(["", "auto", "on", "off", "22:00-05:00", "1920x1080", "127.0.0.1:9110", "0.0.0.0:0",
                              "2026-12-01T08:00", "9999-12-31", "../../etc/passwd", "mon-fri", "last", "https://x/",
                              "Asia/Ho_Chi_Minh", "\x00", "ư" * 30, "-1", "1e400"]))
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=6)


def section(keys) -> st.SearchStrategy:
    return st.dictionaries(st.sampled_from(sorted(keys)) | st.text(max_size=8), VALUES, max_size=len(keys) + 1)


CONFIGS = st.fixed_dictionaries({}, optional={name: section(keys) for name, keys in config.SCHEMA.items()}) \
    | st.dictionaries(st.text(max_size=10), VALUES, max_size=4)
SLIDES = st.lists(section(programme.SLIDE_KEYS + ("id", "title", "body")) | VALUES, max_size=4)


def yaml_text(data) -> str:
    return yaml.safe_dump(data, allow_unicode=True)


# --- config.yaml ------------------------------------------------------------------------------------------


@FUZZ
@given(CONFIGS)
def test_config_from_any_structure(tmp_path_factory, data):
    base = tmp_path_factory.getbasetemp() / "fuzz-config"
    base.mkdir(exist_ok=True)

    def check():  # the structure straight to validation (YAML text is fuzzed below)
        try:
            config.validate(data, base / "config.yaml")
        except InvalidInput:
            pass

    bounded("config (structures)", check)


@FUZZ
@given(st.text(max_size=400) | st.builds(lambda a, b: a + b, st.sampled_from(["device:\n  id: ", "a: &a [", "- ",
                                                                              "display: {size: "]), st.text()))
def test_config_from_any_text(tmp_path_factory, text):
    base = tmp_path_factory.getbasetemp() / "fuzz-config"
    base.mkdir(exist_ok=True)

    def check():
        try:
            config.validate(yamlfile.loads(text, "config.yaml"), base / "config.yaml")
        except (InvalidInput, yamlfile.YamlError):
            pass

    bounded("config (text)", check)


# --- programme.yaml ----------------------------------------------------------------------------------------


def resolve(name, line, where, kind="image"):
    return programme.MediaRef("a" * 64, 10, Path("/nonexistent") / "a", str(name)) if name == "images/a.png" else None


@FUZZ
@given(SLIDES, VALUES)
def test_programme_from_any_structure(slides, extra):
    def check():  # the structure straight to validation; every tenth through YAML text as well
        data = {"slides": slides, "x": extra} if extra else {"slides": slides}
        try:
            programme.parse_document(data, "programme.yaml", Problems("programme.yaml"), resolve)
            if len(str(slides)) % 10 == 0:
                programme.parse_document(yamlfile.loads(yaml_text(data), "programme.yaml"), "programme.yaml",
                                         Problems("programme.yaml"), resolve)
        except (InvalidInput, yamlfile.YamlError):
            pass

    bounded("programme.yaml", check)


# --- manifest.json -------------------------------------------------------------------------------------------


VALID = {"format": 1, "version": "v1", "generated_at": "2026-12-01T00:00:00Z",
         "media": {"images/a.png": {"sha256": "a" * 64, "size": 10}},
         "slides": [{"id": "tin", "title": "Thông báo", "body": "Họp dân", "priority": "emergency"},
                    {"id": "anh", "type": "image", "file": "images/a.png", "hours": "22:00-05:00"}]}


def mutated(document, path: list, value):
    """The valid manifest with one place (found along `path`) replaced by `value`."""
    document = json.loads(json.dumps(document))
    node = document
    for step in path[:-1]:
        keys = list(node) if isinstance(node, dict) else list(range(len(node))) if isinstance(node, list) else []
        if not keys:
            break
        node = node[keys[step % len(keys)]]
    if isinstance(node, dict) and node:
        node[list(node)[path[-1] % len(node)] if path[-1] % 3 else f"x{path[-1]}"] = value
    elif isinstance(node, list) and node:
        node[path[-1] % len(node)] = value
    return document


@FUZZ
@given(st.binary(max_size=600) | st.builds(lambda v: json.dumps(v).encode(), VALUES)
       | st.builds(lambda p, v: json.dumps(mutated(VALID, p, v), ensure_ascii=False).encode(),
                   st.lists(st.integers(0, 50), min_size=1, max_size=4), VALUES))
def test_manifest_from_any_bytes(tmp_path_factory, data):
    media = tmp_path_factory.getbasetemp()

    def check():
        try:
            manifest.decode(data, media)
        except InvalidInput:
            pass
        manifest.published_at(data)  # the freshness check reads any manifest too

    bounded("manifest.json", check)


# --- kiosk status -------------------------------------------------------------------------------------------


@FUZZ
@given(st.dictionaries(st.sampled_from(["status", "device_id", "device_name", "reasons", "warnings", "last_sync",
                                        "screen_power", "device", "cpu_temp_c", "disk_free_bytes", "slide_count",
                                        "current_slide", "content_version", "uptime_s", "version"])
                       | st.text(max_size=6), VALUES, max_size=12))
def test_status_summary_of_any_answer(body):
    bounded("kiosk status (summary)", lambda: statusmod.summary(body, "Asia/Ho_Chi_Minh"))


@pytest.fixture(scope="module")
def answering():
    """A server whose every answer is the current example's (status, headers, body)."""
    from servers import StaticServer

    server = StaticServer(None)
    current = {}

    def answer(h):
        h.send_response(current["code"])
        for name, value in current["headers"].items():
            h.send_header(name, value)
        h.send_header("Content-Length", str(len(current["body"])))
        h.end_headers()
        h.wfile.write(current["body"])

    server.overrides["/healthz"] = answer
    yield server, current
    server.close()


@FUZZ
@given(st.sampled_from([200, 200, 200, 301, 401, 404, 500, 503]),
       st.dictionaries(st.sampled_from(["Content-Type", "Content-Encoding", "Location", "X-A"]),
                       st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=20), max_size=3),
       st.binary(max_size=300) | st.builds(lambda v: json.dumps(v).encode(), VALUES)
       | st.builds(lambda v: json.dumps({"status": "healthy", **v}).encode(), st.dictionaries(st.text(max_size=8),
                                                                                              VALUES, max_size=5)))
def test_kiosk_status_against_any_answer(tmp_path_factory, answering, code, headers, body):
    server, current = answering
    current.update(code=code, headers=headers, body=body)
    base = tmp_path_factory.getbasetemp() / "fuzz-status"
    base.mkdir(exist_ok=True)
    path = base / "config.yaml"
    if not path.exists():
        path.write_text(f"device: {{id: x, name: y}}\nsource: {{path: '{base}'}}\n"
                        f"health: {{listen: '127.0.0.1:{server.port}'}}\n", encoding="utf-8")
    cfg = config.load(path)

    def check():
        out = io.StringIO()
        assert statusmod.main(cfg, out) in (0, 1)
        assert out.getvalue().split(":", 1)[0] in ("HEALTHY", "DEGRADED", "UNEXPECTED", "UNREACHABLE", "REFUSED")

    bounded("kiosk status (over HTTP)", check)
