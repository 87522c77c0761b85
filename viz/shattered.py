"""Shattered gradients (Balduzzi et al. 2017): how df/dx of a network looks as x moves along a line.

Scalar -> scalar nets with 200 ReLU units a layer and He init. Their gradient at 256 points in [-2, 2]
is piecewise constant; in a deep feedforward net it turns into white noise (the correlation between
neighbouring gradients decays like 2^-L), in a residual net with BN it stays correlated (~1/sqrt(L)).
The same measurement on an image classifier: d(logit)/dt along the line image + t * direction.
"""

import copy
import math

import numpy as np
import pandas as pd
import torch
import torch.nn as nn

KINDS = ("feedforward", "feedforward+bn", "residual", "residual+bn")
WIDTH = 200


class ScalarNet(nn.Module):
    """x (N,) -> f(x) (N,). Input layer 1 -> width, `depth` hidden layers, output layer width -> 1.

    feedforward:  h <- relu(W h + b)
    residual:     h <- h + W relu(h) + b
    residual+bn:  h <- h + W relu(BN(h)) + b
    feedforward+bn: h <- relu(BN(W h + b))
    BN normalizes each unit with the mean and std of
    the current batch of points, held fixed when differentiating, so df/dx at one point is a function of x
    alone. Weights: He init N(0, 2 / fan_in); biases: PyTorch's default U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
    """

    def __init__(self, kind="feedforward", depth=1, width=WIDTH, seed=0):
        super().__init__()
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}.")
        if not isinstance(depth, int) or depth < 1:
            raise ValueError(f"depth must be a whole number >= 1, not {depth!r}.")
        self.kind, self.depth = kind, depth
        g = torch.Generator().manual_seed(int(seed))
        self.inp = nn.Linear(1, width)
        self.hidden = nn.ModuleList(nn.Linear(width, width) for _ in range(depth - 1 if kind.startswith("feed") else depth))
        self.out = nn.Linear(width, 1)
        for m in [self.inp, *self.hidden, self.out]:
            fan_in = m.in_features
            with torch.no_grad():
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) * math.sqrt(2.0 / fan_in))
                m.bias.copy_((torch.rand(m.bias.shape, generator=g) * 2 - 1) / math.sqrt(fan_in))

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
        if self.kind.startswith("feed"):  # depth hidden layers: the input layer's and depth - 1 more
            h = torch.relu(bn(h))
            for lin in self.hidden:
                h = torch.relu(bn(lin(h)))
        else:
            for lin in self.hidden:
                h = h + lin(torch.relu(bn(h)))
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


def scalar_gradients(kind, depth, seed=0, points=256, lo=-2.0, hi=2.0, dtype=torch.float64):
    """(x (points,), df/dx (points,)) for a fresh ScalarNet(kind, depth, seed)."""
    x = torch.linspace(lo, hi, points, dtype=dtype)
    net = ScalarNet(kind, depth, seed=seed).to(dtype)
    return x.numpy(), input_gradient(net, x)


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
    """Pearson correlation between neighbouring gradients g[i] and g[i + 1]. g: (N,)."""
    g = np.asarray(g, dtype=np.float64)
    a, b = g[:-1], g[1:]
    sa, sb = a.std(), b.std()
    if sa == 0 or sb == 0:
        return 1.0
    return float(((a - a.mean()) * (b - b.mean())).mean() / (sa * sb))


def correlation_vs_depth(kinds=KINDS, depths=(1, 2, 4, 8, 16, 32, 50), seeds=3, points=256, progress=None):
    """Neighbour correlation of df/dx for each kind and depth, over `seeds` fresh nets.

    Returns DataFrame kind, depth, seed, correlation (one row per net).
    """
    rows, jobs = [], [(k, d, s) for k in kinds for d in depths for s in range(seeds)]
    for j, (k, d, s) in enumerate(jobs):
        _, g = scalar_gradients(k, int(d), seed=s, points=points, dtype=torch.float32)
        rows.append(dict(kind=k, depth=int(d), seed=s, correlation=neighbour_correlation(g)))
        if progress is not None:
            progress(j + 1, len(jobs))
    return pd.DataFrame(rows)


def paper_trends(depths):
    """Balduzzi et al.'s rates, anchored at 1 for L = 1: 2^-(L-1) (feedforward), 1/sqrt(L) (resnet + BN)."""
    L = np.asarray(depths, dtype=np.float64)
    return pd.DataFrame({"depth": L, "feedforward 2^-L": 2.0 ** -(L - 1), "resnet+BN 1/sqrt(L)": 1 / np.sqrt(L)})


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
