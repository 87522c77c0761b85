"""Training throughput: models.train.train against a bare PyTorch loop on the same model and batch.

    python bench/train.py [--depth 20] [--steps 20] [--repeats 3] [--threads 1] [--precision bf16]

Prints, as medians of interleaved repeats measured in this one process:
- images/s of `train()` (augmentation, schedule, NaN guard, metrics, NHWC) and of two bare loops
  (forward, cross-entropy, backward, SGD step; NCHW as most code is written, and NHWC), and their ratios
  (goal: train() / bare >= 0.9);
- the achieved FLOP/s of a training step against this machine's measured float32 matmul FLOP/s;
- the seconds one CIFAR-10 epoch of ResNet-20 takes here (50,000 images at the measured rate, plus
  evaluating the 10,000 test images, measured).
With --precision bf16 the bare loops and train() all run forward and loss under bfloat16 autocast.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models.data import CIFAR10_MEAN, CIFAR10_STD
from models.resnet import ResNet, ResNetConfig
from models.train import PRECISIONS, Recipe, as_data, evaluate, train


def conv_macs(model):
    """Multiply-accumulates of one forward pass of one 32x32 image (convs and the classifier)."""
    macs, hooks = [0], []
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            hooks.append(m.register_forward_hook(lambda m, i, o: macs.__setitem__(0, macs[0] + o[0].numel() * m.in_channels // m.groups * m.kernel_size[0] * m.kernel_size[1])))
        elif isinstance(m, nn.Linear):
            hooks.append(m.register_forward_hook(lambda m, i, o: macs.__setitem__(0, macs[0] + m.in_features * m.out_features)))
    try:
        with torch.no_grad():
            model.eval()(torch.rand(1, 3, 32, 32))
    finally:
        for h in hooks:
            h.remove()
    return macs[0]


def bare(cfg, x, y, batch, steps, channels_last, precision="fp32"):
    """A plain loop: the floor for training cost. Returns images/s."""
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model = ResNet(cfg, seed=0).to(memory_format=fmt).train()  # the same initial weights as train()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    t = time.perf_counter()
    for s in range(steps):
        xb = (x[s * batch : (s + 1) * batch].float() / 255).contiguous(memory_format=fmt)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
            loss = F.cross_entropy(model(xb), y[s * batch : (s + 1) * batch])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return steps * batch / (time.perf_counter() - t)


def ours(cfg, x, y, xte, yte, batch, steps, precision="fp32"):
    """train() for one epoch of `steps` batches; its own clock counts training only. Returns images/s."""
    data = as_data("cifar10", (x[: steps * batch], y[: steps * batch]), (xte, yte))
    res = train(cfg, Recipe(1, batch_size=batch, precision=precision), data)
    return steps * batch / res.history["seconds"].iloc[-1]


def matmul_flops(n=1024, reps=15):
    """The best float32 matmul rate seen: the machine's practical peak (min time, as the limit)."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        a @ b
        ts.append(time.perf_counter() - t)
    return 2 * n**3 / min(ts)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--depth", type=int, default=20)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=int(os.environ.get("OMP_NUM_THREADS", "1")))
    ap.add_argument("--precision", default="fp32", choices=PRECISIONS)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    cfg = ResNetConfig(depth=a.depth, mean=CIFAR10_MEAN, std=CIFAR10_STD)
    g = torch.Generator().manual_seed(0)
    n = a.steps * a.batch
    x, y = torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=g), torch.randint(0, 10, (n,), generator=g)
    xte, yte = x[:64], y[:64]  # train() evaluates after the epoch (not timed); keep it small
    bare(cfg, x, y, a.batch, 2, True)  # warm-up
    runs = {"train()": [], "bare NCHW": [], "bare NHWC": []}
    for _ in range(a.repeats):  # interleaved, so drifts in machine load hit all three alike
        runs["bare NCHW"].append(bare(cfg, x, y, a.batch, a.steps, False, a.precision))
        runs["bare NHWC"].append(bare(cfg, x, y, a.batch, a.steps, True, a.precision))
        runs["train()"].append(ours(cfg, x, y, xte, yte, a.batch, a.steps, a.precision))
    med = {k: statistics.median(v) for k, v in runs.items()}
    print(f"ResNet-{a.depth}, batch {a.batch}, {a.steps} steps x {a.repeats} repeats, {a.threads} thread(s), {a.precision}, torch {torch.__version__}")
    for k, v in med.items():
        print(f"  {k:10s} {v:8.1f} images/s   (runs: {', '.join(f'{r:.0f}' for r in runs[k])})")
    print(f"  ratio train() / bare NCHW loop: {med['train()'] / med['bare NCHW']:.2f}   (goal >= 0.9)")
    print(f"  ratio train() / bare NHWC loop: {med['train()'] / med['bare NHWC']:.2f}   (same memory format as train())")
    macs = conv_macs(ResNet(cfg))
    step_flops = 3 * 2 * macs  # forward + backward (about twice the forward)
    peak = matmul_flops()
    print(f"  achieved {med['train()'] * step_flops / 1e9:.1f} GFLOP/s of training vs {peak / 1e9:.1f} GFLOP/s float32 "
          f"matmul measured here: {med['train()'] * step_flops / peak:.0%} ({macs / 1e6:.1f} M MACs per image forward)")
    # one CIFAR-10 epoch: 50,000 training images at the measured rate plus the 10,000-image evaluation (measured)
    model = ResNet(cfg).to(memory_format=torch.channels_last)
    xe, ye = torch.randint(0, 256, (2000, 3, 32, 32), dtype=torch.uint8), torch.randint(0, 10, (2000,))
    t = time.perf_counter()
    evaluate(model, xe, ye, torch.device("cpu"))
    eval_s = (time.perf_counter() - t) * 5
    print(f"  one CIFAR-10 epoch of ResNet-{a.depth} here: {50_000 / med['train()'] + eval_s:.0f} s "
          f"({50_000 / med['train()']:.0f} s training + {eval_s:.0f} s evaluating the test split)")


if __name__ == "__main__":
    main()
