"""The one-dimensional chain (viz/measures/chain.py) drawn: |dx_l/dx_0| of the plain and the residual chain against
the layer l, on a log axis, with the finding in words computed from the same numbers (viz.measures.chain.finding).
No torch here."""

import math

import plotly.graph_objects as go

from viz.charts.style import KIND, Caption, fmt, layout
from viz.measures.chain import finding, numbers


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


def look_at(table) -> str:
    """What to look at in the chain chart, in one sentence from its numbers (the lesson shows it under the chart,
    where the finding is already the step's takeaway above it)."""
    n = numbers(table)
    return (f"Look at the right end, layer {n['layers']}: the red plain chain ends at {fmt(abs(n['plain']))}, the blue "
            f"residual chain at {fmt(abs(n['residual']))}; the dashed line is 1, a gradient that neither grows nor "
            "shrinks.")
