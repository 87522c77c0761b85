"""What the Train page draws: live training curves, He et al.'s degradation chart (with a replay of the shipped
training, epoch by epoch) and the text beside it. Each figure comes with its Caption: a headline computed from
its numbers, and the detail."""

import math

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from viz.charts.style import KIND, Caption, color, layout
from viz.measures.train import mean_training_error, plural

DEPTH_COLORS = {20: color(4), 56: color(3)}  # one colour per depth (orange, purple): blue/red mean residual/plain


def curves(steps: pd.DataFrame, epochs: pd.DataFrame, metric: str, title: str, ytitle: str) -> go.Figure:
    """Training batches (thin lines) and test results after each epoch (dotted), residual blue, plain red.
    metric: "loss" (log axis) or "acc"."""
    fig = go.Figure()
    for (name, skip), d in steps.groupby(["name", "skip"], sort=False):
        fig.add_scatter(x=d.x, y=d[metric], name=f"{name} train", line=dict(color=KIND[bool(skip)], width=1.5))
    for (name, skip), d in epochs.groupby(["name", "skip"], sort=False):
        fig.add_scatter(x=d.epoch, y=d[f"test_{metric}"], name=f"{name} test", mode="lines+markers",
                        line=dict(color=KIND[bool(skip)], width=3, dash="dot"))
    layout(fig, title, "epoch", ytitle, log=metric == "loss", height=340)
    if metric == "acc":
        fig.update_yaxes(tickformat=".0%", rangemode="tozero")
    return fig


def live(steps: pd.DataFrame, epochs: pd.DataFrame) -> list[go.Figure]:
    """The two charts drawn while a run trains: loss and accuracy."""
    return [curves(steps, epochs, "loss", "Loss", "cross-entropy (log)"),
            curves(steps, epochs, "acc", "Accuracy", "accuracy")]


def run_charts(steps: pd.DataFrame, epochs: pd.DataFrame, chance: float = 0.1) -> list[tuple[go.Figure, Caption]]:
    """The finished run's two charts, (figure, Caption) each: the headline says how far each network got, the
    detail gives the last test numbers. chance: the accuracy of guessing (1 / number of classes)."""
    last = epochs.groupby("name", sort=False).last()
    first = steps.groupby("name", sort=False).first()
    end = steps.groupby("name", sort=False).last()
    loss = "; ".join(f"{n}: test loss {r.test_loss:.3g} after epoch {int(r.epoch)}" for n, r in last.iterrows())
    acc = "; ".join(f"{n}: test accuracy {r.test_acc:.1%} after epoch {int(r.epoch)}" for n, r in last.iterrows())
    how = ("Thin lines: training batches (moving average, with augmentation, BatchNorm in training mode); "
           "dotted: the test images after each epoch. ")
    head_loss = "; ".join(f"{n}: training loss {first.loss[n]:.2f} → {end.loss[n]:.2f}" for n in end.index) + "."
    head_acc = "; ".join(f"{n}: {r.test_acc:.1%} test accuracy after {plural(int(r.epoch), 'epoch')}"
                         f" ({r.test_acc / chance:.1f}× chance, {chance:.0%})" for n, r in last.iterrows()) + "."
    none = "No epoch finished"
    return [(curves(steps, epochs, "loss", "Loss", "cross-entropy (log)"),
             Caption(how + (loss or none) + ".", head_loss if len(end) else none + ".")),
            (curves(steps, epochs, "acc", "Accuracy", "accuracy"),
             Caption(how + (acc or none) + ".", head_acc if len(last) else none + "."))]


FIG6 = [(False, 20), (False, 56), (True, 20), (True, 56)]  # He et al. Fig. 6: plain-20/56, ResNet-20/56
HE_TEST_ERROR = {20: 8.75, 56: 6.97}  # He et al. Table 6, CIFAR-10 test error (%) of ResNet-20/56
HE_EPOCHS = 164
SETS = {"shapes": "built-in shapes", "cifar10": "CIFAR-10"}
HE_FIG6 = ("He et al. 2015, Fig. 6 (CIFAR-10, 164 epochs): left plain-20/32/44/56, right ResNet-20/32/44/56/110; "
           "dashed lines training error, bold lines test error. There plain-56 ends above plain-20 (degradation) and "
           "ResNet-56 below ResNet-20.")


def _label(skip, depth) -> str:
    return f"{'ResNet' if skip else 'plain'}-{depth}"


def _name(dataset, skip, depth) -> str:
    return f"{dataset}-{'resnet' if skip else 'plain'}{depth}"


def degradation_sets(catalog: pd.DataFrame) -> tuple[list, str | None]:
    """The data sets with at least one shipped Fig. 6 model (plain/ResNet-20/56), shapes first, and the one to
    show by default: CIFAR-10 once all four of its models are shipped, else shapes. catalog: `zoo.list()`."""
    shipped = set(catalog.name[catalog.source == "shipped"])
    have = {d: sum(_name(d, s, n) in shipped for s, n in FIG6) for d in catalog.dataset.dropna().unique()}
    sets = sorted((d for d, k in have.items() if k), key=lambda d: (d != "shapes", d))
    default = "cifar10" if have.get("cifar10") == len(FIG6) else "shapes" if "shapes" in sets else (sets or [None])[0]
    return sets, default


