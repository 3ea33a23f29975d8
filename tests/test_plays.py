"""The proof-of-play queue: what is on disk after records, flushes, acks, a full queue and a kill -9."""

from __future__ import annotations

import datetime as dt
import os
import signal
import sqlite3
import subprocess
import sys
import threading
from contextlib import closing
from pathlib import Path

import faultlab
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.report.plays import FLUSH_BATCH, Play, PlayQueue

ROOT = Path(__file__).resolve().parents[1]


def play(n: int, slide: str = "lich-tiep-cong-dan") -> Play:
    return Play(
        id=f"{n:032x}",
        slide_id=slide,
        started_at="2026-11-26T08:30:00+07:00",
        ended_at="2026-11-26T08:30:15+07:00",
        duration_s=15.0,
        cut_short=n % 7 == 0,
        content_version="v1",
    )


def rows_on_disk(path: Path) -> list[str]:
    """What another process finds in the file (after the queue is closed or killed)."""
    with closing(sqlite3.connect(path)) as db:
        return [r[0] for r in db.execute("SELECT id FROM plays ORDER BY seq")]


def bytes_on_disk(path: Path) -> bytes:
    """The database file and its write-ahead log, as the card holds them right now."""
    return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())


def test_create_gives_unique_ids_and_times_with_offset():
    start = dt.datetime(2026, 11, 26, 8, 30, 0)
    a = Play.create("tin-bao", start, start + dt.timedelta(seconds=12.5), content_version="v7")
    b = Play.create("tin-bao", start, start + dt.timedelta(seconds=12.5), cut_short=True)
    assert a.id != b.id and len(a.id) == 32
    assert a.started_at == "2026-11-26T08:30:00+07:00"
    assert a.ended_at == "2026-11-26T08:30:12+07:00"
    assert a.duration_s == 12.5 and not a.cut_short and b.cut_short
    assert a.to_json()["content_version"] == "v7"


def test_record_stays_in_memory_until_flush(tmp_path):
    path = tmp_path / "plays.sqlite3"
    queue = PlayQueue(path)
    for n in range(10):
        queue.record(play(n))
    assert f"{9:032x}".encode() not in bytes_on_disk(path)  # the render loop's call did not write
    assert queue.count() == 10 and queue.buffered() == 10
    assert queue.flush() == 10
    assert all(f"{n:032x}".encode() in bytes_on_disk(path) for n in range(10))
    assert queue.buffered() == 0 and queue.count() == 10
    queue.close()
    assert rows_on_disk(path) == [f"{n:032x}" for n in range(10)]


def test_batch_full_wakes_the_flusher(tmp_path):
    queue = PlayQueue(tmp_path / "q.sqlite3")
    for n in range(FLUSH_BATCH - 1):
        queue.record(play(n))
    assert not queue.wakeup.is_set()
    queue.record(play(FLUSH_BATCH))
    assert queue.wakeup.is_set()
    queue.close()


def test_pending_ack_and_reopen(tmp_path):
    path = tmp_path / "plays.sqlite3"
    with PlayQueue(path) as queue:
        for n in range(30):
            queue.record(play(n))
        queue.flush()
        first = queue.pending(10)
        assert [p.id for p in first] == [f"{n:032x}" for n in range(10)]
        assert first[0] == play(0)  # every field round-trips
        assert queue.ack([p.id for p in first] + ["not-a-known-id"]) == 10
        assert queue.count() == 20
        queue.record(play(99))  # close() flushes it
    with PlayQueue(path) as again:
        assert again.count() == 21
        assert [p.id for p in again.pending(100)][-1] == f"{99:032x}"


def test_duplicate_ids_are_kept_once(tmp_path):
    with PlayQueue(tmp_path / "q.sqlite3") as queue:
        queue.record(play(1))
        queue.record(play(1))
        queue.flush()
        assert len(queue.pending(10)) == 1


def test_bound_drops_oldest_and_counts_them_across_restarts(tmp_path):
    path = tmp_path / "q.sqlite3"
    with PlayQueue(path, max_rows=100) as queue:
        for n in range(130):
            queue.record(play(n))
        queue.flush()
        assert queue.count() == 100 and queue.dropped_total == 30
        assert queue.pending(1)[0].id == f"{30:032x}"  # the oldest went
    assert len(rows_on_disk(path)) == 100
    with PlayQueue(path, max_rows=100) as again:
        assert again.dropped_total == 30
        for n in range(200, 205):
            again.record(play(n))
        again.flush()
        assert again.dropped_total == 35 and again.count() == 100


@settings(max_examples=25, deadline=None)
@given(cap=st.integers(1, 40), batches=st.lists(st.integers(0, 30), max_size=6), acked=st.integers(0, 50))
def test_bound_holds_for_any_sequence(tmp_path_factory, cap, batches, acked):
    path = tmp_path_factory.mktemp("q") / "q.sqlite3"
    total = 0
    with PlayQueue(path, max_rows=cap) as queue:
        for size in batches:
            for _ in range(size):
                queue.record(play(total))
                total += 1
            queue.flush()
            assert queue.count() <= cap
        dropped = queue.dropped_total
        deleted = queue.ack([p.id for p in queue.pending(acked)])
        assert queue.count() + dropped + deleted == total  # every play is queued, acked or counted dropped
        # what is left is the newest plays, in order
        ids = [p.id for p in queue.pending(10_000)]
        assert ids == sorted(ids) and (not ids or ids[-1] == f"{total - 1:032x}")


