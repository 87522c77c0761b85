"""The lesson's reveal charts: each step's numbers drawn with the pages' own chart functions where one exists."""

import plotly.graph_objects as go

from viz.charts import designs as designs_charts
from viz.charts import gradient_flow as gradient_flow_charts
from viz.charts import landscape as landscape_charts
from viz.charts import normfree as normfree_charts
from viz.charts import refinement as refinement_charts
from viz.charts import residuals as residuals_charts
from viz.charts import transformer as transformer_charts
from viz.charts.chain import chain_chart
from viz.charts.style import KIND, Caption, layout


def identity_chart(blocks):
    """||x|| and ||out|| of every block of a zero-initialised ResNet: equal wherever the block keeps its shape."""
    fig = go.Figure()
    fig.add_bar(x=blocks.block, y=blocks.x_norm, name="||x|| into the block", marker_color=KIND[False])
    fig.add_bar(x=blocks.block, y=blocks.out_norm, name="||y|| out of it", marker_color=KIND[True])
    layout(fig, "Every block with F(x) = 0: what goes in comes out", "block (input side → output side)",
           "size of the signal ||x||", height=340, integer_x=True)
    fig.update_layout(barmode="group", hovermode="closest")
    return fig, "Where a stage starts (blocks with a smaller ||y||) the shortcut subsamples x and pads zero channels."


def degradation_chart(numbers):
    """Final training error of the plain and residual nets of depth 20 and 56."""
    names = [k for k in ("plain20", "plain56", "resnet20", "resnet56") if k in numbers]
    fig = go.Figure(go.Bar(x=[n.replace("plain", "plain-").replace("resnet", "ResNet-") for n in names],
                           y=[numbers[n] for n in names], text=[f"{numbers[n]:.1f}%" for n in names],
                           marker_color=[KIND["resnet" in n] for n in names], textposition="outside"))
    layout(fig, "Training error after the last epoch (same recipe for all)", None, "training error (%)", height=340)
    return fig, "Bars: the last epoch's training error of the shipped models (augmented batches)."


def chart(step_key, reveal):
    """The reveal's (figure, caption), drawn from its tables."""
    t = reveal.tables
    if step_key == "chain":  # (its finding is the step's takeaway, shown above the chart: not twice)
        fig, cap = chain_chart(t["chain"])
        return fig, Caption(str(cap), "")
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
        return landscape_charts.slice_1d(t["curves"], t["skips"])
    if step_key == "refinement":
        return refinement_charts.refinement_chart(t["tables"], t["summaries"])
    if step_key == "normfree":
        return normfree_charts.gradients_at_init(t["blocks"], t["summary"], int(t["summary"].depth.iloc[0]))
    if step_key == "transformer":
        return transformer_charts.layer_gradients(t["grads"], t["ratios"], int(t["ratios"].depth.iloc[0]))
    fig, cap = designs_charts.design_gradients(t["traces"])
    return fig, Caption(str(cap), "")
