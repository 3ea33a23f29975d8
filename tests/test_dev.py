"""./dev, the two set-up commands of the README: a mistyped command says so and exits 2."""

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_an_unknown_command_prints_the_usage_and_exits_2():
    done = subprocess.run([str(ROOT / "dev"), "bogus"], capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert "unknown command 'bogus'" in done.stderr and "./dev test" in done.stderr
    assert "set -e" not in done.stderr + done.stdout


def test_help_is_the_usage():
    done = subprocess.run([str(ROOT / "dev"), "help"], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0 and "./dev run" in done.stdout and "set -e" not in done.stdout
