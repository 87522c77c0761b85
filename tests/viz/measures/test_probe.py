import copy
from concurrent.futures import ThreadPoolExecutor

import pandas as pd
import pytest
import torch
import torch.nn.functional as F

from models.data import SHAPES_MEAN, SHAPES_STD, make_shapes
from models.resnet import ResNet, ResNetConfig
from viz.measures.gradient_flow import first_last_gradients
from viz.probe import probe


def build(depth=20, **kw):
    torch.manual_seed(0)
    return ResNet(ResNetConfig(depth=depth, mean=SHAPES_MEAN, std=SHAPES_STD, **kw))


def batch(n=16):
    x, y = make_shapes("test", n=n, seed=1)
    return x.float() / 255, y


def oracle(model, x, y, skip, bn_mode="train"):
    """Every norm the probe reports, from plain autograd on a copy: per-path gradients via aliases of x."""
    net = copy.deepcopy(model).train(bn_mode == "train")
    h = net.features(x)
    ins, outs, via_skip, via_branch = [], [], [], []
    for b, s in zip(net.blocks, skip):
        xs, xb = h * 1, h * 1  # the same x, one alias per path
        r = b.branch(xb)
        h = b.act(r + b.shortcut(xs)) if s else b.act(r)
        ins.append((xs, xb))
        outs.append(h)
    loss = F.cross_entropy(net.head(h), y)
    layers = [m for m in net.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    flat = [t for pair in ins for t in pair]
    g = torch.autograd.grad(loss, [m.weight for m in layers] + outs + flat, allow_unused=True)
    gw, g = g[: len(layers)], g[len(layers) :]
    gout, gpaths = g[: len(outs)], g[len(outs) :]
    for k in range(len(outs)):
        gs, gb = gpaths[2 * k], gpaths[2 * k + 1]
        via_skip.append(float(gs.norm()) if gs is not None else 0.0)
        via_branch.append(float(gb.norm()))
    return loss.item(), [float(t.norm()) if t is not None else float("nan") for t in gw], [float(t.norm()) for t in gout], via_skip, via_branch


@pytest.mark.parametrize("kw", [dict(), dict(shortcut="B"), dict(norm="none"), dict(activation="tanh")])
@pytest.mark.parametrize("skip_on", [True, False])
def test_every_gradient_norm_equals_autograd(kw, skip_on):
    m = build(20, **kw)
    x, y = batch()
    skip = [skip_on] * len(m.blocks)
    t = probe(m, x, y, skip=skip)
    loss, gw, gout, gs, gb = oracle(m, x, y, skip)
    assert t.loss == pytest.approx(loss, rel=1e-5)
    # probe lists the layers in forward order; module order is the same here
    # unused weights (a projection in a plain net) have no gradient: NaN in both
    assert torch.allclose(torch.tensor(t.layers.grad_norm.to_list()), torch.tensor(gw), rtol=1e-5, equal_nan=True)
    assert torch.allclose(torch.tensor(t.blocks.grad_norm.to_list()), torch.tensor(gout), rtol=1e-5)
    share = torch.tensor(gs) / (torch.tensor(gs) + torch.tensor(gb))
    if skip_on:
        assert torch.allclose(torch.tensor(t.blocks.skip_share.to_list()), share, rtol=1e-4)
    else:
        assert (t.blocks.skip_share == 0).all() and t.name == "plain-20"


@pytest.mark.parametrize("kw", [dict(block="preact"), dict(block="bottleneck"), dict(block="inverted", shortcut="B"),
                                dict(shortcut="B", norm="none")])
def test_gradient_parts_read_during_the_backward_pass_equal_autograd(kw):
    """Additive blocks are measured as the backward pass reaches each tensor (tensor hooks; the branch reads x through
    a view of its own): each part of dL/dx, through the skip and through F, equals autograd's through an alias of x."""
    m = build(20, **kw)
    x, y = batch()
    skip = [i % 3 != 1 for i in range(len(m.blocks))]  # skip-on and skip-off blocks, and shape changes, mixed
    t = probe(m, x, y, skip=skip)
    loss, gw, gout, gs, gb = oracle(m, x, y, skip)
    assert t.loss == pytest.approx(loss, rel=1e-5)
    assert torch.allclose(torch.tensor(t.layers.grad_norm.to_list()), torch.tensor(gw), rtol=1e-5, equal_nan=True)
    assert torch.allclose(torch.tensor(t.blocks.grad_norm.to_list()), torch.tensor(gout), rtol=1e-5)
    assert torch.allclose(torch.tensor(t.blocks.grad_in_norm.to_list()[1:]), torch.tensor(gout[:-1]), rtol=1e-5)
    assert torch.allclose(torch.tensor(t.blocks.grad_skip_norm.to_list()), torch.tensor(gs), rtol=1e-5)
    assert torch.allclose(torch.tensor(t.blocks.grad_branch_norm.to_list()), torch.tensor(gb), rtol=1e-5)


@pytest.mark.parametrize("init", ["fixup", "skipinit", "rezero"])
def test_gradient_norms_equal_autograd_in_norm_free_nets(init):
    """Fixup, SkipInit and ReZero keep the block contract (their scalars sit inside the branch): every norm still
    equals autograd's. The scalars, Fixup's last convs and its classifier are moved off their init first (there most
    of the gradients are exactly 0, which would make the check trivial)."""
    m = build(20, norm="none", init=init)
    g = torch.Generator().manual_seed(2)
    with torch.no_grad():
        for p in m.parameters():
            if p.ndim == 0:
                p.add_(0.1 + 0.2 * torch.rand((), generator=g))  # positive: no block's ReLU dies where a skip is off
        if init == "fixup":
            m.fc.weight.normal_(0, 0.1, generator=g)
            for b in m.blocks:
                b.branch.conv2.weight.normal_(0, 0.02, generator=g)
    x, y = batch()
    skip = [i % 3 != 1 for i in range(len(m.blocks))]
    t = probe(m, x, y, skip=skip)
    loss, gw, gout, gs, gb = oracle(m, x, y, skip)
    assert t.loss == pytest.approx(loss, rel=1e-5)
    assert torch.allclose(torch.tensor(t.layers.grad_norm.to_list()), torch.tensor(gw), rtol=1e-5, equal_nan=True)
    assert min(gw[1:-1]) > 0  # every branch conv gets a gradient
    assert torch.allclose(torch.tensor(t.blocks.grad_norm.to_list()), torch.tensor(gout), rtol=1e-5)
    assert torch.allclose(torch.tensor(t.blocks.grad_skip_norm.to_list()), torch.tensor(gs), rtol=1e-5)
    assert torch.allclose(torch.tensor(t.blocks.grad_branch_norm.to_list()), torch.tensor(gb), rtol=1e-5)


def test_residual_ratio_and_response_std_are_those_of_the_branch():
    m = build(20)
    x, y = batch()
    t = probe(m, x, y, bn_mode="eval")
    net = copy.deepcopy(m).eval()
    with torch.no_grad():
        h = net.features(x)
        for i, b in enumerate(net.blocks):
            r = b.branch(h)
            assert t.blocks.residual_ratio[i] == pytest.approx(float(r.norm() / h.norm()), rel=1e-5)
            assert t.blocks.response_std[i] == pytest.approx(float(r.std()), rel=1e-5)
            h = b(h)


def state(m):
    return {k: v.clone() for k, v in m.state_dict().items()}


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_probe_never_changes_the_model(mode):
    m = build(20, shortcut="B")
    m.train(mode == "train")
    before = state(m)
    x, y = batch()
    for bn_mode in ("train", "eval"):
        probe(m, x, y, bn_mode=bn_mode, drop=[i == 2 for i in range(len(m.blocks))])
    after = m.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # BN running stats included
    assert all(p.grad is None for p in m.parameters())
    assert m.training == (mode == "train") and all(mod.training == m.training for mod in m.modules())
    for mod in m.modules():
        assert not mod._forward_hooks and not mod._forward_pre_hooks and not mod._backward_hooks


def test_hooks_are_removed_when_the_pass_fails():
    m = build(8)
    x, y = batch(4)
    with pytest.raises((ValueError, RuntimeError)):
        probe(m, x, y[:2])  # wrong label count: cross-entropy raises inside the hooked pass
    assert all(not mod._forward_hooks for mod in m.modules())


def test_eight_threads_on_one_model_give_exactly_the_serial_result():
    m = build(20)
    x, y = batch(8)
    settings = [dict(bn_mode=bm, skip=[s] * len(m.blocks)) for bm in ("train", "eval") for s in (True, False)] * 2
    serial = [probe(m, x, y, **kw) for kw in settings]
    with ThreadPoolExecutor(8) as pool:
        parallel = list(pool.map(lambda kw: probe(m, x, y, **kw), settings))
    for a, b in zip(serial, parallel):
        pd.testing.assert_frame_equal(a.layers, b.layers, check_exact=True)
        pd.testing.assert_frame_equal(a.blocks, b.blocks, check_exact=True)
        assert a.loss == b.loss


def test_drop_removes_the_residual():
    m = build(20)
    x, y = batch()
    drop = [False] * len(m.blocks)
    drop[4] = True
    t = probe(m, x, y, drop=drop)
    assert t.blocks.fx_norm[4] == 0 and t.blocks.dropped[4] and t.blocks.skip_share[4] == 1
    net = copy.deepcopy(m)
    with torch.no_grad():
        assert t.loss == pytest.approx(float(F.cross_entropy(net(x, drop=drop), y)), rel=1e-5)


def test_physics_bn_at_init_plain56_explodes_toward_the_input_resnet56_does_not():
    """Measured, not hard-coded: Yang et al. 2019's gradient explosion in deep BN plain nets at init."""
    m = build(56)
    x, y = make_shapes("test", n=32, seed=0)
    x = x.float() / 255
    res = probe(m, x, y, skip=[True] * len(m.blocks))
    plain = probe(m, x, y, skip=[False] * len(m.blocks))
    first_p, last_p = first_last_gradients(plain.layers)
    first_r, last_r = first_last_gradients(res.layers)
    assert first_p / last_p > 100
    assert first_r / last_r < 100


def test_cli_prints_the_tables(capsys):
    from viz.probe import main

    main(["--depth", "8", "--no-skip", "--batch", "4", "--format", "csv"])
    out = capsys.readouterr().out
    assert "grad_norm" in out and "skip_share" in out and "blocks.0.branch.conv1" in out
    with pytest.raises(SystemExit):
        main(["--depth", "9"])
    assert "6n+2" in capsys.readouterr().err
