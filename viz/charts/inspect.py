"""Plotly figures for the Inspect page (pure functions of numpy arrays and DataFrames), and the pairs the page draws:
(figure, caption) with each caption computed from the numbers drawn."""

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from viz.charts.style import DIVERGING, STAGES, Caption
from viz.measures.attribution import DESCRIPTIONS

_AX = dict(showticklabels=False, showgrid=False, zeroline=False, ticks="")


def image_fig(pixels, title="", box=None, height=280):
    """An RGB image (H, W, 3) uint8, with an optional rectangle box=(x0, y0, x1, y1) drawn on it."""
    fig = go.Figure(go.Image(z=pixels, hovertemplate="x %{x}, y %{y}<br>RGB %{z}<extra></extra>"))
    if box is not None and tuple(box) != (0, 0, pixels.shape[1], pixels.shape[0]):
        x0, y0, x1, y1 = box
        fig.add_shape(type="rect", x0=x0 - 0.5, y0=y0 - 0.5, x1=x1 - 0.5, y1=y1 - 0.5,
                      line=dict(color="#FFD400", width=3))
    fig.update_layout(title=title, height=height, margin=dict(l=5, r=5, t=40, b=5))
    fig.update_xaxes(**_AX)
    fig.update_yaxes(**_AX, scaleanchor="x")
    return fig


def confidence(p: float) -> str:
    """A probability as people read it: one decimal, never "100.0%" or "0.0%" for what is only nearly so."""
    if p >= 0.9995 and p < 1:
        return "> 99.9%"
    if 0 < p < 0.0005:
        return "< 0.1%"
    return f"{p:.1%}"


def top_fig(top, height=280):
    """Top-k predictions: DataFrame (rank, label, prob) -> horizontal bars, most probable on top."""
    fig = go.Figure(go.Bar(x=top.prob, y=top.label, orientation="h", text=[confidence(p) for p in top.prob],
                           textposition="auto", marker_color="#4C78A8",
                           hovertemplate="%{y}: %{x:.2%}<extra></extra>"))
    fig.update_layout(title=f"Top {len(top)} predictions", height=height, margin=dict(l=5, r=5, t=40, b=30),
                      xaxis=dict(range=[0, 1], tickformat=".0%", title="probability"), yaxis=dict(autorange="reversed"))
    return fig


