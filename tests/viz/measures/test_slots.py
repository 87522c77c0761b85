"""The measurement slots shared by every session: full while AT_ONCE runs hold them (the pages then say "queued")."""

import threading

from viz.measures import common


def test_all_slots_busy_while_at_once_runs_hold_them():
    started, finish = threading.Barrier(common.AT_ONCE + 1), threading.Event()

    def run():
        with common.measuring():
            started.wait()
            finish.wait()

    assert not common.all_slots_busy()
    threads = [threading.Thread(target=run) for _ in range(common.AT_ONCE)]
    for t in threads:
        t.start()
    started.wait(timeout=10)
    try:
        assert common.all_slots_busy()
    finally:
        finish.set()
        for t in threads:
            t.join(timeout=10)
    assert not common.all_slots_busy()


def test_a_nested_measurement_takes_one_slot():
    with common.measuring(), common.measuring():
        assert common._running[0] == 1
    assert common._running[0] == 0
