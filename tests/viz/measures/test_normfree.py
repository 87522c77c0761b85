import math

import pytest
import torch
import torch.nn.functional as F

from models.data import make_shapes
from models.resnet import ResNet
from viz.charts.normfree import finding, gradients_at_init, training_curves
from viz.measures import normfree as nf


def block_grads(scheme, depth, batch=8, seed=0):
    """||dL/dh_i|| at each block's output, straight from torch.autograd.grad (the reference)."""
    m = ResNet(nf.config(scheme, depth), seed=seed).train()
    x, y = make_shapes("test", n=batch, seed=seed)
    h, outs = m.features(x.float() / 255), []
    for b in m.blocks:
        h = b(h)
        outs.append(h)
    grads = torch.autograd.grad(F.cross_entropy(m.head(h), y), outs)
    return [float(g.norm()) for g in grads]


def test_block_gradients_equal_autograd_and_the_schemes_are_flat_at_init():
    layers, blocks = nf.at_init((8, 14), batch=8)
    for scheme in nf.SCHEMES:
        got = blocks[(blocks.scheme == scheme) & (blocks.depth == 14)].grad_norm.tolist()
        assert got == pytest.approx(block_grads(scheme, 14), rel=1e-5), scheme
    s = nf.summary(layers, blocks).set_index(["scheme", "depth"])
    for scheme in ("SkipInit", "ReZero"):  # identity blocks: the gradient is the same at every block of a stage
        g = blocks[(blocks.scheme == scheme) & (blocks.depth == 14)]
        for _, stage in g.groupby("stage"):
            assert stage.grad_norm.iloc[1:].tolist() == pytest.approx([stage.grad_norm.iloc[1]] * (len(stage) - 1))
        assert s.loc[(scheme, 14), "zero_grad_convs"] == 12  # every branch conv: its branch is multiplied by 0
    assert s.loc[("Fixup", 14), "first_block_grad"] == 0  # the zero classifier: no gradient reaches a block
    sentence = finding(nf.summary(layers, blocks), 14)
    assert sentence.startswith("At depth 14") and "ReZero: stays within" in sentence
    fig, cap = gradients_at_init(blocks, nf.summary(layers, blocks), 14)
    assert len(fig.data) == 2 * len(nf.SCHEMES) and cap.headline == sentence


def test_cli_prints_the_tables(capsys):
    nf.main(["--depth", "8", "--depths", "8", "--batch", "4"])
    out = capsys.readouterr().out
    assert "block_grad_ratio" in out and "At depth 8" in out


@pytest.mark.slow
def test_rezero_without_bn_trains_where_the_plain_net_without_bn_does_not():
    runs = nf.live_training()
    tail = {k: r["losses"][-len(r["losses"]) // 5:] for k, r in runs.items()}
    rezero = sum(tail["ReZero"]) / len(tail["ReZero"])
    plain = sum(tail["plain, no BN"]) / len(tail["plain, no BN"]) if runs["plain, no BN"]["status"] == "done" else math.inf
    assert runs["ReZero"]["status"] == "done" and rezero < min(plain, math.log(10)), (rezero, plain)
    fig, cap = training_curves({k: r["losses"] for k, r in runs.items()})
    assert "ReZero ends lowest" in cap.headline
