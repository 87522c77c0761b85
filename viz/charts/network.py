"""The network drawn as a network: an overview coloured by a measure, one block opened with its live numbers, and
a forward then backward pass stepped block by block. Each figure comes with a caption computed from its numbers."""

import math

import numpy as np
import plotly.graph_objects as go
from plotly.colors import sample_colorscale
from plotly.subplots import make_subplots

from viz.charts.style import DIVERGING, FONT, KIND, TEMPLATE, Caption, color, fmt, pct
from viz.measures import network as net

SEQUENTIAL = "Viridis"  # Plotly's perceptual scale: dark = small, yellow = large, readable on a projector
SIGNAL, GRADIENT = color(6), color(3)  # forward numbers dark grey, backward numbers purple, on every figure
CUT, GONE = "#9a9a9a", "#c8c8c8"
ROW = -1.05  # y of the colour row: one tile per block, the figure's hoverable elements


class _Ink:
    """Shapes and annotations collected as dicts and set on the figure at once (add_shape per item is quadratic)."""

    def __init__(self):
        self.shapes, self.notes = [], []

    def shape(self, k=1, **kw):  # k: the subplot (1, 2, ...)
        self.shapes.append(dict(xref=_ref("x", k), yref=_ref("y", k), **kw))

    def note(self, k=1, **kw):
        self.notes.append(dict(xref=_ref("x", k), yref=_ref("y", k), showarrow=kw.pop("showarrow", False), **kw))

    def apply(self, fig):
        fig.update_layout(shapes=self.shapes, annotations=list(fig.layout.annotations) + self.notes)


def _ref(axis, k):
    return axis if k == 1 else f"{axis}{k}"


def _arc(xa, xb, top, n=24):
    """Points of a bypass from (xa, 0) over `top` down to (xb, 0): a cubic Bézier."""
    t = np.linspace(0, 1, n)
    px = (1 - t) ** 3 * xa + 3 * (1 - t) ** 2 * t * xa + 3 * (1 - t) * t**2 * xb + t**3 * xb
    py = 3 * (1 - t) ** 2 * t * top * 1.33 + 3 * (1 - t) * t**2 * top * 1.33
    return px, py


def _path(px, py):
    return "M " + " L ".join(f"{a:.4f},{b:.4f}" for a, b in zip(px, py))


