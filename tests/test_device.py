"""Device facts: each parser against real sample texts, and the Reader against a fake /sys and /proc."""

import json
from pathlib import Path

from kiosk.report import device

MEMINFO = """MemTotal:        3882296 kB
MemFree:         2912384 kB
MemAvailable:    3398460 kB
Buffers:           33712 kB
"""

IP_JSON = json.dumps(
    [
        {"ifindex": 1, "ifname": "lo", "addr_info": [{"family": "inet", "local": "127.0.0.1", "scope": "host"}]},
        {
            "ifindex": 2,
            "ifname": "eth0",
            "addr_info": [
                {"family": "inet", "local": "192.168.1.20", "prefixlen": 24, "scope": "global"},
                {"family": "inet6", "local": "fe80::1", "prefixlen": 64, "scope": "link"},
                {"family": "inet6", "local": "2001:db8::20", "prefixlen": 64, "scope": "global"},
            ],
        },
        {"ifindex": 3, "ifname": "wlan0", "addr_info": []},
    ]
)


def test_cpu_temp_is_millidegrees():
    assert device.parse_cpu_temp("48312\n") == 48.3
    assert device.parse_cpu_temp("") is None
    assert device.parse_cpu_temp("garbage") is None
    assert device.parse_cpu_temp("999999999") is None  # a broken sensor, not a fire


def test_throttled_from_vcgencmd_and_sysfs():
    flags = device.parse_throttled("throttled=0x50005\n")
    assert flags["raw"] == 0x50005
    assert flags["now"] == {"under_voltage": True, "freq_capped": False, "throttled": True, "soft_temp_limit": False}
    assert flags["since_boot"]["under_voltage"] and flags["since_boot"]["throttled"]
    assert not flags["since_boot"]["freq_capped"]
    healthy = device.parse_throttled("0\n")  # the sysfs file: bare hex
    assert not any(healthy["now"].values()) and not any(healthy["since_boot"].values())
    assert device.parse_throttled("50000")["since_boot"]["under_voltage"]
    assert device.parse_throttled('error=2 error_msg="Command not registered"') is None


def test_meminfo_in_bytes():
    assert device.parse_meminfo(MEMINFO) == {
        "memory_total_bytes": 3882296 * 1024,
        "memory_available_bytes": 3398460 * 1024,
    }
    assert device.parse_meminfo("") == {"memory_total_bytes": None, "memory_available_bytes": None}


def test_uptime_model_os():
    assert device.parse_uptime("12345.67 40000.00\n") == 12345.7
    assert device.parse_uptime("") is None
    assert device.parse_model(b"Raspberry Pi 4 Model B Rev 1.4\x00") == "Raspberry Pi 4 Model B Rev 1.4"
    assert device.parse_os_release('NAME="Debian"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n') == (
        "Debian GNU/Linux 12 (bookworm)"
    )


def test_ip_addresses_skip_loopback_and_link_local():
    assert device.parse_ip_json(IP_JSON) == ["192.168.1.20", "2001:db8::20"]
    assert device.parse_ip_json("not json") == []
    assert device.parse_ip_json('{"a": 1}') == []


def _fake_root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    (root / "sys/class/thermal/thermal_zone0").mkdir(parents=True)
    (root / "sys/class/thermal/thermal_zone0/temp").write_text("61500\n")
    (root / "sys/devices/platform/soc/soc:firmware").mkdir(parents=True)
    (root / "sys/devices/platform/soc/soc:firmware/get_throttled").write_text("1\n")
    (root / "proc/device-tree").mkdir(parents=True)
    (root / "proc/device-tree/model").write_bytes(b"Raspberry Pi 5 Model B Rev 1.0\x00")
    (root / "proc/uptime").write_text("3600.00 100.00\n")
    (root / "proc/meminfo").write_text(MEMINFO)
    return root


def test_reader_reads_a_pi_and_caches_for_ttl(tmp_path):
    root = _fake_root(tmp_path)
    now = [100.0]
    calls = []

    def run(argv):
        calls.append(argv)
        return IP_JSON if argv[0] == "ip" else None

    reader = device.Reader(tmp_path / "cache-not-yet", ttl=5, root=root, run=run, clock=lambda: now[0])
    facts = reader()
    assert facts["cpu_temp_c"] == 61.5
    assert facts["throttled"]["now"]["under_voltage"] is True
    assert facts["model"] == "Raspberry Pi 5 Model B Rev 1.0"
    assert facts["boot_uptime_s"] == 3600.0
    assert facts["memory_available_bytes"] == 3398460 * 1024
    assert facts["ip_addresses"] == ["192.168.1.20", "2001:db8::20"]
    assert facts["disk_free_bytes"] > 0  # the cache folder does not exist yet: its disk is measured
    assert len(facts["load"]) == 3

    (root / "sys/class/thermal/thermal_zone0/temp").write_text("70000\n")
    now[0] += 1
    assert reader()["cpu_temp_c"] == 61.5  # cached
    now[0] += 5
    assert reader()["cpu_temp_c"] == 70.0  # re-read after ttl
    assert calls == [["ip", "-j", "addr"]]  # addresses are slow facts, read once a minute


def test_reader_on_a_machine_that_is_not_a_pi(tmp_path):
    reader = device.Reader(tmp_path, root=tmp_path / "empty", run=lambda argv: None)
    facts = reader()
    assert facts["cpu_temp_c"] is None
    assert facts["throttled"] is None
    assert facts["model"] is None
    assert facts["memory_total_bytes"] is None
    assert isinstance(facts["ip_addresses"], list)
