"""config.yaml validation, as a technician meets it through `kiosk check-config`."""

import subprocess
import sys
from pathlib import Path

import pytest

from kiosk import config
from kiosk.problems import InvalidInput

ROOT = Path(__file__).resolve().parent.parent


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "demo").mkdir(exist_ok=True)
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(path: Path) -> list[str]:
    with pytest.raises(InvalidInput) as info:
        config.load(path)
    return [str(p) for p in info.value.problems]


def test_shipped_config_is_valid_and_documented():
    cfg = config.load(ROOT / "config.yaml")
    assert cfg.device.id == "demo-board"
    assert cfg.source.path == (ROOT / "demo").resolve()
    assert cfg.schedule.timezone == "Asia/Ho_Chi_Minh"
    text = (ROOT / "config.yaml").read_text(encoding="utf-8")
    for section, keys in config.SCHEMA.items():
        for key in keys:
            assert f"{key}:" in text, f"{section}.{key} is not documented in the shipped config.yaml"


def test_minimal_config_gets_defaults(tmp_path):
    cfg = config.load(write(tmp_path, "device: {id: xa-1, name: Xã Một}\nsource: {path: demo}\n"))
    assert cfg.display.size is None and cfg.display.rotation == 0
    assert (cfg.health.host, cfg.health.port) == ("127.0.0.1", 9110)
    assert cfg.cache.path == (tmp_path / "media_cache").resolve()
    assert cfg.source.poll_seconds == 60


def test_every_problem_is_reported_at_once_with_file_line_and_key(tmp_path):
    path = write(
        tmp_path,
        "device:\n  id: Xa_1\n  name: Xã\nsource:\n  path: demo\n  pol_seconds: 5\n"
        "display:\n  rotation: 45\n  size: huge\nhealth:\n  listen: nowhere\n",
    )
    found = problems_of(path)
    assert f"{path}:2: device.id: 'Xa_1' must use only a-z, 0-9 and '-' (e.g. ubnd-xa-an-khuong)" in found
    assert f"{path}:6: source.pol_seconds: unknown key; did you mean 'poll_seconds'?" in found
    assert any(p.startswith(f"{path}:8: display.rotation: must be one of 0, 90, 180, 270") for p in found)
    assert any(p.startswith(f"{path}:9: display.size:") for p in found)
    assert any(p.startswith(f"{path}:11: health.listen:") for p in found)
    assert len(found) == 5


def test_unknown_section_suggests_the_right_one(tmp_path):
    found = problems_of(write(tmp_path, "device: {id: a, name: b}\nsource: {path: demo}\ndisplya: {}\n"))
    assert found == [f"{tmp_path / 'config.yaml'}:3: displya: unknown section; did you mean 'display'?"]


def test_path_and_url_exclude_each_other_and_one_is_needed(tmp_path):
    both = problems_of(write(tmp_path, "device: {id: a, name: b}\nsource:\n  path: demo\n  url: http://x/\n"))
    assert any("exclude each other" in p for p in both)
    neither = problems_of(write(tmp_path, "device: {id: a, name: b}\n"))
    assert any("source: set source.path" in p for p in neither)


def test_required_keys_and_wrong_types(tmp_path):
    found = problems_of(write(tmp_path, "device:\n  name: [1, 2]\nsource: {path: demo, poll_seconds: often}\n"))
    assert any("device.id: is required" in p for p in found)
    assert any("device.name: expected text, got a list" in p for p in found)
    assert any("source.poll_seconds: expected a number, got text" in p for p in found)


def test_yaml_syntax_error_names_the_line(tmp_path):
    found = problems_of(write(tmp_path, "device:\n  id: a\n  name: [b\nsource: {}\n"))
    assert len(found) == 1 and found[0].startswith(f"{tmp_path / 'config.yaml'}:3: YAML syntax")


def test_not_utf8_and_missing_file(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_bytes("device:\n  name: Xã\n".encode("latin-1"))
    assert "not valid UTF-8" in problems_of(path)[0]
    assert "cannot read" in problems_of(tmp_path / "nope.yaml")[0]


def test_bad_timezone_and_missing_files(tmp_path):
    found = problems_of(
        write(tmp_path, "device: {id: a, name: b}\nsource: {path: nowhere, token_file: t.txt}\n"
              "schedule: {timezone: Asia/Hanoi_City}\n")
    )
    assert any("source.path: folder" in p and "does not exist" in p for p in found)
    assert any("source.token_file: file" in p for p in found)
    assert any("schedule.timezone: unknown time zone 'Asia/Hanoi_City'" in p for p in found)


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "kiosk", *args], cwd=cwd, capture_output=True, text=True, timeout=60,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )


def test_check_config_command_exit_codes(tmp_path):
    good = run_cli("check-config", "-c", str(ROOT / "config.yaml"), cwd=tmp_path)
    assert good.returncode == 0, good.stderr
    path = write(tmp_path, "device: {id: BAD, name: b}\nsource: {path: demo}\n")
    bad = run_cli("check-config", "-c", str(path), cwd=tmp_path)
    assert bad.returncode == 2
    assert bad.stderr.startswith(f"{path}:1: device.id:")
    assert "Traceback" not in bad.stderr
    # Without -c: ./config.yaml is used.
    assert run_cli("check-config", cwd=tmp_path).returncode == 2
    missing = run_cli("check-config", "-c", "nope.yaml", cwd=tmp_path)
    assert missing.returncode == 2 and "not found" in missing.stderr


