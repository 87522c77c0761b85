"""The lesson's reveal charts: each step's numbers drawn with the pages' own chart functions where one exists."""

import math

import plotly.graph_objects as go

from viz.charts import designs as designs_charts
from viz.charts import gradient_flow as gradient_flow_charts
from viz.charts import landscape as landscape_charts
from viz.charts import normfree as normfree_charts
from viz.charts import refinement as refinement_charts
from viz.charts import residuals as residuals_charts
from viz.charts import transformer as transformer_charts
from viz.charts.chain import chain_chart, look_at
from viz.charts.style import KIND, OTHERS, Caption, concept, fmt, layout


def identity_chart(blocks):
    """||x|| and ||out|| of every block of a zero-initialised ResNet: equal wherever the block keeps its shape."""
    fig = go.Figure()
    fig.add_bar(x=blocks.block, y=blocks.x_norm, name="||x|| into the block", marker_color=OTHERS[0])
    fig.add_bar(x=blocks.block, y=blocks.out_norm, name="||y|| out of it", marker_color=KIND[True])  # a residual block's output
    layout(fig, "Every block with F(x) = 0: what goes in comes out", "block (input side → output side)",
           "size of the signal ||x||", height=340, integer_x=True)
    fig.update_layout(barmode="group", hovermode="closest")
    same = int(((blocks.out_norm - blocks.x_norm).abs() <= 1e-4 * blocks.x_norm).sum())
    return fig, Caption("Where a stage starts (blocks with a smaller ||y||) the shortcut subsamples x and pads zero "
                        "channels.", f"What goes in comes out: ||y|| = ||x|| in {same} of {len(blocks)} blocks.")


def degradation_chart(numbers):
    """Mean training error over the epochs of the plain and residual nets of depth 20 and 56 (the step's numbers)."""
    names = [k for k in ("plain20", "plain56", "resnet20", "resnet56") if k in numbers]
    fig = go.Figure(go.Bar(x=[n.replace("plain", "plain-").replace("resnet", "ResNet-") for n in names],
                           y=[numbers[n] for n in names], text=[f"{numbers[n]:.1f}%" for n in names],
                           marker_color=[KIND["resnet" in n] for n in names], textposition="outside"))
    layout(fig, "Training error, mean over the epochs (same recipe for all)", None, "training error (%)", height=340)
    worse = "plain-56" if numbers["plain56"] > numbers["plain20"] else "plain-20"
    return fig, Caption("Bars: the shipped models' training error (augmented batches), averaged over their epochs, "
                        "as the Train page's degradation headline is.",
                        f"{worse} has the higher training error ({numbers['plain56']:.1f}% for plain-56, "
                        f"{numbers['plain20']:.1f}% for plain-20).")


COLOUR_WORDS = {"residual": "blue", "plain": "red", "branch": "green"}


def look_at_lines(fig, most: int = 3) -> str:
    """What to look at, in one sentence computed from the lines a figure draws: for each named line (at most `most`),
    its colour, where it starts and ends and its lowest value; "" when the figure has no named line."""
    parts = []
    for tr in (t for t in fig.data if t.type == "scatter"):
        y = getattr(tr, "y", None)
        ys = [float(v) for v in (list(y) if y is not None else []) if v is not None and math.isfinite(float(v))]
        name = getattr(tr, "name", None)
        if not name or len(ys) < 2 or ":" in name or len(parts) == most:
            continue
        colour = COLOUR_WORDS.get(concept(name))
        who = f"the {colour} line ({name})" if colour else f"the line of {name}"
        parts.append(f"{who} goes from {fmt(ys[0])} to {fmt(ys[-1])}, lowest {fmt(min(ys))}")
    return ("Follow each line from left to right: " + "; ".join(parts) + ".") if parts else ""


def chart(step_key, reveal):
    """The reveal's (figure, caption), drawn from its tables. A chart whose one-sentence finding the step's takeaway
    (shown above it) already says gets, under it, what to look at instead of the same sentence twice."""
    fig, cap = _chart(step_key, reveal)
    head = getattr(cap, "headline", "")
    if head and head.rstrip(".") in reveal.takeaway:
        head = look_at_lines(fig) or head
    return fig, Caption(str(cap), head)


def _chart(step_key, reveal):
    t = reveal.tables
    if step_key == "chain":  # its finding is the step's takeaway, shown above the chart: under it, what to look at
        fig, cap = chain_chart(t["chain"])
        return fig, Caption(str(cap), look_at(t["chain"]))
    if step_key == "identity":
        return identity_chart(t["blocks"])
    if step_key == "gradient":
        return gradient_flow_charts.layer_gradients(t["traces"])
    if step_key == "degradation":
        return degradation_chart(reveal.numbers)
    if step_key == "residuals":
        return residuals_charts.residual_ratios(t["residuals"])
    if step_key == "lesion":
        return residuals_charts.single_lesions(t["lesions"])
    if step_key == "landscape":
        return landscape_charts.slice_1d(t["curves"], t["skips"], t["split"], t["curvature"])
    if step_key == "refinement":
        return refinement_charts.refinement_chart(t["tables"], t["summaries"])
    if step_key == "normfree":
        return normfree_charts.gradients_at_init(t["blocks"], t["summary"], int(t["summary"].depth.iloc[0]))
    if step_key == "transformer":
        return transformer_charts.layer_gradients(t["grads"], t["ratios"], int(t["ratios"].depth.iloc[0]))
    fig, cap = designs_charts.design_gradients(t["traces"])
    return fig, Caption(str(cap), designs_charts.look_at_gradients(t["traces"]))
