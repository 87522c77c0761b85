"""The loss landscape's curvature by Li et al. 2018's own criterion: the Hessian's extreme eigenvalues.

Li et al. (2018, Sec. 6) judge how convex a surface is by |lambda_min / lambda_max| of the Hessian of the loss with
respect to ALL parameters, at points of the plotted plane: near 0 the surface is convex there (only positive
curvature that matters), large values mean strong negative curvature (non-convex). Here the Hessian is never formed:
Hessian-vector products (torch.autograd, double backward) feed a power iteration for the eigenvalue of largest
magnitude, then a shifted power iteration (H - lambda I) for the other end of the spectrum.
"""

import copy

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch.func import functional_call


def _dot(a, b):
    return sum(float((x * y).sum()) for x, y in zip(a, b, strict=True))


def _scaled(v, s):
    return [x * s for x in v]


def hvp_fn(loss_of, params):
    """v -> H v, H the Hessian of loss_of(params) (params: list of tensors, v: a list shaped like them)."""
    params = [p.detach().requires_grad_(True) for p in params]
    grads = torch.autograd.grad(loss_of(params), params, create_graph=True)

    def hvp(v):
        return [h.detach() for h in torch.autograd.grad(grads, params, v, retain_graph=True)]

    return hvp


def _power(hvp, shapes, iters, seed, shift=0.0):
    """The eigenvalue of largest magnitude of H - shift I (power iteration from a seeded random vector), + shift."""
    gen = torch.Generator().manual_seed(seed)
    v = [torch.randn(s, generator=gen) for s in shapes]
    lam = 0.0
    for _ in range(iters):
        v = _scaled(v, 1 / max(_dot(v, v) ** 0.5, 1e-30))
        hv = [h - shift * x for h, x in zip(hvp(v), v, strict=True)]
        lam = _dot(v, hv)  # Rayleigh quotient of H - shift I at the unit vector v
        v = hv
    return lam + shift


def extreme_eigenvalues(hvp, shapes, iters=20, seed=0) -> tuple[float, float]:
    """(lambda_min, lambda_max) of a symmetric H given by `hvp`, the operator on lists of tensors of `shapes`.

    lambda_max here is the eigenvalue of largest magnitude (at a trained minimum, the largest positive one); the
    shifted iteration on H - lambda_max I then finds the other end of the spectrum. `iters` iterations each."""
    big = _power(hvp, shapes, iters, seed)
    other = _power(hvp, shapes, iters, seed + 1, shift=big)
    return (min(big, other), max(big, other))


def curvature_at(model, images, labels, points, directions, seed=0, iters=20) -> pd.DataFrame:
    """|lambda_min / lambda_max| of the loss's Hessian (all parameters) at points of the landscape's plane.

    Args:
        model: an nn.Module (never modified; evaluated in eval mode, as the landscape is).
        images: (N, C, H, W) float in [0, 1]; labels: (N,) int64.
        points: (P, K) step sizes along the K `directions` (dicts name -> tensor: the landscape's own
            filter-normalized directions); seed: the power iteration's start vectors.
    Returns:
        DataFrame alpha, (beta,) lambda_min, lambda_max, ratio (= |lambda_min / lambda_max|), one row per point.
    """
    net = copy.deepcopy(model).eval()  # our own copy: the caller's model is never touched
    names = [n for n, _ in net.named_parameters()]
    theta = [p.detach() for _, p in net.named_parameters()]
    points = np.asarray(points, dtype=np.float64).reshape(len(points), -1)
    dirs = list(directions)
    rows = []
    for c in points:
        at = [w + sum(float(c[k]) * d[n] for k, d in enumerate(dirs)) for n, w in zip(names, theta, strict=True)]

        def loss_of(ps):
            return F.cross_entropy(functional_call(net, dict(zip(names, ps, strict=True)), (images,)), labels)

        lo, hi = extreme_eigenvalues(hvp_fn(loss_of, at), [w.shape for w in theta], iters, seed)
        rows.append({"alpha": c[0], **({"beta": c[1]} if len(c) > 1 else {}), "lambda_min": lo, "lambda_max": hi,
                     "ratio": abs(lo / hi) if hi else float("inf")})
    return pd.DataFrame(rows)


def plane_points(two_d: bool, span: float) -> np.ndarray:
    """Where the page measures the curvature: the centre and the middle of each half-axis (at +-span/2), 3 points on
    a 1-D slice, 5 on a 2-D plane."""
    h = span / 2
    return np.array([[0.0], [-h], [h]]) if not two_d else np.array([[0, 0], [-h, 0], [h, 0], [0, -h], [0, h]])
