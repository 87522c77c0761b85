"""Loss landscapes (Li et al. 2018): the loss along filter-normalized random directions around a model.

L(alpha, beta) = loss(theta + alpha d1 + beta d2), where each filter of d (a conv's output channel, a
linear layer's row) is rescaled to the norm of the model's filter, and BN and bias directions are 0.
The model is never changed: every point is a `torch.func.functional_call` with a perturbed parameter
dict, under no_grad, on a private copy of the module objects in eval mode (BN uses running statistics).

`python -m viz.landscape --depth 20 --steps 11 --images 64` prints a 1-D slice of a fresh model.
"""

import argparse
import copy
import re
import time

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch.func import functional_call

from models import registry
from models.data import load_dataset, make_shapes, on_disk, subset
from viz.measures.curvature import curvature_at, plane_points
from viz.words import fmt


def filter_normalized_direction(model, seed=0):
    """A random direction in parameter space with each filter's norm equal to the model's filter.

    Args:
        model: an nn.Module (read only).
        seed: the direction's random seed.
    Returns:
        dict name -> tensor shaped like the parameter. Parameters of dim <= 1 (BN weights and biases,
        every bias) get 0; for dim >= 2, d[i] = g[i] / ||g[i]|| * ||w[i]|| per filter i (dim 0), g ~ N(0, 1).
    """
    gen = torch.Generator().manual_seed(int(seed))
    d = {}
    for name, w in model.named_parameters():
        w = w.detach()
        if w.dim() <= 1:
            d[name] = torch.zeros_like(w)
            continue
        g = torch.randn(w.shape, generator=gen, dtype=w.dtype).to(w.device)
        gn = g.flatten(1).norm(dim=1).clamp_min(1e-12)
        wn = w.flatten(1).norm(dim=1)
        d[name] = g * (wn / gn).view(-1, *([1] * (w.dim() - 1)))
    return d


def _private_eval_copy(model):
    """Our own module objects (mode, buffers) sharing nothing mutable with the caller; eval mode."""
    memo = {id(p): p for p in model.parameters()}
    return copy.deepcopy(model, memo).eval()


def _batches(images, labels, batch):
    return [(images[i : i + batch], labels[i : i + batch]) for i in range(0, len(images), batch)]


@torch.no_grad()
def _loss_at(net, params, data, n):
    """(mean cross-entropy, accuracy) of net with `params` over the batches in `data`."""
    total, correct = 0.0, 0
    for x, y in data:
        logits = functional_call(net, params, (x,))
        total += float(F.cross_entropy(logits, y, reduction="sum"))
        correct += int((logits.argmax(1) == y).sum())
    return total / n, correct / n


def evaluate_grid(model, images, labels, directions, coords, batch=256, progress=None):
    """The loss at theta + sum_k coords[j, k] * directions[k], for every row j of coords.

    Args:
        model: an nn.Module taking images (never modified).
        images: (N, C, H, W) float in [0, 1]; labels: (N,) int64.
        directions: list of K dicts name -> tensor (from `filter_normalized_direction`).
        coords: (P, K) array of step sizes.
        batch: images per forward pass.
        progress: optional callable(done, total), called after each point.
    Returns:
        (loss (P,), accuracy (P,)) numpy arrays.
    """
    net = _private_eval_copy(model)
    theta = {n: p.detach() for n, p in net.named_parameters()}
    data, n = _batches(images, labels, batch), len(images)
    coords = np.asarray(coords, dtype=np.float64).reshape(len(coords), -1)
    if coords.shape[1] != len(directions):
        raise ValueError(f"coords have {coords.shape[1]} columns but there are {len(directions)} directions.")
    loss, acc = np.empty(len(coords)), np.empty(len(coords))
    with torch.no_grad():
        for j, c in enumerate(coords):
            params = {}
            for name, w in theta.items():
                p = w
                for k, d in enumerate(directions):
                    if c[k] != 0:
                        p = p + float(c[k]) * d[name]
                params[name] = p
            loss[j], acc[j] = _loss_at(net, params, data, n)
            if progress is not None:
                progress(j + 1, len(coords))
    return loss, acc


