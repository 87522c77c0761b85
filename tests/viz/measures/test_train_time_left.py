"""The Train page's time-left estimate (viz.measures.train.TimeLeft) against the real time left of a run whose
clock is ours: steady steps, a start-up before the first step and a test-set evaluation after every epoch."""

import pytest

from viz.measures.train import TimeLeft, progress


class FakeClock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def _run(epochs, steps, step_s, eval_s, startup_s, runs=1):
    """(share done, estimate in s, real seconds left) at every step event of a simulated run."""
    clock, seen = FakeClock(), []
    eta = TimeLeft(clock)
    clock.t += startup_s
    for i in range(runs):
        for e in range(1, epochs + 1):
            for s in range(1, steps + 1):
                clock.t += step_s
                done = progress(i, runs, epochs, {"epoch": e, "step": s, "steps": steps})
                seen.append((done, eta.seconds(done, runs * epochs - i * epochs - e + 1), clock.t))
            clock.t += eval_s
            eta.evaluated()
    end = clock.t
    return [(d, est, end - t) for d, est, t in seen]


@pytest.mark.parametrize("runs", [1, 2])
def test_time_left_tracks_the_real_time_left_once_a_tenth_is_done(runs):
    # the default run's shape: 2 epochs of 79 steps; the evaluation of 2,000 test images a few steps long
    for d, est, real in _run(epochs=2, steps=79, step_s=0.2, eval_s=0.8, startup_s=3.0, runs=runs):
        if 0.1 <= d < 1 and real > 1:
            assert est is not None and abs(est - real) <= 0.25 * real, (d, est, real)


def test_time_left_words():
    clock = FakeClock()
    eta = TimeLeft(clock)
    assert eta.words(0.0, 1) == ""  # the first report: nothing measured yet
    clock.t = 10.0
    assert eta.words(0.1, 1) == ", about 2 min left"  # 10 s per tenth, 9 tenths to go; no evaluation timed yet
    clock.t = 12.0
    eta.evaluated()  # a 2 s evaluation
    clock.t = 32.0
    assert eta.words(0.5, 1) == ", about 32 s left"  # 30 s of steps for half: 30 s more, and one 2 s evaluation
    assert eta.words(1.0, 0) == ""
