"""The measurement slots shared by every session: full while AT_ONCE runs hold them (the pages then say "queued")."""

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import torch

from bench.server import rss_mb
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


def test_captum_attributions_wait_for_a_slot_like_every_measurement():
    """Issue 22: the attributions (Captum) hold a slot too, so a heavy Inspect run cannot bypass the limit."""
    import torch

    from models.resnet import ResNet, ResNetConfig
    from viz.measures.attribution import attribute_all

    model = ResNet(ResNetConfig(depth=8), seed=0).eval()
    x = torch.rand(1, 3, 32, 32)
    started, finish, done = threading.Barrier(common.AT_ONCE + 1), threading.Event(), threading.Event()

    def hold():
        with common.measuring():
            started.wait()
            finish.wait()

    def attribute():
        attribute_all(model, x, 0, 0, steps=2)
        done.set()

    holders = [threading.Thread(target=hold) for _ in range(common.AT_ONCE)]
    for t in holders:
        t.start()
    started.wait(timeout=10)
    worker = threading.Thread(target=attribute)
    try:
        worker.start()
        assert not done.wait(timeout=1.0)  # every slot is held: the attributions queue
    finally:
        finish.set()
        for t in holders:
            t.join(timeout=10)
    assert done.wait(timeout=60) and not common.all_slots_busy()
    worker.join(timeout=10)


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


def test_taking_a_slot_returns_what_runs_in_other_threads_freed():
    """glibc keeps a heap per thread: what a finished run freed in its thread stays in the process until the heaps'
    free pages are returned. A run that takes its slot returns them first, so a burst of runs in many sessions'
    threads does not hold the sum of their peaks."""
    if common._libc is None:
        pytest.skip("not glibc")
    kept = []

    def finished_run():  # 1 MB blocks, each followed by a small one that stays: holes glibc does not trim by itself
        torch.empty(2**21, dtype=torch.uint8).fill_(1)  # freed at once: lifts glibc's mmap threshold above 1 MB
        blocks = []
        for _ in range(300):
            blocks.append(torch.empty(2**20, dtype=torch.uint8).fill_(1))
            kept.append(torch.empty(2**14, dtype=torch.uint8).fill_(1))
        del blocks

    worker = threading.Thread(target=finished_run)
    worker.start()
    worker.join()
    before = rss_mb(os.getpid())
    with common.measuring():
        after = rss_mb(os.getpid())
    assert after < before - 150, (before, after)


def test_the_idle_give_back_forgets_only_while_nothing_is_measured_and_survives_a_failure():
    """The once-per-process loop (started by app.py with the model cache's forget): each tick while no measurement
    runs calls `forget`, then gives memory back; a tick that fails is logged and the next one runs."""
    code = """
import threading, time
from viz.measures import common
ticks = []
def forget():
    ticks.append(time.monotonic())
    if len(ticks) == 1:
        raise RuntimeError("first tick fails")
assert common.give_back_memory_when_idle(every_s=0.05, forget=forget)
assert not common.give_back_memory_when_idle(every_s=0.05, forget=forget)  # once per process
time.sleep(0.5)
with common.measuring():
    time.sleep(0.1)  # a tick that saw the server idle just before may still be under way
    n = len(ticks)
    time.sleep(0.5)
    assert len(ticks) == n, "no forget while a measurement runs"
time.sleep(0.5)
assert len(ticks) > n + 2, ticks
print("ok", len(ticks))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[3])
    assert done.returncode == 0 and "ok" in done.stdout, done.stderr[-2000:]
    assert "first tick fails" in done.stderr
