"""The probe's cost on the transformer against a bare forward+backward of the same model and batch, side by side
(medians; interleaved so that load on a shared machine hits both alike).

python bench/transformer.py [--repeats 7] [--batch 16]
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from viz.measures.transformer import build, corpus_batch  # noqa: E402
from viz.probe import probe  # noqa: E402


def bare(model, x, y):
    """What a training step computes: the loss and every parameter's gradient, nothing measured."""
    _, loss = model(x, y)
    torch.autograd.grad(loss, list(model.parameters()))


def medians(fns, repeats):
    for fn in fns:
        fn()  # warm-up
    times = [[] for _ in fns]
    for _ in range(repeats):
        for t, fn in zip(times, fns):
            s = time.perf_counter()
            fn()
            t.append(time.perf_counter() - s)
    return [statistics.median(t) for t in times]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--batch", type=int, default=16)
    a = p.parse_args()
    x, y = corpus_batch(a.batch, 64, seed=0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; batch {a.batch} x 64 characters, d_model 64")
    print(f"{'model':<14}{'bare ms':>9}{'probe ms':>10}{'probe/bare':>12}")
    for variant in ("Post-LN", "Pre-LN"):
        for depth in (2, 12, 24):
            m = build(variant, depth)
            t_bare, t_probe = medians([lambda m=m: bare(m, x, y), lambda m=m: probe(m, x, y)], a.repeats)
            print(f"{variant + '-' + str(depth):<14}{t_bare * 1e3:>9.1f}{t_probe * 1e3:>10.1f}{t_probe / t_bare:>12.2f}")


if __name__ == "__main__":
    main()
