"""The soak, short: eight hours of a board at accelerated time (bench/soak.py runs 24, at 1920x1080).

Content changes every hour, the report server is down 20 minutes of every two: open files and threads
stay flat, the cache stays within cache.max_mb once full, no play is lost and nothing is ever black.
"""

import faultlab


def test_eight_hours_of_changing_content_and_a_flapping_report_server(tmp_path):
    result = faultlab.soak(tmp_path, hours=8, slide_seconds=30, size=(640, 360), pictures=3,
                           picture_bytes=1_500_000)
    hours = result["hours"]
    assert len(hours) >= 7  # the facts at the end of every hour
    warm = hours[3:]  # after three hours the cache is full (4.5 MB of new pictures an hour): from there, flat
    # flat: no trend. (The test's own HTTP servers run in this process: a keep-alive connection of theirs, open
    # at the instant of a measurement, is a thread and a socket more; so a wobble of one or two, no more.)
    for fact in ("open_files", "threads"):
        values = [h[fact] for h in warm]
        assert max(values) - min(values) <= 2 and values[-1] <= values[0] + 2, (fact, values)
    assert max(h["cache_mb"] for h in warm) - min(h["cache_mb"] for h in warm) < 1
    assert max(h["cache_mb"] for h in warm) <= 16 + 5  # cache.max_mb (MiB), plus the plays queue's log and state
    assert result["plays_recorded"] > 800 and result["plays_lost"] == 0
    assert result["black_frames"] == 0
