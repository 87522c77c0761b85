"""One block opened: its diagram (convs, norms, activations, the skip) with the live numbers on its edges, and a
caption computed from them."""

import math

import numpy as np
from plotly.subplots import make_subplots

from viz.charts.network_drawing import GONE, GRADIENT, PLAIN_RED, SIGNAL, Ink, draw_skip
from viz.charts.style import FONT, KIND, TEMPLATE, Caption, fmt
from viz.measures import network as net


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
    draw_skip(ink, 0.4, 6.7, 1.55, e["skip"], shortcut_lab, size, c, width=3)
    ink.shape(c, type="rect", x0=7.35, x1=8.25, y0=-0.42, y1=0.42, fillcolor="white", line=dict(color=SIGNAL))
    ink.note(c, x=7.8, y=0, text=net.activation_name(activation), font=dict(size=size))  # after the (+)
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
    ink = Ink()
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
        _maps_row(fig, maps, k)
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


def _maps_row(fig, maps, k):
    """Row 2: each trace's activation maps (dicts name -> (H, W)) side by side as grey images, named above."""
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


def _detail_caption(traces, vals):
    out, numbers = [], []
    for t, e in zip(traces, vals):
        if e["dropped"]:
            out.append(f"{t.name}'s branch is removed, so the block passes x on")
        elif not e["skip"]:
            out.append(f"all of {t.name}'s {fmt(e['grad_in'])} comes through F")
        elif not e["grad_in"] > 0:
            out.append(f"no gradient reaches {t.name}'s x (it " + ("underflowed to zero)" if e["grad_in"] == 0 else
                                                                  "overflowed float32)"))
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
