"""How long the Inspect page takes to answer a new image, against one bare forward+backward of the same model.

    python bench/inspection.py [--depth 56] [--steps 32] [--repeats 5]

Measured side by side in one process (medians): the bare PyTorch floor (one image, forward + backward to
the input), the inspection (forward with every block's maps), the five attributions (Saliency, IG, IG with
NoiseTunnel, LayerGradCam, per-block gates) and the page's whole answer to a new upload (decode a JPEG photo,
inspect, attribute, build every Plotly figure). Weights: the zoo's ResNet of that depth if there is one, else
a fresh one (the cost does not depend on the weights).
"""

import os
import sys

# Run as `python bench/inspection.py`, this file's folder comes first on sys.path, where its name would shadow
# the standard library's `inspect` (which numpy and torch import): swap that folder for the repo root.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [os.path.dirname(_HERE)] + [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

import argparse
import io
import statistics
import time
import warnings

import numpy as np
import torch
from PIL import Image

from models.data import SHAPES_MEAN, SHAPES_STD
from models.resnet import ResNet, ResNetConfig
from models.uploads import decode_image
from viz.charts import inspect as ch
from viz.measures.attribution import attribute_all
from viz.measures.inspect import inspect, strongest_channels


def median_time(fn, repeats):
    """Medians of (wall seconds, CPU seconds of this process): CPU time is the work done, whatever else runs."""
    wall, cpu = [], []
    for _ in range(repeats):
        t, c = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return statistics.median(wall), statistics.median(cpu)


def load(depth):
    try:
        from models import registry, zoo

        hit = [r.name for r in registry.models() if r.depth == depth and r.skip]
        if hit:
            return zoo.load(hit[0]), hit[0]
    except Exception as e:  # noqa: BLE001 (the bench runs with or without a zoo)
        print(f"(zoo unavailable: {e})")
    torch.manual_seed(0)
    return ResNet(ResNetConfig(depth=depth, mean=SHAPES_MEAN, std=SHAPES_STD)).eval(), f"fresh ResNet-{depth}"


def photo_jpeg():
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:480, 0:640] / 640
    img = np.stack([0.3 + 0.5 * yy, 0.5 + 0.2 * xx, 0.8 - 0.3 * yy], -1) + rng.normal(0, 0.03, (480, 640, 3))
    b = io.BytesIO()
    Image.fromarray(np.round(np.clip(img, 0, 1) * 255).astype(np.uint8)).save(b, "JPEG", quality=90)
    return b.getvalue()


def _args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--depth", type=int, default=56)
    p.add_argument("--steps", type=int, default=32, help="Integrated Gradients steps")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's, as the app runs)")
    p.add_argument("--model", default=None, help="a zoo model name (default: the zoo's residual net of --depth)")
    p.add_argument("--completeness", type=int, default=0, metavar="N",
                   help="also print IG's completeness error on N shapes test images at 32/64/128 steps")
    return p.parse_args(argv)


def main(argv=None):
    a = _args(argv)
    warnings.simplefilter("ignore")
    if a.threads:
        torch.set_num_threads(a.threads)
    if a.model:
        from models import zoo

        model, name = zoo.load(a.model), a.model
    else:
        model, name = load(a.depth)
    n = len(model.blocks)
    data = photo_jpeg()
    x = decode_image(data, "photo.jpg").tensor()
    target, block = 0, n - 1

    xg = x.clone().requires_grad_()

    def bare():
        torch.autograd.grad(model(xg)[0, target], xg)

    def full():
        inspect(model, x)
        attribute_all(model, x, target, block, steps=a.steps, noise=0.1)

    def page():
        up = decode_image(data, "photo.jpg")
        ins = inspect(model, up.tensor(), [str(i) for i in range(model.config.num_classes)])
        att = attribute_all(model, up.tensor(), int(ins.top.cls[0]), block, steps=a.steps, noise=0.0)
        ch.image_fig(up.preview, "", up.crop_box), ch.image_fig(up.pixels), ch.top_fig(ins.top)
        ch.block_maps_fig(ins.blocks, ins.x_maps, ins.f_maps, ins.out_maps), ch.ratio_fig(ins.blocks)
        t, m = strongest_channels(ins.outs[block])
        ch.channels_fig(m, t, block), ch.attribution_fig(up.pixels, att, ins.classes), ch.importance_fig(att.blocks)

    for f in (bare, full, page):  # warm up
        f()
    t_bare = median_time(bare, max(a.repeats * 4, 20))
    rows = [("inspection (forward with every block map)", median_time(lambda: inspect(model, x), a.repeats))]
    parts = {}
    for _ in range(a.repeats):
        for k, v in attribute_all(model, x, target, block, steps=a.steps, noise=0.1).seconds.items():
            parts.setdefault(k, []).append(v)
    rows += [(f"  attribution {k} (wall only)", (statistics.median(v), float("nan"))) for k, v in parts.items()]
    rows.append(("full inspection (maps + 5 attributions)", median_time(full, a.repeats)))
    rows.append(("  same, per-block via LayerIG instead",
                 median_time(lambda: attribute_all(model, x, target, block, steps=a.steps, layer_ig=True), 1)))
    t_page = median_time(page, a.repeats)
    rows.append(("page answer to a new upload (decode, inspect, 4 attributions, figures)", t_page))

    print(f"model: {name} ({n} blocks), torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}, IG {a.steps} steps, medians of {a.repeats}")
    print(f"{'':72s} {'wall ms':>9s} {'ratio':>7s} {'CPU ms':>9s} {'ratio':>7s}")
    print(f"{'bare forward+backward (1 image)':72s} {t_bare[0] * 1e3:9.1f} {1:7.1f} {t_bare[1] * 1e3:9.1f} {1:7.1f}")
    for label, (w, c) in rows:
        print(f"{label:72s} {w * 1e3:9.1f} {w / t_bare[0]:7.1f} {c * 1e3:9.1f} {c / t_bare[1]:7.1f}")
    print(f"page answer: {t_page[0]:.2f} s wall (goal < 2 s: {'met' if t_page[0] < 2 else 'NOT met'} at this load)")
    if a.completeness:
        completeness(model, a.completeness)


def completeness(model, n):
    """|sum(IG) - (score(x) - score(black))| / |score(x) - score(black)| for the true class of n shapes test images."""
    from models.data import make_shapes
    from viz.measures.attribution import integrated_gradients

    xs, ys = make_shapes("test", n=n)
    xs = xs.float() / 255
    print(f"IG completeness error, true class of shapes test images 0..{n - 1} (median / max):")
    for steps in (32, 64, 128):
        errs = []
        for k in range(n):
            x, t = xs[k : k + 1], int(ys[k])
            attr, delta = integrated_gradients(model, x, t, steps=steps)
            errs.append(abs(delta) / max(abs(float(attr.sum()) - delta), 1e-12))
        print(f"  {steps:4d} steps: {statistics.median(errs):6.1%} / {max(errs):6.1%}")


if __name__ == "__main__":
    main()
