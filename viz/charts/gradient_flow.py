"""Plotly figures from the probe's tables, each with a caption computed from the numbers it shows."""

import math

import plotly.graph_objects as go

from viz.charts.style import Caption, concept_color, fmt, layout
from viz.measures.gradient_flow import first_last_gradients, main_convs


def describe_gradient_ratio(name, first, last, where=("the first layer", "the last layer")):
    """The one sentence builder for a gradient ratio (every chart, headline and `python -m viz.probe` use it): the
    gradient at `where[0]` (the input side) against `where[1]`, e.g. "plain-56 650x (explodes toward the input)", or,
    where there is no ratio, what happened ("plain-608's gradient underflows to zero before the first layer")."""
    if not (math.isfinite(first) and math.isfinite(last)):
        return f"{name}'s gradient overflows float32 (too large to represent)"
    if first == 0 and last == 0:
        return f"{name}'s gradient is zero everywhere (the loss does not depend on the weights)"
    if first == 0:
        return f"{name}'s gradient underflows to zero before {where[0]}"
    if last == 0:
        return f"{name}'s gradient is zero at {where[1]}, so there is no ratio"
    r = first / last
    trend = "explodes toward the input" if r > 10 else "vanishes toward the input" if r < 0.1 else "within 10x"
    return f"{name} {fmt(r)}x ({trend})"


def _ratio_headline(what, ends, where=("the first layer", "the last layer")):
    """One sentence: each network's ratio and what it means, e.g. "...: plain-56 650x (explodes toward the input)";
    ends: {name: (first, last)}."""
    return f"{what}: " + "; ".join(describe_gradient_ratio(n, f, la, where) for n, (f, la) in ends.items()) + "."


def _ends_in_numbers(name, first, last, where):
    """The two numbers a ratio is made of, for a caption's detail (an undefined one said so, not "n/a")."""
    def said(v):
        return "undefined" if math.isnan(v) else fmt(v)
    return f"{name}: {said(first)} at {where[0]}, {said(last)} at {where[1]}."


def _mark(fig, x0, x1, block):
    """Shade the chosen block's span (the block picked in the network picture)."""
    fig.add_vrect(x0=x0, x1=x1, fillcolor="#222", opacity=0.12, line_width=0, annotation_text=f"block {block}",
                  annotation_position="top left", annotation_font_size=12)


def layer_gradients(traces, mark_block=None):
    """Per-layer weight-gradient norms, log scale, input side to output side. traces: list of Trace.
    mark_block: a block index whose two branch convs are shaded, or None."""
    fig = go.Figure()
    notes = []
    for i, t in enumerate(traces):
        L = main_convs(t.layers)
        fig.add_scatter(
            x=L.index, y=L.grad_norm.where(L.grad_norm > 0), mode="lines+markers", name=t.name,
            line=dict(color=concept_color(t.name, i), width=2), marker=dict(size=4), customdata=L.layer,
            hovertemplate="%{customdata}<br>||dL/dW|| = %{y:.3g}<extra>" + t.name + "</extra>",
        )
        notes.append(_ends_in_numbers(t.name, *first_last_gradients(t.layers), ("the first layer", "the last layer")))
    layout(fig, "Weight-gradient norm of each 3x3 conv", "conv layer (input side → output side)", "||dL/dW||", log=True)
    if mark_block is not None:
        L = main_convs(traces[0].layers)
        at = L.index[L.block == mark_block]
        if len(at):
            _mark(fig, at.min() - 0.5, at.max() + 0.5, mark_block)
    ends = {t.name: first_last_gradients(t.layers) for t in traces}
    detail = " ".join(notes) + " ||dL/dW|| of each 3x3 conv; a ratio over 10 explodes toward the input, under 0.1 vanishes."
    return fig, Caption(detail, _ratio_headline("The first layer's gradient against the last layer's", ends))


