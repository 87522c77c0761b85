"""Probe cost against a bare forward+backward of the same model and batch, measured side by side.

python bench/probe.py [--repeats 7]
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models.data import SHAPES_MEAN, SHAPES_STD, make_shapes  # noqa: E402
from models.resnet import ResNet, ResNetConfig  # noqa: E402
from viz.probe import probe  # noqa: E402


def median_time(fn, repeats):
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def forward_flops(model, x):
    """Multiply-adds x 2 of every conv and linear layer for this input, counted with hooks."""
    total = 0

    def count(m, inp, out):
        nonlocal total
        if isinstance(m, nn.Conv2d):
            total += 2 * out.numel() * m.in_channels // m.groups * m.kernel_size[0] * m.kernel_size[1]
        elif isinstance(m, nn.Linear):
            total += 2 * out.numel() * m.in_features

    hs = [m.register_forward_hook(count) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in hs:
            h.remove()
    return total


def matmul_flops(repeats):
    a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
    return 2 * 1024**3 / median_time(lambda: a @ b, repeats * 3)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--repeats", type=int, default=7)
    a = p.parse_args()
    peak = matmul_flops(a.repeats)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; matmul 1024^3: {peak / 1e9:.1f} GFLOP/s")
    print(f"{'model':<12}{'bare ms':>9}{'probe ms':>10}{'probe/bare':>12}{'CPU ratio':>11}{'bare GFLOP/s':>14}{'of matmul':>11}")
    x, y = make_shapes("test", n=64, seed=0)
    x = x.float() / 255
    for depth in (20, 56, 110):
        torch.manual_seed(0)
        model = ResNet(ResNetConfig(depth=depth, mean=SHAPES_MEAN, std=SHAPES_STD)).train()
        params = list(model.parameters())

        def bare(model=model, params=params):
            torch.autograd.grad(F.cross_entropy(model(x), y), params)

        def probed(model=model):
            probe(model, x, y)

        # interleave the two so that machine noise hits both alike; CPU time too, which other processes on a
        # shared machine inflate far less than wall time
        tb, tp, cb, cp = [], [], [], []
        bare(), probed()
        for _ in range(a.repeats):
            for fn, wall, cpu in ((bare, tb, cb), (probed, tp, cp)):
                c, t = time.process_time(), time.perf_counter()
                fn()
                wall.append(time.perf_counter() - t)
                cpu.append(time.process_time() - c)
        b, pr = statistics.median(tb), statistics.median(tp)
        cpu_ratio = statistics.median(cp) / statistics.median(cb)
        flops = 3 * forward_flops(model, x)  # backward ~ 2x forward
        print(f"ResNet-{depth:<5}{b * 1e3:>9.1f}{pr * 1e3:>10.1f}{pr / b:>12.3f}{cpu_ratio:>11.3f}"
              f"{flops / b / 1e9:>14.1f}{flops / b / peak:>11.1%}")

    # a cold probe: a new model of ResNet-110, batch 32, first call
    x32, y32 = x[:32], y[:32]
    torch.manual_seed(1)
    t = time.perf_counter()
    probe(ResNet(ResNetConfig(depth=110, mean=SHAPES_MEAN, std=SHAPES_STD)), x32, y32)
    print(f"cold probe of a new ResNet-110 at batch 32 (build + probe): {time.perf_counter() - t:.2f} s (goal < 1.5 s)")

    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app.py"), default_timeout=300)
    at.run()
    at.switch_page("pages/gradient_flow.py").run()
    reruns = []
    for _ in range(a.repeats):
        t = time.perf_counter()
        at.run()
        reruns.append(time.perf_counter() - t)
    assert not at.exception
    print(f"Gradient-flow page rerun in AppTest, warm cache: median {statistics.median(reruns) * 1e3:.0f} ms (goal < 300 ms)")


if __name__ == "__main__":
    main()