def _skip(ink, xa, xb, top, on, label, size, k=1, width=2):
    """The shortcut as a bypass above the main path; switched off: dotted, broken in the middle, with a red cross."""
    px, py = _arc(xa, xb, top)
    if on:
        ink.shape(k, type="path", path=_path(px, py), line=dict(color=SIGNAL, width=width))
    else:
        n = len(px)
        for a, b in ((0, n // 2 - 3), (n // 2 + 3, n)):
            ink.shape(k, type="path", path=_path(px[a:b], py[a:b]), line=dict(color=CUT, width=width, dash="dot"))
        ink.note(k, x=(xa + xb) / 2, y=top, text="✕", font=dict(color=PLAIN_RED, size=size + 6))
    if label:
        ink.note(
            k,
            x=(xa + xb) / 2,
            y=top + 0.1,
            text=label if on else f"skip off ({label})",
            yanchor="bottom",
            font=dict(size=size, color=SIGNAL if on else CUT),
        )


PLAIN_RED = KIND[False]


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
    fig, ink = go.Figure(), _Ink()
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
            y=1.55,
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
        _skip(
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


def _diagram(ink, c, e, norm, activation, shortcut_lab, size):
    """One block's diagram in subplot column `col`, with its live numbers on every edge (forward above, gradient
    below)."""
    items = net.parts(norm, activation)
    n = len(items)
    xs = np.linspace(1.2, 5.6, n)
    w = (xs[1] - xs[0]) * 0.78 if n > 1 else 0.8
    gone = e["dropped"]
    ink.shape(c, type="line", x0=-1.5, x1=10.9, y0=0, y1=0, line=dict(color=SIGNAL, width=2), layer="below")
    for x, item in zip(xs, items):
        ink.shape(
            c,
            type="rect",
            x0=x - w / 2,
            x1=x + w / 2,
            y0=-0.42,
            y1=0.42,
            layer="above",
            fillcolor="#ececec" if gone else "white",
            line=dict(color=GONE if gone else SIGNAL, width=1.5, dash="dot" if gone else "solid"),
        )
        ink.note(
            c,
            x=x,
            y=0,
            text=item,
            font=dict(size=size, color=GONE if gone else SIGNAL),
        )
    if gone:
        ink.shape(
            c,
            type="line",
            x0=xs[0] - w / 2,
            x1=xs[-1] + w / 2,
            y0=-0.42,
            y1=0.42,
            line=dict(color=PLAIN_RED, width=2.5),
        )
        ink.note(c, x=(xs[0] + xs[-1]) / 2, y=-0.6, text="branch removed", font=dict(size=size, color=PLAIN_RED))
    ink.note(
        c,
        x=(xs[0] + xs[-1]) / 2,
        y=0.55,
        text="F (the residual branch)",
        yanchor="bottom",
        font=dict(size=size - 1, color="#555"),
    )
    _skip(ink, 0.4, 6.7, 1.55, e["skip"], shortcut_lab, size, c, width=3)
    ink.shape(c, type="rect", x0=7.35, x1=8.25, y0=-0.42, y1=0.42, fillcolor="white", line=dict(color=SIGNAL))
    ink.note(c, x=7.8, y=0, text=items[2], font=dict(size=size))
    _diagram_numbers(ink, c, e, size)



def _diagram_numbers(ink, c, e, size):
    """A block diagram's live numbers: forward norms above the path, gradient norms (purple) below it."""
    g = lambda v: f"<span style='color:{GRADIENT}'>{v}</span>"  # noqa: E731
    # forward numbers above the path, gradient numbers below it
    ink.note(
        c, x=-1.5, y=0.12, text=f"x<br>||x|| = {fmt(e['x'])}", yanchor="bottom", xanchor="left", font=dict(size=size)
    )
    ink.note(c, x=5.9, y=-0.45, text=f"F(x)<br>||F(x)|| = {fmt(e['fx'])}", yanchor="top", font=dict(size=size))
    ink.note(
        c,
        x=10.9,
        y=0.2,
        text=f"out<br>||out|| = {fmt(e['out'])}",
        yanchor="bottom",
        xanchor="right",
        font=dict(size=size),
    )
    ink.note(
        c,
        x=10.9,
        y=-0.2,
        text=g(f"← dL/d out<br>{fmt(e['grad_out'])}"),
        yanchor="top",
        xanchor="right",
        font=dict(size=size),
    )
    total = e["grad_skip"] + e["grad_branch"]
    share = lambda v: f" ({v / total:.0%})" if total > 0 and math.isfinite(total) else ""  # noqa: E731
    ink.note(
        c, x=-1.5, y=-0.12, text=g(f"← dL/dx<br>{fmt(e['grad_in'])}"), yanchor="top", xanchor="left",
        font=dict(size=size),
    )
    ink.note(
        c,
        x=3.4,
        y=-0.75,
        text=g(f"← via F: {fmt(e['grad_branch'])}{share(e['grad_branch'])}"),
        yanchor="top",
        font=dict(size=size),
    )
    ink.note(
        c,
        x=3.55,
        y=1.25,
        text=g(f"← via the skip: {fmt(e['grad_skip'])}{share(e['grad_skip'])}"),
        yanchor="top",
        font=dict(size=size),
    )
    ink.note(c, x=4.7, y=-1.35, text=f"||F(x)|| / ||x|| = {fmt(e['ratio'])}", font=dict(size=size))

def block_detail(traces, block, norm="batch", activation="relu", shortcut=None, maps=None, height=380):
    """One block opened: its diagram with the probe's numbers on every edge, one panel per trace (the residual net
    and its plain twin side by side, same block).

    Args:
        traces: list of `viz.probe.Trace` (1 or 2 drawn side by side).
        block: block index.
        maps: optional list (one per trace) of dicts {"x": (H, W), "F(x)": (H, W), "out": (H, W)} arrays: drawn
            as small images under each diagram (Inspect's activation maps), one channel or a mean over channels.
    Returns:
        (figure, caption).
    """
    traces = list(traces)[:2]
    shortcut = shortcut or net.infer_shortcut(traces[0])
    vals = [net.edge_values(t, block) for t in traces]
    rows = 2 if maps else 1
    k = len(traces)
    titles = [
        f"<span style='color:{KIND[bool(t.blocks.skip.any())]}'><b>{t.name}</b></span>, block {block}" for t in traces
    ]
    specs = [[{}] * k] + ([[{}] * k] if maps else [])
    fig = make_subplots(
        rows=rows,
        cols=k,
        subplot_titles=titles,
        specs=specs,
        horizontal_spacing=0.04,
        vertical_spacing=0.06,
        row_heights=[0.68, 0.32] if maps else None,
    )
    stage_start = bool(net.block_layout(traces[0].blocks).stage_start.iloc[block])
    lab = net.shortcut_label(stage_start, shortcut)
    ink = _Ink()
    for c, e in enumerate(vals, start=1):
        _diagram(ink, c, e, norm, activation, lab, 13)
        fig.add_scatter(
            x=[6.7],
            y=[0],
            mode="markers",
            hoverinfo="skip",
            showlegend=False,
            row=1,
            col=c,
            marker=dict(symbol="circle-cross-open", size=24, color=SIGNAL, line=dict(width=2.5)),
        )
        fig.update_xaxes(visible=False, range=[-1.6, 11.0], fixedrange=True, row=1, col=c)
        fig.update_yaxes(visible=False, range=[-1.6, 2.3], fixedrange=True, row=1, col=c)
    if maps:
        for c, m in enumerate(maps, start=1):
            if not m:
                continue
            names = list(m)
            imgs = [np.asarray(m[n], dtype=float) for n in names]
            h = max(i.shape[0] for i in imgs)
            gap = np.full((h, 2), np.nan)
            row = np.concatenate(
                sum(([np.pad(i, ((0, h - i.shape[0]), (0, 0)), constant_values=np.nan), gap] for i in imgs), [])[:-1],
                axis=1,
            )
            fig.add_heatmap(z=row[::-1], colorscale="Gray", showscale=False, hoverinfo="skip", row=2, col=c)
            x = 0
            for n, i in zip(names, imgs):
                fig.add_annotation(
                    x=x + i.shape[1] / 2, y=h + 0.5, text=n, showarrow=False, yanchor="bottom", row=2, col=c
                )
                x += i.shape[1] + 2
            fig.update_xaxes(visible=False, row=2, col=c)
            fig.update_yaxes(visible=False, scaleanchor=f"x{c + k}", row=2, col=c)
    ink.apply(fig)
    fig.update_layout(
        template=TEMPLATE,
        font=FONT,
        height=height + (200 if maps else 0),
        showlegend=False,
        margin=dict(l=10, r=10, t=40, b=10),
        dragmode=False,
    )
    return fig, _detail_caption(traces, vals)


def _detail_caption(traces, vals):
    out, numbers = [], []
    for t, e in zip(traces, vals):
        if e["dropped"]:
            out.append(f"{t.name}'s branch is removed, so the block passes x on")
        elif not e["skip"]:
            out.append(f"all of {t.name}'s {fmt(e['grad_in'])} comes through F")
        else:
            total = e["grad_skip"] + e["grad_branch"]
            share = f"{e['grad_skip'] / total:.0%} of " if total > 0 else ""
            out.append(
                f"the skip brings {t.name} {share}the gradient reaching x ({fmt(e['grad_skip'])} of "
                f"{fmt(e['grad_in'])})"
            )
        numbers.append(
            f"{t.name}: ||x|| = {fmt(e['x'])}, ||F(x)|| = {fmt(e['fx'])} ({fmt(e['ratio'])} times ||x||), "
            f"||out|| = {fmt(e['out'])}; gradient at the output {fmt(e['grad_out'])}, at x "
            f"{fmt(e['grad_in'])} = the skip's part {fmt(e['grad_skip'])} + F's part "
            f"{fmt(e['grad_branch'])} (added as vectors, so the norms need not add up)."
        )
    headline = f"Block {vals[0]['block']}: " + "; ".join(out) + "."
    detail = " ".join(numbers) + " Forward numbers are grey, above the path; gradients purple, below it (← backward)."
    return Caption(detail, headline)


def passes(traces, most=60, height=440):
    """A forward then backward pass, stepped block by block with a slider and a play button (Plotly frames: one
    probe, no recomputation per step).

    Args:
        traces: list of `viz.probe.Trace` with the same blocks (the residual net and its plain twin).
        most: at most this many blocks are stepped through (viz.network.stations); deeper nets skip evenly.
    Returns:
        (figure, caption). Top: a row of tiles per network, coloured by the size reached so far relative to where
        the pass started (forward: ||out|| / the signal entering block 0; backward: ||dL/d out|| / the gradient
        arriving at the last block); bottom: the same as a line. Forward frames come first, then backward.
    """
    traces = list(traces)
    steps = net.pass_steps(traces[0].blocks, most)
    at = net.stations(traces[0].blocks, most)
    n = len(at)
    rows, rel = [], {}
    for t in traces:
        B = t.blocks.set_index("block").loc[at]
        rows.append(B)
        rel[t.name] = {
            "forward": net.relative(B.out_norm, float(t.blocks.x_norm.iloc[0])),
            "backward": net.relative(B.grad_norm, float(t.blocks.grad_norm.iloc[-1])),
        }
    allv = np.concatenate([v for r in rel.values() for v in r.values()])
    allv = allv[np.isfinite(allv)]
    # tiles: each pass on its own scale (the signal changes by a few times, the gradient by orders of magnitude)
    spans = {}
    for phase in ("forward", "backward"):
        v = np.concatenate([r[phase] for r in rel.values()])
        v = np.abs(v[np.isfinite(v)])
        spans[phase] = max(float(v.max()) if len(v) else 0.0, 0.05)
    kinds = [KIND[bool(t.blocks.skip.any())] for t in traces]

    def label(t, B, phase, k):
        r = B.iloc[k]
        if phase == "forward":
            return f"||out|| = {fmt(float(r.out_norm))}"
        if r.dropped or not r.skip:
            return f"dL/d out = {fmt(float(r.grad_norm))}<br>at (+): all through {'the skip' if r.dropped else 'F'}"
        gs, gb = float(r.grad_skip_norm), float(r.grad_branch_norm)
        share = f" ({gs / (gs + gb):.0%} skip)" if gs + gb > 0 else ""
        return f"dL/d out = {fmt(float(r.grad_norm))}<br>at (+): skip {fmt(gs)}, F {fmt(gb)}{share}"

    def frame(phase, k):
        reached = np.zeros(n, bool)
        if phase == "forward":
            reached[: k + 1] = True
        else:
            reached[k:] = True
        tiles, lines, marks = [], [], []
        for t, B in zip(traces, rows):
            v = rel[t.name][phase]
            tiles.append(
                {
                    "marker.color": np.where(reached, np.nan_to_num(v, nan=0.0) / spans[phase], 0.0).tolist(),
                    "marker.opacity": np.where(reached, 1.0, 0.15).tolist(),
                }
            )
            y = np.where(reached & np.isfinite(v), 10.0 ** np.nan_to_num(v), np.nan)
            lines.append({"y": [None if not math.isfinite(a) else a for a in y]})
            cur = 10.0 ** v[k] if math.isfinite(v[k]) else None
            marks.append({"x": [at[k]], "y": [cur], "text": [label(t, B, phase, k)]})
        return tiles + lines + marks

    fig = make_subplots(rows=2, cols=1, row_heights=[0.3, 0.7], shared_xaxes=True, vertical_spacing=0.06)
    first = frame("forward", 0)
    _pass_traces(fig, traces, first, at, kinds)
    frames, slider = _pass_frames(steps, at, frame, list(range(len(fig.data))))
    _pass_layout(fig, slider, height, at, allv)
    # the frames are plain numbers built here: attached without Plotly's per-object validation (seconds for ~100 frames)
    fig = go.Figure(dict(fig.to_dict(), frames=frames), _validate=False)
    return fig, _passes_caption(traces, rel, at)


def _pass_traces(fig, traces, first, at, kinds):
    """The passes' traces, from the first frame: a tile row per network, a line per network, a marker per network
    of where the pass is (with its numbers)."""
    n = len(at)
    m = len(traces)
    for i, t in enumerate(traces):  # the tile rows
        fig.add_scatter(
            x=at,
            y=[t.name] * n,
            mode="markers",
            hoverinfo="skip",
            showlegend=False,
            row=1,
            col=1,
            marker=dict(
                symbol="square",
                size=max(5, min(16, 900 // n)),
                line=dict(color="#bbb", width=1),
                coloraxis="coloraxis",
                color=first[i]["marker.color"],
                opacity=first[i]["marker.opacity"],
            ),
        )
    for i, t in enumerate(traces):  # the lines
        fig.add_scatter(
            x=at,
            y=first[m + i]["y"],
            mode="lines+markers",
            name=t.name,
            row=2,
            col=1,
            line=dict(color=kinds[i], width=2),
            marker=dict(size=4),
            hovertemplate="block %{x}: ×%{y:.3g}<extra>" + t.name + "</extra>",
        )
    for i in range(len(traces)):  # where the pass is, with its numbers
        f = first[2 * m + i]
        fig.add_scatter(
            x=f["x"],
            y=f["y"],
            text=f["text"],
            mode="markers+text",
            showlegend=False,
            hoverinfo="skip",
            textposition="top right" if i == 0 else "bottom right",
            textfont=dict(size=13, color=kinds[i]),
            marker=dict(size=13, color=kinds[i], line=dict(color="black", width=1)),
            row=2,
            col=1,
        )


def _pass_frames(steps, at, frame, idx):
    """(frames, slider steps) of the passes: one frame per step, `frame(phase, k)` its traces' data."""
    frames, slider = [], []
    for s in steps.itertuples():
        k = at.index(s.block)
        name = f"{s.phase} {s.block}"
        frames.append(
            dict(
                name=name,
                data=[dict(type="scatter", **_dotted(d)) for d in frame(s.phase, k)],
                traces=idx,
            )
        )
        slider.append(
            dict(
                method="animate",
                label=f"{'→' if s.phase == 'forward' else '←'}{s.block}",
                args=[
                    [name],
                    dict(mode="immediate", frame=dict(duration=0, redraw=False), transition=dict(duration=0)),
                ],
            )
        )
    return frames, slider


def _pass_layout(fig, slider, height, at, allv):
    """The passes' title, colour bar, Play/Pause buttons, slider and axes."""
    play = dict(frame=dict(duration=150, redraw=False), transition=dict(duration=0), fromcurrent=True, mode="immediate")
    fig.update_layout(
        template=TEMPLATE,
        font=FONT,
        height=height,
        margin=dict(l=70, r=20, t=60, b=110),
        hovermode="closest",
        title=dict(text="A forward pass (→), then the backward pass (←), block by block", x=0.01),
        coloraxis=dict(
            colorscale=DIVERGING,
            cmin=-1,
            cmax=1,
            colorbar=dict(
                title=dict(text="tiles: size against<br>the pass's start", side="top"),
                len=0.5,
                y=1,
                yanchor="top",
                tickvals=[-1, 0, 1],
                ticktext=["shrank most", "unchanged", "grew most"],
            ),
        ),
        legend=dict(orientation="h", yanchor="bottom", y=1.02, xanchor="right", x=0.9),
        updatemenus=[
            dict(
                type="buttons",
                direction="left",
                x=0,
                y=-0.14,
                xanchor="left",
                yanchor="top",
                showactive=False,
                pad=dict(t=0, r=8),
                buttons=[
                    dict(label="▶ Play", method="animate", args=[None, play]),
                    dict(
                        label="❚❚ Pause",
                        method="animate",
                        args=[[None], dict(mode="immediate", frame=dict(duration=0, redraw=False))],
                    ),
                ],
            )
        ],
        sliders=[
            dict(
                steps=slider,
                active=0,
                x=0.2,
                len=0.8,
                y=-0.1,
                yanchor="top",
                pad=dict(t=20, b=0),
                currentvalue=dict(prefix="at block (→ forward, ← backward): ", font=dict(size=14)),
                font=dict(size=9),
                ticklen=3,
            )
        ],
    )
    fig.update_yaxes(type="log", title="× its size where<br>the pass started", exponentformat="power", row=2, col=1)
    fig.update_xaxes(title="block (input side → output side)", row=2, col=1)
    fig.update_xaxes(range=[at[0] - 1, at[-1] + 1 + 0.12 * (at[-1] - at[0] + 2)])  # room for the labels
    ys = 10.0**allv if len(allv) else np.array([1.0])
    fig.update_yaxes(range=[math.log10(ys.min()) - 0.4, math.log10(ys.max()) + 0.8], row=2, col=1)
    fig.update_yaxes(autorange="reversed", row=1, col=1)


def _dotted(d):
    """{"marker.color": v} -> {"marker": {"color": v}}, for go.Scatter."""
    out = {}
    for key, v in d.items():
        head, _, tail = key.partition(".")
        if tail:
            out.setdefault(head, {})[tail] = v
        else:
            out[key] = v
    return out


def _passes_caption(traces, rel, at):
    x = lambda v: f"×{fmt(10.0**v)}" if math.isfinite(v) else "not finite"  # noqa: E731
    f = " and ".join(f"{x(rel[t.name]['forward'][-1])} ({t.name})" for t in traces)
    b = " and ".join(x(rel[t.name]["backward"][0]) for t in traces)
    n = len(traces[0].blocks)
    headline = (
        f"Leaving the last block the signal is {f} its size entering the first; back at the first block the "
        f"gradient is {b} its size at the last."
    )
    some = (
        "Every block is a step."
        if len(at) == n
        else (f"{len(at)} of the {n} blocks are steps: each stage's first two and last, the others evenly spaced.")
    )
    detail = (
        "Play, or drag the slider: → steps forward, block by block, ← back. Forward: each block's ||out|| "
        "against the signal entering the first block. Backward: the gradient at each block's output against "
        "the one arriving at the last block, and at each (+) its split into the skip's part and F's part. "
        "Tiles: red grew, blue shrank, white unchanged, each pass on its own scale (the line's axis has the "
        "numbers). " + some
    )
    return Caption(detail, headline)
