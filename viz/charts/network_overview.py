"""The network drawn as a network: one tile per block coloured by a measure, the stages and skips above, and a
caption computed from the numbers coloured."""

import math

import numpy as np
import plotly.graph_objects as go
from plotly.colors import sample_colorscale

from viz.charts.network_drawing import GONE, PLAIN_RED, SIGNAL, Ink, draw_skip
from viz.charts.style import FONT, TEMPLATE, Caption, fmt, pct
from viz.measures import network as net

SEQUENTIAL = "Viridis"  # Plotly's perceptual scale: dark = small, yellow = large, readable on a projector


ROW = -1.05  # y of the colour row: one tile per block, the figure's hoverable elements


def _colour_values(blocks, measure):
    """(values to colour by, colour-axis settings with a title in words and readable ticks)."""
    title, _, log = net.MEASURES[measure]
    title = title.replace("<br>", " ")
    v = blocks[measure].to_numpy(dtype=float)
    flat = dict(
        orientation="h", x=0.5, xanchor="center", y=-0.02, yanchor="top", len=0.6, lenmode="fraction", thickness=12
    )
    if not log:
        return v, dict(
            colorscale=SEQUENTIAL,
            cmin=0,
            cmax=1,
            colorbar=dict(title=dict(text=title, side="top"), tickformat=".0%", **flat),
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.log10(np.where(v > 0, v, np.nan))
    z[~np.isfinite(z)] = np.nan
    ok = z[np.isfinite(z)]
    lo, hi = (float(ok.min()), float(ok.max())) if len(ok) else (0.0, 1.0)
    if hi - lo < 1e-9:
        lo, hi = lo - 0.5, hi + 0.5
    ticks = np.arange(math.ceil(lo), math.floor(hi) + 1, dtype=float)  # the powers of ten inside the range
    if len(ticks) > 7:
        ticks = ticks[:: math.ceil(len(ticks) / 7)]
    if len(ticks) < 2:  # under a decade: label its ends and middle with their values
        ticks = np.linspace(lo, hi, 3)
    bar = dict(
        title=dict(text=title + " (log scale)", side="top"),
        tickvals=list(ticks),
        ticktext=[fmt(10.0 ** float(t)) for t in ticks],
        **flat,
    )
    return z, dict(colorscale=SEQUENTIAL, cmin=lo, cmax=hi, colorbar=bar)


def _hover(trace):
    B = trace.blocks
    cd = np.stack(
        [
            B.block,
            B.stage + 1,
            B.x_norm,
            B.fx_norm,
            B.out_norm,
            B.residual_ratio,
            B.grad_norm,
            B.skip_share,
            B.response_std,
            B.skip.map({True: "on", False: "off"}),
            B.dropped.map({True: "removed", False: "kept"}),
        ],
        axis=1,
    )
    tpl = (
        "<b>block %{customdata[0]}</b> (stage %{customdata[1]}), skip %{customdata[9]}, branch %{customdata[10]}"
        "<br>||x|| = %{customdata[2]:.3g}, ||F(x)|| = %{customdata[3]:.3g}, ||out|| = %{customdata[4]:.3g}"
        "<br>||F(x)||/||x|| = %{customdata[5]:.3g}, std of F(x) = %{customdata[8]:.3g}"
        "<br>gradient at its output %{customdata[6]:.3g}, via the skip %{customdata[7]:.0%}<extra>"
        + trace.name
        + "</extra>"
    )
    return cd, tpl


def network(trace, measure="grad_norm", norm="batch", activation="relu", shortcut=None, selected=None, height=370):
    """The whole network as a block diagram: stem, three stages of residual blocks, head; each block coloured by
    `measure` (a column of trace.blocks, one of viz.network.MEASURES).

    Args:
        trace: a `viz.probe.Trace` (N blocks).
        norm, activation: what the branch is made of ("batch" draws BN boxes, "none" none).
        shortcut: "A" or "B" for the blocks where the shape changes (None: read from the trace).
        selected: a block index to outline, or None.
    Returns:
        (figure, caption). The figure's only hoverable trace has one point per block, customdata[0] = block index,
        in block order: select a point to pick its block. Stages of more than 3 blocks draw their first two and
        their last block in full and the others as one strip of thin cells, one cell per block.
    """
    if measure not in net.MEASURES:
        raise ValueError(f"measure must be one of {', '.join(net.MEASURES)}, not {measure!r}.")
    shortcut = shortcut or net.infer_shortcut(trace)
    B = trace.blocks.reset_index(drop=True)
    L = net.block_layout(B)
    z, axis = _colour_values(B, measure)
    colours = [
        None if not math.isfinite(v) else c
        for v, c in zip(
            z,
            sample_colorscale(
                axis["colorscale"],
                list(
                    np.clip((np.nan_to_num(z, nan=axis["cmin"]) - axis["cmin"]) / (axis["cmax"] - axis["cmin"]), 0, 1)
                ),
            ),
        )
    ]
    fig, ink = go.Figure(), Ink()
    parts = net.parts(norm, activation)
    label = 11  # px, for a page about 900 px wide; presentation mode scales the figure up
    xmax = float(L.x1.max())
    act = _frame(ink, L, xmax, label, norm, parts)
    _blocks(fig, ink, L, B, colours, parts, act, shortcut, label)
    _mark_selected(ink, L, selected, label)
    _tiles(fig, L, z, trace, xmax)
    ink.apply(fig)
    fig.update_layout(
        coloraxis=axis,
        template=TEMPLATE,
        font=FONT,
        height=height,
        dragmode=False,
        margin=dict(l=10, r=10, t=50, b=60),
        hovermode="closest",
        clickmode="event+select",
        title=dict(text=f"{trace.name}: every block, coloured by {net.MEASURES[measure][1]}", x=0.01),
    )
    fig.update_xaxes(visible=False, range=[-1.45, xmax + 1.45], fixedrange=True)
    fig.update_yaxes(visible=False, range=[ROW - 0.55, 1.75], fixedrange=True)
    return fig, _network_caption(trace, measure, L)


def _frame(ink, L, xmax, label, norm, parts):
    """The network picture's stem, head, main line and stage titles (and the boxes of folded blocks); returns the
    activation's name as drawn."""
    # stem and head; what is inside a box (the stem's, the head's, a branch's layers) is said on hover, so the picture
    # reads at a glance: F, its skip, the (+)
    act = parts[2 if norm == "batch" else 1]
    for x0, x1, text, inside in (
        (-1.3, -0.3, "stem", "conv → " + ("BN → " if norm == "batch" else "") + act),
        (xmax + 0.3, xmax + 1.3, "head", "avg pool → fc"),
    ):
        ink.shape(type="rect", x0=x0, x1=x1, y0=-0.55, y1=0.55, line=dict(color=SIGNAL, width=1), fillcolor="#f2f2f2")
        ink.note(x=(x0 + x1) / 2, y=0, text=text, font=dict(size=label), hovertext=f"{text}: {inside}")
    ink.shape(type="line", x0=-0.3, x1=xmax + 0.3, y0=0, y1=0, line=dict(color=SIGNAL, width=1.5), layer="below")
    for stage, g in L.groupby("stage"):
        ink.note(
            x=(g.x0.min() + g.x1.max()) / 2,
            y=1.72,  # clear of the shortcut letters over the blocks
            font=dict(size=label + 2),
            text=f"<b>stage {stage + 1}</b>: {32 >> stage}x{32 >> stage}, {len(g)} blocks",
        )
        strip = g[~g.full]
        if len(strip):
            s0, s1 = float(strip.strip_x0.iloc[0]), float(strip.strip_x1.iloc[0])
            ink.shape(
                type="rect",
                x0=s0,
                x1=s1,
                y0=-0.3,
                y1=0.3,
                line=dict(color=SIGNAL, width=1, dash="dot"),
                fillcolor="white",
            )
            ink.note(
                x=(s0 + s1) / 2,
                y=0,
                font=dict(size=label - 1),
                text=f"blocks<br>{int(strip.block.min())}–{int(strip.block.max())}",
                hovertext=f"{len(strip)} more blocks, one cell each in the strip below",
            )
    return act


def _blocks(fig, ink, L, B, colours, parts, act, shortcut, label):
    """Each block drawn in full: its background in its measure's colour, the branch F, its skip and the (+)."""
    w = net.W
    for r in L[L.full].itertuples():
        b = B.iloc[r.block]
        x0, gone = r.x0, bool(b.dropped)
        if colours[r.block]:  # the block's background in its measure's colour
            ink.shape(
                type="rect",
                x0=x0 + 0.03,
                x1=r.x1 - 0.03,
                y0=-0.8,
                y1=1.32,
                line_width=0,
                layer="below",
                fillcolor=colours[r.block],
                opacity=0.3,
            )
        fb0, fb1 = x0 + 0.1 * w, x0 + 0.58 * w
        ink.shape(
            type="rect",
            x0=fb0,
            x1=fb1,
            y0=-0.66,
            y1=0.66,
            fillcolor="#ececec" if gone else "white",
            line=dict(color=GONE if gone else SIGNAL, width=1, dash="dot" if gone else "solid"),
        )
        ink.note(
            x=(fb0 + fb1) / 2,
            y=0,
            font=dict(size=label - 1 if gone else label + 4, color="#777" if gone else SIGNAL),
            text="F" if not gone else "F<br>removed",
            hovertext=f"F, the residual branch: {' → '.join(parts)}; then (+) and {act}" if not gone else None,
        )
        if gone:
            ink.shape(type="line", x0=fb0, x1=fb1, y0=-0.66, y1=0.66, line=dict(color=PLAIN_RED, width=2))
        lab = net.shortcut_label(bool(r.stage_start), shortcut)
        draw_skip(
            ink,
            x0 + 0.04 * w,
            x0 + 0.74 * w,
            0.95,
            bool(b.skip),
            "x" if lab == "identity" else lab.split(":")[0],
            label,
        )
        ink.note(x=x0 + w / 2, y=ROW - 0.3, text=f"{r.block}", yanchor="top", font=dict(size=label),
                 hovertext=f"block {r.block}")
    plus = L[L.full]
    fig.add_scatter(
        x=plus.x0 + 0.74 * w,
        y=[0] * len(plus),
        mode="markers",
        hoverinfo="skip",
        showlegend=False,
        marker=dict(symbol="circle-cross-open", size=15, color=SIGNAL, line=dict(width=2)),
    )


def _mark_selected(ink, L, selected, label):
    """Outline the selected block (a block in a strip gets an arrow with its number)."""
    if selected is not None and 0 <= selected < len(L):
        s = L.iloc[selected]
        if s.full:
            ink.shape(type="rect", x0=s.x0, x1=s.x1, y0=ROW - 0.22, y1=1.34, line=dict(color="black", width=3))
        else:
            ink.shape(
                type="rect",
                x0=s.x0 - 0.04,
                x1=s.x1 + 0.04,
                y0=ROW - 0.22,
                y1=ROW + 0.22,
                line=dict(color="black", width=2),
            )
            ink.note(
                x=s.x,
                y=ROW + 0.2,
                ax=0,
                ay=-100,
                text=f"block {selected}",
                showarrow=True,
                arrowwidth=2,
                yanchor="bottom",
                font=dict(size=label + 1),
                bgcolor="white",
            )


def _tiles(fig, L, z, trace, xmax):
    """The colour row: a heat strip per folded stage, then the hoverable, selectable tile per block (last trace)."""
    # the colour row: one hoverable, selectable tile per block; under each strip's tiles a heat strip of its cells
    for _, g in L[~L.full].groupby("stage"):
        fig.add_heatmap(
            x=g.x.tolist(),
            y0=ROW,
            dy=0.4,
            z=[z[g.block].tolist()],
            coloraxis="coloraxis",
            hoverinfo="skip",
            showscale=False,
            name="strip",
        )
    cd, tpl = _hover(trace)
    px_per_unit = 1000 / (xmax + 2.9)  # about, at the page's width
    size = np.where(L.full, 26, np.clip((L.x1 - L.x0) * px_per_unit, 2, 14))
    fig.add_scatter(
        x=L.x,
        y=[ROW] * len(L),
        mode="markers",
        name="blocks",
        customdata=cd,
        hovertemplate=tpl,
        marker=dict(symbol="square", size=size, color=z, coloraxis="coloraxis", line_width=0),
        showlegend=False,
        unselected=dict(marker=dict(opacity=1)),
        selected=dict(marker=dict(opacity=1)),
    )


def _network_caption(trace, measure, L):
    B = trace.blocks
    v = B[measure]
    ok = v[np.isfinite(v)]
    words = net.MEASURES[measure][1]
    cut, gone = int((~B.skip).sum()), int(B.dropped.sum())
    extra = "".join([f", {cut} skips off" if cut else "", f", {gone} branches removed" if gone else ""])
    if ok.empty:
        headline = f"{trace.name}{extra}: {words} is not a finite number in any block."
    else:
        show = pct if measure == "skip_share" else fmt
        lo, hi = int(B.block[ok.idxmin()]), int(B.block[ok.idxmax()])
        headline = (
            f"{trace.name}{extra}: {words} runs from {show(float(ok.min()))} (block {lo}) to "
            f"{show(float(ok.max()))} (block {hi})."
        )
    folded = int((~L.full).sum())
    detail = (
        "Stem, three stages of residual blocks, head. In each block the branch F runs along the main path, the skip "
        "arcs above it into the (+), and the activation follows the addition (hover a box for its layers); where the "
        "shape changes the skip is shortcut A (subsample and zero-pad) or B (1x1 conv). A dotted arc with a red "
        "cross is a switched-off skip; a grey, struck-out F a removed branch. Each block's tile and background have the colour of its measure; "
        "hover a tile for all its numbers, click it to open the block."
        + (
            f" Stages of more than three blocks show their first two and last block in full; the other {folded} "
            "blocks are the cells of the heat strips under the dotted boxes, one cell per block, in order."
            if folded
            else ""
        )
    )
    return Caption(detail, headline)
