"""Charts of training without normalisation: per-block gradient and signal norms at init for each scheme
(viz.measures.normfree), and a short live training run; each with a caption computed from its numbers."""

import math

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from viz.charts.style import FONT, OTHERS, TEMPLATE, Caption, concept_colors, fmt
from viz.measures.normfree import finding

PAPERS = ("Fixup (Zhang et al. 2019), SkipInit (De & Smith 2020) and ReZero (Bachlechner et al. 2020) start every "
          "residual branch at zero, so at init each block is the identity and the signal and its gradient pass "
          "through a net of any depth unchanged; the papers train deep ResNets without batch norm this way.")


def scheme_colours(schemes) -> dict:
    """{scheme: colour}: the plain net red and the residual nets blue shades (the concept colours); Fixup, SkipInit
    and ReZero, the schemes compared, each a colour of its own that is no concept's."""
    named = [s for s in schemes if s.startswith(("plain", "residual"))]
    others = [s for s in schemes if s not in named]
    return {**dict(zip(named, concept_colors(named), strict=True)),
            **{s: APART[i % len(APART)] for i, s in enumerate(others)}}


APART = tuple(c for c in OTHERS if c != "#8c564b")  # purple, orange, black: brown reads as a dark red


def gradients_at_init(blocks: pd.DataFrame, summary: pd.DataFrame, depth: int):
    """Two panels at one depth: ||h_i|| (forward) and ||dL/dh_i|| (backward) per block, log scale, a line per scheme.
    blocks, summary: `viz.measures.normfree.at_init` / `summary`. Returns (figure, Caption)."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("signal ||h_i|| after each block",
                                                        "gradient ||dL/dh_i|| at each block"))
    B = blocks[blocks.depth == depth]
    hues = scheme_colours(B.scheme.unique())
    for scheme, g in B.groupby("scheme", sort=False):
        for col, y in ((1, g.out_norm), (2, g.grad_norm)):
            fig.add_scatter(x=g.block, y=y.where(y > 0), mode="lines+markers", name=scheme, legendgroup=scheme,
                            showlegend=col == 1, line=dict(color=hues[scheme], width=2), marker=dict(size=4), row=1,
                            col=col, hovertemplate="block %{x}: %{y:.3g}<extra>" + scheme + "</extra>")
    fig.update_yaxes(type="log", exponentformat="power")
    fig.update_xaxes(title="block (input side to output side)", tickformat="d")
    fig.update_layout(font=FONT, template=TEMPLATE, height=430, margin=dict(l=70, r=20, t=80, b=55),
                      legend=dict(orientation="h", yanchor="bottom", y=1.1, xanchor="right", x=1))
    S = summary[summary.depth == depth]
    detail = (" ".join(f"{r.scheme}: ||h|| grows {fmt(r.out_norm_ratio)}x over the blocks, loss {fmt(r.loss)}, "
                       f"{r.zero_grad_convs} of {r.convs} convs get an exactly zero gradient at init."
                       for r in S.itertuples())
              + " A scheme's branch convs get zero gradient at init where the branch is multiplied by a zero scalar "
                "(SkipInit, ReZero) or feeds a zero classifier (Fixup): the scalars move first. Papers: " + PAPERS
              + " One probe pass per net, 32 shapes images, BN in train mode.")
    return fig, Caption(detail, finding(summary, depth))


def training_curves(curves: dict):
    """Live training: loss per step, a line per run. curves: label -> list of per-step training losses (NaN where
    the run diverged). Returns (figure, Caption)."""
    fig = go.Figure()
    ends = {}
    for label, losses, hue in zip(curves, curves.values(), scheme_colours(list(curves)).values(), strict=True):
        s = pd.Series(losses, dtype=float)
        fig.add_scatter(x=list(range(1, len(s) + 1)), y=s, mode="lines", name=label, line=dict(color=hue, width=2))
        ends[label] = float(s.tail(max(1, len(s) // 5)).mean()) if len(s) else float("nan")
    fig.update_layout(font=FONT, template=TEMPLATE, height=380, xaxis_title="step", yaxis_title="training loss",
                      margin=dict(l=70, r=20, t=40, b=55))
    best = min(ends, key=lambda k: ends[k] if math.isfinite(ends[k]) else math.inf)
    headline = ("Training loss over the last fifth of the steps: "
                + ", ".join(f"{k} {fmt(v)}" for k, v in ends.items())
                + f" (chance is {fmt(math.log(10))}); {best} ends lowest.")
    return fig, Caption("Same data, steps, learning rate and seed for each run; only the network differs. " + PAPERS,
                        headline)
