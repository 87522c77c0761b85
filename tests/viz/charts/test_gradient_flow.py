"""Chart captions are computed from the numbers they show, and read as sentences in the edge cases."""

from models.data import SHAPES_MEAN, SHAPES_STD, make_shapes
from models.resnet import ResNet, ResNetConfig
from viz.charts import gradient_flow as charts
from viz.charts import style
from viz.measures import gradient_flow
from viz.probe import probe


def test_captions_say_vanished_not_zero_times():
    m = ResNet(ResNetConfig(depth=56, norm="none", activation="sigmoid", mean=SHAPES_MEAN, std=SHAPES_STD), seed=0)
    x, y = make_shapes("test", n=8)
    t = probe(m, x.float() / 255, y, skip=[False] * len(m.blocks))
    assert t.blocks.grad_norm.iloc[0] == 0  # sigmoid without normalization: underflows to 0 in float32
    _, caption = charts.block_gradients([t])
    assert "underflows to zero before the first block" in caption.headline and "0 times" not in caption.headline
    assert f"{t.name}: 0 at the first block" in caption
    _, caption = charts.layer_gradients([t])
    assert "underflows to zero before the first layer" in caption.headline


def test_gradient_ratio_sentences():
    """One builder says every case in words (issue 23: never "n/ax (overflowed or undefined)")."""
    assert charts.describe_gradient_ratio("plain-56", 1200.0, 1.0) == "plain-56 1200x (explodes toward the input)"
    assert "vanishes toward the input" in charts.describe_gradient_ratio("net", 1e-3, 1.0)
    assert "within 10x" in charts.describe_gradient_ratio("ResNet-56", 7.0, 1.0)
    assert "overflows float32" in charts.describe_gradient_ratio("net", float("inf"), 1.0)
    assert "overflows float32" in charts.describe_gradient_ratio("net", float("nan"), 1.0)
    assert charts.describe_gradient_ratio("plain-608", 0.0, 1.0) == (
        "plain-608's gradient underflows to zero before the first layer")
    assert charts.describe_gradient_ratio("n", 0.0, 1.0, ("the first block", "the last block")).endswith("first block")
    assert style.fmt(1.22e3) == "1220" and style.fmt(1.2e5) == "1.2e5" and style.fmt(0.5) == "0.5" and style.fmt(float("nan")) == "n/a"


def test_a_log_axis_spanning_little_gets_full_value_ticks():
    """Under 3.5 decades Plotly labels a log axis with bare digits ('2', '3', ...); the charts label 1-2-5 with values."""
    import plotly.graph_objects as go

    narrow, wide = go.Figure(), go.Figure()
    narrow.add_scatter(x=[0, 1, 2], y=[0.03, 0.1, 0.6])
    wide.add_scatter(x=[0, 1, 2], y=[1e-19, float("nan"), 0.6])
    style.layout(narrow, "t", "x", "y", log=True)
    style.layout(wide, "t", "x", "y", log=True)
    assert (narrow.layout.yaxis.dtick, narrow.layout.yaxis.tickformat) == ("D2", ".2~g")
    assert wide.layout.yaxis.dtick is None and wide.layout.yaxis.tickformat is None


def test_every_headline_follows_the_numbers_it_shows():
    """Each chart's one-sentence finding is computed from the traces: change the numbers and the sentence changes."""
    m = ResNet(ResNetConfig(depth=8, mean=SHAPES_MEAN, std=SHAPES_STD), seed=0)
    x, y = make_shapes("test", n=8)
    t = probe(m, x.float() / 255, y)
    first, last = gradient_flow.first_last_gradients(t.layers)
    head = charts.layer_gradients([t])[1].headline
    assert f"{t.name} {style.fmt(first / last)}x" in head
    convs = gradient_flow.main_convs(t.layers)
    t.layers.loc[t.layers.layer == convs.layer.iloc[0], "grad_norm"] = 1000 * last  # the first layer's gradient
    assert f"{t.name} 1000x (explodes toward the input)" in charts.layer_gradients([t])[1].headline
    t.layers.loc[t.layers.layer == convs.layer.iloc[0], "grad_norm"] = 0.0
    head = charts.layer_gradients([t])[1].headline
    assert f"{t.name}'s gradient underflows to zero before the first layer" in head and "n/a" not in head
    t.layers.loc[t.layers.layer == convs.layer.iloc[0], "grad_norm"] = float("inf")
    assert f"{t.name}'s gradient overflows float32" in charts.layer_gradients([t])[1].headline
    g = t.blocks.grad_norm
    assert f"{style.fmt(float(g.iloc[0] / g.iloc[-1]))}x" in charts.block_gradients([t])[1].headline
    t.blocks["residual_ratio"] = 2.5
    assert f"{t.name} 2.5 (F outweighs x)" in charts.residual_ratios([t])[1].headline
    t.blocks["skip_share"] = 0.25
    assert "less than half of the gradient at a block takes the skip (25% on average)" in charts.skip_shares([t])[1].headline
