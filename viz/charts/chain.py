"""The one-dimensional chain (viz/measures/chain.py) drawn: |dx_l/dx_0| of the plain and the residual chain against
the layer l, on a log axis, with the finding in words computed from the same numbers. No torch here."""

import math

import numpy as np
import plotly.graph_objects as go

from viz.style import KIND, Caption, fmt, layout

NEAR_ONE = 10.0  # "stays near 1": within a factor of 10 of 1 (one decade either way)


def fate(gradient: float) -> str:
    """A gradient's size in words: 'vanishes', 'explodes' or 'stays near 1' (within a factor NEAR_ONE)."""
    g = abs(gradient)
    if g < 1 / NEAR_ONE:
        return "vanishes"
    return "explodes" if g > NEAR_ONE else "stays near 1"


def typical(factors) -> float:
    """The typical size of a factor: the geometric mean of |factor| (the product is typical**L)."""
    a = np.abs(np.asarray(factors, dtype=float))
    return float(np.exp(np.log(a).mean())) if len(a) and (a > 0).all() else 0.0


def numbers(table) -> dict:
    """The finding's numbers: the chain's length, the slopes' spread, each chain's end gradient and typical factor."""
    return dict(layers=len(table), spread=float(table.attrs.get("spread", table.slope.std(ddof=0))),
                plain=float(table.plain_gradient.iloc[-1]), residual=float(table.residual_gradient.iloc[-1]),
                plain_typical=typical(table.plain_factor), residual_typical=typical(table.residual_factor))


def finding(table) -> str:
    """The chart's finding in two sentences, from the table's numbers."""
    n = numbers(table)
    L, p, r = n["layers"], n["plain"], n["residual"]
    text = (f"With {L} layers, the plain chain's gradient is a product of {L} factors f', each about "
            f"{fmt(n['plain_typical'])} in size: {fmt(abs(p))}, it {fate(p)}. The residual chain multiplies {L} "
            f"factors 1 + f', each about {fmt(n['residual_typical'])}: {fmt(abs(r))}, it {fate(r)}.")
    if fate(r) == "stays near 1" and fate(p) != "stays near 1":
        return text + " The skip adds 1 to every factor, so small slopes nudge the gradient instead of multiplying it away."
    if fate(r) != "stays near 1":
        return text + (" With slopes this spread out, 1 + f' is far from 1 too: the skip keeps the gradient only "
                       "while each branch makes a small change, as the branches of trained ResNets do.")
    return text


def chain_chart(table):
    """(figure, Caption): |dx_l/dx_0| of both chains against l, log y axis, a dashed line at 1."""
    fig = go.Figure()
    for residual, name in ((False, "plain: f' each"), (True, "residual: 1 + f' each")):
        g = table["residual_gradient" if residual else "plain_gradient"].abs()
        fig.add_scatter(x=table.layer, y=g.where(g > 0), mode="lines+markers", name=name, marker_size=5,
                        line=dict(color=KIND[residual], width=3))
    fig.add_hline(y=1, line_dash="dash", line_color="#888")
    layout(fig, "The gradient through a chain of scalar layers", "layers l", "|dx_l / dx_0|  (autograd)", log=True,
           height=380, integer_x=True)
    n = numbers(table)
    decades = {k: math.log10(abs(n[k])) if n[k] else -math.inf for k in ("plain", "residual")}
    detail = (f"One draw of {n['layers']} slopes f' from a normal distribution of spread {fmt(n['spread'])}, "
              f"the same in both chains; x_(l+1) = f'x_l (plain) or x_l + f'x_l (residual), started at "
              f"{table.attrs.get('x0', 0.5)}. "
              f"At layer {n['layers']}: plain {fmt(n['plain'])} (10^{decades['plain']:.0f}), residual "
              f"{fmt(n['residual'])}. Every point is torch.autograd's derivative in float64.")
    return fig, Caption(detail, finding(table))
