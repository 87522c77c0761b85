"""The transformer's residual stream drawn: per-layer gradient norms at init, last/first ratios by depth, the stream's
norm after each layer and the Post-LN vs Pre-LN race, each with its caption computed from the numbers. No torch."""

import math

import plotly.graph_objects as go

from viz.charts.style import PLAIN, RESIDUAL, Caption, concept_color, fmt, layout
from viz.measures.transformer import PAPER, agreement, trend

# Both layer norms keep the skip: the residual hue (Post-LN a lighter shade); no skip: the plain colour
COLORS = {"Post-LN": concept_color("residual", shade=1), "Pre-LN": RESIDUAL, "no skip": PLAIN}


def layer_gradients(grads, ratios, depth: int):
    """grads: rows (variant, depth, layer, grad_norm); ratios: rows (variant, depth, ratio). One depth's layers."""
    fig = go.Figure()
    g = grads[grads.depth == depth]
    for v, d in g.groupby("variant", sort=False):
        fig.add_scatter(x=d.layer, y=d.grad_norm, name=v, mode="lines+markers", line=dict(color=COLORS.get(v)))
    layout(fig, f"Gradient norm per layer at init, {depth} layers", "layer (input side to output side)",
           "||dL/dW|| of the layer", log=True, integer_x=True)
    r = ratios[ratios.depth == depth].set_index("variant")
    post, pre = float(r.ratio.get("Post-LN", math.nan)), float(r.ratio.get("Pre-LN", math.nan))
    headline = f"At {depth} layers Post-LN's gradient {trend(post)}; Pre-LN's {trend(pre)}."
    if {"Post-LN", "Pre-LN"} <= set(r.index):
        lead = float(r["last"]["Post-LN"] / r["last"]["Pre-LN"])
        headline = (f"At {depth} layers Post-LN's last layer gets {fmt(lead)}x the gradient of Pre-LN's (the paper's "
                    f"bounds differ by sqrt({depth}) = {fmt(math.sqrt(depth))}x); from first layer to last, Post-LN's "
                    f"gradient {trend(post)}, Pre-LN's {trend(pre)}.")
    extra = f" Without skips the last layer gets {fmt(float(r.ratio['no skip']))}x the first's." if "no skip" in r.index else ""
    return fig, Caption(f"{headline}{extra} {agreement(post, pre)} The paper: {PAPER} Ours: one forward and backward "
                        "pass of freshly initialised character transformers on the same batch of the shipped corpus; "
                        "a layer's norm is over its four weight matrices (attention qkv and output, MLP in and out).",
                        headline)


def ratio_by_depth(ratios):
    """ratios: rows (variant, depth, ratio = last / first layer's gradient norm)."""
    fig = go.Figure()
    for v, d in ratios.groupby("variant", sort=False):
        fig.add_scatter(x=d.depth, y=d.ratio, name=v, mode="lines+markers", line=dict(color=COLORS.get(v)))
    fig.add_hline(y=1, line_dash="dot", line_color="#888")
    layout(fig, "Last layer's gradient over the first's, by depth", "layers", "last / first", log=True,
           integer_x=True)
    deepest = int(ratios.depth.max())
    r = ratios[ratios.depth == deepest].set_index("variant").ratio
    parts = [f"{v} {fmt(float(r[v]))}" for v in r.index]
    headline = f"At {deepest} layers the last/first gradient ratio is " + ", ".join(parts) + "."
    return fig, Caption(f"{headline} A ratio of 1 (dotted) is a flat profile. {PAPER}", headline)


def stream_norms(streams, depth: int):
    """streams: rows (variant, depth, layer 0..L, stream_norm per token)."""
    fig = go.Figure()
    s = streams[streams.depth == depth]
    for v, d in s.groupby("variant", sort=False):
        fig.add_scatter(x=d.layer, y=d.stream_norm, name=v, mode="lines+markers", line=dict(color=COLORS.get(v)))
    layout(fig, f"The residual stream's norm after each layer, {depth} layers", "after layer (0: the embedding)",
           "||h|| per token", log=True, integer_x=True)
    end = s.groupby("variant", sort=False).stream_norm.agg(["first", "last"])
    parts = [f"{v} from {fmt(float(a))} to {fmt(float(b))}" for v, (a, b) in end.iterrows()]
    headline = "Per token, the stream goes " + "; ".join(parts) + "."
    pre = s[s.variant == "Pre-LN"].stream_norm
    grows = (f"; here Pre-LN's stream grows {fmt(float(pre.iloc[-1] / pre.iloc[1]))}x from layer 1 to layer {depth}"
             if len(pre) > 2 else "")
    return fig, Caption(f"{headline} Post-LN normalises the stream after every sublayer (at init its norm per token is "
                        "sqrt(d_model)); Pre-LN adds each sublayer's output to a stream it never normalises, so each new "
                        f"sublayer changes it relatively less as it grows{grows}.", headline)


def race(losses, summary, lr: float, chance: float, unigram: float):
    """losses: rows (variant, step, loss); summary: rows (variant, start, end, finite)."""
    fig = go.Figure()
    for v, d in losses.groupby("variant", sort=False):
        fig.add_scatter(x=d.step, y=d.loss, name=v, mode="lines", line=dict(color=COLORS.get(v)))
    fig.add_hline(y=unigram, line_dash="dot", line_color="#888", annotation_text="letter frequencies only")
    layout(fig, f"Training without warm-up, Adam at lr {lr:g}", "step", "training loss (nats per character)",
           integer_x=True)
    s = summary.set_index("variant")
    post, pre = s.loc["Post-LN"], s.loc["Pre-LN"]
    if not post.finite:
        verdict = "Post-LN diverged (its loss overflowed)"
    elif post.end > unigram - 0.1:
        verdict = f"Post-LN stalled at {fmt(post.end)}, no better than letter frequencies ({fmt(unigram)})"
    elif post.end > pre.end + 0.1:
        verdict = f"Post-LN learnt more slowly (loss {fmt(post.end)})"
    else:
        verdict = f"Post-LN trained as well here (loss {fmt(post.end)}): at this setting warm-up was not needed"
    headline = f"{verdict}; Pre-LN reached {fmt(pre.end)}."
    return fig, Caption(f"{headline} Mean loss over the last 20 steps; guessing uniformly costs {fmt(chance)} "
                        f"nats, predicting letters by their frequency {fmt(unigram)}. {PAPER}", headline)