def slice_1d(model, images, labels, steps=21, span=1.0, seed=0, batch=256, progress=None) -> pd.DataFrame:
    """The loss along one filter-normalized direction, alpha in [-span, span].

    Args:
        images: (N, C, H, W) float in [0, 1]; labels: (N,).
        steps: number of alphas (odd, so alpha = 0 is on the grid).
    Returns:
        DataFrame alpha, loss, accuracy (one row per alpha).
    """
    alphas = np.linspace(-span, span, steps)
    d = filter_normalized_direction(model, seed)
    loss, acc = evaluate_grid(model, images, labels, [d], alphas[:, None], batch, progress)
    return pd.DataFrame({"alpha": alphas, "loss": loss, "accuracy": acc})


def loss_images(dataset: str, n: int):
    """The n images a landscape's loss is measured on: (images (n, 3, 32, 32) float in [0, 1], labels, `split`
    ("training" or "test"), a description). Training images (the first n of shapes, a fixed random subset of any other
    set), or, for CIFAR-10 without its training split on this machine, a fixed random subset of the shipped sample of
    test images. The Landscape page and the lesson's step both measure on these."""
    record = registry.dataset(registry.SHAPES if dataset == "fresh" else dataset)
    if record.generated:
        x, y = make_shapes("train", n=n)
        return x.float() / 255, y, "training", f"{len(x)} training images of `{record.name}` (no augmentation)"
    split = "test" if record.cifar and not on_disk(dataset) else "training"
    x, y = load_dataset(registry.SAMPLE if split == "test" else dataset, "test" if split == "test" else "train")
    keep = subset(len(x), n, 0)
    x, y = x[keep], y[keep]
    what = (f"{len(x)} test images of the shipped CIFAR-10 sample (CIFAR-10's training split is not on this machine)"
            if split == "test" else f"{len(x)} training images of `{dataset}` (a fixed random subset; no augmentation)")
    return x.float() / 255, y, split, what


CURVATURE_ITERS = 10  # power-iteration steps per end of the Hessian's spectrum (the page's and the lesson's)


def curvature(model, images, labels, two_d: bool, span: float, seed: int, everywhere: bool = False) -> pd.DataFrame:
    """Li et al.'s |lambda_min / lambda_max| (viz.measures.curvature) at the plane's centre, the trained weights (a
    ResNet-56 takes 2 x CURVATURE_ITERS Hessian-vector products per point: a CPU's page measures there only), or with
    `everywhere` also at the middle of each half-axis; on the landscape's own directions and images."""
    dirs = [filter_normalized_direction(model, seed + k) for k in range(2 if two_d else 1)]
    points = plane_points(two_d, span) if everywhere else plane_points(two_d, span)[:1]
    return curvature_at(model, images, labels, points, dirs, seed, CURVATURE_ITERS)


def grid_coords(two_d: bool, steps: int, span: float) -> np.ndarray:
    """The step sizes of `slice_1d` ((steps, 1): alpha) or `surface_2d` ((steps * steps, 2): alpha fastest, beta)."""
    a = np.linspace(-span, span, steps)
    if not two_d:
        return a[:, None]
    A, B = np.meshgrid(a, a)  # rows: beta, columns: alpha
    return np.stack([A.ravel(), B.ravel()], 1)


def grid_part(model, images, labels, two_d, steps, span, seed, start, stop, batch=256) -> pd.DataFrame:
    """Rows start..stop of the `slice_1d` (two_d False) or `surface_2d` table, the same numbers: a page computes a
    grid part by part (each cached, with progress between parts). images: (N, C, H, W) float in [0, 1]."""
    dirs = [filter_normalized_direction(model, seed)] + ([filter_normalized_direction(model, seed + 1)] if two_d else [])
    c = grid_coords(two_d, steps, span)[start:stop]
    loss, acc = evaluate_grid(model, images, labels, dirs, c, batch)
    return pd.DataFrame({"alpha": c[:, 0], **({"beta": c[:, 1]} if two_d else {}), "loss": loss, "accuracy": acc})


def surface_2d(model, images, labels, steps=11, span=1.0, seed=0, batch=256, progress=None) -> pd.DataFrame:
    """The loss on a steps x steps grid over two filter-normalized directions (seeds seed, seed + 1).

    Returns:
        DataFrame alpha, beta, loss, accuracy (steps * steps rows, alpha varying fastest).
    """
    a = np.linspace(-span, span, steps)
    A, B = np.meshgrid(a, a)  # rows: beta, columns: alpha
    dirs = [filter_normalized_direction(model, seed), filter_normalized_direction(model, seed + 1)]
    coords = np.stack([A.ravel(), B.ravel()], 1)
    loss, acc = evaluate_grid(model, images, labels, dirs, coords, batch, progress)
    return pd.DataFrame({"alpha": coords[:, 0], "beta": coords[:, 1], "loss": loss, "accuracy": acc})


