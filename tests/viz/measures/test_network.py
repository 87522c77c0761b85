"""viz.network: where blocks are drawn, the numbers on a block's edges, the steps of a pass; and Home's text on
where gradients vanish, checked against the probe it quotes."""

import ast
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from models.data import SHAPES_MEAN, SHAPES_STD, make_shapes
from models.resnet import ResNet, ResNetConfig
from viz.charts.style import fmt
from viz.measures import network as net
from viz.measures.gradient_flow import first_last_gradients
from viz.probe import probe

ROOT = Path(__file__).resolve().parents[3]


def structure(depth):
    """trace.blocks' block and stage columns for a depth, taken from the model itself (no pass needed)."""
    m = ResNet(ResNetConfig(depth=depth))
    return pd.DataFrame({"block": range(len(m.blocks)), "stage": [b.stage for b in m.blocks]})


@pytest.fixture(scope="module")
def traces():
    """ResNet-20 with block 4's skip off and block 1's branch removed, and its plain twin."""
    m = ResNet(ResNetConfig(depth=20, mean=SHAPES_MEAN, std=SHAPES_STD), seed=0)
    x, y = make_shapes("test", n=8, seed=0)
    skip = [True] * 9
    skip[4] = False
    drop = [False] * 9
    drop[1] = True
    return probe(m, x.float() / 255, y, skip=skip, drop=drop), probe(m, x.float() / 255, y, skip=[False] * 9)


@pytest.mark.parametrize("depth", [8, 20, 56, 1202])
def test_layout_has_one_place_per_block_in_order(depth):
    B = structure(depth)
    L = net.block_layout(B)
    n = len(B) // 3
    assert list(L.block) == list(B.block)
    assert (L.x1 > L.x0).all() and (np.diff(L.x.to_numpy()) > 0).all()  # left to right, input to output
    assert (L.x0.to_numpy()[1:] >= L.x1.to_numpy()[:-1] - 1e-9).all()  # no two blocks overlap
    assert int(L.full.sum()) == 3 * min(n, net.FULL_FIRST + net.FULL_LAST)
    for _, g in L.groupby("stage"):
        ids = list(g.sort_values("block").block)
        full = list(g[g.full].block)
        assert full == (ids if n <= 3 else ids[: net.FULL_FIRST] + ids[-net.FULL_LAST :])
    starts = list(L.block[L.stage_start])  # where the shape changes: the first block of stages 2 and 3
    m = ResNet(ResNetConfig(depth=depth))
    assert starts == [i for i, b in enumerate(m.blocks) if not isinstance(b.shortcut, torch.nn.Identity)]


def test_edge_values_are_the_probes_numbers(traces):
    t = traces[0]
    for k in range(len(t.blocks)):
        e = net.edge_values(t, k)
        r = t.blocks.iloc[k]
        assert (e["x"], e["fx"], e["out"], e["grad_out"]) == (r.x_norm, r.fx_norm, r.out_norm, r.grad_norm)
        assert (e["grad_in"], e["grad_skip"], e["grad_branch"]) == (r.grad_in_norm, r.grad_skip_norm,
                                                                    r.grad_branch_norm)
    with pytest.raises(ValueError, match="no block 9"):
        net.edge_values(t, 9)


def test_the_gradient_at_x_is_the_previous_blocks_output_gradient(traces):
    """x of block i is the output of block i - 1: the gradient the detail shows arriving at x is the one leaving
    the block before (an oracle across two hooks)."""
    for t in traces:
        B = t.blocks
        assert np.allclose(B.grad_in_norm.to_numpy()[1:], B.grad_norm.to_numpy()[:-1], rtol=1e-5)


def test_the_split_is_the_skip_and_the_branch(traces):
    """A cut skip sends nothing through the shortcut; a removed branch nothing through F; with both paths the two
    parts add up (as vectors) to the whole: each is at most the sum of the other and the whole."""
    res, plain = traces
    B = res.blocks
    assert B.grad_skip_norm[4] == 0 and B.grad_branch_norm[4] == pytest.approx(B.grad_in_norm[4])
    assert B.grad_branch_norm[1] == 0 and B.grad_skip_norm[1] == pytest.approx(B.grad_in_norm[1])
    both = B[B.skip & ~B.dropped]
    assert (both.grad_in_norm <= both.grad_skip_norm + both.grad_branch_norm + 1e-6).all()
    assert (plain.blocks.grad_skip_norm == 0).all()


def test_parts_follow_the_config():
    assert net.parts("batch", "relu") == ["conv", "BN", "ReLU", "conv", "BN"]
    assert net.parts("none", "tanh") == ["conv", "tanh", "conv"]
    assert net.shortcut_label(False, "B") == "identity" and net.shortcut_label(True, "B").startswith("B")


@pytest.mark.parametrize("depth", [8, 56, 1202])
def test_a_pass_steps_forward_then_backward(depth):
    B = structure(depth)
    s = net.pass_steps(B, most=60)
    stations = net.stations(B, most=60)
    fw, bw = s[s.phase == "forward"], s[s.phase == "backward"]
    assert list(fw.block) == stations and list(bw.block) == stations[::-1]
    assert list(s.step) == list(range(len(s))) and (s.phase.iloc[: len(fw)] == "forward").all()
    assert len(stations) <= 60 + 9 and stations[0] == 0 and stations[-1] == len(B) - 1
    if len(B) <= 60:
        assert stations == list(B.block)
    for _, g in B.groupby("stage"):  # every block drawn in full is a step
        assert set(g.block.iloc[:2]) | {g.block.iloc[-1]} <= set(stations)


# ---- Home's sentence on vanishing gradients, against the probe it quotes (issue 17) ----

def _home_truth() -> str:
    tree = ast.parse((ROOT / "pages" / "home.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "TRUTH" for t in node.targets):
            return ast.literal_eval(node.value)
    raise AssertionError("pages/home.py has no TRUTH text")


def _ratio(skip, norm, activation):
    """First/last main-path weight-gradient ratio, exactly as `python -m viz.probe --depth 56` computes it."""
    cfg = ResNetConfig(depth=56, skip=skip, norm=norm, activation=activation, mean=SHAPES_MEAN, std=SHAPES_STD)
    x, y = make_shapes("test", n=32, seed=0)
    first, last = first_last_gradients(probe(ResNet(cfg, seed=0), x.float() / 255, y).layers)
    return first / last


@pytest.mark.slow
def test_home_says_what_the_probe_shows():
    text = _home_truth()
    bn_plain = _ratio(False, "batch", "relu")
    tanh_plain = _ratio(False, "none", "tanh")
    sig_res, sig_plain = _ratio(True, "none", "sigmoid"), _ratio(False, "none", "sigmoid")
    assert bn_plain > 10 and f"plain-56: its first layer's is {fmt(bn_plain)} times" in text  # explodes
    assert 0.1 < tanh_plain < 10 and f"tanh does not make it vanish (plain-56: {fmt(tanh_plain)} times)" in text
    assert 0 < sig_res < 1e-10 and f"ResNet-56: {fmt(sig_res)} times" in text  # vanishes with the skips too
    assert sig_plain == 0 and "plain-56: exactly 0" in text
    assert math.isfinite(bn_plain)
