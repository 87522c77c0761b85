"""Charts of iterative refinement (viz.measures.refinement): per block, cos(F_i(h_i), -dL/dh_i) and the loss of reading
out after it, for a residual net with its plain twin beside it; each with a caption computed from its numbers."""

import math

import pandas as pd
from plotly.subplots import make_subplots

from viz.charts.style import FONT, KIND, TEMPLATE, Caption, fmt
from viz.measures.refinement import finding
from viz.words import model_name

PAPER = ("Jastrzebski et al. (ICLR 2018) find that in residual networks the residual F_i(h_i) is aligned with the "
         "negative gradient -dL/dh_i in most blocks (cosine > 0: each block moves h_i a small step down the loss, like "
         "a gradient step), that early blocks change the representation most while later blocks refine it, and that "
         "the loss of reading out falls gradually from block to block in the later blocks.")
PLAIN_NOTE = ("In the plain twin h_{i+1} = act(F_i(h_i)), not h_i + F_i(h_i): its F_i is the whole new "
              "representation, not a step from h_i, so its cosines and readouts are not comparable with the residual "
              "net's; they are shown for contrast only.")


def refinement_chart(tables: dict, summaries: dict):
    """Two panels: the mean cosine per block and the readout loss per block, a line per network.

    Args:
        tables: label (a zoo id or a person's name for it) -> `viz.measures.refinement.refinement` table; the first
            is the residual net, a label with "plain" is its plain twin (red, dashed). Legends and sentences name
            each network with `viz.words.model_name`.
        summaries: label -> `summary` of that table.
    Returns:
        (figure, Caption) with the finding for the first network as headline, the paper's claim beside ours.
    """
    fig = make_subplots(rows=1, cols=2, subplot_titles=("cos(F_i(h_i), -dL/dh_i), mean over images",
                                                        "loss reading out after block i"))
    tables = {model_name(k): t for k, t in tables.items()}
    summaries = {model_name(k): s for k, s in summaries.items()}
    for label, t in tables.items():
        plain = "plain" in label
        style = dict(color=KIND[not plain], width=2, dash="dash" if plain else "solid")
        b = t[t.block >= 0]
        fig.add_bar(x=b.block, y=b.cosine, name=label, legendgroup=label, marker_color=style["color"],
                    opacity=0.5 if plain else 0.9, row=1, col=1, hovertemplate="block %{x}: %{y:.3f}<extra></extra>")
        fig.add_scatter(x=b.block, y=b.step_cosine, mode="markers", name=f"{label}: h_(i+1) - h_i",
                        marker=dict(color=style["color"], symbol="diamond-open", size=7), row=1, col=1,
                        hovertemplate="block %{x}: move %{y:.3f}<extra></extra>")
        fig.add_scatter(x=t.block, y=t.readout_loss, mode="lines+markers", name=label, legendgroup=label,
                        showlegend=False, line=style, marker=dict(size=4), row=1, col=2,
                        hovertemplate="after block %{x}: loss %{y:.3g}<extra></extra>")
    fig.add_hline(y=0, line_color="#888", line_width=1, row=1, col=1)
    fig.update_xaxes(title="block (-1: the stem)", tickformat="d")
    fig.update_layout(font=FONT, template=TEMPLATE, height=430, barmode="group", margin=dict(l=70, r=20, t=110, b=55),
                      # the legend at the figure's top edge, clear of the subplot titles at any size (a projector's too)
                      legend=dict(orientation="h", yref="container", yanchor="top", y=1, xanchor="right", x=1))
    fig.update_yaxes(type="log", exponentformat="power", dtick="D2", tickformat=".2~g", row=1, col=2)  # 1, 2, 5 labelled
    labels = list(tables)
    ours = [finding(k, summaries[k], plain="plain" in k) for k in labels]
    s = summaries[labels[0]]
    last = max(s["stage_cosine"]) if s["stage_cosine"] else None
    strongest = max(s["stage_cosine"], key=s["stage_cosine"].get) if s["stage_cosine"] else None
    agree = ("The last stage has the largest mean cosine." if strongest == last and last is not None
             else f"Stage {strongest + 1}, not the last, has the largest mean cosine." if strongest is not None else "")
    share = s["positive"] / s["measured"] if s["measured"] else math.nan
    verdict = ("As in the paper, most blocks" if share > 0.5 else "Unlike the paper, most blocks do not") + (
        f" point F down the loss here ({fmt(100 * share)}% of the measured blocks of {labels[0]}).")
    detail = (f"Paper: {PAPER} Ours: {' '.join(ours[1:])} {verdict} {agree} Diamonds: the cosine of the block's "
              "actual move h_(i+1) - h_i, which in these post-activation blocks is act(h_i + F_i(h_i)) - h_i, not "
              "F_i(h_i) (the paper's blocks add F without an activation after the sum). The first block of stages 2 and 3 changes the shape (F(h) and h differ), so it "
              "has no cosine. Readout: the trained head (pool + fc) on h_{i+1} carried to it by the later blocks' "
              f"shortcuts alone. {PLAIN_NOTE if len(labels) > 1 else ''}")
    return fig, Caption(detail.strip(), ours[0])


def table_for_download(tables: dict) -> pd.DataFrame:
    return pd.concat([t.assign(network=k) for k, t in tables.items()], ignore_index=True)