def grid(df: pd.DataFrame, value="loss"):
    """(alphas, betas, Z (len(betas), len(alphas))) from a `surface_2d` table."""
    Z = df.pivot(index="beta", columns="alpha", values=value)
    return Z.columns.to_numpy(), Z.index.to_numpy(), Z.to_numpy()


def shape_stats(df: pd.DataFrame) -> dict:
    """Numbers that say how convex and how chaotic a 1-D slice or 2-D surface is.

    Returns dict: loss_min, loss_centre, loss_max, local_minima (grid points lower than all their
    neighbours), nonconvex_share (share of interior points where the discrete second difference along
    alpha or beta is negative), and for 2-D, the same for each axis.
    """
    centre = float(df.loc[(df.filter(["alpha", "beta"]).abs().sum(axis=1)).idxmin(), "loss"])
    out = dict(loss_min=float(df.loss.min()), loss_centre=centre, loss_max=float(df.loss.max()))
    if "beta" not in df:
        z = df.sort_values("alpha").loss.to_numpy()
        d2 = z[:-2] - 2 * z[1:-1] + z[2:]
        minima = np.sum((z[1:-1] < z[:-2]) & (z[1:-1] < z[2:])) + int(z[0] < z[1]) + int(z[-1] < z[-2])
        return dict(out, local_minima=int(minima), nonconvex_share=float(np.mean(d2 < 0)) if len(d2) else 0.0)
    _, _, Z = grid(df)
    da = Z[1:-1, :-2] - 2 * Z[1:-1, 1:-1] + Z[1:-1, 2:]
    db = Z[:-2, 1:-1] - 2 * Z[1:-1, 1:-1] + Z[2:, 1:-1]
    P = np.pad(Z, 1, constant_values=np.inf)
    nb = np.stack([P[1 + i : P.shape[0] - 1 + i, 1 + j : P.shape[1] - 1 + j]
                   for i in (-1, 0, 1) for j in (-1, 0, 1) if (i, j) != (0, 0)])
    minima = int(np.sum(np.all(Z < nb, axis=0)))
    return dict(out, local_minima=minima, nonconvex_share=float(np.mean((da < 0) | (db < 0))) if da.size else 0.0)


def smoothness(tables: dict, skips: dict, curvature: dict | None = None) -> dict | None:
    """Which of a residual net and its plain twin has the smoother surface by Li et al. 2018's criterion: the smaller
    largest |lambda_min / lambda_max| of the loss's Hessian over the measured points of the plane, with no more local
    minima on the plotted grid (None as winner when neither wins on both; by the minima alone without curvature).

    Args:
        tables: {label: `slice_1d` or `surface_2d` table}; skips: {label: the network's skip};
        curvature: {label: viz.measures.curvature.curvature_at table} or None.
    Returns:
        dict(residual=label, plain=label, ratio={label: largest |lmin/lmax|} or None, minima={label: local minima},
        points=number of points the ratio was measured at, winner=label or None), or None without one net of each.
    """
    res, plain = [k for k in tables if skips.get(k)], [k for k in tables if not skips.get(k)]
    if not (res and plain):
        return None
    r, p = res[0], plain[0]
    minima = {k: shape_stats(tables[k])["local_minima"] for k in (r, p)}
    ratio = {k: float(curvature[k].ratio.max()) for k in (r, p)} if curvature else None
    better = (lambda a, b: ratio[a] < ratio[b] and minima[a] <= minima[b]) if ratio else (
        lambda a, b: minima[a] < minima[b])
    winner = next((a for a, b in ((r, p), (p, r)) if better(a, b)), None)
    return dict(residual=r, plain=p, ratio=ratio, minima=minima, winner=winner,
                points=len(curvature[r]) if curvature else 0)


TWIN_RE = re.compile(r"-(resnet|plain)(\d+)(?=-|$)")  # shapes-resnet20, folder-plain8-20261128-204512
STAMP_RE = re.compile(r"^-(\d{4})(\d\d)(\d\d)-(\d\d)(\d\d)(\d\d)$")  # the Train page's time stamp


