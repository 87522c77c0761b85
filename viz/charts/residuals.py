"""Plotly figures for the Residuals page: each builder returns (fig, caption), the caption computed from the numbers
drawn, with the paper's finding beside ours and where they differ. Tables come from `viz.measures.residuals`; `tables` are
dicts {label: DataFrame}: the label is only displayed; each table carries its network's `depth` and `skip` as columns."""


import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from viz.charts.style import FONT, Caption, color, concept_color, concept_colors, fmt, layout, legend_below, pct

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


def kind(d):
    """("ResNet" | "plain", depth) of the network a table describes, from its columns."""
    return ("ResNet" if bool(d.skip.iloc[0]) else "plain"), int(d.depth.iloc[0])


def _style(i, d, names=None):
    """A model's line: its concept's colour (a shade per depth when several of one kind are drawn), solid for a
    ResNet, dashed for a plain net."""
    c = concept_colors(names)[i] if names else concept_color(kind(d)[0], i)
    return dict(color=c, width=2, dash="solid" if kind(d)[0] == "ResNet" else "dash")


# --- residual sizes and He et al. Fig. 7 ---------------------------------------------------------------


def residual_ratios(tables):
    """||F(x)|| / ||x|| per block over the test images, block position scaled to 0..1 so depths overlay."""
    fig = go.Figure()
    for i, (label, d) in enumerate(tables.items()):
        fig.add_scatter(x=d.position, y=d.residual_ratio, mode="lines+markers", name=label, line=_style(i, d, list(tables)),
                        marker=dict(size=5), customdata=d.block,
                        hovertemplate="block %{customdata}<br>||F(x)||/||x|| = %{y:.3g}<extra>" + label + "</extra>")
    layout(fig, "Size of the learned residual on test images", "block position (0 = input side, 1 = output side)",
           "residual size ||F(x)|| / ||x||", log=True)
    means = {label: float(d.residual_ratio.mean()) for label, d in tables.items()}
    notes = ["Mean ||F(x)||/||x||: " + ", ".join(f"{k} {fmt(v)}" for k, v in means.items()) + "."]
    res = sorted((kind(d)[1], means[k], k) for k, d in tables.items() if kind(d)[0] == "ResNet")
    head = f"Mean residual size ||F(x)||/||x||: {', '.join(f'{k} {fmt(v)}' for k, v in means.items())}."
    if len(res) > 1:
        falls = all(b[1] < a[1] for a, b in zip(res, res[1:], strict=False))
        notes.append(f"Among the ResNets it {'falls' if falls else 'does not fall steadily'} with depth "
                     f"({', '.join(f'{k} {fmt(v)}' for _, v, k in res)}).")
        head = (f"The deeper the ResNet, the smaller its residuals: mean ||F(x)||/||x|| from {fmt(res[0][1])} "
                f"({res[0][2]}) to {fmt(res[-1][1])} ({res[-1][2]}), as He et al. found." if falls else
                f"Unlike He et al., the residuals do not shrink steadily with depth here "
                f"({', '.join(f'{k} {fmt(v)}' for _, v, k in res)}).")
    notes.append("He et al. 2015 expected residual functions close to zero, smaller in deeper ResNets; a ratio "
                 "near or above 1 means the block rewrites its input rather than nudging it.")
    return fig, Caption(" ".join(notes), head)


