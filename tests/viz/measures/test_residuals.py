"""viz.residuals on small models with known answers; PyTorch (the model's own forward, autograd, the probe)
is the oracle."""

import itertools
import math

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from models.data import SHAPES_MEAN, SHAPES_STD, make_shapes
from models.resnet import ResNet, ResNetConfig
from viz.measures import residuals as R
from viz.measures.common import borrowed
from viz.probe import probe


def net(depth=8, skip=True, init="kaiming", seed=0, shortcut="A"):
    """A small model with non-trivial BN running statistics, in eval mode (as zoo models are)."""
    torch.manual_seed(seed)
    m = ResNet(ResNetConfig(depth=depth, skip=skip, init=init, shortcut=shortcut, mean=SHAPES_MEAN, std=SHAPES_STD))
    with torch.no_grad():
        for mod in m.modules():
            if isinstance(mod, nn.BatchNorm2d):
                mod.running_mean.uniform_(-0.2, 0.2)
                mod.running_var.uniform_(0.5, 2.0)
                if init != "zero_residual":
                    mod.weight.uniform_(0.5, 1.5)
                    mod.bias.uniform_(-0.2, 0.2)
    return m.eval()


@pytest.fixture(scope="module")
def data():
    x, y = make_shapes("test", n=24, seed=3)
    return x.float() / 255, y


def snapshot(m):
    return {k: v.clone() for k, v in m.state_dict().items()}, m.training


def assert_untouched(m, snap):
    state, training = snap
    assert m.training == training
    assert all(torch.equal(v, state[k]) for k, v in m.state_dict().items())
    assert all(p.grad is None for p in m.parameters())
    for mod in m.modules():
        assert not mod._forward_hooks and not mod._forward_pre_hooks and not mod._backward_hooks


def test_residual_ratio_and_response_std_match_the_probe(data):
    x, y = data
    m = net()
    snap = snapshot(m)
    blocks, layers = R.response_sums(m, x)
    t = probe(m, x, y, bn_mode="eval")
    rr = R.residual_table(blocks)
    np.testing.assert_allclose(rr.residual_ratio, t.blocks.residual_ratio, rtol=1e-5)
    rs = R.response_table(layers)
    want = t.layers.set_index("layer").response_std
    np.testing.assert_allclose(rs.response_std, want.loc[rs.layer].to_numpy(), rtol=1e-4)
    # every 3x3 conv of a ResNet-8 (stem + 2 per block), in input-to-output order
    assert list(rs.layer) == ["conv"] + [f"blocks.{i}.branch.conv{j}" for i in range(3) for j in (1, 2)]
    assert sorted(rs["rank"]) == list(range(1, 8))
    assert rs.sort_values("rank").response_std.is_monotonic_decreasing
    assert_untouched(m, snap)


def test_chunked_sums_equal_one_pass(data):
    x, y = data
    m = net(seed=1)
    whole = R.response_sums(m, x)
    b, lay = R.in_chunks(R.response_sums, m, x, y, size=7)
    np.testing.assert_allclose(R.residual_table(b).residual_ratio, R.residual_table(whole[0]).residual_ratio, rtol=1e-9)
    np.testing.assert_allclose(R.response_table(lay).response_std, R.response_table(whole[1]).response_std, rtol=1e-9)
    assert R.chunks(10, 4) == [(0, 4), (4, 8), (8, 10)]
    with pytest.raises(ValueError):
        R.chunks(10, 0)


def test_settings_equal_the_models_own_forward(data):
    x, y = data
    m = net(depth=14, seed=2)  # 6 blocks, 2 of them downsampling
    n = len(m.blocks)
    rng = np.random.default_rng(0)
    settings = R.single_lesions(n) + [("mixed", list(rng.random(n) < 0.5), list(rng.random(n) < 0.3)),
                                      ("skips off", [False] * n, None), ("skip on as given", [True] * n, None)]
    snap = snapshot(m)
    got = R.setting_table(R.in_chunks(R.setting_sums, m, x, y, settings, size=10))
    assert list(got.setting) == [s[0] for s in settings]
    with torch.no_grad():
        for (_, skip, drop), row in zip(settings, got.itertuples()):
            logits = m(x, skip=skip, drop=drop)
            assert row.n == len(y)
            assert row.error == pytest.approx(float((logits.argmax(1) != y).float().mean()))
            assert row.loss == pytest.approx(float(F.cross_entropy(logits, y)), rel=1e-5)
    assert_untouched(m, snap)
    with pytest.raises(ValueError, match="one value per block"):
        R.setting_sums(m, x, y, [("bad", [True], None)])


