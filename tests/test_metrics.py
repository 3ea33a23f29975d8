"""/metrics over real HTTP: kiosk_ names, valid exposition text, values that follow the board's facts."""

import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
import yaml
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics
from prometheus_client.parser import text_string_to_metric_families

from kiosk import config
from kiosk.report.endpoint import HealthServer
from kiosk.status import Status
from kiosk.version import __version__

DEVICE = {
    "cpu_temp_c": 66.5,
    "disk_free_bytes": 7 * 10**9,
    "disk_total_bytes": 30 * 10**9,
    "throttled": {
        "raw": 0x50000,
        "now": {"under_voltage": False, "freq_capped": False, "throttled": False, "soft_temp_limit": False},
        "since_boot": {"under_voltage": True, "freq_capped": False, "throttled": True, "soft_temp_limit": False},
    },
    "load": [0.5, 0.4, 0.3],
    "memory_total_bytes": 4 * 2**30,
    "memory_available_bytes": 3 * 2**30,
    "boot_uptime_s": 86400.0,
    "model": "Raspberry Pi 4 Model B Rev 1.4",
}


def make_config(tmp_path):
    (tmp_path / "config.yaml").write_text(
        "device: {id: xa-an-khuong, name: 'UBND xã An Khương'}\n"
        f"source: {{path: '{tmp_path}'}}\n"
        "health: {listen: '127.0.0.1:0'}\n",
        encoding="utf-8",
    )
    return config.load(tmp_path / "config.yaml")


def scrape(tmp_path, status: Status) -> dict:
    server = HealthServer(make_config(tmp_path), status)
    server.start()
    try:
        with requests.Session() as session:
            session.trust_env = False
            answer = session.get(f"http://127.0.0.1:{server.port}/metrics")
    finally:
        server.stop()
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            key = sample.name + "".join(f"|{k}={v}" for k, v in sorted(sample.labels.items()))
            samples[key] = sample.value
    return samples


@pytest.fixture
def board() -> Status:
    st = Status(device=lambda: dict(DEVICE))
    st.update(display_ok=True, display_driver="kmsdrm", slide_count=5, content_version="v42", plays_queued=17)
    for slide in ("a", "b", "a"):
        st.slide_started(slide)
    st.sync_finished(True, changed=True, bytes_downloaded=1500, at=1_790_000_000.0)
    st.sync_finished(False, error="HTTP 502", at=1_790_000_060.0)
    st.count("plays_dropped", 3)
    st.beat(time.monotonic() + 10)
    return st


def test_every_metric_is_kiosk_prefixed_and_parses(tmp_path, board):
    samples = scrape(tmp_path, board)
    assert samples and all(name.startswith("kiosk_") for name in samples)


def test_values_follow_the_status(tmp_path, board):
    m = scrape(tmp_path, board)
    assert m["kiosk_slide_changes_total"] == 3
    assert m["kiosk_sync_total|result=ok"] == 1 and m["kiosk_sync_total|result=failed"] == 1
    assert m["kiosk_last_sync_ok"] == 0
    assert m["kiosk_last_sync_timestamp_seconds"] == 1_790_000_060
    assert m["kiosk_last_sync_success_timestamp_seconds"] == 1_790_000_000
    assert m["kiosk_downloaded_bytes_total"] == 1500
    assert m["kiosk_plays_queued"] == 17 and m["kiosk_plays_dropped_total"] == 3
    assert m["kiosk_cpu_temperature_celsius"] == 66.5
    assert m["kiosk_disk_free_bytes"] == 7 * 10**9
    assert m["kiosk_throttled|flag=under_voltage|when=since_boot"] == 1
    assert m["kiosk_throttled|flag=under_voltage|when=now"] == 0
    assert m["kiosk_load_average|period=1m"] == 0.5
    assert m["kiosk_display_ok"] == 1 and m["kiosk_healthy"] == 1
    assert m["kiosk_content_info|version=v42"] == 1
    assert 0 <= m["kiosk_render_loop_age_seconds"] < m["kiosk_render_loop_promise_seconds"]
    build = "|device_id=xa-an-khuong|device_name=UBND xã An Khương|model=Raspberry Pi 4 Model B Rev 1.4"
    assert m[f"kiosk_build_info{build}|version={__version__}"] == 1
    assert m["kiosk_health_problem|code=sync_failing|severity=warning"] == 1
    assert m["kiosk_process_resident_memory_bytes"] > 0