def test_threads_record_while_another_flushes(tmp_path):
    queue = PlayQueue(tmp_path / "q.sqlite3")
    stop = threading.Event()

    def flusher():
        while not stop.is_set():
            queue.flush()

    def recorder(base: int):
        for n in range(500):
            queue.record(play(base + n))

    flushing = threading.Thread(target=flusher)
    flushing.start()
    writers = [threading.Thread(target=recorder, args=(k * 1000,)) for k in range(4)]
    for w in writers:
        w.start()
    for w in writers:
        w.join()
    stop.set()
    flushing.join()
    queue.close()
    assert len(set(rows_on_disk(tmp_path / "q.sqlite3"))) == 2000


def test_a_file_that_is_not_a_database_is_moved_aside(tmp_path):
    path = tmp_path / "q.sqlite3"
    path.write_bytes(b"this is not sqlite, it is a damaged card" * 100)
    with PlayQueue(path) as queue:
        queue.record(play(1))
        queue.flush()
        assert queue.count() == 1
    assert list(tmp_path.glob("q.sqlite3.broken-*"))


def test_a_queue_locked_by_another_process_is_not_moved_aside(tmp_path, monkeypatch):
    monkeypatch.setattr("kiosk.report.plays.BUSY_TIMEOUT", 0.05)
    path = tmp_path / "q.sqlite3"
    with PlayQueue(path) as first:
        first.record(play(1))
        first.flush()
        second = PlayQueue(path)  # never a reason to stop the player: it keeps its plays in memory
        assert "locked" in second.disk_error
        second.record(play(2))
        with pytest.raises(OSError, match="locked"):
            second.flush()
        assert [p.id for p in second.pending()] == [f"{2:032x}"]
    assert not list(tmp_path.glob("*.broken-*"))
    assert rows_on_disk(path) == [f"{1:032x}"]


def test_a_full_card_keeps_plays_in_memory_until_there_is_room(tmp_path):
    path = tmp_path / "q.sqlite3"
    queue = PlayQueue(path)
    queue.record(play(0))
    queue.flush()
    (pages,) = queue._db.execute("PRAGMA page_count").fetchone()
    queue._db.execute(f"PRAGMA max_page_count = {pages}")  # the card is full: SQLITE_FULL on the next page
    for n in range(1, 200):
        queue.record(play(n))
    with pytest.raises(OSError, match="full"):
        queue.flush()
    assert queue.buffered() == 199 and queue.count() == 200  # nothing lost, nothing half-written
    queue._db.execute("PRAGMA max_page_count = 1073741823")  # room again
    assert queue.flush() == 199
    queue.close()
    assert rows_on_disk(path) == [f"{n:032x}" for n in range(200)]


def test_kill_9_keeps_every_flushed_play_and_the_file_sound(tmp_path):
    path = tmp_path / "plays.sqlite3"
    proc = subprocess.Popen(
        [sys.executable, "-c", faultlab.WRITER, str(path)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    flushed, acked = 0, set()

    def read(line: str) -> None:
        nonlocal flushed
        if line.startswith("acked"):
            acked.update(int(i, 16) for i in line.split()[1:])
        else:
            flushed = int(line)

    try:
        for line in proc.stdout:
            read(line)
            if flushed >= 5000:
                break
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    for line in proc.stdout:  # what it said between our last read and the kill (an ack among it, once in CI)
        read(line)
    assert flushed >= 5000
    with closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    with PlayQueue(path, max_rows=1_000_000) as queue:
        on_disk = {int(p.id, 16) for p in queue.pending(1_000_000)}
    expected = set(range(flushed)) - acked
    assert expected <= on_disk  # nothing flushed before the kill is lost
    assert not (on_disk & acked)  # and nothing acknowledged comes back


def test_a_card_full_at_boot_keeps_plays_in_memory_hands_them_out_and_writes_them_once_there_is_room(small_disk):
    small_disk.fill()
    queue = PlayQueue(small_disk.path / "plays.sqlite")
    assert "the disk is full" in queue.disk_error  # no file could be made: the queue works anyway
    for n in range(10):
        queue.record(play(n))
    with pytest.raises(OSError):
        queue.flush()
    assert [p.id for p in queue.pending(4)] == [f"{n:032x}" for n in range(4)]  # for the uploader, from memory
    assert queue.ack([f"{n:032x}" for n in range(4)]) == 4 and queue.count() == 6
    small_disk.make_room()
    assert queue.flush() == 6 and queue.disk_error is None
    queue.close()
    assert rows_on_disk(small_disk.path / "plays.sqlite") == [f"{n:032x}" for n in range(4, 10)]


def test_a_read_only_card_keeps_plays_in_memory(small_disk):
    small_disk.read_only()  # as ext4 leaves a damaged card (errors=remount-ro), from boot
    try:
        queue = PlayQueue(small_disk.path / "plays.sqlite")
        assert "the disk is read-only" in queue.disk_error
        for n in range(2):
            queue.record(play(n))
        with pytest.raises(OSError):
            queue.flush()
        assert [p.id for p in queue.pending()] == [f"{0:032x}", f"{1:032x}"]
    finally:
        small_disk.read_only(False)
    assert queue.flush() == 2
    queue.close()


def test_a_queue_file_deleted_while_in_use_is_written_again_with_its_plays(tmp_path):
    folder = tmp_path / "cache"
    queue = PlayQueue(folder / "plays.sqlite")
    for n in range(3):
        queue.record(play(n))
    queue.flush()
    queue.ack([f"{0:032x}"])
    import shutil

    shutil.rmtree(folder)  # "cache folder deleted while running"
    queue.record(play(3))
    queue.flush()
    queue.close()
    assert rows_on_disk(folder / "plays.sqlite") == [f"{n:032x}" for n in (1, 2, 3)]
