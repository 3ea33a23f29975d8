"""`kiosk hub …` as a technician types it: hub.yaml checked with FILE:LINE, boards registered and revoked,
staff added, one line when the extra is missing; the hub never imports pygame, the board never the hub."""

import subprocess
import sys
from pathlib import Path

from hubs import ROOT, run_cli
from test_service import unit_sections

from kiosk.hub import config as hubconfig
from kiosk.hub.database import Database
from kiosk.hub.store import Store


def test_the_shipped_hub_yaml_is_valid_and_names_the_defaults(tmp_path):
    shipped = ROOT / "hub.yaml"
    copy = tmp_path / "hub.yaml"
    copy.write_text(shipped.read_text(encoding="utf-8"), encoding="utf-8")
    cfg = hubconfig.load(copy)
    assert (cfg.host, cfg.port) == ("127.0.0.1", 9120)
    assert cfg.database.url == f"sqlite://{tmp_path / 'hub.sqlite'}"  # beside hub.yaml
    text = shipped.read_text(encoding="utf-8")
    for key, spec in hubconfig.SCHEMA.items():  # every key of the schema is in the shipped file, documented
        for name in [key] if not isinstance(spec, dict) else list(spec):
            assert f"{name}:" in text, name
    assert text.count("\n#") + text.count("\n  #") > 25


def test_a_bad_hub_yaml_says_every_problem_with_its_line(tmp_path):
    path = tmp_path / "hub.yaml"
    path.write_text("listen: nowhere\ndatabase:\n  url: mysql://x\n  retention: 3\nboards:\n  hot_celsius: hot\n",
                    encoding="utf-8")
    done = run_cli("hub", "check-config", "-c", str(path))
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert f"{path}:1: listen: expected HOST:PORT" in lines[0]
    assert any(f"{path}:3: database.url: expected sqlite:PATH or postgresql://" in line for line in lines)
    assert any(f"{path}:4: database.retention: unknown key; did you mean 'retention_days'?" in line for line in lines)
    assert any(f"{path}:6: boards.hot_celsius: expected a number" in line for line in lines)
    assert "Traceback" not in done.stderr


def test_add_board_prints_the_token_last_and_revoke_board_ends_it(tmp_path):
    hub_yaml = tmp_path / "hub.yaml"
    hub_yaml.write_text("listen: 127.0.0.1:9120\n", encoding="utf-8")
    done = run_cli("hub", "add-board", "ubnd-an-khuong", "--name", "UBND xã An Khương", "--commune", "An Khương",
                   "-c", str(hub_yaml))
    assert done.returncode == 0, done.stderr
    token = done.stdout.splitlines()[-1]
    assert len(token) >= 40 and " " not in token
    store = Store(Database.open(f"sqlite://{tmp_path / 'hub.sqlite'}"), hubconfig.load(hub_yaml).zone, 60, 30)
    assert store.authenticate("ubnd-an-khuong", token)
    again = run_cli("hub", "add-board", "ubnd-an-khuong", "--name", "x", "-c", str(hub_yaml))
    assert again.returncode == 2 and "revoke-board" in again.stderr
    assert run_cli("hub", "add-board", "Bad_Id", "--name", "x", "-c", str(hub_yaml)).returncode == 2
    listed = run_cli("hub", "list-boards", "-c", str(hub_yaml))
    assert "ubnd-an-khuong\tUBND xã An Khương\tAn Khương\tnever seen" in listed.stdout
    assert run_cli("hub", "revoke-board", "ubnd-an-khuong", "-c", str(hub_yaml)).returncode == 0
    assert not store.authenticate("ubnd-an-khuong", token)
    assert run_cli("hub", "revoke-board", "nobody", "-c", str(hub_yaml)).returncode == 2
    assert run_cli("hub", "add-user", "lan", "-c", str(hub_yaml), stdin="short\n").returncode == 2
    assert run_cli("hub", "add-user", "lan", "--role", "operator", "-c", str(hub_yaml),
                   stdin="mat-khau-dai\n").returncode == 0
    assert store.users() == [("lan", "operator")]
    store.db.close()


def test_without_the_hub_extra_it_says_what_to_install_in_one_line(tmp_path):
    hub_yaml = tmp_path / "hub.yaml"
    hub_yaml.write_text("listen: 127.0.0.1:9120\n", encoding="utf-8")
    code = ("import sys; sys.modules['starlette'] = None; from kiosk.cli.main import main; "
            f"sys.exit(main(['hub', '-c', {str(hub_yaml)!r}]))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 1
    assert done.stderr.strip() == "kiosk hub needs starlette, which is not installed: pip install 'kiosk[hub]'"


def test_the_hub_never_imports_pygame_and_the_board_never_imports_the_hub():
    hub = ("import sys, pkgutil, importlib, kiosk.hub; "
           "[importlib.import_module('kiosk.hub.' + m.name) for m in pkgutil.iter_modules(kiosk.hub.__path__)]; "
           "import kiosk.cli.hub; assert 'pygame' not in sys.modules, 'pygame'")
    board = ("import sys, kiosk.cli.main, kiosk.cli.run, kiosk.player.loop, kiosk.report.reporter; "
             "kiosk.cli.main._parser(); hub = [m for m in sys.modules if m.startswith('kiosk.hub')]; "
             "assert not hub and 'starlette' not in sys.modules, hub")
    for code in (hub, board):
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                              env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "SDL_VIDEODRIVER": "dummy"})
        assert done.returncode == 0, done.stderr


def test_the_hub_unit_runs_kiosk_hub_with_the_etc_hub_yaml():
    unit = unit_sections((Path(ROOT) / "systemd/kiosk-hub.service").read_text(encoding="utf-8"))
    service = unit["Service"]
    assert service["ExecStart"] == ["/opt/kiosk/venv/bin/kiosk hub -c /etc/kiosk/hub.yaml"]
    assert service["RestartPreventExitStatus"] == ["2"] and service["User"] == ["kiosk-hub"]
    assert unit["Install"]["WantedBy"] == ["multi-user.target"]


def test_a_database_the_hub_cannot_use_is_one_line_not_a_traceback(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    (folder / "hub.sqlite").write_bytes(b"this is not a database, it is a text file" * 100)
    hub_yaml = folder / "hub.yaml"
    hub_yaml.write_text("listen: 127.0.0.1:9120\n", encoding="utf-8")
    done = run_cli("hub", "list-boards", "-c", str(hub_yaml))
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert str(folder / 'hub.sqlite') in done.stderr and "not a database" in done.stderr
    unreachable = folder / "pg.yaml"
    unreachable.write_text("database:\n  url: postgresql://nobody@127.0.0.1:1/none?connect_timeout=1\n")
    done = run_cli("hub", "list-boards", "-c", str(unreachable))
    assert done.returncode == 1 and "Traceback" not in done.stderr and "cannot connect" in done.stderr
