"""Plotly figures for the Residuals page: each builder returns (fig, caption), the caption computed from the numbers
drawn, with the paper's finding beside ours and where they differ. Tables come from `viz.residuals`; `tables` are
dicts {label: DataFrame} whose labels read like "ResNet-56" or "plain-20" (a model config's `name`)."""

import math
import re

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from viz.style import FONT, color, fmt, layout

HE_FIG7 = ("He et al. 2015 (Fig. 7, CIFAR-10): ResNets respond less than their plain counterparts, and the deeper "
           "ResNet responds less per layer (ResNet-20 > 56 > 110): residual functions are generally closer to zero.")
VEIT_SINGLE = ("Veit et al. 2016 (Fig. 3, CIFAR-10): deleting any single block of a ResNet-110 barely changes its "
               "test error, with a modest rise at the downsampling blocks; deleting any single layer of a plain "
               "VGG network sends it to chance.")
VEIT_K = "Veit et al. 2016 (Fig. 5a, ImageNet ResNet-200): the error rises smoothly as more random blocks are deleted."
VEIT_PATHS = ("Veit et al. 2016 (Fig. 6, CIFAR-10 ResNet-110, 54 blocks): the gradient along a path falls "
              "exponentially with the number of branches it goes through; weighted by how many paths there are, "
              "almost all of the gradient comes from paths through 5 to 17 blocks (10 to 34 layers), although the "
              "typical path goes through 27.")


def parse(label):
    """("ResNet" | "plain", depth) from a label like "ResNet-56"; (label, 0) for anything else."""
    m = re.match(r"^(ResNet|plain)-(\d+)", label)
    return (m.group(1), int(m.group(2))) if m else (label, 0)


def _pct(v):
    return "n/a" if v is None or not math.isfinite(v) else f"{100 * v:.1f}%"


def _style(i, label):
    kind, _ = parse(label)
    return dict(color=color(i), width=2, dash="solid" if kind != "plain" else "dash")


# --- residual sizes and He et al. Fig. 7 ---------------------------------------------------------------


def residual_ratios(tables):
    """||F(x)|| / ||x|| per block over the test images, block position scaled to 0..1 so depths overlay."""
    fig = go.Figure()
    for i, (label, d) in enumerate(tables.items()):
        fig.add_scatter(x=d.position, y=d.residual_ratio, mode="lines+markers", name=label, line=_style(i, label),
                        marker=dict(size=5), customdata=d.block,
                        hovertemplate="block %{customdata}<br>||F(x)||/||x|| = %{y:.3g}<extra>" + label + "</extra>")
    layout(fig, "Size of the learned residual on test images", "block position (0 = input side, 1 = output side)",
            "||F(x)|| / ||x||", log=True)
    means = {label: float(d.residual_ratio.mean()) for label, d in tables.items()}
    notes = ["Mean ||F(x)||/||x||: " + ", ".join(f"{k} {fmt(v)}" for k, v in means.items()) + "."]
    res = sorted(((parse(k)[1], v, k) for k, v in means.items() if parse(k)[0] == "ResNet"))
    if len(res) > 1:
        falls = all(b[1] < a[1] for a, b in zip(res, res[1:]))
        notes.append(f"Among the ResNets it {'falls' if falls else 'does not fall steadily'} with depth "
                     f"({', '.join(f'{k} {fmt(v)}' for _, v, k in res)}).")
    notes.append("He et al. 2015 expected residual functions close to zero, smaller in deeper ResNets; a ratio "
                 "near or above 1 means the block rewrites its input rather than nudging it.")
    return fig, " ".join(notes)


