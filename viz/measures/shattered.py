"""Shattered gradients (Balduzzi et al. 2017): how df/dx of a network looks as x moves along a line.

Scalar -> scalar nets with 200 ReLU units a layer and He init, their gradient at 256 points in [-2, 2]. The paper's
theory (its Theorem 1) says: if every unit is active on half the points and two points share a quarter of their active
units, each layer halves the correlation between the gradients at two points (2^-L); with BN and skips it falls like
1/sqrt(L) (Theorem 3). BN over the batch of points makes the first condition true; without BN a He-initialised ReLU net
is nearly positively homogeneous (exactly, with zero biases: f(cx) = c f(x), c > 0), its units keep one pattern along
the line and its gradient does not shatter. `sweep` measures both the correlation and that pattern (co-activation).
The same measurement on an image classifier: d(logit)/dt along the line image + t * direction.
"""

import copy
import functools
import math
from typing import NamedTuple

import numpy as np
import pandas as pd
import torch
from torch import nn

from models import registry

KINDS = ("feedforward", "feedforward+bn", "residual", "residual+bn")


class Net(NamedTuple):
    """A scalar net as the charts name it: its kind and depth travel as data, `str` is the label."""

    kind: str
    depth: int

    def __str__(self):
        return f"{self.kind}, L = {self.depth}"
WIDTH, POINTS, LO, HI = 200, 256, -2.0, 2.0
BIASES = ("default", "zero")  # PyTorch's U(-1/sqrt(fan_in), 1/sqrt(fan_in)), or He et al.'s zeros
CHANCE = 0.1  # both data sets have 10 classes
NEVER_TRAINED = 1.5 * CHANCE  # a classifier under 15% test accuracy never learned (chance is 10%)


@functools.lru_cache(maxsize=16)
def _draws(seed, n_hidden, width, bias):
    """The parameters of one net, drawn in a fixed order from the seed's own generator: (w_in (width,), b_in (width,))
    then (W (width, width), b (width,)) per hidden layer; He init N(0, 2 / fan_in). The net of depth L uses the first L
    draws, so the nets of a sweep are nested: depth 8 is the first 8 layers of depth 50. Cached: never mutate."""
    g = torch.Generator().manual_seed(int(seed))

    def layer(fan_in, shape):
        w = torch.randn(shape, generator=g) * math.sqrt(2.0 / fan_in)  # float32, as nn.Linear holds them
        b = (torch.rand(shape[0], generator=g) * 2 - 1) / math.sqrt(fan_in)
        return w, b * (bias == "default")

    return [layer(1, (width, 1))] + [layer(width, (width, width)) for _ in range(n_hidden)]


def _readout(seed, depth, width, bias):
    """The output layer of the net of depth L: its own generator (seed, L), so every depth has a fresh readout."""
    g = torch.Generator().manual_seed(int(seed) * 1009 + int(depth) + 1)
    v = torch.randn(1, width, generator=g) * math.sqrt(2.0 / width)
    c = (torch.rand(1, generator=g) * 2 - 1) / math.sqrt(width)
    return v, c * (bias == "default")


def _check(kind, depth, bias, beta=1.0):
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}.")
    if not isinstance(depth, (int, np.integer)) or isinstance(depth, bool) or depth < 1:
        raise ValueError(f"depth must be a whole number >= 1, not {depth!r}.")
    if bias not in BIASES:
        raise ValueError(f"bias must be one of {', '.join(BIASES)}, not {bias!r}.")
    if not (isinstance(beta, (int, float)) and 0 < beta <= 1):
        raise ValueError(f"beta (the residual scaling) must be a number in (0, 1], not {beta!r}.")


