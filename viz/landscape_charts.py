"""Plotly figures for loss landscapes, shattered gradients and the skip-design zoo. Each returns (fig, caption);
the caption carries the numbers the chart shows and, where there is one, the paper's finding beside ours."""

import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from viz.gradient_flow_charts import block_gradients, skip_shares
from viz.style import color, fmt, layout
from viz.landscape import grid, shape_stats
from viz.shattered import autocorrelation, neighbour_correlation, paper_trends

LOSS_CAP = 10.0  # Li et al.'s contour plots stop at loss 10 (vmax=10); so do ours
LI_2018 = ("Li et al. 2018 (Fig. 5, CIFAR-10): ResNet-56's surface is smooth and nearly convex around the minimum; "
           "the same net without skips is chaotic, with many local minima.")
BALDUZZI_2017 = ("Balduzzi et al. 2017: the correlation between neighbouring gradients decays like 2^-L in feedforward "
                 "nets and like 1/sqrt(L) in resnets with BN.")


def _stats_sentence(name, df):
    s = shape_stats(df)
    return (f"{name}: loss {fmt(s['loss_centre'])} at the centre (the model itself), up to {fmt(s['loss_max'])} at the edge; "
            f"{s['local_minima']} local minim{'um' if s['local_minima'] == 1 else 'a'} on the grid, "
            f"{s['nonconvex_share']:.0%} of interior points curve downward.")


def slice_1d(curves):
    """curves: dict name -> DataFrame(alpha, loss, accuracy) from viz.landscape.slice_1d."""
    fig = go.Figure()
    for i, (name, df) in enumerate(curves.items()):
        fig.add_scatter(x=df.alpha, y=df.loss, mode="lines+markers", name=name, line=dict(color=color(i), width=2),
                        marker=dict(size=5), customdata=df.accuracy,
                        hovertemplate="α = %{x:.2f}<br>loss %{y:.3g}<br>accuracy %{customdata:.1%}<extra>" + name + "</extra>")
    layout(fig, "Loss along one filter-normalized direction", "α (step along the direction; 1 = one filter norm)",
            "training loss", log=True)
    fig.update_layout(hovermode="closest")
    notes = [_stats_sentence(n, df) for n, df in curves.items()]
    return fig, " ".join(notes) + " Log scale. " + LI_2018


def _legend_below(fig, height=440):
    """Many entries in a half-width chart: the legend goes under the plot, not over its title."""
    fig.update_layout(height=height, legend=dict(orientation="h", yanchor="top", y=-0.22, xanchor="left", x=0),
                      margin=dict(l=60, r=20, t=50, b=40))
    return fig


def _capped(Z):
    return np.minimum(Z, LOSS_CAP)


def contour_pair(surfaces):
    """surfaces: dict name -> DataFrame(alpha, beta, loss) from viz.landscape.surface_2d. Same colour scale."""
    names = list(surfaces)
    grids = {n: grid(surfaces[n]) for n in names}
    lo = min(float(np.nanmin(g[2])) for g in grids.values())
    fig = make_subplots(rows=1, cols=len(names), subplot_titles=names, horizontal_spacing=0.08)
    for i, n in enumerate(names):
        a, b, Z = grids[n]
        fig.add_contour(x=a, y=b, z=_capped(Z), zmin=lo, zmax=LOSS_CAP, colorscale="Viridis",
                        contours=dict(start=lo, end=LOSS_CAP, size=max((LOSS_CAP - lo) / 20, 1e-3)),
                        showscale=i == len(names) - 1, colorbar=dict(title="loss"), row=1, col=i + 1,
                        hovertemplate="α %{x:.2f}, β %{y:.2f}<br>loss %{z:.3g}<extra>" + n + "</extra>")
        fig.add_scatter(x=[0], y=[0], mode="markers", marker=dict(symbol="x", size=10, color="white"),
                        showlegend=False, hoverinfo="skip", row=1, col=i + 1)
        fig.update_xaxes(title="α", row=1, col=i + 1)
        fig.update_yaxes(title="β", row=1, col=i + 1, scaleanchor=f"x{'' if i == 0 else i + 1}")
    fig.update_layout(height=460, margin=dict(l=50, r=20, t=60, b=50), template="plotly_white",
                      title=dict(text="Loss contours on two filter-normalized directions (same colour scale)", x=0.01))
    notes = [_stats_sentence(n, surfaces[n]) for n in names]
    return fig, (" ".join(notes) + f" Colours run from {fmt(lo)} to {fmt(LOSS_CAP)}; loss above {fmt(LOSS_CAP)} "
                 "is drawn as 10, as in Li et al.'s plots. " + LI_2018)


