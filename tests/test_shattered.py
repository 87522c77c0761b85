"""Shattered gradients against known answers: a 1-layer net's gradient is piecewise constant, finite differences,
autocorrelation identities, and the paper's ordering (feedforward+BN shatters, residual+BN does not)."""

import copy

import numpy as np
import pytest
import torch

from models.data import SHAPES_MEAN, SHAPES_STD, make_shapes
from models.resnet import ResNet, ResNetConfig
from viz import shattered as sh


def test_one_layer_gradient_is_the_analytic_piecewise_constant_function():
    net = sh.ScalarNet("feedforward", 1, seed=5).double()
    x = torch.linspace(-2, 2, 256, dtype=torch.float64)
    g = sh.input_gradient(net, x)
    w, b = net.inp.weight[:, 0].detach(), net.inp.bias.detach()
    v = net.out.weight[0].detach()
    want = ((w * x[:, None] + b > 0).double() * (v * w)).sum(1).numpy()  # sum_j v_j w_j [w_j x + b_j > 0]
    np.testing.assert_allclose(g, want, rtol=1e-10, atol=1e-12)
    kinks = np.sort((-b / w).numpy())
    piece = np.searchsorted(kinks, x.numpy())  # points between the same two kinks share one gradient
    for p in np.unique(piece):
        vals = g[piece == p]
        assert np.ptp(vals) < 1e-12
    assert len(np.unique(np.round(g, 10))) <= np.sum((kinks > -2) & (kinks < 2)) + 1


@pytest.mark.parametrize("kind", sh.KINDS)
def test_deep_gradients_match_finite_differences(kind):
    net = sh.ScalarNet(kind, 6, seed=2).double()
    x = torch.linspace(-2, 2, 64, dtype=torch.float64)
    g = sh.input_gradient(net, x)
    h = 1e-6
    stats = net.batch_stats(x)  # BN normalizes with the batch's statistics, held fixed: so does the oracle
    with torch.no_grad():
        fd = ((net(x + h, stats) - net(x - h, stats)) / (2 * h)).numpy()
    close = np.abs(g - fd) <= 1e-5 * (1 + np.abs(g))
    assert close.mean() > 0.9  # all but the points within h of a kink


def test_autocorrelation_and_neighbour_correlation_identities():
    rng = np.random.default_rng(0)
    noise = rng.standard_normal(4096)
    r = sh.autocorrelation(noise, 5)
    assert r[0] == pytest.approx(1.0) and np.all(np.abs(r[1:]) < 0.06)
    assert sh.neighbour_correlation(noise) == pytest.approx(np.corrcoef(noise[:-1], noise[1:])[0, 1])
    smooth = np.sin(np.linspace(0, 3, 256))
    assert sh.neighbour_correlation(smooth) > 0.99 and sh.autocorrelation(smooth, 3)[1] > 0.9
    assert np.all(sh.autocorrelation(np.full(10, 3.0), 4) == 1)


def test_feedforward_with_bn_shatters_and_residual_with_bn_does_not():
    df = sh.correlation_vs_depth(kinds=("feedforward+bn", "residual+bn"), depths=(1, 16), seeds=3)
    m = df.groupby(["kind", "depth"]).correlation.mean()
    assert m["feedforward+bn", 1] > 0.8 and m["residual+bn", 1] > 0.8
    assert m["feedforward+bn", 16] < 0.3 < m["residual+bn", 16]


def test_paper_trends_and_bad_kind():
    t = sh.paper_trends([1, 4])
    assert t.iloc[0, 1:].tolist() == [1.0, 1.0] and t.iloc[1, 1] == 2**-3 and t.iloc[1, 2] == 0.5
    with pytest.raises(ValueError, match="kind must be"):
        sh.ScalarNet("recurrent", 3)


def test_image_line_gradient_is_the_directional_derivative_and_leaves_the_model_alone():
    torch.manual_seed(0)
    model = ResNet(ResNetConfig(depth=8, mean=SHAPES_MEAN, std=SHAPES_STD)).train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    x, y = make_shapes("test", n=1)
    img = x[0].float() / 255
    df = sh.image_line_gradient(model, img, int(y[0]), points=8, radius=0.1, seed=3, batch=3)
    assert len(df) == 8 and np.isclose(df.t.iloc[0], -0.1) and np.isclose(df.t.iloc[-1], 0.1)
    # the oracle: u . d logit/dx at one point of the line, u rebuilt from the same seed
    u = torch.randn(img.shape, generator=torch.Generator().manual_seed(3))
    u = u / u.pow(2).mean().sqrt()
    net = copy.deepcopy(model).eval()
    p = (img + float(df.t.iloc[2]) * u)[None].requires_grad_()
    (gx,) = torch.autograd.grad(net(p)[0, int(y[0])], p)
    assert df.grad.iloc[2] == pytest.approx(float((gx[0] * u).sum()), rel=1e-4, abs=1e-6)
    assert model.training and all(p.grad is None for p in model.parameters())
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
