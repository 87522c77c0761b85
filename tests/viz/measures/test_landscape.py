"""Loss landscapes against known answers: filter norms, the model's own loss at 0, a hand-perturbed copy, no mutation."""

import copy

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F

from models.data import SHAPES_MEAN, SHAPES_STD, make_shapes
from models.resnet import ResNet, ResNetConfig
from viz.measures import landscape as ls


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    m = ResNet(ResNetConfig(depth=8, mean=SHAPES_MEAN, std=SHAPES_STD))
    x, _ = make_shapes("train", n=64, start=500)
    with torch.no_grad():  # non-trivial BN running statistics, so eval mode differs from train mode
        for _ in range(3):
            m(x.float() / 255)
    return m.eval()


@pytest.fixture(scope="module")
def data():
    x, y = make_shapes("train", n=12)
    return x.float() / 255, y


def snapshot(m):
    return {k: v.clone() for k, v in m.state_dict().items()}


def test_direction_has_the_models_filter_norms_and_no_bn_or_bias_part(model):
    d = ls.filter_normalized_direction(model, seed=3)
    assert set(d) == {n for n, _ in model.named_parameters()}
    for name, w in model.named_parameters():
        if w.dim() <= 1:  # BN weights and biases, linear bias
            assert torch.count_nonzero(d[name]) == 0, name
        else:
            torch.testing.assert_close(d[name].flatten(1).norm(dim=1), w.detach().flatten(1).norm(dim=1), rtol=1e-5, atol=1e-7)
            assert not torch.allclose(d[name], w.detach())  # a random direction, not the weights
    d2 = ls.filter_normalized_direction(model, seed=3)
    d3 = ls.filter_normalized_direction(model, seed=4)
    assert all(torch.equal(d[k], d2[k]) for k in d)
    assert not torch.equal(d["conv.weight"], d3["conv.weight"])


def test_alpha_zero_is_the_models_loss_in_eval_mode(model, data):
    x, y = data
    df = ls.slice_1d(model, x, y, steps=5, span=1.0)
    with torch.no_grad():
        logits = model(x)
    want = float(F.cross_entropy(logits, y))
    centre = df.loc[df.alpha.abs().idxmin()]
    assert centre.alpha == 0
    assert centre.loss == pytest.approx(want, rel=1e-5)
    assert centre.accuracy == pytest.approx(float((logits.argmax(1) == y).float().mean()))


def test_a_point_equals_a_hand_perturbed_copy(model, data):
    x, y = data
    d1, d2 = ls.filter_normalized_direction(model, 0), ls.filter_normalized_direction(model, 1)
    loss, _ = ls.evaluate_grid(model, x, y, [d1, d2], [[0.3, -0.7]], batch=5)  # batches of 5: 5 + 5 + 2 images
    twin = copy.deepcopy(model)
    with torch.no_grad():
        for n, p in twin.named_parameters():
            p.add_(0.3 * d1[n] - 0.7 * d2[n])
        want = float(F.cross_entropy(twin(x), y))
    assert loss[0] == pytest.approx(want, rel=1e-4)


def test_the_model_is_not_changed_and_keeps_its_mode(data):
    torch.manual_seed(1)
    m = ResNet(ResNetConfig(depth=8, mean=SHAPES_MEAN, std=SHAPES_STD)).train()  # train mode: BN would update stats
    before = snapshot(m)
    x, y = data
    calls = []
    df = ls.surface_2d(m, x, y, steps=3, progress=lambda d, t: calls.append((d, t)))
    after = snapshot(m)
    assert all(torch.equal(before[k], after[k]) for k in before)  # weights and BN running stats
    assert m.training and all(p.grad is None for p in m.parameters())
    assert calls == [(i, 9) for i in range(1, 10)]
    assert list(df.columns) == ["alpha", "beta", "loss", "accuracy"] and len(df) == 9
    with torch.no_grad():  # the centre uses running statistics (eval), whatever mode the model is in
        want = float(F.cross_entropy(copy.deepcopy(m).eval()(x), y))
    assert float(df[(df.alpha == 0) & (df.beta == 0)].loss.iloc[0]) == pytest.approx(want, rel=1e-5)


def test_grid_and_shape_stats_on_known_surfaces():
    a = np.linspace(-1, 1, 7)
    A, B = np.meshgrid(a, a)
    bowl = pd.DataFrame({"alpha": A.ravel(), "beta": B.ravel(), "loss": (A**2 + 2 * B**2).ravel()})
    _, _, Z = ls.grid(bowl)
    np.testing.assert_allclose(Z, A**2 + 2 * B**2)
    s = ls.shape_stats(bowl)
    assert s["local_minima"] == 1 and s["nonconvex_share"] == 0 and s["loss_centre"] == 0
    bumpy = bowl.assign(loss=np.cos(6 * A.ravel()) + np.cos(6 * B.ravel()))
    s = ls.shape_stats(bumpy)
    assert s["local_minima"] > 1 and s["nonconvex_share"] > 0.3
    line = pd.DataFrame({"alpha": a, "loss": a**2})
    assert ls.shape_stats(line)["local_minima"] == 1 and ls.shape_stats(line)["nonconvex_share"] == 0