def missing(h: pd.DataFrame, dataset: str) -> list[str]:
    """Labels of the Fig. 6 models with no history in h, e.g. ["plain-56"]."""
    return [_label(s, d) for s, d in FIG6 if _name(dataset, s, d) not in set(h.name)]


def finals(h: pd.DataFrame) -> pd.DataFrame:
    """Each model's last epoch (h as for degradation): a row per model, in h's order."""
    return h.sort_values("epoch").groupby(["name", "depth", "skip"], sort=False).last().reset_index()


def _error_range(lo: float, hi: float) -> tuple[list, list]:
    """A log axis for errors in % from lo to hi: its range (log10, a little padding) and ticks: whole numbers
    (1, 2, 5, 10, 20, 50, 100), with 0.1, 0.2 and 0.5 only where the errors go below 1%."""
    rng = [math.log10(lo) - 0.15, math.log10(hi) + 0.1]
    ticks = [t for t in (0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100)
             if rng[0] <= math.log10(t) <= rng[1] and (t >= 1 or lo < 1)]
    return rng, ticks


def degradation_headline(h: pd.DataFrame, dataset: str = "shapes") -> str:
    """The chart in one sentence, from the mean training error over the epochs (as `finding` compares)."""
    mean = mean_training_error(h)
    says = []
    for skip in (False, True):
        a, b = _name(dataset, skip, 20), _name(dataset, skip, 56)
        if a in mean and b in mean:
            verdict = "worse" if mean[b] > mean[a] else "better"
            says.append(f"{_label(skip, 56)} trained {verdict} than {_label(skip, 20)} ({mean[b]:.1f}% vs "
                        f"{mean[a]:.1f}% mean training error{'' if says else ' over the epochs'})")
    if not says:
        return f"{SETS.get(dataset, dataset)}: not enough shipped models to compare depths."
    return (f"{SETS.get(dataset, dataset)}: " + "; ".join(says)
            + ". Press ▶ Replay to watch them train, epoch by epoch.")


def degradation(h: pd.DataFrame, dataset: str = "shapes") -> tuple[go.Figure, Caption]:
    """He et al. Fig. 6 from zoo histories (a row per model and epoch: name, depth, skip, epoch, train_error,
    test_error in %, see models.zoo.histories), as the paper draws it: plain nets left, ResNets right, one colour per
    depth, training error dashed and test error bold, on one error axis; with a replay (a play button and an epoch
    slider). Returns (figure, Caption with each model's final errors)."""
    fig = make_subplots(rows=1, cols=2, shared_yaxes=True, horizontal_spacing=0.04,
                        subplot_titles=("plain (no skips)", "ResNet (skips)"))
    groups = [(k, g.sort_values("epoch")) for k, g in h.groupby(["name", "depth", "skip"], sort=False)]
    for (_, depth, skip), g in groups:
        col, c = 1 + bool(skip), DEPTH_COLORS.get(depth, color(6))
        for kind, dash, width in (("train", "dash", 2), ("test", "solid", 4)):
            what = "training" if kind == "train" else "test"
            fig.add_scatter(x=g.epoch, y=g[f"{kind}_error"], name=f"{depth} layers: {what}", showlegend=not skip,
                            legendgroup=f"{depth}{kind}", line=dict(color=c, dash=dash, width=width), row=1, col=col,
                            hovertemplate=f"{_label(skip, depth)} {what} error %{{y:.2f}}%<extra></extra>")
    title = (f"{SETS.get(dataset, dataset)}: error while training, by depth (dashed: training, bold: test, "
             "as in He et al. Fig. 6)")
    layout(fig, title, "", "error (%), log scale", log=True, height=480)
    fig.update_yaxes(title=None, row=1, col=2)  # one shared error axis, titled once
    fig.update_traces(mode="lines")
    fig.update_xaxes(title="epoch", tickformat="d")
    fig.update_layout(hovermode="closest", margin=dict(l=70, r=20, t=70, b=150),  # the legend right of the panels:
                      legend=dict(orientation="v", yanchor="top", y=1, xanchor="left", x=1.02))  # clear of their titles
    if not h.empty:
        errors = h[["train_error", "test_error"]]
        lo, hi = float(errors.min().min()), float(errors.max().max())
        rng, ticks = _error_range(max(lo, 0.05), max(hi, 1))
        fig.update_yaxes(tickvals=ticks, ticktext=[f"{t:g}" for t in ticks], exponentformat="none", range=rng,
                         dtick=None, tickformat=None)
        _replay(fig, groups, int(h.epoch.max()))
    caption = "Final epoch: " + "; ".join(
        f"{_label(r.skip, r.depth)} training error {r.train_error:.2f}%, test error "
        f"{r.test_error:.2f}% after {int(r.epoch)} epochs" for r in finals(h).itertuples()) + "."
    gone = missing(h, dataset)
    detail = HE_FIG6 + " Ours: " + caption + (f" Not shipped yet: {', '.join(gone)}." if gone else "")
    return fig, Caption(detail, degradation_headline(h, dataset))