def test_unknown_values_are_left_out_not_faked(tmp_path):
    m = scrape(tmp_path, Status(device=lambda: {"cpu_temp_c": None}))
    assert "kiosk_cpu_temperature_celsius" not in m
    assert "kiosk_last_sync_timestamp_seconds" not in m
    assert "kiosk_render_loop_age_seconds" not in m
    assert m["kiosk_healthy"] == 0
    assert m["kiosk_health_problem|code=loop_not_started|severity=fault"] == 1


def test_openmetrics_when_prometheus_asks_for_it(tmp_path, board):
    server = HealthServer(make_config(tmp_path), board)
    server.start()
    try:
        with requests.Session() as session:
            session.trust_env = False
            answer = session.get(
                f"http://127.0.0.1:{server.port}/metrics",
                headers={"Accept": "application/openmetrics-text;version=1.0.0"},
            )
    finally:
        server.stop()
    assert answer.headers["Content-Type"].startswith("application/openmetrics-text")
    names = {family.name for family in parse_openmetrics(answer.text)}
    assert {"kiosk_sync", "kiosk_build", "kiosk_cpu_temperature_celsius"} <= names


def test_alert_rules_only_use_metrics_the_board_exposes(tmp_path, board):
    rules_file = Path(__file__).resolve().parent.parent / "docs/monitoring/kiosk-alerts.yml"
    rules = yaml.safe_load(rules_file.read_text(encoding="utf-8"))
    exprs = [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
    used = {name for expr in exprs for name in re.findall(r"\bkiosk_[a-z0-9_]+", expr)}
    board.update(clock_synced=True)
    exposed = {key.split("|")[0] for key in scrape(tmp_path, board)}
    assert used and used <= exposed, used - exposed
    if shutil.which("promtool"):  # Debian package "prometheus"; optional
        for args in (["check", "rules", rules_file.name], ["test", "rules", "kiosk-alerts.test.yml"]):
            done = subprocess.run(["promtool", *args], cwd=rules_file.parent, capture_output=True, text=True)
            assert done.returncode == 0, done.stdout + done.stderr


def test_each_channel_has_its_last_sync_labelled(tmp_path, board):
    board.follow_channels({"tinh": "http://a/", "xa": "http://b/"})
    board.channel_facts("tinh", last_sync={"at": 1_790_000_100.0, "ok": True, "error": None})
    board.channel_facts("xa", last_sync={"at": 1_790_000_110.0, "ok": False, "error": "HTTP 503"})
    m = scrape(tmp_path, board)
    assert m["kiosk_channel_last_sync_ok|channel=tinh"] == 1 and m["kiosk_channel_last_sync_ok|channel=xa"] == 0
    assert m["kiosk_channel_last_sync_timestamp_seconds|channel=xa"] == 1_790_000_110


def test_prometheus_client_is_loaded_at_the_first_scrape_not_before(tmp_path):
    """A board nobody scrapes does not hold it (about 1 MB resident)."""
    make_config(tmp_path)
    probe = f"""
import sys, urllib.request
from pathlib import Path
from kiosk import config
from kiosk.report.endpoint import HealthServer
from kiosk.status import Status
server = HealthServer(config.load(Path({str(tmp_path / 'config.yaml')!r})), Status())
server.start()
try:
    urllib.request.urlopen(f"http://127.0.0.1:{{server.port}}/healthz").read()
except urllib.error.HTTPError as unhealthy:  # 503: nothing plays here; the page was answered
    unhealthy.read()
before = "prometheus_client" in sys.modules
page = urllib.request.urlopen(f"http://127.0.0.1:{{server.port}}/metrics").read().decode()
again = urllib.request.urlopen(f"http://127.0.0.1:{{server.port}}/metrics").read().decode()
server.stop()
print(before, "kiosk_" in page, "kiosk_" in again)
"""
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60,
                            cwd=Path(__file__).resolve().parent.parent)
    assert result.stdout.split() == ["False", "True", "True"], result.stderr
