"""Shattered gradients against known answers: a 1-layer net's gradient is piecewise constant, finite differences,
the batched forward-mode sweep against autograd, positive homogeneity, autocorrelation identities, the paper's
ordering (feedforward+BN shatters, residual+BN does not), and headlines that follow the numbers."""

import copy

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
import torch

from models.data import SHAPES_MEAN, SHAPES_STD, make_shapes
from models.resnet import ResNet, ResNetConfig
from viz.charts import shattered as sc
from viz.measures import shattered as sh


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


@pytest.mark.parametrize("kind", sh.KINDS)
def test_batched_forward_mode_gradients_are_the_autograd_gradients_of_the_same_nets(kind):
    seeds = (0, 7)
    g, co = sh.line_gradients(kind, 5, seeds, points=64, dtype=torch.float64)
    assert g.shape == (2, 5, 64) and co.shape == (2, 5)
    for i, s in enumerate(seeds):
        for L in (1, 2, 5):  # nested: depth L of the sweep is ScalarNet(kind, L), its own readout included
            _, want = sh.scalar_gradients(kind, L, seed=s, points=64)
            np.testing.assert_allclose(g[i, L - 1], want, rtol=1e-9, atol=1e-12 * np.abs(want).max())


def test_residual_scaling_and_zero_biases_reach_the_nets():
    g, _ = sh.line_gradients("residual+bn", 3, (1,), points=32, beta=0.25, bias="zero", dtype=torch.float64)
    _, want = sh.scalar_gradients("residual+bn", 3, seed=1, points=32, beta=0.25, bias="zero")
    np.testing.assert_allclose(g[0, -1], want, rtol=1e-9)
    _, plain = sh.scalar_gradients("residual+bn", 3, seed=1, points=32)
    assert not np.allclose(want, plain)
    net = sh.ScalarNet("feedforward", 4, seed=3, bias="zero")
    assert all(float(m.bias.detach().abs().max()) == 0 for m in [net.inp, *net.hidden, net.out])
    with pytest.raises(ValueError, match="bias must be"):
        sh.ScalarNet("feedforward", 2, bias="large")
    with pytest.raises(ValueError, match="beta"):
        sh.line_gradients("residual", 2, beta=0)


@pytest.mark.parametrize("kind", ["feedforward", "residual"])
def test_without_bn_and_biases_the_net_is_positively_homogeneous_so_its_gradient_takes_two_values(kind):
    x, g = sh.scalar_gradients(kind, 12, seed=4, bias="zero")
    neg, pos = g[x < 0], g[x > 0]
    assert np.ptp(neg) <= 1e-9 * np.abs(g).max() and np.ptp(pos) <= 1e-9 * np.abs(g).max()
    assert sh.neighbour_correlation(g) > 0.95  # one jump in 256 points: no shattering at any depth


def test_coactivation_of_the_first_layer_is_counted_from_its_on_off_pattern():
    _, co = sh.line_gradients("feedforward", 1, (5,), points=50, dtype=torch.float64)
    net = sh.ScalarNet("feedforward", 1, seed=5).double()
    x = sh.grid(50)
    on = (net.inp(x[:, None]) > 0).numpy()  # (N, W)
    n = on.sum(0)
    want = (n * (n - 1)).sum() / (n * (len(x) - 1)).sum()  # of the units on at one point, the share on at another
    assert co[0, 0] == pytest.approx(want, rel=1e-12)


def test_bn_keeps_half_the_units_on_and_without_bn_the_pattern_freezes_along_the_line():
    df = sh.sweep(kinds=("feedforward", "feedforward+bn"), depths=(2, 32), seeds=2)
    co = df.groupby(["kind", "depth"]).coactive.mean()
    assert abs(co["feedforward+bn", 32] - 0.5) < 0.05  # the paper's assumption: independent patterns, half on
    assert co["feedforward", 32] > co["feedforward", 2] and co["feedforward", 32] > 0.75
    assert set(df.columns) == {"kind", "depth", "seed", "correlation", "coactive"} and len(df) == 2 * 2 * 2


def test_neighbour_correlation_of_many_rows_is_the_correlation_of_each_row():
    rng = np.random.default_rng(1)
    g = np.cumsum(rng.standard_normal((3, 2, 40)), -1)
    r = sh.neighbour_correlation(g)
    assert r.shape == (3, 2)
    for i in range(3):
        for j in range(2):
            assert r[i, j] == pytest.approx(np.corrcoef(g[i, j, :-1], g[i, j, 1:])[0, 1])
    assert sh.neighbour_correlation(np.zeros(5)) == 1.0