def _replay(fig, groups, epochs: int):
    """Frames 1..epochs of the traces drawn (the curves up to that epoch), a ▶ Replay button and an epoch slider; the
    figure opens on the whole run."""
    fig.update_xaxes(range=[0.5, epochs + 0.5])
    frames = []
    for e in range(1, epochs + 1):
        data = [go.Scatter(x=g.epoch[g.epoch <= e], y=g[f"{kind}_error"][g.epoch <= e]) for _, g in groups
                for kind in ("train", "test")]
        frames.append(go.Frame(data=data, name=str(e), traces=list(range(len(data)))))
    fig.frames = frames
    anim = dict(frame=dict(duration=350, redraw=False), transition=dict(duration=0), mode="immediate")
    fig.update_layout(
        # the Replay button and the epoch slider, both below the epoch axis's title
        updatemenus=[dict(type="buttons", showactive=False, x=0, y=-0.38, xanchor="left", yanchor="top",
                          buttons=[dict(label="▶ Replay", method="animate",
                                        args=[None, {**anim, "fromcurrent": False}])])],
        sliders=[dict(active=epochs - 1, x=0.13, len=0.87, y=-0.38, yanchor="top", currentvalue=dict(visible=False),
                      pad=dict(t=0), steps=[dict(label=str(e), method="animate", args=[[str(e)], anim])
                                             for e in range(1, epochs + 1)])])


def finding(h: pd.DataFrame, dataset: str = "shapes") -> str:
    """Our numbers beside He et al.'s, every statement computed from the histories shown (h as for degradation):
    which models exist, their final errors, whether the deeper plain net trained worse and the deeper ResNet better."""
    final = finals(h).set_index("name")
    mean = h.groupby("name").train_error.mean()
    n = {(s, d): _name(dataset, s, d) for s, d in FIG6}
    has = {k: v in final.index for k, v in n.items()}

    def compare(a, b):  # model b against model a, by training error
        if not (has[a] and has[b]):
            return None
        na, nb = n[a], n[b]
        return (f"{_label(*b)} vs {_label(*a)}: final training error {final.train_error[nb]:.2f}% vs "
                f"{final.train_error[na]:.2f}%, mean over the epochs {mean[nb]:.2f}% vs {mean[na]:.2f}%, so "
                f"{_label(*b)} trained **{'worse' if mean[nb] > mean[na] else 'better'}**")

    parts = [compare((False, 20), (False, 56)), compare((True, 20), (True, 56)),
             compare((True, 20), (False, 20)), compare((True, 56), (False, 56))]
    parts = [p for p in parts if p]
    stuck = {k for k in FIG6 if has[k] and final.train_error[n[k]] > 80}
    parts += [f"{_label(*k)} stayed near chance level: {final.train_error[n[k]]:.0f}% training error after "
              f"{int(final.epoch[n[k]])} epochs (chance: 90% for 10 classes)" for k in FIG6 if k in stuck]
    if dataset == "cifar10":
        parts += [f"{_label(True, d)} test error {final.test_error[n[(True, d)]]:.2f}% (He et al.: {e}%)"
                  for d, e in HE_TEST_ERROR.items() if has[(True, d)]]
    epochs = sorted({int(e) for e in final.epoch})
    span = f"{epochs[0]}" if len(epochs) == 1 else f"{epochs[0]} to {epochs[-1]}"
    shorter = f"this {HE_EPOCHS / epochs[-1]:.0f}x shorter budget"
    notes = []
    if has[(False, 20)] and has[(False, 56)]:
        worse = mean[n[(False, 56)]] > mean[n[(False, 20)]]
        notes.append(("As in He et al., the deeper plain net trained worse." if worse else
                      "Unlike He et al., our plain-56 did not train worse than plain-20.") +
                     (f" Where they differ: He et al.'s plain-56 does train, only to a higher error; ours barely "
                      f"trained in {shorter}, a stronger form of the same degradation." if (False, 56) in stuck else ""))
    if has[(True, 20)] and has[(True, 56)]:
        notes.append("As in He et al., the deeper ResNet trained better." if mean[n[(True, 56)]] <= mean[n[(True, 20)]]
                     else f"Unlike He et al., our ResNet-56 did not beat ResNet-20 within {shorter}.")
    if dataset == "shapes":
        notes.append("Shapes is easier than CIFAR-10, so the nets that train end with small errors: compare the curves "
                     "during training, where the gaps are largest, not only the last epoch.")
    gone = [_label(*k) + " not shipped yet" for k in FIG6 if not has[k]]
    return ("**He et al. (CIFAR-10, 164 epochs):** plain-56 has *higher* training error than plain-20 all through "
            "training (Fig. 6, left), a degradation that is not overfitting; with skips the order flips and "
            "ResNet-56 beats ResNet-20 (test error 6.97% vs 8.75%, Table 6).  \n"
            f"**Ours ({SETS.get(dataset, dataset)}, {span} epochs, one recipe for all"
            f"{'; ' + ', '.join(gone) if gone else ''}):** " + "; ".join(parts) + ". " + " ".join(notes))