def surface_pair(surfaces):
    """3-D surfaces of `surfaces` (as contour_pair), side by side, same z range and colours."""
    names = list(surfaces)
    grids = {n: grid(surfaces[n]) for n in names}
    lo = min(float(np.nanmin(g[2])) for g in grids.values())
    fig = make_subplots(rows=1, cols=len(names), specs=[[{"type": "scene"}] * len(names)], subplot_titles=names)
    for i, n in enumerate(names):
        a, b, Z = grids[n]
        fig.add_surface(x=a, y=b, z=_capped(Z), cmin=lo, cmax=LOSS_CAP, colorscale="Viridis",
                        showscale=i == len(names) - 1, row=1, col=i + 1)
    scene = dict(xaxis_title="α", yaxis_title="β", zaxis=dict(title="loss", range=[lo, LOSS_CAP]),
                 camera=dict(eye=dict(x=1.6, y=1.6, z=1.0)))
    fig.update_layout(height=480, margin=dict(l=0, r=0, t=50, b=0), template="plotly_white",
                      **{f"scene{'' if i == 0 else i + 1}": scene for i in range(len(names))})
    return fig, f"The same grids as 3-D surfaces, z capped at {fmt(LOSS_CAP)}; drag to turn them."


# --- shattered gradients -----------------------------------------------------------------------

KIND_COLORS = {"feedforward+bn": "#d6392b", "feedforward": "#1f6fb4", "residual+bn": "#9467bd", "residual": "#2ca02c"}


def _kindcolor(name, i):
    """One colour per kind of net in every shattered-gradients chart ('residual+bn, L = 24' -> purple)."""
    kind = name.split(",")[0].strip()
    return KIND_COLORS.get(kind, color(i))


def gradient_curves(curves):
    """curves: dict name -> (x (N,), df/dx (N,)). One row per net, since their scales differ."""
    names = list(curves)
    fig = make_subplots(rows=len(names), cols=1, shared_xaxes=True, subplot_titles=names, vertical_spacing=0.08)
    for i, n in enumerate(names):
        x, g = curves[n]
        fig.add_scatter(x=x, y=g, mode="lines", line=dict(color=_kindcolor(n, i), width=1.5), name=n, showlegend=False,
                        row=i + 1, col=1, hovertemplate="x = %{x:.3f}<br>df/dx = %{y:.3g}<extra>" + n + "</extra>")
        fig.update_yaxes(title="df/dx", row=i + 1, col=1)
    fig.update_xaxes(title="x", row=len(names), col=1)
    fig.update_layout(height=170 * len(names) + 80, margin=dict(l=60, r=20, t=50, b=50), template="plotly_white",
                      font=dict(size=13), title=dict(text="The gradient df/dx at 256 inputs in [-2, 2]", x=0.01))
    notes = [f"{n}: neighbour correlation {neighbour_correlation(g):.2f}" for n, (x, g) in curves.items()]
    return fig, "; ".join(notes) + ". 1 means a smooth, slowly changing gradient; 0 means white noise."


def autocorrelations(curves, max_lag=40):
    """Autocorrelation of each net's gradient against the lag (in grid steps of 4/255)."""
    fig = go.Figure()
    notes = []
    for i, (n, (x, g)) in enumerate(curves.items()):
        r = autocorrelation(g, max_lag)
        dash = "dot" if n.endswith("L = 1") else None
        fig.add_scatter(x=np.arange(len(r)), y=r, mode="lines+markers", name=n, marker=dict(size=4),
                        line=dict(color=_kindcolor(n, i), width=2, dash=dash))
        below = np.nonzero(r < 0.5)[0]
        notes.append(f"{n}: {'r stays above 0.5 up to lag ' + str(max_lag) if len(below) == 0 else 'r drops below 0.5 at lag ' + str(int(below[0]))}")
    layout(fig, "Autocorrelation of the gradient", "lag (grid steps)", "autocorrelation r(lag)")
    fig.update_layout(hovermode="closest")
    _legend_below(fig)
    return fig, "; ".join(notes) + "."


def correlation_depth(df):
    """df: viz.shattered.correlation_vs_depth (kind, depth, seed, correlation); mean and range over seeds,
    with the paper's rates dashed."""
    fig = go.Figure()
    agg = df.groupby(["kind", "depth"]).correlation.agg(["mean", "min", "max"]).reset_index()
    for i, (k, d) in enumerate(agg.groupby("kind", sort=False)):
        fig.add_scatter(x=d.depth, y=d["mean"], mode="lines+markers", name=k, line=dict(color=_kindcolor(k, i), width=2),
                        error_y=dict(type="data", symmetric=False, array=d["max"] - d["mean"], arrayminus=d["mean"] - d["min"],
                                     thickness=1, width=3))
    depths = sorted(df.depth.unique())
    ref = paper_trends(np.geomspace(min(depths), max(depths), 40))
    for j, col in enumerate(ref.columns[1:]):
        fig.add_scatter(x=ref.depth, y=ref[col], mode="lines", name=f"paper: {col}",
                        line=dict(color="#555", dash="dash" if j == 0 else "dot", width=1.5))
    layout(fig, "Correlation of neighbouring gradients against depth", "depth L (layers or residual blocks)",
            "neighbour correlation")
    fig.update_xaxes(type="log", tickvals=depths)
    fig.update_yaxes(range=[-0.2, 1.05])
    fig.update_layout(hovermode="closest")
    _legend_below(fig)
    deepest = max(depths)
    at = agg[agg.depth == deepest].set_index("kind")["mean"]
    ours = ", ".join(f"{k} {v:.2f}" for k, v in at.items())
    k = df.seed.nunique()
    return fig, (f"At L = {deepest}, mean over {k} net{'s' if k > 1 else ''} per kind: {ours} (paper's rates there: "
                 f"2^-L = {fmt(2.0 ** -(deepest - 1))}, 1/sqrt(L) = {1 / math.sqrt(deepest):.2f}, both set to 1 at L = 1). "
                 + BALDUZZI_2017 + " Bars: smallest and largest over the nets." + _plain_note(at) + _resnet_note(at, deepest))