class ScalarNet(nn.Module):
    """x (N,) -> f(x) (N,). Input layer 1 -> width, then hidden layers, output layer width -> 1; `depth` L counts the
    nonlinear layers (feedforward) or the residual blocks (residual).

    feedforward:     h <- relu(W h + b)              (L layers, the input layer first)
    feedforward+bn:  h <- relu(BN(W h + b))
    residual:        h <- h + beta (W relu(h) + b)   (the input layer, L blocks, relu before the readout)
    residual+bn:     h <- h + beta (W relu(BN(h)) + b)
    BN normalizes each unit with the mean and std of the current batch of points, held fixed when differentiating, so
    df/dx at one point is a function of x alone (no learned scale or shift: at init they are 1 and 0). Weights: He init
    N(0, 2 / fan_in); biases: PyTorch's default U(-1/sqrt(fan_in), 1/sqrt(fan_in)), or zero (bias="zero").
    beta: the residual scaling of the paper's Fig. 2c (Szegedy et al. 2016); 1 is a plain resnet.
    """

    def __init__(self, kind="feedforward", depth=1, width=WIDTH, seed=0, bias="default", beta=1.0):
        super().__init__()
        _check(kind, depth, bias, beta)
        self.kind, self.depth, self.beta = kind, int(depth), float(beta)
        n_hidden = depth - 1 if kind.startswith("feed") else depth
        self.inp = nn.Linear(1, width)
        self.hidden = nn.ModuleList(nn.Linear(width, width) for _ in range(n_hidden))
        self.out = nn.Linear(width, 1)
        draws = _draws(seed, n_hidden, width, bias) + [_readout(seed, depth, width, bias)]
        with torch.no_grad():
            for m, (w, b) in zip([self.inp, *self.hidden, self.out], draws):
                m.weight.copy_(w)
                m.bias.copy_(b)

    def forward(self, x, stats=None):  # (N,) -> (N,)
        """stats: optional list of (mean, std) per BN, e.g. from `batch_stats`, to use instead of the batch's own."""
        use_bn, k, seen = self.kind.endswith("+bn"), iter(stats or ()), []

        def bn(h):  # (N, width): statistics of the batch (or the given ones), held fixed when differentiating
            if not use_bn:
                return h
            m, s = next(k) if stats is not None else (h.mean(0).detach(), h.std(0).detach() + 1e-5)
            seen.append((m, s))
            return (h - m) / s

        h = self.inp(x[:, None])  # (N, width)
        if self.kind.startswith("feed"):
            h = torch.relu(bn(h))
            for lin in self.hidden:
                h = torch.relu(bn(lin(h)))
        else:
            for lin in self.hidden:
                h = h + self.beta * lin(torch.relu(bn(h)))
            h = torch.relu(bn(h))
        self._last_stats = seen
        return self.out(h)[:, 0]

    @torch.no_grad()
    def batch_stats(self, x):
        """The (mean, std) each BN uses for the batch x (N,)."""
        self(x)
        return self._last_stats


def input_gradient(net, x):
    """df/dx at each point. net: (N,) -> (N,) with independent points; x: (N,). Returns (N,) numpy."""
    with torch.enable_grad():
        x = x.detach().clone().requires_grad_()
        (g,) = torch.autograd.grad(net(x).sum(), x)
    return g.numpy()


def grid(points=POINTS, dtype=torch.float64):
    return torch.linspace(LO, HI, points, dtype=dtype)


def scalar_gradients(kind, depth, seed=0, points=POINTS, bias="default", beta=1.0):
    """(x (points,), df/dx (points,)) for ScalarNet(kind, depth, seed) by autograd (the oracle of `line_gradients`)."""
    x = grid(points)
    net = ScalarNet(kind, depth, seed=seed, bias=bias, beta=beta).double()
    return x.numpy(), input_gradient(net, x)


def _fixed_bn(z, t):
    """BN with the batch's statistics held fixed: d/dx of (z - m) / s is dz/dx / s. z, t (S, N, W)."""
    s = z.std(1, keepdim=True) + 1e-5
    return (z - z.mean(1, keepdim=True)) / s, t / s


def _coactive(on, points: int):
    """on (S, N, W) bool -> (S,): of the units active at one point, the share also active at another point."""
    n = on.sum(1, dtype=torch.float64)  # (S, W) points where each unit is on
    pairs, active = (n * (n - 1)).sum(1), (n * (points - 1)).sum(1)
    return torch.where(active > 0, pairs / active.clamp(min=1), torch.ones_like(active))


def _read_tangent(t, L, seeds, width, bias, dtype):
    """The readout after layer L applied to the tangent t (S, N, W) -> df/dx (S, N)."""
    v = torch.stack([_readout(s, L, width, bias)[0][0] for s in seeds]).to(dtype)  # (S, W)
    return (t * v[:, None, :]).sum(-1)


