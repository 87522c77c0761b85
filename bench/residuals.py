"""Lesion sweep cost: every single-block deletion of ResNet-56 (Veit et al. Fig. 3) on 2,000 test images, against
one bare forward pass over the same images, measured side by side in this process.

    python bench/residuals.py [--images 2000] [--repeats 3] [--chunk 500]

Prints medians and ratios. The sweep evaluates the intact net and n = 27 lesions; a naive sweep costs n + 1 bare
forwards, ours runs the shared prefix once (about 1 + (n + 1) / 2 forwards). Goal: the whole sweep under 30 s.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parents[1])  # the repo, not bench/ (its inspect.py would shadow the stdlib)

import torch  # noqa: E402

from models import registry, zoo  # noqa: E402
from models.data import SHAPES_MEAN, SHAPES_STD, load_dataset  # noqa: E402
from models.resnet import ResNet, ResNetConfig  # noqa: E402
from viz.measures import residuals as R  # noqa: E402


def timed(fn, repeats):
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def main(argv=None):
    p = argparse.ArgumentParser(prog="python bench/residuals.py", description=__doc__.split("\n")[0])
    p.add_argument("--images", type=int, default=2000)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--chunk", type=int, default=500)
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    a = p.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    name = "shapes-resnet56"
    if name in {r.name for r in registry.models()}:
        model, what = zoo.load(name), name
    else:
        torch.manual_seed(0)
        model, what = ResNet(ResNetConfig(depth=56, mean=SHAPES_MEAN, std=SHAPES_STD)).eval(), "untrained ResNet-56 (not in the zoo yet)"
    x, y = load_dataset("shapes", "test")
    x, y = x[: a.images].float() / 255, y[: a.images]
    n = len(model.blocks)

    def bare():
        with torch.inference_mode():
            return [model(x[i : i + a.chunk]) for i in range(0, len(x), a.chunk)]

    def sweep():
        return R.lesion_table(R.in_chunks(R.setting_sums, model, x, y, R.single_lesions(n), size=a.chunk), model)

    bare()  # warm-up
    t_bare, _ = timed(bare, a.repeats)
    t_sweep, table = timed(sweep, max(1, a.repeats // 2))
    print(f"{what}: {n} blocks, {len(x)} test images, chunks of {a.chunk}, {torch.get_num_threads()} threads")
    print(f"bare forward pass            {t_bare:8.2f} s (median of {a.repeats})")
    print(f"lesion sweep ({n} + intact)   {t_sweep:8.2f} s  = {t_sweep / t_bare:.1f} bare forwards "
          f"(naive: {n + 1}; shared prefix ideal: {1 + (n + 1) / 2:.1f})")
    print(f"goal: sweep under 30 s: {'met' if t_sweep < 30 else 'NOT met'} on this machine")
    print(f"intact error {100 * table.base_error.iloc[0]:.2f}%, median error with one block deleted "
          f"{100 * table.error.median():.2f}%, worst {100 * table.error.max():.2f}%")


if __name__ == "__main__":
    main()
