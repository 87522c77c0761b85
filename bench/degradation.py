"""Degradation live: seconds until the plain twin is visibly behind its ResNet, against a bare PyTorch loop.

    python bench/degradation.py [--seeds 0 1 2] [--threads 1]

Trains the class demo (models.twins.DEMO: the settings of the Train page's "Train both twins live") with
models.twins.train_twins for each seed, and prints, per seed and as the median:
- the seconds from the click to a visible gap (viz/measures/degradation.py: the plain twin's training error, averaged
  over its last 10 batches, 5 points or more above the ResNet's at every later step), the step it opens at, and the
  whole run's seconds;
- those seconds against a bare PyTorch loop (forward, cross-entropy, backward, SGD step; same twins, batch and
  steps, no callback, no schedule, measured in this process just before): the ratio is what train_twins costs over
  the floor, and the floor's seconds to the same step are the gap's time on an ideal loop.
"""

import argparse
import os
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models.data import load_dataset, subset
from models.resnet import ResNet
from models.train import MEMORY_FORMAT, as_data
from models.twins import DEMO, train_twins
from viz.measures import degradation as dm


def demo_data(seed):
    x, y = load_dataset(DEMO.dataset, "train")
    keep = subset(len(x), DEMO.images, seed)
    return as_data(DEMO.dataset, (x[keep], y[keep]), load_dataset(DEMO.dataset, "test"), test_limit=256)


def bare_seconds_per_step_pair(data, steps=8):
    """Seconds of one bare step of each twin (the floor), median over `steps` steps after one warm-up step."""
    x, y = data.train
    b = DEMO.recipe.batch_size
    models = [ResNet(replace(DEMO.config, skip=s, mean=data.mean, std=data.std), seed=0).to(memory_format=MEMORY_FORMAT)
              for s in (True, False)]
    opts = [torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9) for m in models]
    times = []
    for s in range(steps + 1):
        xb = (x[s * b:(s + 1) * b].float() / 255).contiguous(memory_format=MEMORY_FORMAT)
        t = time.perf_counter()
        for m, o in zip(models, opts, strict=True):
            loss = F.cross_entropy(m(xb), y[s * b:(s + 1) * b])
            o.zero_grad(set_to_none=True)
            loss.backward()
            o.step()
        times.append(time.perf_counter() - t)
    return statistics.median(times[1:])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    print(f"{DEMO}\n{a.threads} thread(s), torch {torch.__version__}, load average {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} CPUs (a shared machine: seconds stretch with the load, the ratio less); visible gap: {dm.GAP_POINTS:.0f} points of "
          f"training error (means over {dm.WINDOW} batches), held to the end of the run")
    rows = []
    for seed in a.seeds:
        data = demo_data(seed)
        floor = bare_seconds_per_step_pair(data)
        log, t0 = dm.TwinLog(), time.perf_counter()
        train_twins(DEMO.config, replace(DEMO.recipe, seed=seed), data, on_step=log.record)
        total = time.perf_counter() - t0
        curves = dm.error_curves(log.table())
        gap, last = dm.first_visible_gap(curves), curves.iloc[-1]
        steps = int(last.step)
        ratio = total / (floor * steps)
        if gap:
            rows.append((gap["seconds"], floor * gap["step"], ratio))
        print(f"seed {seed}: " + (f"visible gap at step {gap['step']}, {gap['seconds']:.1f} s after the click "
                                  f"(bare loop to that step: {floor * gap['step']:.1f} s)" if gap else "no visible gap")
              + f"; end of run after {total:.1f} s and {steps} steps each: plain {last.plain:.0f}% vs ResNet "
              f"{last.residual:.0f}% training error; train_twins / bare loop: {ratio:.2f}x; load {os.getloadavg()[0]:.1f}")
    if rows:
        med = [statistics.median(c) for c in zip(*rows, strict=True)]
        print(f"median over {len(rows)} of {len(a.seeds)} seeds with a gap: {med[0]:.1f} s to a visible gap "
              f"(bare loop: {med[1]:.1f} s), train_twins / bare loop {med[2]:.2f}x")


if __name__ == "__main__":
    main()