def test_zero_branches_have_ratio_zero_and_survive_every_lesion(data):
    x, y = data
    m = net(depth=14, init="zero_residual")  # last BN gamma (and bias) 0: every F(x) = 0
    rr = R.residual_table(R.response_sums(m, x)[0])
    assert (rr.residual_ratio == 0).all()
    n = len(m.blocks)
    settings = R.single_lesions(n) + R.random_lesions(n, range(1, n + 1), samples=3, seed=1)[1:]
    les = R.lesion_table(R.setting_sums(m, x, y, settings), m)
    assert (les.error == les.base_error).all()
    intact = R.setting_table(R.setting_sums(m, x, y, settings[:1])).loss.iloc[0]
    np.testing.assert_allclose(les.loss, intact, rtol=1e-6)


def test_a_trained_networks_lesions_hurt(data):
    """The opposite known answer: deleting every branch of a net with non-zero branches changes its output."""
    x, y = data
    m = net(depth=14, seed=4)
    d = R.setting_table(R.setting_sums(m, x, y, R.switch_settings(m)))
    assert list(d.setting) == ["as trained", "all skips off", "all branches deleted"]
    assert d.loss.nunique() == 3


def test_lesion_table_marks_downsampling_blocks(data):
    x, y = data
    m = net(depth=14)  # blocks 2 and 4 start stages 2 and 3
    les = R.lesion_table(R.setting_sums(m, x, y, R.single_lesions(6)), m)
    assert list(les.block) == list(range(6)) and (les.k == 1).all()
    assert list(les.downsampling) == [False, False, True, False, True, False]
    assert list(les.stage) == [0, 0, 1, 1, 2, 2]
    with pytest.raises(ValueError, match="intact"):
        R.lesion_table(R.setting_sums(m, x, y, R.single_lesions(6)[1:]), m)


def test_random_lesion_sets():
    sets = R.random_lesion_sets(9, [1, 2, 8, 9], samples=5, seed=0)
    by_k = {k: [s for s in sets if len(s) == k] for k in (1, 2, 8, 9)}
    assert len(by_k[2]) == 5 and len(set(by_k[2])) == 5  # distinct draws
    assert sorted(by_k[9]) == [tuple(range(9))]  # only one way
    assert len(by_k[8]) == 5 and len(by_k[1]) == 5
    assert all(len(set(s)) == len(s) and max(s) < 9 for s in sets)
    assert len(R.random_lesion_sets(4, [2], samples=100)) == math.comb(4, 2)  # all 6 when fewer than asked
    assert R.random_lesion_sets(9, [3], 4, seed=7) == R.random_lesion_sets(9, [3], 4, seed=7)
    with pytest.raises(ValueError):
        R.random_lesion_sets(9, [10], 1)


@pytest.mark.parametrize("shortcut", ["A", "B"])
def test_all_paths_sum_to_the_full_gradient(data, shortcut):
    """Backprop is linear once the forward pass is fixed: the 2^n single-path gradients add up to dL/dx_0."""
    x, y = data
    m = net(depth=8, seed=5, shortcut=shortcut)
    snap = snapshot(m)
    with borrowed(m) as copy:
        x0, rec, g_top = R.path_graph(copy, x[:6], y[:6])
        masks = torch.tensor(list(itertools.product([False, True], repeat=3)))  # all 8 paths through 3 blocks
        total = R.path_grads(rec, masks, g_top).sum(0)
        with torch.enable_grad():
            (full,) = torch.autograd.grad(F.cross_entropy(copy.head(rec[-1][4]), y[:6]), x0)
    torch.testing.assert_close(total, full, rtol=1e-4, atol=1e-7)
    assert_untouched(m, snap)


