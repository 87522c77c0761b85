"""Degradation live (viz/measures/degradation.py) drawn: both twins' training error against the step, and the
sentence from the same numbers. No torch here."""

import plotly.graph_objects as go

from viz.charts.style import KIND, Caption, layout


def finding(curves, gap: dict | None, depth: int, points: float, window: int) -> str:
    """What the curves show, in one or two sentences with their numbers."""
    if curves.empty:
        return "No step has finished yet."
    last = curves.iloc[-1]
    now = (f"after {int(last.step)} steps: plain-{depth} at {last.plain:.0f}% training error, ResNet-{depth} at "
           f"{last.residual:.0f}% (means over the last {window} batches)")
    if gap is None:
        return f"No visible gap yet ({points:.0f} points, held to the end): {now}."
    return (f"From step {gap['step']} ({gap['seconds']:.0f} s after the start) the plain twin stays at least "
            f"{points:.0f} points behind; {now}. Same data, same seed, same steps: without its skips the {depth}-layer "
            "net trains worse on the very images it is trained on (the degradation of He et al. 2015, Fig. 1).")


def twins_chart(curves, gap: dict | None, depth: int, points: float, window: int, chance: float = 90.0):
    """(figure, Caption): the smoothed training error (%) of ResNet-depth and plain-depth against the step."""
    fig = go.Figure()
    for skip in (True, False):
        fig.add_scatter(x=curves.step, y=curves["residual" if skip else "plain"], mode="lines",
                        name=f"{'ResNet' if skip else 'plain'}-{depth}", line=dict(color=KIND[skip], width=3))
    fig.add_hline(y=chance, line_dash="dot", line_color="#888", annotation_text="guessing",
                  annotation_position="bottom right")
    if gap:
        fig.add_vline(x=gap["step"], line_dash="dash", line_color="#555")
    layout(fig, f"Training error, live: ResNet-{depth} and its plain twin", "training steps (batches)",
           "training error (%)", height=380, integer_x=True)
    fig.update_yaxes(range=[0, 100])
    detail = (f"Each curve: the error on the last {window} training batches; the same data, seed and learning-rate "
              f"schedule for both; the dashed line marks the step from which the plain twin stays {points:.0f} points "
              "or more behind. He et al. (2015, Fig. 6) trained CIFAR-10 nets of depth 20 to 110 for 64,000 steps: "
              "the deeper plain nets ended with higher training error, the deeper ResNets with lower; this short "
              "run shows the start of that at one depth.")
    return fig, Caption(detail, finding(curves, gap, depth, points, window))


def demo_words(dataset: str, images: int, config, recipe) -> str:
    """The demo's settings in a sentence (models.twins.Demo's fields)."""
    return (f"ResNet-{config.depth} and its plain twin, {config.width} channels in the first stage, each trained for "
            f"{recipe.epochs} passes over the same {images:,} {dataset} images in batches of {recipe.batch_size}, "
            f"peak learning rate {recipe.lr}, seed {recipe.seed}; their steps alternate, so both curves grow together.")