def block_maps_fig(blocks, x_maps, f_maps, out_maps, shared="block", per_row=3):
    """Every block's x, F(x) and output as channel-mean heat maps: `per_row` blocks a row, three maps each.

    Args:
        blocks: Inspection.blocks (block, stage, skip, dropped, residual_ratio).
        x_maps, f_maps, out_maps: lists of (H, W) arrays, one per block.
        shared: "block" (each block's three maps share a range +-m) or "all" (one range for every map).
    Returns:
        (figure, m per block).
    """
    # The grid is laid out by hand: plotly's make_subplots takes seconds for the ~80 panels of a ResNet-56.
    n = len(blocks)
    m = np.array([max(np.abs(a).max() for a in (x_maps[i], f_maps[i], out_maps[i])) for i in blocks.block])
    m = np.maximum(m if shared == "block" else np.full_like(m, m.max()), 1e-12)
    rows = -(-n // per_row)
    gap, sep = 0.012, 0.04  # between maps, between blocks (fractions of the width)
    w = (1 - 2 * gap * per_row - sep * (per_row - 1)) / (3 * per_row)
    row_h = 1 / rows
    names = ("x", "F(x)", "out")
    data, layout, notes = [], {}, []
    for i in range(n):
        r, col = divmod(i, per_row)
        row = blocks.iloc[i]
        y0, y1 = 1 - (r + 1) * row_h + 0.22 * row_h, 1 - r * row_h - 0.12 * row_h
        for k, maps in enumerate((x_maps, f_maps, out_maps)):
            j = 3 * i + k + 1
            x0 = col * (3 * w + 2 * gap + sep) + k * (w + gap)
            ax = "" if j == 1 else str(j)
            layout[f"xaxis{ax}"] = dict(domain=[x0, x0 + w], anchor=f"y{ax}", **_AX)
            layout[f"yaxis{ax}"] = dict(domain=[y0, y1], anchor=f"x{ax}", scaleanchor=f"x{ax}", autorange="reversed", **_AX)
            bar = (dict(title="channel mean", len=0.5, y=1, yanchor="top") if shared == "all" else
                   dict(title="channel mean, per block", len=0.5, y=1, yanchor="top", tickvals=[-m[i], 0, m[i]],
                        ticktext=["−its largest", "0", "+its largest"]))  # each block's maps on their own ±m
            data.append(go.Heatmap(
                z=maps[i], zmin=-m[i], zmax=m[i], colorscale=DIVERGING, showscale=i == 0 and k == 0,
                xaxis=f"x{ax}", yaxis=f"y{ax}", colorbar=bar,
                hovertemplate=f"block {i} {names[k]}<br>row %{{y}}, col %{{x}}<br>%{{z:.3g}}<extra></extra>"))
            title = f"<b>block {i}</b>: x" if k == 0 else names[k]
            notes.append(dict(text=title, x=x0 + w / 2, y=y1, xref="paper", yref="paper", yanchor="bottom",
                              showarrow=False, font=dict(size=11)))
        state = "branch removed · " if row.dropped else ("no skip · " if not row.skip else "")
        label = f"{state}‖F‖/‖x‖ {row.residual_ratio:.2f}" + (f" · ±{m[i]:.2g}" if shared == "block" else "")
        xc = col * (3 * w + 2 * gap + sep) + 1.5 * w + gap
        notes.append(dict(text=label, x=xc, y=y0, xref="paper", yref="paper", yanchor="top", showarrow=False,
                          font=dict(size=11)))
    fig = go.Figure(data=data, layout=dict(
        layout, annotations=notes, height=80 + 170 * rows, margin=dict(l=5, r=5, t=60, b=10), plot_bgcolor="white",
        title="Inside every block: channel mean of x, of F(x), and of the output"))
    return fig, m


def ratio_fig(blocks):
    """||F(x)|| / ||x|| per block, coloured by stage."""
    fig = go.Figure(go.Bar(x=blocks.block, y=blocks.residual_ratio,
                           marker_color=[STAGES[s % 3] for s in blocks.stage],
                           hovertemplate="block %{x}: %{y:.3f}<extra></extra>"))
    fig.update_layout(title="‖F(x)‖ / ‖x‖ per block (this image)", height=260, margin=dict(l=5, r=5, t=40, b=30),
                      xaxis_title="block (input side → output side)", yaxis_title="ratio")
    return fig


def channels_fig(maps, table, block, cols=8):
    """The strongest channels of one block's output: maps (k, H, W), table (rank, channel, mean) from
    viz.inspect.strongest_channels; one shared colour range."""
    k = len(maps)
    nr = int(np.ceil(k / cols))
    titles = [f"ch {c} · mean {v:.2g}" for c, v in zip(table.channel, table["mean"])]
    fig = make_subplots(rows=nr, cols=min(cols, k), subplot_titles=titles, horizontal_spacing=0.01,
                        vertical_spacing=0.08)
    lo, hi = float(np.min(maps)), float(np.max(maps))
    for j in range(k):
        fig.add_trace(go.Heatmap(z=maps[j], zmin=lo, zmax=hi, colorscale="Viridis", showscale=j == 0,
                                 colorbar=dict(title="activation", len=0.8),
                                 hovertemplate=f"channel {table.channel.iloc[j]}<br>%{{z:.3g}}<extra></extra>"),
                      row=j // cols + 1, col=j % cols + 1)
    fig.update_annotations(font_size=10)
    fig.update_xaxes(**_AX)
    fig.update_yaxes(**_AX, autorange="reversed")
    fig.update_layout(title=f"Block {block}: its {k} strongest output channels (largest mean activation)",
                      height=90 + 170 * nr, margin=dict(l=5, r=5, t=70, b=5), plot_bgcolor="white")
    return fig


def attribution_fig(pixels, att, classes):
    """Image, Saliency, IG, IG + NoiseTunnel (if computed), LayerGradCam over the image: one row of maps."""
    panels = [("image", None), ("Saliency", att.saliency), ("Integrated Gradients", att.ig)]
    if att.ig_nt is not None:
        panels.append(("IG + NoiseTunnel", att.ig_nt))
    panels.append((f"GradCAM at block {att.gradcam_block}", att.gradcam))
    fig = make_subplots(rows=1, cols=len(panels), subplot_titles=[p[0] for p in panels], horizontal_spacing=0.02)
    for c, (name, a) in enumerate(panels, start=1):
        if a is None or name.startswith("GradCAM"):
            fig.add_trace(go.Image(z=pixels, hoverinfo="skip"), row=1, col=c)
        if name == "Saliency":
            fig.add_trace(go.Heatmap(z=a, colorscale="Hot", reversescale=True, showscale=False,
                                     hovertemplate="|grad| %{z:.3g}<extra></extra>"), row=1, col=c)
        elif name.startswith("GradCAM"):
            fig.add_trace(go.Heatmap(z=a, colorscale="Jet", opacity=0.5, showscale=False,
                                     hovertemplate="GradCAM %{z:.3g}<extra></extra>"), row=1, col=c)
        elif a is not None:
            v = float(np.abs(a).max()) or 1.0
            fig.add_trace(go.Heatmap(z=a, zmin=-v, zmax=v, colorscale=DIVERGING, showscale=False,
                                     hovertemplate="attribution %{z:.3g}<extra></extra>"), row=1, col=c)
    fig.update_xaxes(**_AX)
    fig.update_yaxes(**_AX, autorange="reversed")
    for c in range(1, len(panels) + 1):
        fig.update_yaxes(scaleanchor=f"x{'' if c == 1 else c}", row=1, col=c)
    fig.update_layout(height=300, margin=dict(l=5, r=5, t=60, b=5), plot_bgcolor="white",
                      title=f"Why '{classes[att.target]}'? Attributions for that class's score")
    return fig


def importance_fig(df, title="Per-block importance for the class score", yaxis="share of the score gap"):
    """Per-block importance: DataFrame (block, stage, importance) -> bars coloured by stage."""
    fig = go.Figure()
    for s in sorted(df.stage.unique()):
        d = df[df.stage == s]
        fig.add_trace(go.Bar(x=d.block, y=d.importance, name=f"stage {s + 1}", marker_color=STAGES[s % 3],
                             hovertemplate="block %{x}: %{y:.3g}<extra></extra>"))
    fig.update_layout(title=title, height=300, margin=dict(l=5, r=5, t=40, b=30), barmode="overlay",
                      xaxis_title="block (input side → output side)", yaxis_title=yaxis)
    return fig


# --- (figure, caption) pairs the page draws -------------------------------------------------------------------


def original(up):
    """The image as given, with the kept centre square (yellow box) where part of it is cut away. The title is
    short (the chart is a third of the page wide): the source's name without its parenthesis; the caption has it all."""
    w, h = up.size
    whole = tuple(up.crop_box) == (0, 0, up.preview.shape[1], up.preview.shape[0])
    side = min(w, h)  # the centred square kept (in the image's own pixels)
    head = (f"The whole {w} x {h} image goes in." if whole else f"The model sees only the centred {side} x {side} "
            f"square ({side / max(w, h):.0%} of the {'width' if w > h else 'height'}).")
    return (image_fig(up.preview, f"{up.format.split(' (')[0]}, {w} x {h}", up.crop_box),
            Caption(f"The image: {up.format}, {w} x {h} pixels"
                    + ("." if whole else "; the yellow box is the centred square the model sees."), head))


def seen(up):
    why = ("The centred square resized to 32 x 32 (Lanczos). A centre crop, not padding: the networks learned from "
           "full-frame 32 x 32 images with no borders, so bars would be new to them and would shrink the object.")
    h, w = up.pixels.shape[:2]
    return image_fig(up.pixels, f"What the model sees: {h} x {w}"), Caption(why, f"The centred square, resized to {h} x {w}.")


def top(ins):
    t = ins.top
    rest = ", ".join(f"{lab} {confidence(p)}" for lab, p in zip(t.label[1:3], t.prob[1:3], strict=True))
    sure = f"; the next, {t.label[1]}, gets {confidence(t.prob[1])}" if len(t) > 1 else ""
    head = f"Top class: {t.label[0]} ({confidence(t.prob[0])})"
    return top_fig(t), Caption(head + (f"; then {rest}." if rest else "."), f"{head}{sure}.")


def block_maps(ins, shared: bool):
    fig, _ = block_maps_fig(ins.blocks, ins.x_maps, ins.f_maps, ins.out_maps, "all" if shared else "block")
    scale = "one colour scale for every map" if shared else "each block's three maps on one colour scale"
    out = np.array([np.abs(m).mean() for m in ins.out_maps])  # the output map's mean size, per block
    head = (f"All {len(ins.blocks)} blocks side by side: the output map is largest at block {int(out.argmax())} "
            f"and smallest at block {int(out.argmin())}.")
    return fig, Caption(f"Channel means of x, F(x) and the output of all {len(ins.blocks)} blocks, {scale}: red above "
                        "0, blue below. In the first block of stages 2 and 3 the shortcut subsamples x and pads it with "
                        "zero channels.", head)


def ratios(ins):
    r = ins.blocks[~ins.blocks.dropped]
    if not len(r):
        gone = "Every branch is removed: no block adds anything to its input."
        return ratio_fig(ins.blocks), Caption(gone, gone)
    lo, hi = r.loc[r.residual_ratio.idxmin()], r.loc[r.residual_ratio.idxmax()]
    big = int((r.residual_ratio > 1).sum())
    head = (f"F(x) outweighs x in {big} of {len(r)} blocks; most in block {hi.block} ({hi.residual_ratio:.2f})." if big
            else f"In every block F(x) is smaller than x: at most {hi.residual_ratio:.2f} of it (block {hi.block}).")
    return ratio_fig(ins.blocks), Caption(
        f"Median ‖F(x)‖/‖x‖ = {r.residual_ratio.median():.2f}: from {lo.residual_ratio:.2f} (block {lo.block}) to "
        f"{hi.residual_ratio:.2f} (block {hi.block}); a removed branch counts as 0.", head)


def channels(table, maps, block):
    best = table.iloc[0]
    return channels_fig(maps, table, block), Caption(
        f"Block {block}'s output channels with the largest mean activation, on one colour range; the strongest, "
        f"channel {int(best.channel)}, has mean {best['mean']:.3g} and maximum {best['max']:.3g}.",
        f"Block {block}'s strongest output channel is channel {int(best.channel)}.")


def attributions(pixels, att, classes, steps: int, noise: float):
    """Saliency, IG (and NoiseTunnel), GradCAM maps; the caption checks IG's completeness (its sum against
    score(image) - score(black)) and says what each method is."""
    gap = float(att.ig.sum()) - att.ig_delta
    err = abs(att.ig_delta) / max(abs(gap), 1e-12)
    detail = (
        f"Integrated Gradients, {steps} steps: the attributions sum to {att.ig.sum():.4g}; "
        f"score(image) - score(black) = {gap:.4g} (error {err:.1%}"
        + ("; more steps bring them closer). " if err > 0.05 else "). ")
        + (f"NoiseTunnel: 4 noisy copies (noise std {noise} of the pixel range), {max(4, steps // 4)} steps each. "
           if noise else "")
        + " ".join(DESCRIPTIONS[k] for k in ("saliency", "ig") + (("ig_nt",) if noise else ()) + ("gradcam",)))
    head = (f"Where the evidence for '{classes[att.target]}' lies: red pixels raise its score, blue lower it; "
            f"GradCAM shows where block {att.gradcam_block} sees it" + (", IG smoothed with NoiseTunnel." if noise else "."))
    return attribution_fig(pixels, att, classes), Caption(detail, head)


def importance(att, layer_ig: bool):
    """The per-block bars; the caption gives their sum beside score(network) - score(every branch removed) and
    says how far apart they are (only the gate method's sum tends to that gap, as IG steps grow)."""
    b = att.blocks
    total, gap, steps = float(b.importance.sum()), float(b.attrs["score_gap"]), b.attrs.get("steps")
    top = b.loc[b.importance.abs().idxmax()]
    head = f"The class score rests most on block {int(top.block)} (its bar: {top.importance:.3g})."
    if layer_ig:
        return importance_fig(b, yaxis="score change (that block alone)"), Caption(DESCRIPTIONS["blocks_layer_ig"] + (
            f" Here, {steps} steps per block: the bars sum to {total:.4g}; score(network) - score(every branch "
            f"removed) = {gap:.4g}."), head)
    diff = total - gap
    rel = abs(diff) / abs(gap) if gap else float("inf")
    said = (f" (difference {diff:.2g}, {rel:.1%} of the gap)." if rel <= 0.05 else
            f"; they differ by {diff:.2g}" + (f" ({rel:.0%} of the gap)" if gap else "") +
            ": at this many steps the bars are no reliable split of the gap; more IG steps bring the sum closer.")
    return importance_fig(b), Caption(DESCRIPTIONS["blocks"] + f" Here, {steps} steps: the bars sum to {total:.4g}, "
                                      f"score gap {gap:.4g}" + said, head)


VIEWS = ("The block", "Its channels", "Every block", "Why (Captum)")  # the page draws one at a time under the picture


def view(show, ins, here, twin, twin_ins, block, shared, arch):
    """The (figure, caption) pairs and the tables to download, [(DataFrame, file name, label)], of one of VIEWS but
    the last (the attributions need their own computation): the opened block beside the plain twin's, its strongest
    channels, or every block's maps and residual sizes."""
    from viz.charts.network_block import block_detail
    from viz.measures.inspect import strongest_channels

    if show == VIEWS[0]:
        maps = [{"x": a.x_maps[block], "F(x)": a.f_maps[block], "out": a.out_maps[block]} for a in (ins, twin_ins)]
        return [block_detail([here, twin], block, maps=maps, **arch)], []
    if show == VIEWS[1]:
        table, chans = strongest_channels(ins.outs[block], k=8)
        return [channels(table, chans, block)], [(table, "inspect-channels", "Channels (CSV)")]
    if show == VIEWS[2]:
        return [block_maps(ins, shared), ratios(ins)], [(ins.blocks, "inspect-blocks", "Per-block numbers (CSV)")]
    return [], []


def explained(pixels, att, classes, steps, noise, layer_ig):
    """The last of VIEWS from `viz.measures.attribution.attribute_all`'s result: the attribution maps and the per-block bars,
    with their tables to download."""
    from viz.measures.inspect import pixel_table

    return ([attributions(pixels, att, classes, steps, noise), importance(att, layer_ig)],
            [(att.blocks, "inspect-block-importance", "Per-block importance (CSV)"),
             (pixel_table(att), "inspect-attribution-maps", "Attribution maps, per pixel (CSV)")])
