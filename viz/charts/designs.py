"""Plotly figures for the Skip-designs page: the Gradient-flow page's block charts, one line per design."""

from viz.charts.gradient_flow import block_gradients, skip_shares
from viz.charts.style import Caption, concept_colors, fmt, legend_below


def _design_look(fig, traces, title):
    """One colour per design (a name that says plain, residual or skip in its concept's colour); the plain net (no
    skip) dashed."""
    colours = concept_colors([t.name for t in traces])
    for c, tr, t in zip(colours, fig.data, traces, strict=True):
        tr.update(line=dict(color=c, width=2, dash="dash" if t.kind == "plain" else None), marker=dict(color=c))
    fig.update_layout(title=dict(text=title))
    return legend_below(fig, height=500)


def design_gradients(traces):
    """The Gradient-flow page's block-gradient chart for several designs (traces named by design)."""
    fig, caption = block_gradients(traces)
    ratio = {t.name: float(t.blocks.grad_norm.iloc[0] / t.blocks.grad_norm.iloc[-1]) for t in traces}
    skip = [r for t in traces if t.kind != "plain" for r in [ratio[t.name]]]
    plain = [f"{t.name} {fmt(ratio[t.name])}x" for t in traces if t.kind == "plain"]
    head = (f"With a skip, the gradient at the first block is {fmt(min(skip))} to {fmt(max(skip))} times the last "
            f"block's" + (f"; without ({', '.join(plain)})." if plain else ".")) if skip else ""
    look = _design_look(fig, traces, "Gradient at each block's output, at init, same number of blocks")
    return look, Caption(caption, head)


def design_skip_shares(traces):
    """The Gradient-flow page's skip-share chart for several designs."""
    fig, caption = skip_shares(traces)
    share = {t.name: float(t.blocks.skip_share[t.blocks.skip].mean()) for t in traces if t.blocks.skip.any()}
    hi, lo = max(share, key=share.get), min(share, key=share.get)
    head = (f"The skip carries the most of the gradient in the {hi} design ({share[hi]:.0%} on average) and the least in "
            f"the {lo} design ({share[lo]:.0%})." if share else "")
    return _design_look(fig, traces, "Share of the gradient that takes the skip path"), Caption(caption, head)


def look_at_gradients(traces) -> str:
    """What to look at in the designs' gradient chart, in one sentence from its numbers: which design's line starts
    highest and lowest at the first block (relative to its last block)."""
    ratio = {t.name: float(t.blocks.grad_norm.iloc[0] / t.blocks.grad_norm.iloc[-1]) for t in traces}
    ratio = {k: v for k, v in ratio.items() if v == v}  # not NaN
    if not ratio:
        return "Look at the left end of each line: the gradient that reaches the first block."
    hi, lo = max(ratio, key=ratio.get), min(ratio, key=ratio.get)
    return (f"Compare each line's left end (the first block) with its right end (the last): {hi} keeps the most gradient "
            f"toward the input ({fmt(ratio[hi])}x its last block's), {lo} the least ({fmt(ratio[lo])}x).")
