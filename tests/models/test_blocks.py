"""The skip designs: interface, skip/drop switches, identity at zero init, the probe on each, skip shares by hand."""

import pytest
import torch
import torch.nn as nn

from models.blocks import BLOCKS, DESIGNS, BasicBlock, DenseBlock, HighwayBlock, convs_per_block
from models.resnet import ResNet, ResNetConfig, count_parameters
from viz.probe import probe

ADDITIVE = ("basic", "preact", "bottleneck", "inverted")


def net(block, **kw):
    torch.manual_seed(0)
    return ResNet(ResNetConfig(depth=8, block=block, **kw))


@pytest.fixture(scope="module")
def batch():
    torch.manual_seed(1)
    return torch.rand(4, 3, 32, 32), torch.tensor([0, 1, 2, 3])


def test_basic_resnet20_is_unchanged_and_bad_block_names_are_refused():
    assert BLOCKS["basic"] is BasicBlock
    assert count_parameters(ResNet(ResNetConfig(depth=20))) == 269722
    with pytest.raises(ValueError, match="block must be one of basic, preact"):
        ResNetConfig(block="wide")


@pytest.mark.parametrize("block", list(BLOCKS))
def test_every_design_builds_with_the_block_interface(block, batch):
    m = net(block)
    assert all(isinstance(b, BLOCKS[block]) for b in m.blocks) and len(m.blocks) == 3
    assert [b.stage for b in m.blocks] == [0, 1, 2]
    for b in m.blocks:
        assert isinstance(b.branch, nn.Module) and isinstance(b.shortcut, nn.Module)
    x, _ = batch
    out = m(x)
    assert out.shape == (4, 10) and torch.isfinite(out).all()
    assert not torch.allclose(m(x, skip=[False] * 3), out)  # the skip switch changes the function
    assert not torch.allclose(m(x, drop=[True] * 3), out)  # so does the lesion
    torch.testing.assert_close(m(x, skip=[True] * 3, drop=[False] * 3), out)


@pytest.mark.parametrize("block", list(BLOCKS))
def test_a_zeroed_branch_leaves_only_the_skip(block):
    """init=zero_residual zeroes each block's last norm (or conv): F(x) = 0, so the block passes its skip on."""
    m = net(block, init="zero_residual").eval()
    with torch.no_grad():
        x = m.features(torch.rand(2, 3, 32, 32))  # each block gets its real input
        for b in m.blocks:
            assert torch.count_nonzero(b.branch(x)) == 0
            s = b.shortcut(x)
            if isinstance(b, DenseBlock):
                want = torch.cat([s[:, b.k :], torch.zeros_like(s[:, : b.k])], 1)
            elif isinstance(b, HighwayBlock):
                want = b.act((1 - b.transform_gate(x)) * s)
            else:
                want = b.act(s)
            torch.testing.assert_close(b(x), want)
            if block in ADDITIVE:
                torch.testing.assert_close(b(x, drop=True), s)  # the lesion passes shortcut(x) on
            x = b(x)


@pytest.mark.parametrize("block", list(BLOCKS))
def test_the_probe_measures_every_design_and_changes_nothing(block, batch):
    m = net(block)
    before = {k: v.clone() for k, v in m.state_dict().items()}
    t = probe(m, *batch)
    assert t.finite and len(t.blocks) == 3
    assert t.blocks.skip_share.between(0, 1).all()
    assert (t.layers[t.layers.path == "branch"].groupby("block").size() == convs_per_block(block)).all()
    assert t.layers[t.layers.path == "branch"].response_std.notna().all()
    assert all(torch.equal(before[k], v) for k, v in m.state_dict().items())
    assert all(p.grad is None for p in m.parameters())
    plain = probe(m, *batch, skip=[False] * 3)
    assert (plain.blocks.skip_share == 0).all()


def test_dense_skip_gradient_is_the_carried_slice():
    """out = cat(x[:, k:], F(x)): through the skip, channel c of x receives g_out[:, c - k] (c >= k), else 0."""
    b = DenseBlock(16, 16, 1, ResNetConfig(), 0)
    x, g = torch.rand(2, 16, 8, 8), torch.randn(2, 16, 8, 8)
    got = b.skip_vjp(x, b.branch(x), g)
    want = torch.cat([torch.zeros(2, b.k, 8, 8), g[:, : 16 - b.k]], 1)
    torch.testing.assert_close(got, want)


def test_highway_skip_gradient_is_the_gated_carry():
    """out = relu(T F + (1 - T) x): through the carry, dL/dx = (1 - T) relu'(pre) g, T and F held fixed."""
    b = HighwayBlock(16, 16, 1, ResNetConfig(), 0).eval()
    x, g = torch.rand(2, 16, 8, 8), torch.randn(2, 16, 8, 8)
    with torch.no_grad():
        fx, t = b.branch(x), b.transform_gate(x)
        pre = t * fx + (1 - t) * x
    torch.testing.assert_close(b.skip_vjp(x, fx, g), (1 - t) * (pre > 0) * g)
    assert float(t.mean()) == pytest.approx(torch.sigmoid(torch.tensor(-2.0)).item(), abs=0.15)  # mostly carry at init


def test_the_design_list_covers_every_block_and_plain():
    assert {b for b, _ in DESIGNS.values()} == set(BLOCKS)
    assert ("basic", False) in DESIGNS.values()
