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