def test_path_gradient_samples_and_table(data):
    x, y = data
    m = net(depth=14, seed=6)
    s = R.path_gradient_sums(m, x[:4], y[:4], ks=range(7), samples=5, seed=0)
    assert len(s) == 35 and (s.grad_norm > 0).all()
    t = R.path_table(s, 6)
    assert list(t.paths) == [1, 6, 15, 20, 15, 6, 1]
    np.testing.assert_allclose(t.total, t.mean_grad * t.paths)
    assert t.share.sum() == pytest.approx(1.0)
    span = R.path_span(t, mass=0.9)
    assert 0 <= span["lo"] <= span["peak"] <= span["hi"] <= 6
    assert span["mean_length"] == pytest.approx(3.0)  # binomial(6, 1/2)
    # k = 0 is one path (all skips): every draw is the same number
    assert s[s.k == 0].grad_norm.nunique() == 1


def test_zero_branches_pass_no_gradient_along_longer_paths(data):
    x, y = data
    m = net(depth=14, init="zero_residual")
    s = R.path_gradient_sums(m, x[:4], y[:4], ks=[0, 1, 3], samples=3)
    assert (s[s.k == 0].grad_norm > 0).all()
    assert (s[s.k > 0].grad_norm == 0).all()  # the last BN's gamma = 0 blocks the gradient into every branch


def test_path_gradients_refuse_a_plain_net(data):
    x, y = data
    with pytest.raises(ValueError, match="residual network"):
        R.path_gradient_sums(net(skip=False), x[:2], y[:2], ks=[1], samples=1)


# --- captions are computed from the numbers -------------------------------------------------------------

from viz.charts import residuals as C  # noqa: E402


def layers_with_std(values, depth, skip):
    d = R.pd.DataFrame(dict(layer=[f"l{i}" for i in range(len(values))], index=range(1, len(values) + 1),
                            block=0, stage=0, response_std=values, depth=depth, skip=skip))
    d["rank"] = d.response_std.rank(ascending=False, method="first").astype(int)
    return d


def test_response_std_caption_gives_the_verdict():
    fig, cap = C.response_std({"ResNet-20": layers_with_std([0.5, 0.7], 20, True),
                               "plain-20": layers_with_std([0.9, 1.1], 20, False)})
    assert "ResNet-20 below plain-20 (0.6 vs 1)" in cap and "agrees with the paper" in cap
    assert len(fig.data) == 4  # original order and sorted, for each network
    _, cap = C.response_std({"ResNet-20": layers_with_std([0.5, 0.7], 20, True),
                             "ResNet-56": layers_with_std([0.8, 0.8], 56, True),
                             "plain-20": layers_with_std([0.4, 0.4], 20, False)})
    assert "NOT below" in cap and "do NOT respond steadily less" in cap and "differs from the paper" in cap


def test_lesion_and_path_captions(data):
    x, y = data
    res, plain = net(depth=14, seed=4), net(depth=14, skip=False, seed=4)
    tables = {m.config.name: R.lesion_table(R.setting_sums(m, x, y, R.single_lesions(6)), m) for m in (res, plain)}
    fig, cap = C.single_lesions(tables)
    for name, t in tables.items():
        assert f"{name}: intact {100 * t.base_error.iloc[0]:.1f}%" in cap
        assert f"worst {100 * t.error.max():.1f}%" in cap
    assert "Veit et al. 2016" in cap and len(fig.data) == 2
    t = R.path_table(R.path_gradient_sums(res, x[:2], y[:2], range(7), samples=3), 6)
    span = R.path_span(t)
    _, cap = C.path_lengths(t, span, "ResNet-14")
    assert f"paths through {span['lo']} to {span['hi']} blocks" in cap
    assert ("differs from the paper" in cap) == (span["per_block"] >= 1)
