"""One visual language (issue 23): every Plotly trace whose name says residual/ResNet/skip, plain or F(x) is drawn in
its concept's colour (viz.charts.style.CONCEPTS; a shade of it where several of one kind share a chart), over the
figures the chart functions build."""

import colorsys

import numpy as np
import pandas as pd
import pytest
import torch

from viz.charts import gradient_flow, landscape, lesson, train
from viz.charts.style import BRANCH, PLAIN, RESIDUAL, concept, concept_colors
from viz.measures.train import Recorder

HUE = {"residual": RESIDUAL, "plain": PLAIN, "branch": BRANCH}


def _hue(c: str) -> float:
    return colorsys.rgb_to_hls(*(int(c[j:j + 2], 16) / 255 for j in (1, 3, 5)))[0]


def wrong_colours(fig) -> list[tuple[str, str]]:
    """(trace name, colour) of every trace that names a concept but is not drawn in its hue."""
    out = []
    for tr in fig.data:
        name, kind = getattr(tr, "name", None), concept(getattr(tr, "name", "") or "")
        if not name or kind is None:
            continue
        line, marker = getattr(tr, "line", None), getattr(tr, "marker", None)
        c = (getattr(line, "color", None) if line is not None else None) or getattr(marker, "color", None)
        if not isinstance(c, str) or not c.startswith("#") or abs(_hue(c) - _hue(HUE[kind])) > 0.02:
            out.append((name, c))
    return out


@pytest.fixture(scope="module")
def traces():
    from models.resnet import ResNet, ResNetConfig
    from viz.measures.probe import probe

    model = ResNet(ResNetConfig(depth=8), seed=0)
    x, y = torch.rand(4, 3, 32, 32), torch.tensor([0, 1, 2, 3])
    out = []
    for name, skip in (("ResNet-8", True), ("plain-8", False)):
        t = probe(model, x, y, skip=[skip] * len(model.blocks))
        t.name = name
        out.append(t)
    return out


def test_gradient_flow_charts_use_the_concept_colours(traces):
    for chart in (gradient_flow.layer_gradients, gradient_flow.block_gradients, gradient_flow.residual_ratios,
                  gradient_flow.skip_shares):
        fig, _ = chart(traces)
        assert wrong_colours(fig) == [], chart.__name__
    # listed plain first, the colours still follow the names, not the order
    assert wrong_colours(gradient_flow.layer_gradients(traces[::-1])[0]) == []


def test_landscape_and_train_and_lesson_charts_use_the_concept_colours():
    curve = pd.DataFrame({"alpha": np.linspace(-1, 1, 5), "loss": [3, 2, 1, 2, 3.0], "accuracy": 0.5})
    fig, _ = landscape.slice_1d({"plain-56": curve, "ResNet-56": curve}, {"plain-56": False, "ResNet-56": True})
    assert wrong_colours(fig) == []
    rec = Recorder()
    for label, skip in (("ResNet-8", True), ("plain-8", False)):
        rec.step(label, skip, {"epoch": 1, "step": 1, "steps": 2, "loss": 2.0, "acc": 0.2})
        rec.epoch(label, skip, {"epoch": 1, "test_loss": 2.0, "test_acc": 0.2})
    for fig in train.live(*rec.tables()):
        assert wrong_colours(fig) == []
    blocks = pd.DataFrame({"block": [0, 1], "x_norm": [1.0, 1.0], "out_norm": [1.0, 1.0]})
    assert wrong_colours(lesson.identity_chart(blocks)[0]) == []


def test_shades_keep_the_hue_and_tell_series_apart():
    cs = concept_colors(["ResNet-20", "ResNet-32", "ResNet-56", "plain-20", "plain-56", "F(x)"])
    assert len(set(cs)) == len(cs)
    for c, kind in zip(cs, ["residual"] * 3 + ["plain"] * 2 + ["branch"], strict=True):
        assert abs(_hue(c) - _hue(HUE[kind])) < 0.02


def test_stage_colours_are_not_concept_colours():
    """Bars coloured by stage (Inspect's importance and ratio bars) never borrow a concept's hue: a reader would take
    a blue stage for the residual net and a green one for F(x)."""
    from viz.charts.style import STAGES

    for c in STAGES:
        saturation = colorsys.rgb_to_hls(*(int(c[j:j + 2], 16) / 255 for j in (1, 3, 5)))[2]
        assert saturation < 0.1 or all(abs(_hue(c) - _hue(h)) > 0.08 for h in HUE.values()), c


def test_beyond_and_transformer_lines_take_the_concept_colours():
    """Beyond's norm-free charts drew the plain net blue and a residual net green (the branch's colour); the
    transformer drew Post-LN, which keeps its skip, in the plain net's red."""
    from viz.charts.normfree import scheme_colours
    from viz.charts.transformer import COLORS

    hues = scheme_colours(["plain, no BN", "residual, no BN", "residual + BN", "Fixup", "SkipInit", "ReZero"])
    for name, c in hues.items():
        kind = concept(name) if name.startswith(("plain", "residual")) else None
        if kind:
            assert abs(_hue(c) - _hue(HUE[kind])) < 0.02, (name, c)
        else:  # the schemes compared: no concept's colour (a grey, or a hue far from each)
            saturation = colorsys.rgb_to_hls(*(int(c[j:j + 2], 16) / 255 for j in (1, 3, 5)))[2]
            assert saturation < 0.1 or all(abs(_hue(c) - _hue(h)) > 0.04 for h in HUE.values()), (name, c)
    assert COLORS["no skip"] == PLAIN
    assert all(abs(_hue(COLORS[k]) - _hue(RESIDUAL)) < 0.02 for k in ("Post-LN", "Pre-LN"))
    assert COLORS["Post-LN"] != COLORS["Pre-LN"]


def test_series_of_no_concept_each_get_their_own_colour():
    """Skip designs drew dense concatenation in post-activation's purple and highway in pre-activation's orange."""
    names = ["post-activation", "pre-activation", "bottleneck", "inverted residual", "dense concatenation",
             "highway gate", "plain (no skip)"]
    cs = concept_colors(names)
    assert len(set(cs)) == len(cs), cs
    assert cs[-1] == PLAIN and cs[3] == RESIDUAL
