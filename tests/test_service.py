"""The appliance files: the systemd unit says what docs/deploy.md promises, and the install script parses."""

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
UNIT = ROOT / "systemd/kiosk.service"
INSTALL = ROOT / "deploy/install.sh"


def unit_sections(text: str) -> dict[str, dict[str, list[str]]]:
    """systemd's INI dialect: keys may repeat (Environment=), comments start with # or ;."""
    sections: dict[str, dict[str, list[str]]] = {}
    current = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
            continue
        key, _, value = line.partition("=")
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def test_unit_is_a_watched_notify_service_that_always_restarts():
    unit = unit_sections(UNIT.read_text(encoding="utf-8"))
    service = unit["Service"]
    assert service["Type"] == ["notify"]
    assert int(service["WatchdogSec"][0]) > 0
    assert service["Restart"] == ["always"] and service["RestartSec"]
    assert unit["Unit"]["StartLimitIntervalSec"] and unit["Unit"]["StartLimitBurst"]
    assert "StartLimitIntervalSec" not in service  # ignored there by systemd
    assert service["ExecStart"] == ["/opt/kiosk/venv/bin/kiosk run -c /etc/kiosk/config.yaml"]
    assert unit["Install"]["WantedBy"] == ["multi-user.target"]


def test_unit_runs_as_kiosk_on_the_screen_with_hardening_that_keeps_the_screen():
    service = unit_sections(UNIT.read_text(encoding="utf-8"))["Service"]
    assert service["User"] == ["kiosk"]
    assert {"video", "render", "input"} <= set(service["SupplementaryGroups"][0].split())
    assert "SDL_VIDEODRIVER=kmsdrm" in service["Environment"]
    assert service["TTYPath"] == ["/dev/tty1"]
    assert service["NoNewPrivileges"] == ["yes"] and service["ProtectSystem"] == ["strict"]
    assert "/var/lib/kiosk" in service["ReadWritePaths"]
    assert service["PrivateTmp"] == ["yes"] and service["ProtectHome"] == ["yes"]
    # Each of these would hide /dev/dri, /proc/meminfo or the device groups: a black screen or blind health.
    for key in ("PrivateDevices", "DevicePolicy", "DeviceAllow", "ProtectClock", "ProcSubset", "PrivateUsers"):
        assert key not in service, key


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_systemd_accepts_the_unit(tmp_path):
    # The real ExecStart only exists on a board; everything else is checked as systemd would.
    text = UNIT.read_text(encoding="utf-8").replace("/opt/kiosk/venv/bin/kiosk run", "/bin/true")
    (tmp_path / "kiosk.service").write_text(text, encoding="utf-8")
    done = subprocess.run(
        ["systemd-analyze", "verify", str(tmp_path / "kiosk.service")], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0 and "kiosk.service" not in done.stderr, done.stderr


def test_install_scripts_parse():
    for script in (INSTALL, INSTALL.with_name("bundle.sh"), INSTALL.parent.parent / "dev"):
        shell = "bash" if script.name == "dev" else "sh"
        assert subprocess.run([shell, "-n", str(script)], capture_output=True).returncode == 0, script
        if shutil.which("shellcheck"):  # Debian package "shellcheck"; .ci/run installs it
            done = subprocess.run(["shellcheck", str(script)], capture_output=True, text=True)
            assert done.returncode == 0, done.stdout


def test_install_writes_a_vietnamese_board_config(tmp_path):
    """The sed that deploy/install.sh runs on the shipped config.yaml, run as written: a valid config
    that speaks Vietnamese (ui.language: vi), pointed at the board's folders."""
    from kiosk import config

    text = INSTALL.read_text(encoding="utf-8")
    start = text.index("    sed -e ")
    command = text[start:text.index('> "$ETC/config.yaml"', start)]
    (tmp_path / "demo").mkdir()
    (tmp_path / "state" / "cache").mkdir(parents=True)
    env = {"PATH": "/usr/bin:/bin", "SRC": str(ROOT), "DEVICE_ID": "ubnd-an-khuong", "DEVICE_NAME": "UBND xã An Khương",
           "PREFIX": str(tmp_path), "STATE": str(tmp_path / "state")}
    done = subprocess.run(["sh", "-c", command], env=env, capture_output=True, text=True, check=True)
    (tmp_path / "config.yaml").write_text(done.stdout, encoding="utf-8")
    cfg = config.load(tmp_path / "config.yaml")
    assert cfg.ui.language == "vi" and cfg.device.id == "ubnd-an-khuong"
    assert cfg.source.path == (tmp_path / "demo").resolve() and cfg.cache.path == (tmp_path / "state" / "cache")


@pytest.mark.parametrize("guide,language", [("deploy.md", "en"), ("vi/cai-dat.md", "vi")])
def test_deploy_guide_shows_what_kiosk_status_prints(guide, language):
    """The guides' sample is the summary of a /healthz body with its values, character for character."""
    import re

    from kiosk import i18n
    from kiosk.cli import status as status_cli
    from kiosk.report import health

    i18n.use(language)
    guide = (ROOT / "docs" / guide).read_text(encoding="utf-8")
    sample = re.search(r"   kiosk status\n   ```\n\n   ```\n(.*?)\n   ```", guide, re.S).group(1)
    sample = "\n".join(line[3:] for line in sample.split("\n"))
    values = re.findall(r"^  [^:]+: +(.*)$", sample, re.M)  # slide, content, …, version: in this order
    slide, content, version = values[0], values[1], values[-1]
    snap = {
        "loop_beat": 100.0, "loop_deadline": 110.0, "display_ok": True, "display_driver": "KMSDRM",
        "current_slide": slide.split()[0], "slide_count": int(re.search(r"\d+", slide.split("(")[1]).group()),
        "content_version": content, "version": version, "uptime_s": 14 * 60 + 5,
        "last_sync": {"at": 1795669267.0, "ok": True, "error": None},  # 2026-11-26 12:01:07 in Hà Nội
        "device": {"cpu_temp_c": 52.0, "disk_free_bytes": 11.3e9, "ip_addresses": ["192.168.1.20"]},
        "clock_synced": True, "power": "on", "errors": {}, "counters": {},
    }
    _healthy, body = health.report(snap, 101.0, "ubnd-xa-an-khuong", "UBND xã An Khương", "Asia/Ho_Chi_Minh")
    try:
        assert status_cli.summary(body, "Asia/Ho_Chi_Minh") == sample
    finally:
        i18n.use("en")
