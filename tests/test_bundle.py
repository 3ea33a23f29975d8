"""The offline install (deploy/bundle.sh, deploy/install.sh --offline): a board with no network.

The bundles are built at set-up by `./dev test` (building one needs PyPI; these tests do not): one for
64-bit Raspberry Pi OS, one for this machine, in $KIOSK_BUNDLES.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BUNDLES = Path(os.environ.get("KIOSK_BUNDLES", ROOT / ".venv" / "bundles"))
pytestmark = pytest.mark.skipif(not (BUNDLES / ".built").exists(),
                                reason="no bundles: `./dev test` builds them (it needs PyPI once)")


def unpack(bundle: Path, where: Path) -> Path:
    with tarfile.open(bundle) as tar:
        tar.extractall(where, filter="data")
    (root,) = where.glob("kiosk-*")
    return root


def test_the_pi_bundle_resolves_for_every_python_of_pi_os_without_an_index(tmp_path):
    root = unpack(BUNDLES / "aarch64.tar", tmp_path)
    versions = root.joinpath("BUNDLE").read_text().split("Python ", 1)[1].split(";")[0].split()
    assert {"3.11", "3.13"} <= set(versions)  # Bookworm and Trixie
    platforms = [f"--platform=manylinux_2_{n}_aarch64" for n in range(17, 37)] + ["--platform=manylinux2014_aarch64"]
    for version in versions:
        done = subprocess.run(
            [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--no-index",
             "--find-links", str(root / "wheels"), "--only-binary=:all:", *platforms, "--implementation=cp",
             f"--python-version={version}", "--target", str(tmp_path / f"t{version}"), "kiosk"],
            capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "Would install" in done.stdout and "pygame-ce" in done.stdout.lower().replace("_", "-")


def test_a_bundle_installs_with_no_network_and_renders(tmp_path):
    prefix = tmp_path / "opt"
    env = {**os.environ, "PIP_NO_INDEX": "1", "PIP_CONFIG_FILE": os.devnull}
    done = subprocess.run(["sh", str(ROOT / "deploy" / "install.sh"), "--offline", str(BUNDLES / "x86_64.tar"),
                           "--venv-only", "--prefix", str(prefix)],
                          capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "installed: kiosk" in done.stdout
    demo = unpack(BUNDLES / "x86_64.tar", tmp_path / "src")
    out = tmp_path / "out"
    render = subprocess.run([str(prefix / "venv" / "bin" / "kiosk"), "render", "--out", str(out), "-c",
                             str(demo / "config.yaml"), "--at", "2026-12-01T08:00"],
                            capture_output=True, text=True, timeout=120, cwd=demo,
                            env={**env, "SDL_VIDEODRIVER": "dummy", "PYTHONPATH": ""})
    assert render.returncode == 0, render.stderr
    assert sorted(p.name for p in out.glob("*.png")) and all(p.stat().st_size > 10_000 for p in out.glob("*.png"))
    checked = subprocess.run([str(prefix / "venv" / "bin" / "kiosk"), "check-config", "-c", str(demo / "config.yaml")],
                             capture_output=True, text=True, timeout=60, cwd=demo,
                             env={**env, "LANG": "vi_VN.UTF-8", "PYTHONPATH": ""})
    assert checked.returncode == 0 and "HỢP LỆ" in checked.stdout, checked.stdout + checked.stderr  # the catalog came


def test_a_damaged_bundle_is_refused_before_anything_is_installed(tmp_path):
    root = unpack(BUNDLES / "x86_64.tar", tmp_path / "x")
    wheel = next(root.glob("wheels/kiosk-*.whl"))
    wheel.write_bytes(wheel.read_bytes()[:-10])
    broken = tmp_path / "broken.tar"
    with tarfile.open(broken, "w") as tar:
        tar.add(root, arcname=root.name)
    done = subprocess.run(["sh", str(ROOT / "deploy" / "install.sh"), "--offline", str(broken), "--venv-only",
                           "--prefix", str(tmp_path / "opt")], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "damaged" in done.stderr
    assert not (tmp_path / "opt").exists()
