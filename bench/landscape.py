"""Loss-landscape cost: a 2-D surface against the same number of bare forward passes, one process, medians.

    python bench/landscape.py [--depth 20] [--steps 11] [--images 64] [--repeats 3] [--model shapes-resnet20]

Prints the seconds of each and the ratio surface / bare (goal: <= 1.1, the landscape costs no more than its
forwards). Bare = `model(x)` under no_grad in eval mode on the same images, batches and number of points.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root

import torch

from models.data import SHAPES_MEAN, SHAPES_STD, make_shapes
from models.resnet import ResNet, ResNetConfig
from viz.measures.landscape import surface_2d


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--depth", type=int, default=20)
    p.add_argument("--steps", type=int, default=11)
    p.add_argument("--images", type=int, default=64)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--model", default=None, help="a zoo model name (default: a fresh model of --depth)")
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    if a.model:
        from models import zoo

        model = zoo.load(a.model)
    else:
        torch.manual_seed(0)
        model = ResNet(ResNetConfig(depth=a.depth, mean=SHAPES_MEAN, std=SHAPES_STD)).eval()
    x, y = make_shapes("train", n=a.images)
    x = x.float() / 255
    points = a.steps * a.steps
    chunks = [x[i : i + a.batch] for i in range(0, len(x), a.batch)]

    def bare():
        with torch.no_grad():
            for _ in range(points):
                for c in chunks:
                    model(c)

    def surface():
        surface_2d(model, x, y, steps=a.steps)

    bare()  # warm-up
    t_bare, t_surf = [], []
    for _ in range(a.repeats):  # interleaved, so both see the same machine load
        for fn, out in ((bare, t_bare), (surface, t_surf)):
            t = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t)
    mb, ms = statistics.median(t_bare), statistics.median(t_surf)
    print(f"{model.config.name}, {a.steps}x{a.steps} = {points} points, {a.images} images, {a.threads} threads, "
          f"{a.repeats} repeats (medians)")
    print(f"bare forwards   {mb:8.2f} s")
    print(f"2-D surface     {ms:8.2f} s")
    print(f"ratio surface / bare = {ms / mb:.3f}  (goal <= 1.1)")


if __name__ == "__main__":
    main()