def response_std(tables):
    """He et al. Fig. 7: std of each 3x3 conv's response (after BN, before addition/ReLU), in layer order (top)
    and sorted by size (bottom)."""
    fig = make_subplots(rows=2, cols=1, vertical_spacing=0.14,
                        subplot_titles=("layer index (original order)", "layer index (sorted by magnitude)"))
    for i, (label, d) in enumerate(tables.items()):
        s = d.sort_values("rank")
        for row, x, y, show in ((1, d["index"], d.response_std, True), (2, s["rank"], s.response_std, False)):
            fig.add_scatter(x=x, y=y, mode="lines", name=label, line=_style(i, d, list(tables)), showlegend=show,
                            legendgroup=label, row=row, col=1,
                            hovertemplate="layer %{x}<br>std = %{y:.3g}<extra>" + label + "</extra>")
    layout(fig, "Response std of each 3x3 conv layer (He et al. 2015, Fig. 7)", None, "std", height=600)
    # the title and the upper subplot's title fill the top: the legend goes under the lower subplot
    fig.update_layout(legend={"yanchor": "top", "y": -0.07, "xanchor": "left", "x": 0}, margin={"t": 70, "b": 90})
    fig.update_yaxes(title="std")
    means = {label: float(d.response_std.mean()) for label, d in tables.items()}
    notes = ["Mean response std: " + ", ".join(f"{k} {fmt(v)}" for k, v in means.items()) + "."]
    verdicts, kinds = [], {label: kind(d) for label, d in tables.items()}
    for label, v in means.items():
        k, depth = kinds[label]
        twin = next((t for t, kd in kinds.items() if kd == ("plain", depth)), None)
        if k == "ResNet" and twin is not None:
            ok = v < means[twin]
            verdicts.append(ok)
            notes.append(f"{label} {'below' if ok else 'NOT below'} {twin} ({fmt(v)} vs {fmt(means[twin])}).")
    res = sorted((kinds[k][1], v, k) for k, v in means.items() if kinds[k][0] == "ResNet")
    if len(res) > 1:
        ok = all(b[1] < a[1] for a, b in zip(res, res[1:]))
        verdicts.append(ok)
        notes.append(f"Deeper ResNets {'respond less' if ok else 'do NOT respond steadily less'} per layer "
                     f"({', '.join(f'{k} {fmt(v)}' for _, v, k in res)}).")
    if verdicts:
        notes.append("Ours agrees with the paper." if all(verdicts) else "Ours differs from the paper where marked NOT.")
    twins = any("below" in n for n in notes[1:])  # a ResNet beside its plain twin was compared
    deeper = len(res) > 1
    said = ("ResNets respond less than their plain twins, and less the deeper they are" if twins and deeper else
            "ResNets respond less than their plain twins" if twins else "The deeper the ResNet, the less each layer responds")
    head = ((said[0].upper() + said[1:] + ", as in He et al.'s Fig. 7." if all(verdicts) else
             "Part of He et al.'s Fig. 7 does not hold here: " + " ".join(n for n in notes[1:] if "NOT" in n))
            if verdicts else notes[0])
    return fig, Caption(" ".join(notes) + " " + HE_FIG7, head)


# --- lesions (Veit et al. 2016) ---------------------------------------------------------------------


def single_lesions(tables, chance=0.9):
    """Test error with each block deleted in turn; residual nets left, plain nets right. tables: lesion_table rows
    with k == 1. chance: the error of guessing (1 - 1/classes)."""
    fig = make_subplots(rows=1, cols=2, shared_yaxes=True, horizontal_spacing=0.05,
                        subplot_titles=("residual networks", "plain networks"))
    notes = []
    for i, (label, d) in enumerate(tables.items()):
        col = 2 if kind(d)[0] == "plain" else 1
        sym = np.where(d.downsampling, "diamond", "circle")
        fig.add_scatter(x=d.block, y=100 * d.error, mode="lines+markers", name=label, line=_style(i, d, list(tables)),
                        marker=dict(size=np.where(d.downsampling, 10, 6), symbol=sym), row=1, col=col,
                        hovertemplate="block %{x} deleted<br>error %{y:.1f}%<extra>" + label + "</extra>")
        fig.add_hline(y=100 * float(d.base_error.iloc[0]), line=dict(color=concept_colors(list(tables))[i], dash="dot", width=1), row=1, col=col)
        down, other = d[d.downsampling].error, d[~d.downsampling].error
        notes.append(f"{label}: intact {pct(float(d.base_error.iloc[0]))}; one block deleted: median "
                     f"{pct(float(d.error.median()))}, worst {pct(float(d.error.max()))} (block {int(d.block[d.error.idxmax()])})"
                     + (f", at downsampling blocks {pct(float(down.mean()))} vs {pct(float(other.mean()))} elsewhere"
                        if len(down) and len(other) else "") + ".")
    for col in (1, 2):
        fig.add_hline(y=100 * chance, line=dict(color="#999", dash="dash", width=1), row=1, col=col)
    layout(fig, "Delete one block (its branch; the block passes its shortcut on)", None, "test error (%)", height=440)
    legend_below(fig, height=480)
    fig.update_xaxes(title="deleted block (diamond: downsampling)", tickformat="d")
    fig.update_layout(hovermode="closest")
    for k, d in tables.items():
        rise = float(d.error.median() - d.base_error.iloc[0])
        if kind(d)[0] == "ResNet" and rise > 0.05:
            notes.append(f"Unlike the paper's ResNet-110, deleting one block does hurt {k}: the median error rises "
                         f"by {100 * rise:.1f} points.")
    res = [float(d.error.median()) for d in tables.values() if kind(d)[0] == "ResNet"]
    plain = [float(d.error.median()) for d in tables.values() if kind(d)[0] == "plain"]
    rises = {k: float(d.error.median() - d.base_error.iloc[0]) for k, d in tables.items()}
    head = ("Deleting one block: the median test error rises by " +
            ", ".join(f"{100 * v:.1f} points in {k}" for k, v in rises.items()) + f" (chance {pct(chance)}).")
    if res and plain:
        agree = max(res) < min(plain)
        notes.append(f"Median error after one deletion: residual {', '.join(pct(v) for v in res)}; plain "
                     f"{', '.join(pct(v) for v in plain)} (chance {pct(chance)}): "
                     + ("residual nets suffer less, as in the paper." if agree
                        else "this does NOT separate residual from plain as the paper does."))
    return fig, Caption(" ".join(notes) + " Dotted: intact error; dashed grey: chance. " + VEIT_SINGLE, head)


