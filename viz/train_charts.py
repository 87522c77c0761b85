"""What the Train page draws: live training curves, He et al.'s degradation chart and the text beside it."""

import pandas as pd
import plotly.graph_objects as go

COLORS = {True: "#1f6fb4", False: "#d6392b"}  # residual blue, plain red (as on the other pages)
SHADES = {(False, False): "#f4a582", (False, True): "#b2182b", (True, False): "#92c5de", (True, True): "#2166ac"}
STEP_COLUMNS = ["name", "skip", "x", "loss", "acc"]
EPOCH_COLUMNS = ["name", "skip", "epoch", "test_loss", "test_acc"]


class Recorder:
    """Collects the training loop's events (models.train.train's callback dicts) as tables for the curves.

    Per-batch loss and accuracy are smoothed with an exponential moving average (0.8 old, 0.2 new), since a
    single batch is noisy; `x` is the fractional epoch (epoch 1, step 5 of 10 -> 0.5)."""

    def __init__(self):
        self.steps, self.hist, self.ema = [], [], {}

    def step(self, label: str, skip: bool, ev: dict):
        x = ev["epoch"] - 1 + ev["step"] / ev["steps"]
        old = self.ema.get(label, (ev["loss"], ev["acc"]))
        self.ema[label] = tuple(0.8 * o + 0.2 * v for o, v in zip(old, (ev["loss"], ev["acc"]), strict=True))
        self.steps.append((label, skip, x, *self.ema[label]))

    def epoch(self, label: str, skip: bool, ev: dict):
        self.hist.append({"name": label, "skip": skip, **{k: ev[k] for k in ("epoch", "test_loss", "test_acc")}})

    def tables(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(steps: a row per batch, epochs: a row per finished epoch and network)."""
        return pd.DataFrame(self.steps, columns=STEP_COLUMNS), pd.DataFrame(self.hist, columns=EPOCH_COLUMNS)


def progress(i: int, n_runs: int, epochs: int, ev: dict) -> float:
    """The share of the whole job done at event ev of run i (of n_runs, each `epochs` long), in [0, 1]."""
    steps = ev.get("steps", 1)
    return min(1.0, (i + (ev["epoch"] - 1 + ev.get("step", steps) / steps) / epochs) / n_runs)


def curves(steps: pd.DataFrame, epochs: pd.DataFrame, metric: str, title: str, ytitle: str) -> go.Figure:
    """Training batches (thin lines) and test results after each epoch (dotted), one colour per skip setting.
    metric: "loss" (log axis) or "acc"."""
    fig = go.Figure()
    for (name, skip), d in steps.groupby(["name", "skip"], sort=False):
        fig.add_scatter(x=d.x, y=d[metric], name=f"{name} train", line=dict(color=COLORS[skip], width=1.5))
    for (name, skip), d in epochs.groupby(["name", "skip"], sort=False):
        fig.add_scatter(x=d.epoch, y=d[f"test_{metric}"], name=f"{name} test", mode="lines+markers",
                        line=dict(color=COLORS[skip], width=3, dash="dot"))
    fig.update_layout(title=title, height=340, template="plotly_white", margin=dict(l=60, r=20, t=50, b=45),
                      legend=dict(orientation="h", y=1.0, yanchor="bottom", x=1, xanchor="right"))
    fig.update_xaxes(title="epoch")
    fig.update_yaxes(title=ytitle, type="log" if metric == "loss" else "linear")
    return fig


def run_charts(steps: pd.DataFrame, epochs: pd.DataFrame) -> list[tuple[go.Figure, str]]:
    """The finished run's two charts, (figure, caption) each, captions with the last test numbers."""
    last = epochs.groupby("name", sort=False).last()
    loss = "; ".join(f"{n}: test loss {r.test_loss:.3g} after epoch {int(r.epoch)}" for n, r in last.iterrows())
    acc = "; ".join(f"{n}: test accuracy {r.test_acc:.1%} after epoch {int(r.epoch)}" for n, r in last.iterrows())
    how = ("Thin lines: training batches (moving average, with augmentation, BatchNorm in training mode); "
           "dotted: the test images after each epoch. ")
    return [(curves(steps, epochs, "loss", "Loss", "cross-entropy (log)"), how + (loss or "No epoch finished") + "."),
            (curves(steps, epochs, "acc", "Accuracy", "accuracy"), how + (acc or "No epoch finished") + ".")]


FIG6 = [(False, 20), (False, 56), (True, 20), (True, 56)]  # He et al. Fig. 6: plain-20/56, ResNet-20/56
HE_TEST_ERROR = {20: 8.75, 56: 6.97}  # He et al. Table 6, CIFAR-10 test error (%) of ResNet-20/56
HE_EPOCHS = 164
SETS = {"shapes": "built-in shapes", "cifar10": "CIFAR-10"}


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


def degradation(h: pd.DataFrame, dataset: str = "shapes") -> tuple[go.Figure, str]:
    """He et al. Fig. 6 from zoo histories (a row per model and epoch: name, depth, skip, epoch, train_error,
    test_error in %, see models.zoo.histories): (figure, caption with each model's final errors)."""
    fig = go.Figure()
    for (name, depth, skip), g in h.groupby(["name", "depth", "skip"], sort=False):
        label, color = _label(skip, depth), SHADES[(skip, depth > 20)]
        fig.add_scatter(x=g.epoch, y=g.train_error, name=f"{label} train", line=dict(color=color, dash="dash", width=1.5))
        fig.add_scatter(x=g.epoch, y=g.test_error, name=f"{label} test", line=dict(color=color, width=3.5))
    fig.update_layout(height=440, template="plotly_white", margin=dict(l=60, r=20, t=50, b=45),
                      title=f"{SETS.get(dataset, dataset)}: error during training (dashed: train, bold: test, as in He et al.)")
    fig.update_xaxes(title="epoch")
    ticks = [0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100]
    fig.update_yaxes(title="error (%), log scale", type="log", tickvals=ticks, ticktext=[f"{t:g}" for t in ticks])
    caption = "Final epoch: " + "; ".join(
        f"{_label(r.skip, r.depth)} training error {r.train_error:.2f}%, test error "
        f"{r.test_error:.2f}% after {int(r.epoch)} epochs" for r in finals(h).itertuples()) + "."
    gone = missing(h, dataset)
    return fig, caption + (f" Not shipped yet: {', '.join(gone)}." if gone else "")


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