def _catalog(rows):
    return pd.DataFrame(rows, columns=["name", "dataset", "depth", "test_acc"])


def test_classifier_pairs_mark_a_net_that_never_trained_and_put_it_last():
    cat = _catalog([("shapes-resnet56", "shapes", 56, 0.99), ("shapes-plain56", "shapes", 56, 0.131),
                    ("shapes-resnet20", "shapes", 20, 0.99), ("shapes-plain20", "shapes", 20, 0.98),
                    ("cifar10-resnet20", "cifar10", 20, 0.85), ("cifar10-plain20", "cifar10", 20, 0.82),
                    ("cifar10-resnet8", "cifar10", 8, 0.7)])  # no plain8 twin: no pair
    p = sh.classifier_pairs(cat)
    assert list(p.resnet) == ["cifar10-resnet20", "shapes-resnet20", "shapes-resnet56"]
    assert list(p.trained) == [True, True, False]
    assert p.label.iloc[2] == "shapes, depth 56: plain56 never trained (13%, chance 10%)"
    assert list(p.label.iloc[:2]) == ["CIFAR-10, depth 20 (85% / 82%)", "shapes, depth 20 (99% / 98%)"]
    assert sh.classifier_pairs(_catalog([])).empty


def _sweep_frame(ffbn, resbn, ff, co_ff=0.9):
    rows = []
    for kind, r, co in (("feedforward+bn", ffbn, 0.5), ("residual+bn", resbn, 0.5), ("feedforward", ff, co_ff),
                        ("residual", 0.8, 0.9)):
        for d, rr in ((1, 0.99), (50, r)):
            rows += [dict(kind=kind, depth=d, seed=s, correlation=rr + 0.02 * s - 0.01, coactive=co) for s in range(2)]
    return pd.DataFrame(rows)


def test_the_headline_says_what_reproduces_and_what_does_not_from_the_numbers():
    h = sc.headline(_sweep_frame(ffbn=0.01, resbn=0.6, ff=0.7, co_ff=0.93))
    assert h.startswith("As in Balduzzi et al., at L = 50") and "(neighbour correlation 0.01)" in h
    assert "not reproduced: without BN the feedforward net does not shatter (0.70)" in h and "co-activation 0.93" in h
    h = sc.headline(_sweep_frame(ffbn=0.6, resbn=0.1, ff=0.1))
    assert h.startswith("Unlike in Balduzzi et al.") and "shatters too" in h and "not reproduced" not in h
    fig, cap = sc.correlation_depth(_sweep_frame(ffbn=0.01, resbn=0.6, ff=0.7))
    assert isinstance(fig, go.Figure) and "1/sqrt(L) = 0.14" in cap and "residual+bn 0.60" in cap
    assert cap.headline == "At L = 50 feedforward+bn has the least correlated gradients (0.01) and residual the most (0.80)."
    assert "0.60 against 0.14" in sc.depth_notes(_sweep_frame(ffbn=0.01, resbn=0.6, ff=0.7))


def test_chart_headlines_follow_the_curves():
    x = np.linspace(-2, 2, 256)
    noise = np.random.default_rng(0).standard_normal(256)
    curves = {sh.Net("feedforward+bn", 24): (x, noise), sh.Net("residual+bn", 24): (x, np.sin(x))}
    fig, cap = sc.gradient_curves(curves)
    head = cap.headline  # (the caption's text is the detail: every number and the method)
    assert "Neighbour correlation (the Pearson correlation" in cap
    assert len(fig.data) == 2 and head.startswith("Only feedforward+bn, L = 24 looks like white noise")
    fig, cap = sc.autocorrelations(curves)
    head = cap.headline
    assert head.startswith("feedforward+bn, L = 24 forgets its neighbours: r < 0.5 one step away")
    assert "residual+bn, L = 24 stays above 0.5" in head
    head = sc.gradient_curves({"a": (x, np.sin(x)), "b": (x, np.cos(x))})[1].headline
    assert head.startswith("No gradient here looks like white noise")
    lines = {"ResNet-20": pd.DataFrame({"t": x, "grad": np.sin(x)}), "plain-20": pd.DataFrame({"t": x, "grad": noise})}
    fig, cap = sc.image_lines(lines, {"ResNet-20": 0.9, "plain-20": 0.05})
    assert "plain-20's gradient is the rougher" in cap.headline and "(never trained: chance is 10%)" in cap
