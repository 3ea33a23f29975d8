"""The hub's storage on SQLite and on a real PostgreSQL: migrations, tokens, uptime, plays deduplicated and
rolled up, commands, staff sessions, retention, statistics from the roll-ups alone."""

import datetime as dt
import zoneinfo

import pytest
from hubs import heartbeat_body, play

from kiosk.hub import migrations, protocol, statistics
from kiosk.hub.database import Database
from kiosk.hub.store import BoardExists, Store, split_by_day

ZONE = zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh")
T0 = dt.datetime(2026, 11, 26, 8, 0, tzinfo=ZONE).timestamp()


@pytest.fixture
def store(hub_database):
    db = Database.open(hub_database)
    migrations.migrate(db)
    yield Store(db, ZONE, heartbeat_seconds=60, retention_days=30)
    db.close()


def hb(board="an-khuong", **fields):
    return protocol.parse_heartbeat(heartbeat_body(board, **fields), board)


def plays(*ids, start="2026-11-26T08:30:00+07:00", slide="lich-tiep-cong-dan"):
    import json

    body = {"device_id": "an-khuong", "plays": [play(i, slide=slide, start=start) for i in ids]}
    return protocol.parse_plays(json.dumps(body).encode(), "an-khuong", 500)


def test_migrations_are_applied_once_and_a_newer_schema_is_refused(store):
    assert migrations.migrate(store.db) == migrations.LATEST  # again: nothing to do
    with store.db.tx() as tx:
        assert tx.value("SELECT count(*) FROM schema_version") == 1
        tx.execute("INSERT INTO schema_version (version) VALUES (?)", (migrations.LATEST + 1,))
    with pytest.raises(migrations.SchemaTooNew, match="upgrade kiosk"):
        migrations.migrate(store.db)


def test_a_token_is_shown_once_stored_hashed_and_revoked_at_once(store):
    token = store.add_board("an-khuong", "UBND xã An Khương", "An Khương", T0)
    assert store.authenticate("an-khuong", token)
    assert not store.authenticate("an-khuong", token + "x") and not store.authenticate("other", token)
    with store.db.tx(write=False) as tx:
        assert token not in str(tx.execute("SELECT * FROM boards"))
    with pytest.raises(BoardExists):
        store.add_board("an-khuong", "again", None, T0)
    store.revoke_board("an-khuong", T0 + 1)
    assert not store.authenticate("an-khuong", token)
    again = store.add_board("an-khuong", "UBND xã An Khương", "An Khương", T0 + 2)  # readmitted, history kept
    assert store.authenticate("an-khuong", again) and not store.authenticate("an-khuong", token)
    kinds = [kind for _, kind, _ in store.events("an-khuong")]
    assert kinds == ["readmitted", "revoked", "registered"]


def test_uptime_counts_gaps_under_three_periods_split_at_midnight(store):
    store.add_board("an-khuong", "An Khương", None, T0)
    midnight = dt.datetime(2026, 11, 27, tzinfo=ZONE).timestamp()
    beats = [midnight - 90, midnight - 30, midnight + 30, midnight + 90]  # every minute over midnight
    beats += [midnight + 90 + 600]  # ten minutes of silence: not online
    for at in beats:
        store.record_heartbeat("an-khuong", hb(), at)
    days = {day: (online, n) for day, online, n in store.days("an-khuong", "2026-11-01")}
    assert days["2026-11-26"] == (pytest.approx(90.0), 2)
    assert days["2026-11-27"] == (pytest.approx(90.0), 3)
    assert [kind for _, kind, _ in store.events("an-khuong")][:1] == ["back"]
    assert split_by_day(midnight - 10, midnight + 5, ZONE) == [("2026-11-26", 10.0), ("2026-11-27", 5.0)]


def test_plays_are_deduplicated_by_id_and_rolled_up_once(store):
    store.add_board("an-khuong", "An Khương", None, T0)
    assert store.add_plays("an-khuong", plays("a1", "a2", "a2"), T0) == (2, 1)
    assert store.add_plays("an-khuong", plays("a1", "a2", "a3"), T0) == (1, 2)  # a replayed batch, one new
    assert store.add_plays("an-khuong", plays("a1", "a2", "a3"), T0) == (0, 3)
    assert store.plays_count("an-khuong") == 3
    with store.db.tx(write=False) as tx:
        assert tx.execute("SELECT day, slide_id, plays, seconds FROM play_days") == [
            ("2026-11-26", "lich-tiep-cong-dan", 3, 45.0)]


