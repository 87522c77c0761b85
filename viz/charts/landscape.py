"""Plotly figures for loss landscapes (Li et al. 2018). Each returns (fig, caption); the caption carries the numbers the
chart shows and the paper's finding beside ours."""

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from viz.charts.style import Caption, concept_color, fmt, layout
from viz.measures.landscape import grid, shape_stats, smoother

LOSS_CAP = 10.0  # Li et al.'s contour plots stop at loss 10 (vmax=10); so do ours
LI_2018 = ("Li et al. 2018 (Fig. 5, CIFAR-10): ResNet-56's surface is smooth and nearly convex around the minimum; "
           "the same net without skips is chaotic, with many local minima.")


def _stats_sentence(name, df):
    s = shape_stats(df)
    return (f"{name}: loss {fmt(s['loss_centre'])} at the centre (the model itself), up to {fmt(s['loss_max'])} at the edge; "
            f"{s['local_minima']} local minim{'um' if s['local_minima'] == 1 else 'a'} on the grid, "
            f"{s['nonconvex_share']:.0%} of interior points curve downward.")


def slice_1d(curves, skips=None, split="training", curvature=None):
    """curves: dict name -> DataFrame(alpha, loss, accuracy) from viz.landscape.slice_1d; skips: {name: skip};
    split: the images' split ("training" or "test"); curvature: {name: the Hessian's eigenvalue table} or None."""
    fig = go.Figure()
    for i, (name, df) in enumerate(curves.items()):
        fig.add_scatter(x=df.alpha, y=df.loss, mode="lines+markers", name=name, line=dict(color=concept_color(name, i), width=2),
                        marker=dict(size=5), customdata=df.accuracy,
                        hovertemplate="α = %{x:.2f}<br>loss %{y:.3g}<br>accuracy %{customdata:.1%}<extra>" + name + "</extra>")
    layout(fig, "Loss along one filter-normalized direction", "α (step along the direction; 1 = one filter norm)",
            f"{split} loss", log=True)
    fig.update_layout(hovermode="closest")
    notes = [_stats_sentence(n, df) for n, df in curves.items()]
    head = smoother(curves, skips or {}, curvature)
    return fig, Caption(" ".join([head, *notes]).strip() + " Log scale. " + LI_2018, head)


def _capped(Z):
    return np.minimum(Z, LOSS_CAP)


def contour_pair(surfaces, skips=None, split="training", curvature=None):
    """surfaces: dict name -> DataFrame(alpha, beta, loss) from viz.landscape.surface_2d; skips: {name: skip}.
    Same colour scale."""
    names = list(surfaces)
    grids = {n: grid(surfaces[n]) for n in names}
    lo = min(float(np.nanmin(g[2])) for g in grids.values())
    fig = make_subplots(rows=1, cols=len(names), subplot_titles=names, horizontal_spacing=0.08)
    for i, n in enumerate(names):
        a, b, Z = grids[n]
        fig.add_contour(x=a, y=b, z=_capped(Z), zmin=lo, zmax=LOSS_CAP, colorscale="Viridis",
                        contours=dict(start=lo, end=LOSS_CAP, size=max((LOSS_CAP - lo) / 20, 1e-3)),
                        showscale=i == len(names) - 1, colorbar=dict(title=f"{split} loss"), row=1, col=i + 1,
                        hovertemplate="α %{x:.2f}, β %{y:.2f}<br>loss %{z:.3g}<extra>" + n + "</extra>")
        fig.add_scatter(x=[0], y=[0], mode="markers", marker=dict(symbol="x", size=10, color="white"),
                        showlegend=False, hoverinfo="skip", row=1, col=i + 1)
        fig.update_xaxes(title="α", row=1, col=i + 1)
        fig.update_yaxes(title="β", row=1, col=i + 1, scaleanchor=f"x{'' if i == 0 else i + 1}")
    fig.update_layout(height=460, margin=dict(l=50, r=20, t=60, b=50), template="plotly_white",
                      title=dict(text="Loss contours on two filter-normalized directions (same colour scale)", x=0.01))
    notes = [smoother(surfaces, skips or {}, curvature), *(_stats_sentence(n, surfaces[n]) for n in names)]
    return fig, Caption(" ".join(notes).strip() + f" Colours run from {fmt(lo)} to {fmt(LOSS_CAP)}; loss above {fmt(LOSS_CAP)} "
                 "is drawn as 10, as in Li et al.'s plots. " + LI_2018, notes[0])


def surface_pair(surfaces, split="training"):
    """3-D surfaces of `surfaces` (as contour_pair), side by side, same z range and colours."""
    names = list(surfaces)
    grids = {n: grid(surfaces[n]) for n in names}
    lo = min(float(np.nanmin(g[2])) for g in grids.values())
    fig = make_subplots(rows=1, cols=len(names), specs=[[{"type": "scene"}] * len(names)], subplot_titles=names)
    for i, n in enumerate(names):
        a, b, Z = grids[n]
        fig.add_surface(x=a, y=b, z=_capped(Z), cmin=lo, cmax=LOSS_CAP, colorscale="Viridis",
                        showscale=i == len(names) - 1, row=1, col=i + 1)
    scene = dict(xaxis_title="α", yaxis_title="β", zaxis=dict(title=f"{split} loss", range=[lo, LOSS_CAP]),
                 camera=dict(eye=dict(x=1.6, y=1.6, z=1.0)))
    fig.update_layout(height=480, margin=dict(l=0, r=0, t=50, b=0), template="plotly_white",
                      **{f"scene{'' if i == 0 else i + 1}": scene for i in range(len(names))})
    lows = "; ".join(f"{n}: lowest loss {fmt(float(np.nanmin(grids[n][2])))}" for n in names)
    return fig, Caption(f"The same grids as 3-D surfaces, z capped at {fmt(LOSS_CAP)}; drag to turn them.",
                        f"The surfaces around the trained weights ({lows}): a bowl is smooth, folds are not.")


# --- shattered gradients -----------------------------------------------------------------------