def k_lesions(tables, chance=0.9):
    """Mean test error (band: min to max over the draws) against the number k of random blocks deleted."""
    fig, notes = go.Figure(), []
    for i, (label, d) in enumerate(tables.items()):
        g = d.groupby("k").error.agg(["mean", "min", "max", "count"]).reset_index()
        c = concept_colors(list(tables))[i]
        fig.add_scatter(x=list(g.k) + list(g.k[::-1]), y=list(100 * g["max"]) + list(100 * g["min"][::-1]), fill="toself",
                        fillcolor=c, opacity=0.15, line=dict(width=0), hoverinfo="skip", showlegend=False)
        fig.add_scatter(x=g.k, y=100 * g["mean"], mode="lines+markers", name=label, line=_style(i, d, list(tables)),
                        hovertemplate="%{x} blocks deleted<br>mean error %{y:.1f}%<extra>" + label + "</extra>")
        half = g[g["mean"] > 0.5]
        notes.append(f"{label}: {pct(float(g['mean'].iloc[0]))} with {int(g.k.iloc[0])} deleted, "
                     + (f"above 50% from k = {int(half.k.iloc[0])} of {int(g.k.max())}" if len(half) else "never above 50%")
                     + f" ({int(g['count'].max())} draws per k at most).")
    fig.add_hline(y=100 * chance, line=dict(color="#999", dash="dash", width=1))
    layout(fig, "Delete k random blocks", "k (blocks deleted)", "test error (%)")
    head = "Deleting more random blocks raises the error step by step: " + "; ".join(
        f"{k} {pct(float(d.groupby('k').error.mean().iloc[0]))} with {int(d.k.min())} deleted, "
        f"{pct(float(d.groupby('k').error.mean().iloc[-1]))} with {int(d.k.max())}" for k, d in tables.items()) + "."
    return fig, Caption(" ".join(notes) + " Band: best and worst draw. " + VEIT_K, head)


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
    head = (f"Most of {label}'s gradient ({span['lo']} to {span['hi']} branches) takes paths much shorter than the "
            f"network, each extra branch scaling it by {fmt(span['per_block'])}, as Veit et al. found."
            if span["per_block"] < 1 else f"Unlike Veit et al., longer paths carry more gradient each in {label}.")
    return fig, Caption(cap + VEIT_PATHS, head)


# --- switches on the whole test set -------------------------------------------------------------------


def switches(tables, chance=0.9):
    """Test error of each model under each switch setting (grouped bars). tables: `setting_table` per model."""
    fig, notes = go.Figure(), []
    for i, (label, d) in enumerate(tables.items()):
        fig.add_bar(x=d.setting, y=100 * d.error, name=label, marker_color=concept_colors(list(tables))[i], text=[pct(e) for e in d.error],
                    textposition="outside",
                    hovertemplate="%{x}<br>error %{y:.1f}%<extra>" + label + "</extra>")
        notes.append(f"{label}: " + ", ".join(f"{s} {pct(e)}" for s, e in zip(d.setting, d.error)) + ".")
    fig.add_hline(y=100 * chance, line=dict(color="#999", dash="dash", width=1))
    layout(fig, "Test error with the switches", None, "test error (%)")
    fig.update_yaxes(range=[0, 108])
    fig.update_layout(barmode="group", hovermode="closest")
    off = [(k, d) for k, d in tables.items() if kind(d)[0] == "ResNet" and "all skips off" in set(d.setting)]
    head = ("; ".join(f"Every skip off sends {k} from {pct(float(d.error.iloc[0]))} to "
                      f"{pct(float(d.error[d.setting == 'all skips off'].iloc[0]))} test error" for k, d in off) + "."
            if off else notes[0])
    return fig, Caption(" ".join(notes) + f" Dashed: chance ({pct(chance)}).", head)