def line_gradients(kind, depth, seeds=(0,), points=POINTS, width=WIDTH, bias="default", beta=1.0,
                   dtype=torch.float32):
    """df/dx of the nets ScalarNet(kind, L, seed) for every L = 1..depth and seed, all at once: forward-mode (the
    tangent dh/dx rides along with h; the input is one number), one pass through the depth-`depth` net per kind with a
    readout after every layer, all seeds batched. Same nets as ScalarNet, so the same gradients up to rounding.

    Returns:
        grads: (S, depth, points) numpy float64, grads[s, L - 1] = df/dx of the net of depth L, seed seeds[s].
        coactive: (S, depth) numpy: at layer L, of the units active at one point, the share also active at another
            point, over all pairs of points (1: one activation pattern along the whole line; 0.5 for independent
            patterns with half the units on, the paper's Theorem 1 assumption).
    """
    _check(kind, depth, bias, beta)
    seeds = [int(s) for s in seeds]
    n_hidden = depth - 1 if kind.startswith("feed") else depth
    nets = [_draws(s, depth, width, bias) for s in seeds]  # the same draws for all four kinds (feedforward: one spare)
    stack = [[torch.stack([net[i][j] for net in nets]).to(dtype) for j in (0, 1)] for i in range(n_hidden + 1)]
    x = grid(points, dtype)
    bn = kind.endswith("+bn")

    def norm(z, t):
        return _fixed_bn(z, t) if bn else (z, t)

    def read(a, t, L):
        return _read_tangent(t, L, seeds, width, bias, dtype)

    def coact(on):
        return _coactive(on, points)

    w_in, b_in = stack[0]
    z = x[None, :, None] * w_in[:, None, :, 0] + b_in[:, None, :]  # (S, N, W)
    t = w_in[:, None, :, 0].expand_as(z)
    grads, co = [], []
    if kind.startswith("feed"):
        h = z  # the input layer's pre-activation; layer L > 1 multiplies the previous layer's output
        for L in range(1, depth + 1):
            if L > 1:
                w, b = stack[L - 1]
                h, t = h @ w.transpose(1, 2) + b[:, None, :], t @ w.transpose(1, 2)
            z, t = norm(h, t)
            on = z > 0
            h, t = z * on, t * on
            grads.append(read(h, t, L))
            co.append(coact(on))
    else:
        h = z
        for L in range(1, depth + 1):
            w, b = stack[L]
            a, ta = norm(h, t)
            on = a > 0
            h = h + beta * ((a * on) @ w.transpose(1, 2) + b[:, None, :])
            t = t + beta * ((ta * on) @ w.transpose(1, 2))
            a, ta = norm(h, t)
            on = a > 0
            grads.append(read(a * on, ta * on, L))
            co.append(coact(on))
    return torch.stack(grads, 1).double().numpy(), torch.stack(co, 1).numpy()


def autocorrelation(g, max_lag=None):
    """Normalised autocorrelation r(k) = sum_i (g_i - m)(g_{i+k} - m) / sum_i (g_i - m)^2, k = 0..max_lag.
    g: (N,). A constant g has no fluctuation: r = 1 at every lag."""
    g = np.asarray(g, dtype=np.float64)
    max_lag = len(g) - 1 if max_lag is None else max_lag
    c = g - g.mean()
    v = float(c @ c)
    if v <= 1e-30 * max(1.0, float(g @ g)):
        return np.ones(max_lag + 1)
    return np.array([float(c[: len(c) - k] @ c[k:]) / v for k in range(max_lag + 1)])


def neighbour_correlation(g):
    """Pearson correlation between neighbouring gradients g[..., i] and g[..., i + 1]. g: (..., N); a constant has
    no fluctuation: 1."""
    g = np.asarray(g, dtype=np.float64)
    a, b = g[..., :-1], g[..., 1:]
    a, b = a - a.mean(-1, keepdims=True), b - b.mean(-1, keepdims=True)
    den = np.sqrt((a * a).mean(-1) * (b * b).mean(-1))
    tiny = den <= 1e-15 * np.maximum(1.0, np.abs(g).max(-1))
    r = np.where(tiny, 1.0, (a * b).mean(-1) / np.where(tiny, 1.0, den))
    return float(r) if r.ndim == 0 else r