def _resnet_note(at, L):
    r = at.get("residual+bn")
    if r is None or r < 2 / math.sqrt(L):
        return ""
    return f" Our residual+BN nets decay more slowly than 1/sqrt(L): {r:.2f} against {1 / math.sqrt(L):.2f} at L = {L}."


def _plain_note(at):
    ff, ffbn = at.get("feedforward"), at.get("feedforward+bn")
    if ff is None or ffbn is None or not (ff > 0.5 and ffbn < 0.3):
        return ""
    return (" Where we differ: our feedforward net without BN stays correlated far longer than 2^-L, since at He "
            "init with small biases it is nearly positively homogeneous (f(cx) = c f(x) for c > 0) and few units "
            "switch inside [-2, 2]; with BN it shatters as the paper says.")


def image_lines(curves):
    """curves: dict name -> DataFrame(t, grad) from viz.shattered.image_line_gradient."""
    fig = go.Figure()
    for i, (n, df) in enumerate(curves.items()):
        g = df.grad / (df.grad.abs().max() or 1.0)
        fig.add_scatter(x=df.t, y=g, mode="lines", name=n, line=dict(color=color(i), width=1.5))
    layout(fig, "Input gradient along a line through an image (each scaled to its largest value)",
            "t (step along the line; RMS change of a pixel)", "d logit / dt (scaled)")
    fig.update_layout(hovermode="closest")
    notes = [f"{n}: neighbour correlation {neighbour_correlation(df.grad):.2f}" for n, df in curves.items()]
    return fig, "; ".join(notes) + "."


# --- the skip-design zoo -----------------------------------------------------------------------


DESIGN_COLORS = ("#1f6fb4", "#d6392b", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#222222")  # plain last: black


def _design_look(fig, title):
    for i, tr in enumerate(fig.data):
        c = DESIGN_COLORS[i % len(DESIGN_COLORS)]
        tr.update(line=dict(color=c, width=2, dash="dash" if i == len(DESIGN_COLORS) - 1 else None), marker=dict(color=c))
    fig.update_layout(title=dict(text=title))
    return _legend_below(fig, height=500)


def design_gradients(traces):
    """The foundation's block-gradient chart for several designs (traces named by design)."""
    fig, caption = block_gradients(traces)
    return _design_look(fig, "Gradient at each block's output, at init, same number of blocks"), caption


def design_skip_shares(traces):
    """The foundation's skip-share chart for several designs."""
    fig, caption = skip_shares(traces)
    return _design_look(fig, "Share of the gradient that takes the skip path"), caption


def design_table(traces, params, convs):
    """One row per design: parameters, convs per block, the gradient at the first and last block, their ratio,
    the median ||F(x)||/||x|| and the mean share of the gradient through the skip path."""
    rows = []
    for t in traces:
        B = t.blocks
        first, last = float(B.grad_norm.iloc[0]), float(B.grad_norm.iloc[-1])
        s = B.skip_share[B.skip & ~B.dropped]
        rows.append(dict(design=t.name, params=params[t.name], convs_per_block=convs[t.name], loss=t.loss,
                         grad_first_block=first, grad_last_block=last,
                         ratio_first_to_last=first / last if last else float("nan"),
                         median_residual_ratio=float(B.residual_ratio.median()),
                         mean_skip_share=float(s.mean()) if len(s) else 0.0))
    return pd.DataFrame(rows)


def design_traces(depth=20, batch=32, seed=0, bn_mode="train", width=16):
    """Probe every design of models.designs.DESIGNS at init, the same depth (number of blocks) for all.

    Returns (traces named by design, DataFrame from design_table). Images: a shapes batch (batch, 3, 32, 32).
    """
    import torch

    from models.data import SHAPES_MEAN, SHAPES_STD, make_shapes
    from models.blocks import DESIGNS, convs_per_block
    from models.resnet import ResNet, ResNetConfig, count_parameters
    from viz.probe import probe

    x, y = make_shapes("test", n=batch, seed=seed)
    traces, params, convs = [], {}, {}
    for label, (block, skip) in DESIGNS.items():
        torch.manual_seed(seed)
        model = ResNet(ResNetConfig(depth=depth, skip=skip, block=block, width=width, mean=SHAPES_MEAN, std=SHAPES_STD))
        t = probe(model, x.float() / 255, y, bn_mode=bn_mode)
        t.name = label
        traces.append(t)
        params[label], convs[label] = count_parameters(model), convs_per_block(block)
    return traces, design_table(traces, params, convs)