def test_another_board_may_use_the_same_play_ids(store):
    store.add_board("an-khuong", "An Khương", None, T0)
    store.add_board("phu-hoa", "Phú Hòa", None, T0)
    assert store.add_plays("an-khuong", plays("a1"), T0) == (1, 0)
    assert store.add_plays("phu-hoa", plays("a1"), T0) == (1, 0)


def test_retention_prunes_raw_plays_but_keeps_the_totals_and_refuses_replays_older_than_it(store):
    store.add_board("an-khuong", "An Khương", None, T0)
    store.add_plays("an-khuong", plays("old", start="2026-11-01T08:00:00+07:00"), T0)
    later = T0 + 40 * 86400
    assert store.prune(later) == 1
    assert store.plays_count() == 0
    assert store.add_plays("an-khuong", plays("old", start="2026-11-01T08:00:00+07:00"), later) == (0, 1)
    rows = statistics.plays(store, statistics.Query("month", "2026-11-01", "2026-11-30"))
    assert [(r["period"], r["plays"]) for r in rows] == [("2026-11", 1)]


def test_commands_go_out_in_the_next_heartbeat_answer_once_and_take_their_results(store):
    store.add_board("an-khuong", "An Khương", None, T0)
    cid = store.queue_command("an-khuong", "upload_screenshot", "lan", T0)
    assert store.queue_command("an-khuong", "upload_screenshot", "lan", T0) == cid  # one of a kind waits
    store.queue_command("an-khuong", "sync_now", "lan", T0)
    sent = store.record_heartbeat("an-khuong", hb(), T0 + 1)
    assert [c["name"] for c in sent] == ["upload_screenshot", "sync_now"]
    assert store.record_heartbeat("an-khuong", hb(), T0 + 2) == []
    store.save_screenshot("an-khuong", b"\x89PNG...", T0 + 3)
    sync_id = sent[1]["id"]
    store.record_heartbeat("an-khuong", hb(command_results=[
        {"id": sync_id, "name": "sync_now", "ok": False, "error": "no network"}]), T0 + 60)
    done = {c.name: c for c in store.commands("an-khuong")}
    assert done["upload_screenshot"].state == "done" and done["upload_screenshot"].ok is True
    assert done["sync_now"].ok is False and done["sync_now"].error == "no network"
    assert store.screenshot("an-khuong") == (T0 + 3, b"\x89PNG...")


def test_staff_sign_in_with_scrypt_and_sessions_expire(store):
    assert store.set_user("lan", "mat-khau-dai", "operator", T0)
    assert store.sign_in("lan", "wrong-password", T0, 12) is None
    assert store.sign_in("nobody", "mat-khau-dai", T0, 12) is None
    token = store.sign_in("lan", "mat-khau-dai", T0, 12)
    session = store.session(token, T0 + 60)
    assert session.user == "lan" and session.role == "operator" and session.csrf
    assert store.session(token, T0 + 13 * 3600) is None
    assert not store.set_user("lan", "mat-khau-moi", "viewer", T0)  # reset: old sessions signed out
    assert store.session(token, T0 + 60) is None


def test_statistics_per_board_slide_day_and_month_with_uptime(store):
    store.add_board("an-khuong", "An Khương", "An Khương", T0)
    store.record_heartbeat("an-khuong", hb(), T0)
    store.record_heartbeat("an-khuong", hb(), T0 + 60)
    store.add_plays("an-khuong", plays("p1", "p2", slide="hop-dan"), T0)
    store.add_plays("an-khuong", plays("p3", start="2026-11-27T09:00:00+07:00"), T0)
    q = statistics.Query("day", "2026-11-01", "2026-11-30")
    rows = statistics.plays(store, q)
    assert [(r["period"], r["slide_id"], r["plays"], r["seconds"]) for r in rows] == [
        ("2026-11-26", "hop-dan", 2, 30.0), ("2026-11-27", "lich-tiep-cong-dan", 1, 15.0)]
    by_slide = statistics.plays(store, statistics.Query("month", "2026-11-01", "2026-11-30", group="slide"))
    assert [(r["slide_id"], r["boards"], r["plays"]) for r in by_slide] == [
        ("hop-dan", 1, 2), ("lich-tiep-cong-dan", 1, 1)]
    up = statistics.uptime(store, q, now=T0 + 120, zone=ZONE)
    assert up[0]["online_s"] == 60.0 and up[0]["uptime_pct"] == pytest.approx(50.0)
    csv = statistics.to_csv(rows, statistics.PLAY_HEADERS).decode("utf-8-sig")
    assert csv.splitlines()[0] == "Kỳ,Mã bảng,Tên bảng,Xã/phường,Mã tin,Lượt phát,Thời lượng (giây)"