def sweep(kinds=KINDS, depths=(1, 2, 4, 8, 16, 32, 50), seeds=3, points=POINTS, bias="default", beta=1.0):
    """Neighbour correlation of df/dx and co-activation for each kind and depth, over `seeds` fresh nets (seeds
    0..seeds-1), nested in depth (see `line_gradients`).

    Returns DataFrame kind, depth, seed, correlation, coactive (one row per net).
    """
    depths = sorted(int(d) for d in depths)
    rows = []
    for k in kinds:
        g, co = line_gradients(k, depths[-1], range(seeds), points=points, bias=bias, beta=beta)
        r = neighbour_correlation(g)  # (S, depth)
        for d in depths:
            for s in range(seeds):
                rows.append(dict(kind=k, depth=d, seed=s, correlation=float(r[s, d - 1]), coactive=float(co[s, d - 1])))
    return pd.DataFrame(rows)


correlation_vs_depth = sweep  # the old name


def paper_trends(depths):
    """Balduzzi et al.'s rates, anchored at 1 for L = 1: 2^-(L-1) (feedforward), 1/sqrt(L) (resnet + BN)."""
    L = np.asarray(depths, dtype=np.float64)
    return pd.DataFrame({"depth": L, "feedforward 2^-L": 2.0 ** -(L - 1), "resnet+BN 1/sqrt(L)": 1 / np.sqrt(L)})


def classifier_pairs(catalog):
    """Trained resnet/plain twins of the zoo, best first. catalog: models.zoo.list(). Returns DataFrame dataset,
    depth, resnet, plain, resnet_acc, plain_acc, trained (both above NEVER_TRAINED test accuracy), label (with the
    resnet's / plain net's test accuracy, or which one never trained); CIFAR-10 first, then shallower first, pairs
    with a net that never trained last."""
    have = catalog.set_index("name")
    rows = []
    for ds in registry.OPENING_ORDER:
        for d in sorted({int(x) for x in catalog.depth[catalog.dataset == ds]}):
            r, p = f"{ds}-resnet{d}", f"{ds}-plain{d}"
            if r not in have.index or p not in have.index:
                continue
            ra, pa = (float(have.test_acc[n]) if have.test_acc[n] is not None else math.nan for n in (r, p))
            bad = [(n, a) for n, a in ((r, ra), (p, pa)) if not a >= NEVER_TRAINED]
            name = registry.dataset(ds).short_name
            label = f"{name}, depth {d} ({ra:.0%} / {pa:.0%})"
            if bad:
                label = f"{name}, depth {d}: " + ", ".join(
                    f"{n.split('-')[1]} never trained ({a:.0%}, chance {CHANCE:.0%})" for n, a in bad)
            rows.append(dict(dataset=ds, depth=d, resnet=r, plain=p, resnet_acc=ra, plain_acc=pa, trained=not bad,
                             label=label))
    df = pd.DataFrame(rows, columns=["dataset", "depth", "resnet", "plain", "resnet_acc", "plain_acc", "trained", "label"])
    return df.sort_values("trained", ascending=False, kind="stable").reset_index(drop=True)


def image_line_gradient(model, image, label, points=256, radius=0.25, seed=0, batch=64):
    """d logit_label / dt along the line image + t u, t in [-radius, radius], u a random direction with
    one unit of RMS per pixel (so t is the typical change of a pixel value in [0, 1]).

    Args:
        model: a classifier taking (B, C, H, W) in [0, 1] (never modified: private copy, eval mode).
        image: (C, H, W) float in [0, 1]; label: int class whose logit is differentiated.
    Returns:
        DataFrame t, grad (one row per point), grad = u . d logit / d x at image + t u.
    """
    memo = {id(p): p for p in model.parameters()}
    net = copy.deepcopy(model, memo).eval()
    gen = torch.Generator().manual_seed(int(seed))
    u = torch.randn(image.shape, generator=gen)
    u = u / u.pow(2).mean().sqrt()
    ts = torch.linspace(-radius, radius, points)
    out = []
    for i in range(0, points, batch):
        t = ts[i : i + batch].clone().requires_grad_()
        with torch.enable_grad():
            x = image[None] + t[:, None, None, None] * u[None]  # (b, C, H, W)
            (g,) = torch.autograd.grad(net(x)[:, int(label)].sum(), t)  # d logit / dt = u . grad_x
        out.append(g.detach())
    return pd.DataFrame({"t": ts.numpy(), "grad": torch.cat(out).numpy()})
