"""A forward then backward pass stepped block by block (a Plotly slider), with a caption computed from the
numbers it steps through."""

import math

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from viz.charts.style import DIVERGING, FONT, KIND, TEMPLATE, Caption, fmt
from viz.measures import network as net


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
    rows, rel, spans, allv = _relative_sizes(traces, at)
    kinds = [KIND[bool(t.blocks.skip.any())] for t in traces]

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
            marks.append({"x": [at[k]], "y": [cur], "text": [_step_label(B, phase, k)]})
        return tiles + lines + marks

    fig = make_subplots(rows=2, cols=1, row_heights=[0.3, 0.7], shared_xaxes=True, vertical_spacing=0.06)
    first = frame("forward", 0)
    _pass_traces(fig, traces, first, at, kinds)
    frames, slider = _pass_frames(steps, at, frame, list(range(len(fig.data))))
    _pass_layout(fig, slider, height, at, allv)
    # the frames are plain numbers built here: attached without Plotly's per-object validation (seconds for ~100 frames)
    fig = go.Figure(dict(fig.to_dict(), frames=frames), _validate=False)
    return fig, _passes_caption(traces, rel, at)


def _relative_sizes(traces, at):
    """Per trace, the blocks at the stations and each pass's log10 size relative to where it started; each pass's
    colour span; every finite value (for the line's axis)."""
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
    return rows, rel, spans, allv


def _step_label(B, phase, k):
    """The hover text at step k: the size reached (forward) or the gradient and its split at (+) (backward)."""
    r = B.iloc[k]
    if phase == "forward":
        return f"||out|| = {fmt(float(r.out_norm))}"
    if r.dropped or not r.skip:
        return f"dL/d out = {fmt(float(r.grad_norm))}<br>at (+): all through {'the skip' if r.dropped else 'F'}"
    gs, gb = float(r.grad_skip_norm), float(r.grad_branch_norm)
    share = f" ({gs / (gs + gb):.0%} skip)" if gs + gb > 0 else ""
    return f"dL/d out = {fmt(float(r.grad_norm))}<br>at (+): skip {fmt(gs)}, F {fmt(gb)}{share}"


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


def _play_buttons(play: dict) -> dict:
    """The passes' Play and Pause buttons (play: the animation's settings)."""
    return dict(
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
        updatemenus=[_play_buttons(play)],
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
    x = lambda v: f"×{fmt(10.0**v)}" if math.isfinite(v) else "beyond float32's range (overflowed)"  # noqa: E731
    f = " and ".join(f"{x(rel[t.name]['forward'][-1])} ({t.name})" for t in traces)
    b = " and ".join(f"{x(rel[t.name]['backward'][0])} ({t.name})" for t in traces)
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
