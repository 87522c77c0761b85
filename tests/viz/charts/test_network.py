"""viz.charts.network_overview, network_block, network_passes: the network picture, an opened block and the stepped
passes."""

import numpy as np
import pandas as pd
import pytest

from models.data import SHAPES_MEAN, SHAPES_STD, make_shapes
from models.resnet import ResNet, ResNetConfig
from viz.charts import gradient_flow as gradient_flow_charts
from viz.charts import network_block, network_overview, network_passes
from viz.charts.style import fmt
from viz.measures import network as net
from viz.probe import Trace, probe


@pytest.fixture(scope="module")
def traces():
    """ResNet-20 with block 4's skip off and block 1's branch removed, and its plain twin (same weights)."""
    m = ResNet(ResNetConfig(depth=20, mean=SHAPES_MEAN, std=SHAPES_STD), seed=0)
    x, y = make_shapes("test", n=8, seed=0)
    skip, drop = [True] * 9, [False] * 9
    skip[4], drop[1] = False, True
    return probe(m, x.float() / 255, y, skip=skip, drop=drop), probe(m, x.float() / 255, y, skip=[False] * 9)


@pytest.fixture(scope="module")
def resnet56():
    m = ResNet(ResNetConfig(depth=56, mean=SHAPES_MEAN, std=SHAPES_STD), seed=0)
    x, y = make_shapes("test", n=4, seed=0)
    return probe(m, x.float() / 255, y)


def trace_1202():
    """ResNet-1202's blocks as the model builds them, with numbers of the right kinds (a real pass through 1202
    layers takes minutes on these CPUs; the picture's structure depends on the blocks alone)."""
    m = ResNet(ResNetConfig(depth=1202))
    n, rng = len(m.blocks), np.random.default_rng(0)
    blocks = pd.DataFrame({"block": range(n), "stage": [b.stage for b in m.blocks], "skip": True, "dropped": False})
    for col in ("x_norm", "fx_norm", "out_norm", "residual_ratio", "response_std", "grad_norm"):
        blocks[col] = 10 ** rng.normal(0, 1, n)
    blocks["skip_share"] = rng.uniform(0, 1, n)
    layers = pd.DataFrame({"path": ["stem", "branch"]})
    return Trace(layers=layers, blocks=blocks, loss=2.3, name="ResNet-1202")


def hoverable(fig):
    return [t for t in fig.data if t.hoverinfo != "skip"]


@pytest.mark.parametrize("which", ["resnet56", "1202"])
def test_one_hoverable_element_per_block(which, request):
    t = request.getfixturevalue("resnet56") if which == "resnet56" else trace_1202()
    for measure in net.MEASURES:
        fig, caption = network_overview.network(t, measure)
        [points] = hoverable(fig)
        ids = np.asarray(points.customdata)[:, 0].astype(int)
        assert list(ids) == list(t.blocks.block)  # one point per block, in order: a selection names its block
        assert len(points.x) == len(t.blocks) and t.name in caption.headline
        assert len(fig.layout.coloraxis.colorbar.title.text) > 12  # a title in words, not a column name
    assert len(t.blocks) == (27 if which == "resnet56" else 600)


def test_the_colours_are_the_measure(resnet56):
    fig, caption = network_overview.network(resnet56, "grad_norm")
    [points] = hoverable(fig)
    assert np.allclose(10 ** np.asarray(points.marker.color, float), resnet56.blocks.grad_norm, rtol=1e-9)
    g = resnet56.blocks.grad_norm
    assert f"from {fmt(float(g.min()))} (block {int(g.idxmin())})" in caption.headline
    fig, _ = network_overview.network(resnet56, "skip_share")
    assert np.allclose(hoverable(fig)[0].marker.color, resnet56.blocks.skip_share)


def _shapes_in(fig, x0, x1):
    return [s for s in fig.layout.shapes if s.x0 is not None and x0 <= s.x0 < x1 or
            s.type == "path" and x0 <= float(s.path.split()[1].split(",")[0]) < x1]


