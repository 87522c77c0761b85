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


def test_the_last_measurement_to_end_frees_what_reference_cycles_hold():
    """The server runs without Streamlit's gc after every run (runner.postScriptGC = false: it cost a room poll ~35 ms
    of CPU); a tensor kept alive only by a reference cycle must still be freed when the last measurement ends."""
    import gc
    import tomllib
    import weakref
    from pathlib import Path

    import torch

    from viz.measures.common import measuring

    config = tomllib.loads((Path(__file__).parents[3] / ".streamlit" / "config.toml").read_text())
    assert config["runner"]["postScriptGC"] is False
    gc.disable()  # (only the collection under test may free it)
    try:
        with measuring():
            cycle = {"tensor": torch.ones(1000)}
            cycle["self"] = cycle
            alive = weakref.ref(cycle["tensor"])
            del cycle
            assert alive() is not None  # held by the cycle: reference counting alone cannot free it
        assert alive() is None
    finally:
        gc.enable()