def test_public_key_is_checked_by_check_config(tmp_path):
    from kiosk.source import signing

    _, public = signing.keygen(tmp_path / "content.key")
    good = write(tmp_path, f"device: {{id: a, name: b}}\nsource: {{url: 'http://x/', public_key: {public}}}\n")
    assert config.load(good).source.public_key == str(public)
    found = problems_of(write(tmp_path, "device: {id: a, name: b}\nsource: {url: 'http://x/', public_key: abc}\n"))
    assert len(found) == 1 and "source.public_key: not an Ed25519 public key" in found[0]
    found = problems_of(write(tmp_path, "device: {id: a, name: b}\nsource: {url: 'http://x/', public_key: k.pub}\n"))
    assert "source.public_key: cannot read public key file" in found[0]


def test_config_option_goes_before_or_after_the_command(tmp_path):
    for args in (("-c", str(ROOT / "config.yaml"), "check-config"), ("check-config", "-c", str(ROOT / "config.yaml"))):
        result = run_cli(*args, cwd=tmp_path)
        assert result.returncode == 0, (args, result.stderr)


def test_cache_path_must_be_writable(tmp_path):
    found = problems_of(write(tmp_path, "device: {id: a, name: b}\nsource: {path: demo}\ncache: {path: /proc/x/y}\n"))
    assert len(found) == 1 and "cache.path: '/proc/x/y' cannot be created or written" in found[0]
    (tmp_path / "f").write_text("x")
    found = problems_of(write(tmp_path, "device: {id: a, name: b}\nsource: {path: demo}\ncache: {path: f/sub}\n"))
    assert "is not a folder" in found[0]


def test_empty_or_comment_only_config_is_problems_not_a_traceback(tmp_path):
    for text in ("", "# chỉ có chú thích\n"):
        found = problems_of(write(tmp_path, text))
        assert any("device.id: is required" in p for p in found)
        assert any("source: set source.path" in p for p in found)


def test_check_config_refuses_an_alias_bomb_at_once_and_small(tmp_path):
    """The issue's attack: 1.5 GB in 15 s, because a message turned the value into text."""
    from test_yamlfile import alias_bomb

    path = write(tmp_path, alias_bomb() + "device: {id: abc, name: x}\nsource: {path: demo}\ndisplay: {size: *i}\n")
    from test_bounded import MEASURED, peak_of

    done = subprocess.run([sys.executable, "-c", MEASURED, "check-config", "-c", str(path)], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 2
    assert f"{path}:" in done.stderr and "alias bomb" in done.stderr and "Traceback" not in done.stderr
    peak_kb = peak_of(done.stderr)
    assert peak_kb < 100 * 1024  # the bound for check-config


def test_a_message_never_writes_out_a_huge_value(tmp_path):
    path = write(tmp_path, "device: {id: abc, name: x}\nsource: {path: demo}\ndisplay: {size: [" +
                 ", ".join(["ư" * 1000] * 1000) + "]}\n")
    (problem,) = problems_of(path)
    assert "display.size" in problem and len(problem) < 300


def test_an_open_health_endpoint_and_readable_secrets_are_warned_about(tmp_path):
    token = tmp_path / "token"
    token.write_text("t\n")
    token.chmod(0o644)
    path = write(tmp_path, f"device: {{id: abc, name: x}}\nsource:\n  path: demo\n  token_file: {token}\n"
                           "health:\n  listen: 0.0.0.0:9110\n")
    cfg = config.load(path)
    assert [str(w) for w in cfg.warnings] == [
        f"{path}:6: health.listen: warning: 0.0.0.0:9110 is reachable from the network without health.token_file: "
        "anyone there can read /healthz and /metrics and see the screen",
        f"{path}:4: source.token_file: warning: {str(token)!r} is readable by every user of this computer "
        f"(mode 644); protect it: sudo chmod 640 {token}",
    ]
    (tmp_path / "demo" / "programme.yaml").write_text("slides:\n  - {id: a, title: b}\n", encoding="utf-8")
    checked = run_cli("check-config", "-c", str(path), cwd=tmp_path)
    assert checked.returncode == 0 and "health.listen: warning" in checked.stderr and "OK" in checked.stdout
    token.chmod(0o640)
    quiet = write(tmp_path, f"device: {{id: abc, name: x}}\nsource:\n  path: demo\n  token_file: {token}\n")
    assert config.load(quiet).warnings == ()


def test_files_a_board_can_play_without_degrade_instead_of_failing(tmp_path):
    path = write(tmp_path, "device: {id: abc, name: x}\nsource:\n  url: http://127.0.0.1:1/\n"
                           "  token_file: gone\n  public_key: gone.pub\nhealth: {token_file: gone-too}\n")
    assert len(problems_of(path)) == 3  # check-config and reloads stay strict
    cfg = config.load(path, degrade=True)
    assert cfg.source.token_file == tmp_path / "gone" and cfg.health.token_file == tmp_path / "gone-too"
    assert cfg.source.public_key == "gone.pub"
    assert [p.path for p in cfg.degraded] == ["source.token_file", "source.public_key", "health.token_file"]
    assert all("playing without it until it is fixed" in p.message for p in cfg.degraded)
    other = write(tmp_path, "device: {id: abc, name: x}\nsource: {url: 'http://127.0.0.1:1/', token_file: gone}\n"
                            "display: {size: huge}\n")
    with pytest.raises(InvalidInput):  # anything else is still invalid
        config.load(other, degrade=True)
