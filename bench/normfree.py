"""Cost of the Beyond-ResNet measurements against bare PyTorch, measured side by side in this one process (medians).

    python bench/normfree.py [--steps 8] [--repeats 3]

- live training (viz.measures.normfree.live_training: models.train.train with its callback) per step, against a bare
  loop (forward, cross-entropy, backward, SGD step) on the same ReZero network and batch size;
- the refinement measure (viz.measures.refinement.refinement) against a bare forward and backward pass of the same
  model and images.
"""

import argparse
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models.data import make_shapes
from models.resnet import ResNet
from viz.measures import normfree as nf
from viz.measures.refinement import refinement


def bare_loop(cfg, x, y, batch, steps):
    model = ResNet(cfg, seed=0).train()
    opt = torch.optim.SGD(model.parameters(), lr=nf.LIVE["lr"], momentum=0.9, weight_decay=5e-4)
    t = time.perf_counter()
    for s in range(steps):
        xb, yb = x[s * batch : (s + 1) * batch], y[s * batch : (s + 1) * batch]
        loss = F.cross_entropy(model(xb), yb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return (time.perf_counter() - t) / steps


def live_step(steps, batch):
    seconds = nf.live_training(("ReZero",), limit=steps * batch, test_limit=batch)["ReZero"]["seconds"]
    return seconds / steps


def bare_pass(model, x, y):
    t = time.perf_counter()
    with torch.enable_grad():
        F.cross_entropy(model(x), y).backward()
    model.zero_grad(set_to_none=True)
    return time.perf_counter() - t


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=8)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    batch = nf.LIVE["batch_size"]
    cfg = replace(nf.config("ReZero", nf.LIVE["depth"]), width=nf.LIVE["width"])
    x, y = make_shapes("train", n=a.steps * batch, seed=0)
    x = x.float() / 255
    live, bare = [], []
    for _ in range(a.repeats):  # interleaved
        live.append(live_step(a.steps, batch))
        bare.append(bare_loop(cfg, x, y, batch, a.steps))
    lm, bm = statistics.median(live), statistics.median(bare)
    print(f"live training, {cfg.name} width {cfg.width} ReZero, batch {batch}: {lm * 1e3:.0f} ms/step (train(), "
          f"test evaluation excluded) vs bare loop {bm * 1e3:.0f} ms/step: ratio {lm / bm:.2f}")
    model = ResNet(replace(cfg, width=16, init="kaiming", norm="batch"), seed=0).eval()
    xs, ys = make_shapes("test", n=128, seed=0)
    meas, passes = [], []
    for _ in range(a.repeats):
        t = time.perf_counter()
        refinement(model, xs, ys, size=128)
        meas.append(time.perf_counter() - t)
        passes.append(bare_pass(model, xs.float() / 255, ys))
    rm, pm = statistics.median(meas), statistics.median(passes)
    print(f"refinement, ResNet-{cfg.depth} on 128 images: {rm:.2f} s vs bare forward+backward {pm:.2f} s: "
          f"ratio {rm / pm:.2f}")


if __name__ == "__main__":
    main()