def response_std(tables):
    """He et al. Fig. 7: std of each 3x3 conv's response (after BN, before addition/ReLU), in layer order (top)
    and sorted by size (bottom)."""
    fig = make_subplots(rows=2, cols=1, vertical_spacing=0.14,
                        subplot_titles=("layer index (original order)", "layer index (sorted by magnitude)"))
    for i, (label, d) in enumerate(tables.items()):
        s = d.sort_values("rank")
        for row, x, y, show in ((1, d["index"], d.response_std, True), (2, s["rank"], s.response_std, False)):
            fig.add_scatter(x=x, y=y, mode="lines", name=label, line=_style(i, label), showlegend=show,
                            legendgroup=label, row=row, col=1,
                            hovertemplate="layer %{x}<br>std = %{y:.3g}<extra>" + label + "</extra>")
    layout(fig, "Response std of each 3x3 conv layer (He et al. 2015, Fig. 7)", None, "std", height=600)
    # the title and the upper subplot's title fill the top: the legend goes under the lower subplot
    fig.update_layout(legend={"yanchor": "top", "y": -0.07, "xanchor": "left", "x": 0}, margin={"t": 70, "b": 90})
    fig.update_yaxes(title="std")
    means = {label: float(d.response_std.mean()) for label, d in tables.items()}
    notes = ["Mean response std: " + ", ".join(f"{k} {fmt(v)}" for k, v in means.items()) + "."]
    verdicts = []
    for label, v in means.items():
        kind, depth = parse(label)
        twin = f"plain-{depth}"
        if kind == "ResNet" and twin in means:
            ok = v < means[twin]
            verdicts.append(ok)
            notes.append(f"ResNet-{depth} {'below' if ok else 'NOT below'} plain-{depth} ({fmt(v)} vs {fmt(means[twin])}).")
    res = sorted((parse(k)[1], v) for k, v in means.items() if parse(k)[0] == "ResNet")
    if len(res) > 1:
        ok = all(b[1] < a[1] for a, b in zip(res, res[1:]))
        verdicts.append(ok)
        notes.append(f"Deeper ResNets {'respond less' if ok else 'do NOT respond steadily less'} per layer "
                     f"({', '.join(f'ResNet-{d} {fmt(v)}' for d, v in res)}).")
    if verdicts:
        notes.append("Ours agrees with the paper." if all(verdicts) else "Ours differs from the paper where marked NOT.")
    return fig, " ".join(notes) + " " + HE_FIG7


# --- lesions (Veit et al. 2016) ---------------------------------------------------------------------


def single_lesions(tables, chance=0.9):
    """Test error with each block deleted in turn; residual nets left, plain nets right. tables: lesion_table rows
    with k == 1. chance: the error of guessing (1 - 1/classes)."""
    fig = make_subplots(rows=1, cols=2, shared_yaxes=True, horizontal_spacing=0.05,
                        subplot_titles=("residual networks", "plain networks"))
    notes = []
    for i, (label, d) in enumerate(tables.items()):
        col = 2 if parse(label)[0] == "plain" else 1
        sym = np.where(d.downsampling, "diamond", "circle")
        fig.add_scatter(x=d.block, y=100 * d.error, mode="lines+markers", name=label, line=_style(i, label),
                        marker=dict(size=np.where(d.downsampling, 10, 6), symbol=sym), row=1, col=col,
                        hovertemplate="block %{x} deleted<br>error %{y:.1f}%<extra>" + label + "</extra>")
        fig.add_hline(y=100 * float(d.base_error.iloc[0]), line=dict(color=color(i), dash="dot", width=1), row=1, col=col)
        down, other = d[d.downsampling].error, d[~d.downsampling].error
        notes.append(f"{label}: intact {_pct(float(d.base_error.iloc[0]))}; one block deleted: median "
                     f"{_pct(float(d.error.median()))}, worst {_pct(float(d.error.max()))} (block {int(d.block[d.error.idxmax()])})"
                     + (f", at downsampling blocks {_pct(float(down.mean()))} vs {_pct(float(other.mean()))} elsewhere"
                        if len(down) and len(other) else "") + ".")
    for col in (1, 2):
        fig.add_hline(y=100 * chance, line=dict(color="#999", dash="dash", width=1), row=1, col=col)
    layout(fig, "Delete one block (its branch; the block passes its shortcut on)", None, "test error (%)", height=440)
    fig.update_layout(legend=dict(y=1.12), margin=dict(t=90))
    fig.update_xaxes(title="deleted block (diamond: downsampling)")
    fig.update_layout(hovermode="closest")
    for k, d in tables.items():
        rise = float(d.error.median() - d.base_error.iloc[0])
        if parse(k)[0] == "ResNet" and rise > 0.05:
            notes.append(f"Unlike the paper's ResNet-110, deleting one block does hurt {k}: the median error rises "
                         f"by {100 * rise:.1f} points.")
    res = [float(d.error.median()) for k, d in tables.items() if parse(k)[0] == "ResNet"]
    plain = [float(d.error.median()) for k, d in tables.items() if parse(k)[0] == "plain"]
    if res and plain:
        agree = max(res) < min(plain)
        notes.append(f"Median error after one deletion: residual {', '.join(_pct(v) for v in res)}; plain "
                     f"{', '.join(_pct(v) for v in plain)} (chance {_pct(chance)}): "
                     + ("residual nets suffer less, as in the paper." if agree
                        else "this does NOT separate residual from plain as the paper does."))
    return fig, " ".join(notes) + " Dotted: intact error; dashed grey: chance. " + VEIT_SINGLE


