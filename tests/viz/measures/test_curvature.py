"""The Hessian's extreme eigenvalues (Li et al. 2018's criterion) against a dense Hessian computed here."""

import numpy as np
import torch
import torch.nn.functional as F
from torch.func import functional_call

from viz.measures.curvature import curvature_at, extreme_eigenvalues, hvp_fn, plane_points


def _tiny():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 5), torch.nn.Tanh(), torch.nn.Linear(5, 3))
    x, y = torch.rand(16, 3, 2, 2), torch.randint(0, 3, (16,))
    return net, x, y


def _dense_eigenvalues(net, x, y, shift=None):
    """Every eigenvalue of the loss's Hessian over all parameters, from the dense matrix (torch.autograd)."""
    names = [n for n, _ in net.named_parameters()]
    theta = {n: p.detach() for n, p in net.named_parameters()}
    if shift is not None:
        theta = {n: w + shift[n] for n, w in theta.items()}
    shapes = [w.shape for w in theta.values()]
    sizes = [w.numel() for w in theta.values()]

    def loss(flat):
        ps = [t.view(s) for t, s in zip(flat.split(sizes), shapes, strict=True)]
        return F.cross_entropy(functional_call(net, dict(zip(names, ps, strict=True)), (x,)), y)

    H = torch.autograd.functional.hessian(loss, torch.cat([w.flatten() for w in theta.values()]))
    return torch.linalg.eigvalsh(H.double())


def test_extreme_eigenvalues_match_the_dense_hessian():
    net, x, y = _tiny()
    params = [p.detach() for p in net.parameters()]

    def loss_of(ps):
        return F.cross_entropy(functional_call(net, dict(zip([n for n, _ in net.named_parameters()], ps)), (x,)), y)

    lo, hi = extreme_eigenvalues(hvp_fn(loss_of, params), [p.shape for p in params], iters=400)
    ev = _dense_eigenvalues(net, x, y)
    assert ev[0] < 0 < ev[-1]  # a non-convex point: both ends are tested
    assert abs(hi - float(ev[-1])) < 1e-3 * float(ev.abs().max())
    assert abs(lo - float(ev[0])) < 1e-3 * float(ev.abs().max())


def test_curvature_at_points_of_the_plane_matches_the_dense_hessian():
    from viz.measures.landscape import filter_normalized_direction

    net, x, y = _tiny()
    d = filter_normalized_direction(net, 3)
    table = curvature_at(net, x, y, [[0.0], [0.5]], [d], seed=3, iters=400)
    for row, step in zip(table.itertuples(), (0.0, 0.5), strict=True):
        ev = _dense_eigenvalues(net, x, y, {n: step * t for n, t in d.items()})
        tol = 1e-3 * float(ev.abs().max())
        assert abs(row.lambda_max - float(ev[-1])) < tol and abs(row.lambda_min - float(ev[0])) < tol
        assert np.isclose(row.ratio, abs(float(ev[0]) / float(ev[-1])), rtol=1e-2)
    assert list(net.parameters())[0].grad is None  # the model was not touched


def test_plane_points_are_the_centre_and_half_axes():
    assert plane_points(False, 1.0).tolist() == [[0.0], [-0.5], [0.5]]
    assert len(plane_points(True, 2.0)) == 5 and [0, 0] in plane_points(True, 2.0).tolist()
