"""The fleet's state, decided once for pages and metrics: pure functions of (board, now, thresholds, latest)."""

from kiosk.hub import fleet
from kiosk.hub.config import Boards
from kiosk.hub.store import Board

LIMITS = Boards(heartbeat_seconds=60, hot_celsius=80, disk_low_bytes=500_000_000)
NOW = 1_800_000_000.0


def board(bid="an-khuong", name="An Khương", last_seen=NOW - 30, commune=None, **hb) -> Board:
    beat = {"errors": {}, "display_ok": True, "cpu_temp_c": 50.0, "disk_free_bytes": 2e9,
            "last_sync": {"ok": True}, **hb} if last_seen is not None else {}
    return Board(bid, name, commune, False, NOW - 86400, last_seen, last_seen, 1, beat)


def test_states_never_silent_after_three_periods_degraded_healthy():
    assert fleet.view(board(last_seen=None), NOW, LIMITS, None).state == "never"
    assert fleet.view(board(last_seen=NOW - 181), NOW, LIMITS, None).state == "silent"
    assert fleet.view(board(last_seen=NOW - 179), NOW, LIMITS, None).state == "healthy"
    # a board that says its own period is judged by it
    assert fleet.view(board(last_seen=NOW - 181, heartbeat_seconds=300), NOW, LIMITS, None).state == "healthy"
    hot = fleet.view(board(cpu_temp_c=81.0, disk_free_bytes=1e8, errors={"sync": "x"}), NOW, LIMITS, None)
    assert hot.state == "degraded" and hot.problems == ("error:sync", "hot", "disk_low")


def test_up_to_date_is_unknown_until_the_latest_version_is_known():
    assert fleet.view(board(content_version="v1"), NOW, LIMITS, None).up_to_date is None
    assert fleet.view(board(content_version="v1"), NOW, LIMITS, "v1").up_to_date is True
    assert fleet.view(board(content_version="v0"), NOW, LIMITS, "v1").up_to_date is False


def test_throttling_from_the_boards_device_facts_or_a_raw_word():
    assert fleet.throttled_now({"throttled": {"raw": 0x50005, "now": {"under_voltage": True}}}) is True
    assert fleet.throttled_now({"throttled": {"raw": 0x50000}}) is False  # only "since boot"
    assert fleet.throttled_now({"throttled": "0x4"}) is True
    assert fleet.throttled_now({"throttled": "throttled=0x0"}) is False
    assert fleet.throttled_now({}) is None and fleet.throttled_now({"throttled": "?"}) is None


def test_worst_first_by_default_missing_values_last_and_filters():
    views = [fleet.view(b, NOW, LIMITS, "v1") for b in (
        board("a", "Ấp A", commune="X", content_version="v1"), board("b", "Bình", last_seen=None),
        board("c", "Cát", last_seen=NOW - 1000, commune="Y"), board("d", "Đông", cpu_temp_c=None, commune="X"))]
    assert [v.board.id for v in fleet.order(views, "state")] == ["b", "c", "a", "d"]
    assert [v.board.id for v in fleet.order(views, "temperature", descending=True)][-2:] == ["b", "d"]
    assert [v.board.id for v in fleet.select(views, commune="X")] == ["a", "d"]
    assert [v.board.id for v in fleet.select(views, query="ĐÔNG")] == ["d"]
    assert [v.board.id for v in fleet.select(views, content="latest")] == ["a"]
    assert fleet.counts(views) == {"healthy": 2, "degraded": 0, "silent": 1, "never": 1}


def test_names_sort_in_the_vietnamese_alphabet_not_by_code_point():
    names = ["Đông Hòa", "Ấp Bắc", "Yên Thế", "An Khương", "Bình Minh", "Ân Thi", "Ơn Sơn", "Ô Môn", "Dương Minh"]
    assert sorted(names, key=fleet.vietnamese_key) == [
        "An Khương", "Ân Thi", "Ấp Bắc", "Bình Minh", "Dương Minh", "Đông Hòa", "Ô Môn", "Ơn Sơn", "Yên Thế"]


def test_what_the_board_sends_is_what_the_hub_reads(tmp_path):
    """The board's own heartbeat (kiosk.report.heartbeat), through the hub's border: its period and its
    throttling object (not the "0x0" text an older reports.md showed)."""
    import json

    from kiosk import config as configmod
    from kiosk.hub import protocol
    from kiosk.report import device, heartbeat

    (tmp_path / "config.yaml").write_text("device:\n  id: an-khuong\n  name: An Khương\nsource:\n  url: http://127.0.0.1:9/\n"
                                         "health:\n  heartbeat_seconds: 300\n", encoding="utf-8")
    cfg = configmod.load(tmp_path / "config.yaml")
    snap = {"device": {"throttled": device.parse_throttled("throttled=0x50005"), "load_1m": 0.2}, "errors": {}}
    body = json.dumps(heartbeat.build(snap, cfg, NOW)).encode()
    hb = protocol.parse_heartbeat(body, "an-khuong")
    assert hb.heartbeat_seconds == 300
    seen = board(last_seen=NOW - 600, **hb.body)
    view = fleet.view(seen, NOW, LIMITS, None)
    assert view.state != "silent" and view.interval == 300  # 600 s is two of this board's periods
    assert view.throttled is True and "throttled" in view.problems


def test_a_board_following_channels_is_up_to_date_when_one_of_its_trees_is():
    channels = [{"name": "tinh", "version": "v7"}, {"name": "xa", "version": None}]
    assert fleet.view(board(content_version="merged", channels=channels), NOW, LIMITS, "v7").up_to_date is True
    assert fleet.view(board(content_version="merged", channels=channels), NOW, LIMITS, "v8").up_to_date is False