def k_lesions(tables, chance=0.9):
    """Mean test error (band: min to max over the draws) against the number k of random blocks deleted."""
    fig, notes = go.Figure(), []
    for i, (label, d) in enumerate(tables.items()):
        g = d.groupby("k").error.agg(["mean", "min", "max", "count"]).reset_index()
        c = color(i)
        fig.add_scatter(x=list(g.k) + list(g.k[::-1]), y=list(100 * g["max"]) + list(100 * g["min"][::-1]), fill="toself",
                        fillcolor=c, opacity=0.15, line=dict(width=0), hoverinfo="skip", showlegend=False)
        fig.add_scatter(x=g.k, y=100 * g["mean"], mode="lines+markers", name=label, line=_style(i, label),
                        hovertemplate="%{x} blocks deleted<br>mean error %{y:.1f}%<extra>" + label + "</extra>")
        half = g[g["mean"] > 0.5]
        notes.append(f"{label}: {_pct(float(g['mean'].iloc[0]))} with {int(g.k.iloc[0])} deleted, "
                     + (f"above 50% from k = {int(half.k.iloc[0])} of {int(g.k.max())}" if len(half) else "never above 50%")
                     + f" ({int(g['count'].max())} draws per k at most).")
    fig.add_hline(y=100 * chance, line=dict(color="#999", dash="dash", width=1))
    layout(fig, "Delete k random blocks", "k (blocks deleted)", "test error (%)")
    return fig, " ".join(notes) + " Band: best and worst draw. " + VEIT_K


# --- gradient paths (Veit et al. 2016, Fig. 6) ------------------------------------------------------------


def path_lengths(table, span, label):
    """Veit Fig. 6: (a) how many paths have k branches, (b) mean gradient norm along one such path, (c) their total.
    table: `path_table`; span: `path_span`."""
    fig = make_subplots(rows=1, cols=3, horizontal_spacing=0.08,
                        subplot_titles=("(a) number of paths", "(b) gradient along one path", "(c) total gradient"))
    fig.add_bar(x=table.k, y=table.paths, marker_color=color(0), row=1, col=1, name="paths", showlegend=False,
                hovertemplate="k = %{x}<br>%{y:.3g} paths<extra></extra>")
    fig.add_scatter(x=table.k, y=table.mean_grad, mode="lines+markers", row=1, col=2, showlegend=False,
                    line=dict(color=color(1), width=2), error_y=dict(type="data", array=table.std_grad, visible=True, thickness=1),
                    hovertemplate="k = %{x}<br>||dL/dx_0|| = %{y:.3g}<extra></extra>")
    fig.add_bar(x=table.k, y=table.total, marker_color=color(2), row=1, col=3, showlegend=False,
                hovertemplate="k = %{x}<br>total %{y:.3g}<extra></extra>")
    fig.add_vrect(x0=span["lo"] - 0.5, x1=span["hi"] + 0.5, fillcolor="#2ca02c", opacity=0.12, line_width=0, row=1, col=3)
    layout(fig, f"Where the gradient of {label} comes from, by path length", None, None, height=420)
    fig.update_layout(margin=dict(t=80))
    fig.update_xaxes(title="k (residual branches on the path)")
    fig.update_yaxes(type="log", exponentformat="power", row=1, col=2)
    fig.update_layout(hovermode="closest", font=FONT)
    n = int(table.k.max())
    trend = "falls" if span["per_block"] < 1 else "grows"
    cap = (f"{label} ({n} blocks, {int(table.draws.min())} or more draws per k): the gradient along one path {trend} by a "
           f"factor {fmt(span['per_block'])} per extra branch (log-linear fit). Weighted by the number of paths, 90% "
           f"of the total comes from paths through {span['lo']} to {span['hi']} blocks (peak {span['peak']}), while "
           f"the typical path goes through {fmt(span['mean_length'])}. Norms of the path gradients are added, as in "
           "the paper (the gradients themselves partly cancel). ")
    if span["per_block"] >= 1:
        cap += "This differs from the paper: here longer paths carry MORE gradient each, not less. "
    return fig, cap + VEIT_PATHS


# --- switches on the whole test set -------------------------------------------------------------------


def switches(tables, chance=0.9):
    """Test error of each model under each switch setting (grouped bars). tables: `setting_table` per model."""
    fig, notes = go.Figure(), []
    for i, (label, d) in enumerate(tables.items()):
        fig.add_bar(x=d.setting, y=100 * d.error, name=label, marker_color=color(i), text=[_pct(e) for e in d.error],
                    textposition="outside",
                    hovertemplate="%{x}<br>error %{y:.1f}%<extra>" + label + "</extra>")
        notes.append(f"{label}: " + ", ".join(f"{s} {_pct(e)}" for s, e in zip(d.setting, d.error)) + ".")
    fig.add_hline(y=100 * chance, line=dict(color="#999", dash="dash", width=1))
    layout(fig, "Test error with the switches", None, "test error (%)")
    fig.update_yaxes(range=[0, 108])
    fig.update_layout(barmode="group", hovermode="closest")
    return fig, " ".join(notes) + f" Dashed: chance ({_pct(chance)})."