def test_a_cut_skip_and_a_removed_branch_are_drawn_differently(traces):
    t = traces[0]
    fig, caption = network_overview.network(t, "grad_norm")
    L = net.block_layout(t.blocks)

    def looks(block):
        r = L.iloc[block]
        shapes = _shapes_in(fig, r.x0, r.x1)
        paths = [s for s in shapes if s.type == "path"]
        notes = [a.text for a in fig.layout.annotations if a.x is not None and r.x0 <= a.x < r.x1]
        return dict(dotted_arc=any(p.line.dash == "dot" for p in paths), arcs=len(paths), cross="✕" in notes,
                    removed=any("removed" in n for n in notes),
                    strike=any(s.type == "line" and s.y0 != s.y1 for s in shapes))

    normal, cut, gone = looks(3), looks(4), looks(1)
    assert normal == dict(dotted_arc=False, arcs=1, cross=False, removed=False, strike=False)
    assert cut["dotted_arc"] and cut["arcs"] == 2 and cut["cross"]  # broken in two, with a cross
    assert gone["removed"] and gone["strike"] and not gone["dotted_arc"]
    assert "1 skips off" in caption.headline and "1 branches removed" in caption.headline


def test_the_detail_shows_the_probes_numbers(traces):
    res, plain = traces
    for block in (0, 3, 4):
        fig, caption = network_block.block_detail([res, plain], block)
        texts = [a.text for a in fig.layout.annotations]
        for k, t in enumerate((res, plain), start=1):
            r = t.blocks.iloc[block]
            mine = " ".join(a.text for a in fig.layout.annotations if a.xref == ("x" if k == 1 else f"x{k}"))
            for v in (r.x_norm, r.fx_norm, r.out_norm, r.grad_norm, r.grad_in_norm, r.grad_skip_norm,
                      r.grad_branch_norm, r.residual_ratio):
                assert fmt(float(v)) in mine, (t.name, block, v, mine)
        assert any(f"{plain.name}</b></span>, block {block}" in x for x in texts)
        assert caption.headline.startswith(f"Block {block}:")
        assert fmt(float(res.blocks.grad_skip_norm[block])) in caption  # the detail has every number
    fig, caption = network_block.block_detail([res, plain], 1)
    assert "branch removed" in " ".join(a.text for a in fig.layout.annotations)


def test_the_detail_takes_maps(traces):
    maps = [{"x": np.random.rand(8, 8), "F(x)": np.random.rand(8, 8), "out": np.random.rand(8, 8)}, None]
    fig, _ = network_block.block_detail(list(traces), 2, maps=maps)
    assert sum(t.type == "heatmap" for t in fig.data) == 1


def test_the_passes_step_through_the_probes_numbers(traces):
    res, plain = traces
    fig, caption = network_passes.passes([res, plain])
    steps = net.pass_steps(res.blocks)
    assert [f.name for f in fig.frames] == [f"{p} {b}" for p, b in zip(steps.phase, steps.block)]
    assert len(fig.layout.sliders[0].steps) == len(fig.frames) == 2 * len(res.blocks)
    assert [b.label for b in fig.layout.updatemenus[0].buttons] == ["▶ Play", "❚❚ Pause"]
    last_forward = fig.frames[len(res.blocks) - 1]
    for i, t in enumerate((res, plain)):  # data 2, 3: the lines; forward: ||out|| / ||x entering block 0||
        y = np.asarray(last_forward.data[2 + i].y, float)
        assert np.allclose(y, t.blocks.out_norm / t.blocks.x_norm.iloc[0], rtol=1e-6)
    first_backward = fig.frames[len(res.blocks)]
    y = np.asarray(first_backward.data[2].y, float)  # only the last block reached yet
    assert np.isnan(y[:-1]).all() and y[-1] == pytest.approx(1.0)
    end = fig.frames[-1]
    assert np.allclose(np.asarray(end.data[3].y, float), plain.blocks.grad_norm / plain.blocks.grad_norm.iloc[-1])
    assert fmt(float(plain.blocks.grad_norm.iloc[0] / plain.blocks.grad_norm.iloc[-1])) in caption.headline


def test_mark_block_shades_the_chosen_block(traces):
    for f in (gradient_flow_charts.block_gradients, gradient_flow_charts.residual_ratios,
              gradient_flow_charts.skip_shares, gradient_flow_charts.layer_gradients):
        fig, _ = f(list(traces), mark_block=3)
        [marked] = [s for s in fig.layout.shapes if s.type == "rect"]
        if f is gradient_flow_charts.layer_gradients:  # conv index: the stem is 0, block 3's two convs are 7 and 8
            assert (marked.x0, marked.x1) == (6.5, 8.5)
        else:
            assert (marked.x0, marked.x1) == (2.5, 3.5)
        assert len(f(list(traces))[0].layout.shapes) == len(fig.layout.shapes) - 1