def pairs(catalog: pd.DataFrame) -> dict:
    """The zoo's models as residual/plain twins to compare: {label: [names, residual first]}.

    Twins have the same name but for resnet<->plain: the same data set and depth and, for models from the
    Train page (`{data}-{resnet|plain}{depth}-{YYYYmmdd-HHMMSS}`), the same run. A model whose twin is not
    in the zoo is offered alone; a name without resnet/plain<depth> is offered under its own name.
    Labels: "shapes depth 20" (shipped), "birds depth 8 (yours, 2026-11-28 20:45:12)" (user zoo).

    Args:
        catalog: `models.zoo.list()` (columns name, dataset, source used; a name in both folders counts once,
            as the shipped one, which is what `zoo.load` opens).
    """
    groups = {}
    cat = catalog.drop_duplicates("name")
    for r in cat.itertuples():
        m = TWIN_RE.search(r.name)
        if not m:
            groups.setdefault((r.source != "shipped", r.name, 0, ""), []).append(r.name)
            continue
        data = r.dataset if isinstance(r.dataset, str) and r.dataset else r.name[: m.start()]
        groups.setdefault((r.source != "shipped", data, int(m[2]), r.name[m.end():]), []).append(r.name)
    out = {}
    untrained = set(cat.name[~cat.trained]) if "trained" in cat else set()  # marked where the catalog knows
    for (user, data, depth, rest), names in sorted(groups.items(), key=lambda kv: kv[0]):
        label = f"{data} depth {depth}" if depth else data
        t = STAMP_RE.match(rest)
        extra = (["yours"] if user else []) + ([f"{t[1]}-{t[2]}-{t[3]} {t[4]}:{t[5]}:{t[6]}"] if t else [rest.lstrip("-")] if rest else [])
        label += f" ({', '.join(extra)})" if extra else ""
        never = [n for n in names if n in untrained]
        if never:
            plain = "skip" in cat and not cat.set_index("name").skip[never].any()
            label += " (" + ("plain net" if plain else "model") + " never trained: at chance)"
        out[label] = sorted(names, key=lambda n: ("plain" in n, n))
    return out


def smoother(tables, skips, curvature=None) -> str:
    """One sentence from `smoothness`: which surface is smoother here by Li et al.'s criterion, and whether they
    agree."""
    c = smoothness(tables, skips, curvature)
    if c is None:
        return ""
    r, p, ratio, minima = c["residual"], c["plain"], c["ratio"], c["minima"]
    where = ("the centre (the trained weights)" if c["points"] == 1 else
             f"the {c['points']} points measured (the centre and the middle of each half-axis)")
    most = "" if c["points"] == 1 else "at most "
    detail = (f"the Hessian's |λmin/λmax| is {most}{fmt(ratio[r])} for {r} and {fmt(ratio[p])} for {p} at {where}; "
              if ratio else "") + f"local minima on the grid {minima[r]} vs {minima[p]}"
    if c["winner"] == r:
        return f"{r} has the smoother, more convex surface here ({detail}), as Li et al. found."
    if c["winner"] == p:
        return f"Unlike Li et al., {p} has the smoother surface here ({detail})."
    return f"Neither surface is clearly smoother here ({detail}); Li et al. found the ResNet's smoother."


def main(argv=None):
    from models.data import SHAPES_MEAN, SHAPES_STD, make_shapes
    from models.resnet import ResNet, ResNetConfig

    p = argparse.ArgumentParser(prog="python -m viz.landscape", description="A 1-D loss slice of a fresh ResNet.")
    p.add_argument("--depth", type=int, default=20)
    p.add_argument("--no-skip", dest="skip", action="store_false")
    p.add_argument("--steps", type=int, default=11)
    p.add_argument("--images", type=int, default=64)
    a = p.parse_args(argv)
    torch.manual_seed(0)
    model = ResNet(ResNetConfig(depth=a.depth, skip=a.skip, mean=SHAPES_MEAN, std=SHAPES_STD)).eval()
    x, y = make_shapes("train", n=a.images)
    t = time.perf_counter()
    df = slice_1d(model, x.float() / 255, y, steps=a.steps)
    print(df.to_string(index=False), f"\n{time.perf_counter() - t:.1f} s", shape_stats(df))


if __name__ == "__main__":
    main()