def _block_chart(traces, column, title, ytitle, log, mark_block=None):
    fig = go.Figure()
    for i, t in enumerate(traces):
        B = t.blocks
        y = B[column].where(B[column] > 0) if log else B[column]
        fig.add_scatter(x=B.block, y=y, mode="lines+markers", name=t.name, line=dict(color=concept_color(t.name, i), width=2),
                        marker=dict(size=5), hovertemplate=f"block %{{x}}<br>{ytitle} = %{{y:.3g}}<extra>{t.name}</extra>")
    for b in _stage_starts(traces[0].blocks):
        fig.add_vline(x=b - 0.5, line=dict(color="#999", dash="dot", width=1))
    layout(fig, title, "block (input side → output side); dotted lines: downsampling", ytitle, log=log)
    if mark_block is not None:
        _mark(fig, mark_block - 0.5, mark_block + 0.5, mark_block)
    return fig


def _stage_starts(blocks):
    s = blocks.stage.to_numpy()
    return [int(blocks.block.iloc[k]) for k in range(1, len(s)) if s[k] != s[k - 1]]


def block_gradients(traces, mark_block=None):
    """||dL/dx_l|| at each block's output, log scale; mark_block: a block to shade, or None."""
    fig = _block_chart(traces, "grad_norm", "Gradient at each block's output", "||dL/dx_l||", log=True,
                       mark_block=mark_block)
    notes, where = [], ("the first block", "the last block")
    for t in traces:
        g = t.blocks.grad_norm
        notes.append(_ends_in_numbers(t.name, float(g.iloc[0]), float(g.iloc[-1]), where))
        growth = _forward_growth(t.blocks)
        if growth is not None and growth > 100:
            notes.append(f"Its forward signal grows {fmt(growth)}x from the first block's output to the last's.")
    ends = {t.name: (float(t.blocks.grad_norm.iloc[0]), float(t.blocks.grad_norm.iloc[-1])) for t in traces}
    return fig, Caption(" ".join(notes), _ratio_headline("The gradient at the first block against the last's", ends, where))


def _forward_growth(blocks):
    a, b = float(blocks.out_norm.iloc[0]), float(blocks.out_norm.iloc[-1])
    return b / a if a > 0 and math.isfinite(a) else None


def residual_ratios(traces, mark_block=None):
    """||F(x)|| / ||x|| per block; mark_block: a block to shade, or None."""
    fig = _block_chart(traces, "residual_ratio", "Size of the residual: ||F(x)|| / ||x||", "||F(x)|| / ||x||", log=True,
                       mark_block=mark_block)
    notes = []
    for t in traces:
        r = t.blocks.residual_ratio[~t.blocks.dropped]
        notes.append(f"{t.name}: median {fmt(float(r.median()))}, largest {fmt(float(r.max()))} (block {int(t.blocks.residual_ratio.idxmax())}).")
    medians = {t.name: float(t.blocks.residual_ratio[~t.blocks.dropped].median()) for t in traces}
    head = "Median ||F(x)||/||x||: " + "; ".join(
        f"{n} {fmt(m)} ({'F is smaller than x' if m < 1 else 'F outweighs x' if m > 1 else 'F as large as x'})"
        if math.isfinite(m) else f"{n}: no finite ratio (its signal overflowed)" for n, m in medians.items()) + "."
    return fig, Caption(" ".join(notes) + " A ratio below 1 means the block adds a small change on top of its input.", head)


def skip_shares(traces, mark_block=None):
    """Share of the gradient at each block's input that arrives through the skip; mark_block: a block to shade."""
    fig = _block_chart(traces, "skip_share", "Share of the gradient that takes the skip path", "share via skip",
                       log=False, mark_block=mark_block)
    fig.update_yaxes(range=[-0.02, 1.02])
    notes = []
    for t in traces:
        s = t.blocks.skip_share[t.blocks.skip & ~t.blocks.dropped]
        if len(s) == 0:
            notes.append(f"{t.name}: no skips, so all of the gradient passes through every layer.")
        else:
            notes.append(f"{t.name}: on average {float(s.mean()):.0%} of the gradient arriving at a block goes through its skip "
                         f"(range {float(s.min()):.0%} to {float(s.max()):.0%}).")
    shares = {t.name: float(t.blocks.skip_share[t.blocks.skip & ~t.blocks.dropped].mean()) for t in traces
              if (t.blocks.skip & ~t.blocks.dropped).any()}
    head = ("; ".join(f"{n}: {'most' if v > 0.5 else 'less than half'} of the gradient at a block takes the skip "
                      f"({v:.0%} on average)" for n, v in shares.items()) + "."
            if shares else notes[0])
    return fig, Caption(" ".join(notes), head)
