import socket

from kiosk.report.notify import Notifier


def test_ready_reaches_an_abstract_socket():
    name = f"kiosk-test-{id(object())}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind("\0" + name)
        server.settimeout(5)
        assert Notifier("@" + name).ready("playing")
        assert server.recv(100) == b"READY=1\nSTATUS=playing"


def test_ready_reaches_a_path_socket(tmp_path):
    path = str(tmp_path / "notify")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind(path)
        server.settimeout(5)
        assert Notifier(path).watchdog()
        assert server.recv(100) == b"WATCHDOG=1"


def test_without_systemd_nothing_is_sent():
    assert not Notifier("").ready()
    assert not Notifier("/nonexistent/socket").ready()
