"""The fault suite's fast part (docs/RELIABILITY.md has the table; bench/faults.py runs the long one).

- kill -9 at random instants during sync, publish, eviction, plays-queue writes and report uploads:
  20 trials here (four of each); the next start plays old or new, never a mix, and no play is lost;
- every create, write, fsync, rename and remove of a sync (with its cache and prepared pictures) and
  of the plays queue made to fail in turn, with ENOSPC, EIO or EROFS: the invariants hold each time;
- hostile servers (slowloris, endless chunked bodies, gzip bombs, redirect loops, wrong Content-Length,
  TLS with a wrong host name or a self-signed certificate) against sync, reports and `kiosk status`.
"""

from __future__ import annotations

import logging

import faultlab
import pytest

KILLS = 4  # per kind: 20 in all


@pytest.fixture(autouse=True)
def quiet(caplog):
    caplog.set_level(logging.CRITICAL, logger="kiosk")


def check(trials: list[faultlab.Trial]) -> None:
    failed = [t for t in trials if not t.survived]
    assert not failed, "\n".join(t.note for t in failed)
    assert sum(t.lost for t in trials) == 0


@pytest.mark.parametrize("evict", [False, True], ids=["sync", "eviction"])
def test_kill_9_during_a_sync_leaves_old_or_new(tmp_path, evict):
    world = faultlab.SyncWorld(tmp_path, evict=evict)
    try:
        check(faultlab.run_trials("sync", world.trial, KILLS, seed=91 + evict))
    finally:
        world.close()


def test_kill_9_during_publish_never_serves_a_mix(tmp_path):
    world = faultlab.PublishWorld(tmp_path)
    check(faultlab.run_trials("publish", world.trial, KILLS, seed=93))


def test_kill_9_during_plays_queue_writes_loses_no_committed_play(tmp_path):
    check(faultlab.run_trials("plays", lambda rng, n: faultlab.plays_trial(tmp_path, rng, n), KILLS, seed=94))


def test_kill_9_during_report_uploads_loses_no_play(tmp_path):
    server = faultlab.ReportServer()
    try:
        check(faultlab.run_trials("reports", lambda rng, n: faultlab.reports_trial(tmp_path, server, rng, n),
                                  KILLS, seed=95))
    finally:
        server.close()


def test_every_write_rename_and_fsync_of_a_sync_failing_in_turn(tmp_path):
    world = faultlab.InjectSyncWorld(tmp_path)
    try:
        errors = list(faultlab.ERRNOS.values())
        assert len(world.operations) > 40
        # each operation fails once here, the errors in turn; bench/faults.py tries all three on each
        check([world.trial(i, errors[i % 3]) for i in range(len(world.operations))])
    finally:
        world.close()


def test_every_write_of_the_plays_queue_failing_in_turn(tmp_path):
    count = faultlab.count_queue_operations(tmp_path)
    assert count > 10
    check([faultlab.queue_trial(tmp_path, i, error) for i in range(count) for error in faultlab.ERRNOS.values()])


@pytest.mark.parametrize("name, target", faultlab.hostile_cases())
def test_a_hostile_server(tmp_path, name, target):
    check([faultlab.hostile_trial(tmp_path, name, target)])


def test_the_injector_sees_what_it_should(tmp_path):
    """The harness itself: every kind of operation is counted, and a failure is what the kernel would say."""
    world = faultlab.InjectSyncWorld(tmp_path)
    try:
        kinds = {op for op, _path in world.operations}
        assert kinds >= {"create", "write", "fsync", "rename"}
        trial = world.trial(0, faultlab.ERRNOS["EROFS"])
        assert "Read-only file system" in trial.note
    finally:
        world.close()
